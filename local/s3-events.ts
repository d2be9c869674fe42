/**
 * Creates the stack's tables, bucket, queues and managed policies in moto, and delivers the
 * bucket's `neptune.json` upload events to the trigger function.
 *
 * On AWS, S3 invokes the trigger function directly. moto cannot invoke a Lambda function without
 * Docker, but it does deliver S3 notifications to SQS at once, so the local stack points the
 * bucket at a queue and calls the trigger for each message, as Lambda's asynchronous invoke
 * would: retried as often as the function's EventInvokeConfig allows, then sent to its on-failure queue.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  ListObjectVersionsCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { CreatePolicyCommand, EntityAlreadyExistsException, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';

import type { FunctionDefinition, StackDefinitions, TableDefinition } from './definitions.ts';
import { DefinitionError } from './errors.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';
import type { StackLogger } from './log.ts';

const TRIGGER_FUNCTION_KEY = 'trigger';
const LONG_POLL_SECONDS = 20;
const POLL_ERROR_PAUSE_MS = 1_000;

export interface MotoClients {
  s3: S3Client;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  iam: IAMClient;
}

/** Clients that talk to moto directly, so the stack's own calls are neither counted nor faulted. */
export function createMotoClients(motoEndpoint: string, region: string): MotoClients {
  const config = {
    endpoint: motoEndpoint,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  return {
    s3: new S3Client({ ...config, forcePathStyle: true }),
    sqs: new SQSClient(config),
    dynamodb: new DynamoDBClient(config),
    iam: new IAMClient(config),
  };
}

export function manifestEventsQueueName(definitions: StackDefinitions): string {
  return `${definitions.service}-${definitions.stage}-manifest-events`;
}

/** Creates every table, queue, managed policy and the manifest bucket; returns the URL of the manifest events queue. */
export async function createResources(definitions: StackDefinitions, clients: MotoClients): Promise<string> {
  for (const table of definitions.tables) await createTable(clients.dynamodb, table);

  // Handlers refer to these by ARN, e.g. as the permissions boundary of roles they create.
  for (const policy of definitions.managedPolicies) {
    try {
      await clients.iam.send(
        new CreatePolicyCommand({
          PolicyName: policy.name,
          Path: policy.path,
          Description: policy.description,
          PolicyDocument: JSON.stringify(policy.document),
        }),
      );
    } catch (error) {
      if (!(error instanceof EntityAlreadyExistsException)) throw error;
    }
  }

  for (const queue of definitions.queues) {
    await clients.sqs.send(new CreateQueueCommand({ QueueName: queue.name, Attributes: queueAttributes(queue.properties) }));
  }

  const trigger = definitions.functions.find((fn) => fn.key === TRIGGER_FUNCTION_KEY);
  const { QueueUrl: queueUrl } = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: manifestEventsQueueName(definitions),
      // A message whose trigger call fails comes back once the trigger's timeout has passed.
      Attributes: { VisibilityTimeout: String(trigger?.timeoutSeconds ?? 30) },
    }),
  );
  if (!queueUrl) throw new Error('moto returned no QueueUrl for the manifest events queue');

  await createManifestBucket(definitions, clients.s3, queueUrl, clients.sqs);
  return queueUrl;
}

async function createTable(dynamodb: DynamoDBClient, table: TableDefinition): Promise<void> {
  const properties = table.properties;
  const stream = properties.StreamSpecification as { StreamViewType?: string } | undefined;
  const sse = properties.SSESpecification as { SSEEnabled?: boolean; SSEType?: string; KMSMasterKeyId?: string } | undefined;

  const input = {
    TableName: table.name,
    AttributeDefinitions: properties.AttributeDefinitions,
    KeySchema: properties.KeySchema,
    BillingMode: properties.BillingMode ?? (properties.ProvisionedThroughput ? 'PROVISIONED' : 'PAY_PER_REQUEST'),
    ProvisionedThroughput: properties.ProvisionedThroughput,
    GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes,
    LocalSecondaryIndexes: properties.LocalSecondaryIndexes,
    StreamSpecification: stream ? { StreamEnabled: true, StreamViewType: stream.StreamViewType } : undefined,
    SSESpecification: sse ? { Enabled: sse.SSEEnabled, SSEType: sse.SSEType, KMSMasterKeyId: sse.KMSMasterKeyId } : undefined,
    Tags: properties.Tags,
  } as CreateTableCommandInput;

  if (!input.AttributeDefinitions || !input.KeySchema) {
    throw new DefinitionError(`serverless.yml table ${table.logicalId} needs AttributeDefinitions and KeySchema`);
  }

  try {
    await dynamodb.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }

  const ttl = properties.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.AttributeName) {
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: table.name,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled ?? true },
      }),
    );
  }
}

/** CloudFormation's queue properties are SQS attribute names; SQS wants every value as a string. */
function queueAttributes(properties: Record<string, unknown>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (name === 'QueueName' || name === 'Tags') continue;
    attributes[name] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return attributes;
}

async function createManifestBucket(definitions: StackDefinitions, s3: S3Client, queueUrl: string, sqs: SQSClient): Promise<void> {
  const bucket = definitions.manifestBucket.name;

  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(definitions.region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: definitions.region as BucketLocationConstraint } }),
      }),
    );
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
  }

  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));

  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const { events, filterRules } = definitions.manifestBucket.triggerNotification;
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            QueueArn: Attributes?.QueueArn,
            Events: events as never,
            Filter: filterRules.length > 0 ? { Key: { FilterRules: filterRules as never } } : undefined,
          },
        ],
      },
    }),
  );
}

export interface ManifestEventPoller {
  stop(): Promise<void>;
}

/** Long-polls the manifest events queue and invokes the trigger function with each S3 event. */
export function startManifestEventPoller(options: {
  definitions: StackDefinitions;
  clients: MotoClients;
  queueUrl: string;
  runtime: LambdaRuntime;
  logger: StackLogger;
}): ManifestEventPoller {
  const { clients, queueUrl, runtime, logger } = options;
  const trigger = runtime.functions.find((fn) => fn.key === TRIGGER_FUNCTION_KEY);
  if (!trigger) {
    throw new DefinitionError(`serverless.yml declares no "${TRIGGER_FUNCTION_KEY}" function, so uploads cannot start provisioning`);
  }

  const abort = new AbortController();
  const maxAttempts = trigger.asyncInvoke.maximumRetryAttempts + 1;

  const deliver = async (message: Message): Promise<void> => {
    const attempt = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    const event = await parseS3Event(message.Body ?? '', clients.s3, logger);

    const result = event === undefined ? undefined : await runtime.invoke(trigger, JSON.stringify(event));
    if (result?.functionError) {
      const errorType = (JSON.parse(result.payload) as { errorType?: string }).errorType;
      if (attempt < maxAttempts) {
        logger.error('trigger failed; the event is retried after the visibility timeout', { errorType, attempt });
        return;
      }

      logger.error(`trigger failed ${attempt} times; the event goes to the on-failure destination`, {
        errorType,
        destination: trigger.asyncInvoke.onFailureQueueArn ?? 'none, dropped',
      });
      await sendToFailureDestination(clients.sqs, trigger, event, result.payload, result.requestId, attempt);
    }

    await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  };

  const poll = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const { Messages } = await clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: LONG_POLL_SECONDS,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: abort.signal },
        );
        // S3 invokes the function once per event and does not wait for the others.
        await Promise.all((Messages ?? []).map(deliver));
      } catch (error) {
        if (abort.signal.aborted) return;
        logger.error('reading S3 events failed; polling again', { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, POLL_ERROR_PAUSE_MS));
      }
    }
  };

  const polling = poll();
  return {
    stop: async () => {
      abort.abort();
      await polling;
    },
  };
}

/** Sends the record Lambda sends to an on-failure destination after the last failed attempt. */
async function sendToFailureDestination(
  sqs: SQSClient,
  fn: FunctionDefinition,
  event: unknown,
  errorPayload: string,
  requestId: string,
  attempts: number,
): Promise<void> {
  const queueArn = fn.asyncInvoke.onFailureQueueArn;
  if (!queueArn) return;

  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueArn.split(':').at(-1) }));
  const record = {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: { requestId, functionArn: `${fn.arn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: attempts },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: JSON.parse(errorPayload) as unknown,
  };
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(record) }));
}

interface S3EventRecord {
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; eTag?: string; versionId?: string; sequencer?: string } };
}

/**
 * Parses one queue message as an S3 event and logs it. Records of moto lack `versionId` and
 * `sequencer`, which AWS sends for a versioned bucket; they are added from the object's versions.
 */
async function parseS3Event(body: string, s3: S3Client, logger: StackLogger): Promise<unknown> {
  let event: { Event?: string; Records?: S3EventRecord[] };
  try {
    event = JSON.parse(body) as typeof event;
  } catch {
    logger.error('S3 event message is not JSON; dropped', { length: body.length });
    return undefined;
  }

  if (event.Event === 's3:TestEvent') {
    logger.info('s3 test event');
    return event;
  }

  for (const record of event.Records ?? []) {
    await addVersionFields(record, s3);
    logger.info('s3 event', {
      event: record.eventName,
      bucket: record.s3?.bucket?.name,
      key: decodeEventKey(record.s3?.object?.key ?? ''),
      versionId: record.s3?.object?.versionId,
    });
  }
  return event;
}

async function addVersionFields(record: S3EventRecord, s3: S3Client): Promise<void> {
  const object = record.s3?.object;
  const bucket = record.s3?.bucket?.name;
  if (!object?.key || !bucket || object.versionId) return;

  const key = decodeEventKey(object.key);
  const { Versions } = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  // S3 lists the versions of a key newest first; reversed, a version's index is its upload order.
  const versions = (Versions ?? []).filter((version) => version.Key === key).reverse();

  // The newest version with the event's ETag is the upload this event reports.
  const eTag = object.eTag?.replace(/"/g, '');
  let position = versions.length - 1;
  while (position >= 0 && versions[position]?.ETag?.replace(/"/g, '') !== eTag) position--;
  const version = versions[position];
  if (!version?.VersionId) return;

  object.versionId = version.VersionId;
  // AWS only promises that sequencers of one key grow with each event; the version's position does.
  object.sequencer = (position + 1).toString(16).toUpperCase().padStart(16, '0');
}

/** Event keys are URL-encoded with `+` for spaces. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}
