/**
 * The `npm start` walkthrough: upload examples/neptune.json as project `abc123` through the
 * gateway, wait for its provisioning to end, and print the status of each secret.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

import { manifestKey, physicalName, statusSortKey } from '../shared/naming.ts';
import type { LocalStack } from './stack.ts';

export const EXAMPLE_PROJECT_ID = 'abc123';
const EXECUTION_WAIT_MS = 120_000;
const POLL_INTERVAL_MS = 250;

export class ExampleFailedError extends Error {
  override name = 'ExampleFailedError';
}

export async function runExample(stack: LocalStack, repositoryRoot: string): Promise<void> {
  const manifestFile = path.join(repositoryRoot, 'examples', 'neptune.json');
  let manifest: string;
  try {
    manifest = readFileSync(manifestFile, 'utf8');
  } catch (error) {
    throw new ExampleFailedError(`cannot read the example manifest ${manifestFile}: ${(error as Error).message}`);
  }

  // The clients take endpoint, region and credentials from the environment the stack set.
  const s3 = new S3Client({ forcePathStyle: true });
  const sfn = new SFNClient({});
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));

  const uploadedAt = new Date();
  const key = manifestKey(EXAMPLE_PROJECT_ID);
  await s3.send(new PutObjectCommand({ Bucket: stack.env.NEPTUNE_BUCKET, Key: key, Body: manifest, ContentType: 'application/json' }));
  console.log(`\nUploaded examples/neptune.json to s3://${stack.env.NEPTUNE_BUCKET}/${key}`);

  const execution = await waitForExecution(sfn, stack.env.NEPTUNE_STATE_MACHINE_ARN ?? '', uploadedAt);
  console.log(`Provisioning ${execution.status?.toLowerCase()}: execution ${execution.name}`);
  if (execution.status !== 'SUCCEEDED') console.log(`  error: ${execution.error}\n  cause: ${execution.cause}`);

  const { Items } = await documents.send(
    new QueryCommand({
      TableName: stack.env.NEPTUNE_TABLE,
      KeyConditionExpression: 'project_id = :projectId AND begins_with(record_key, :secretPrefix)',
      ExpressionAttributeValues: { ':projectId': EXAMPLE_PROJECT_ID, ':secretPrefix': statusSortKey('') },
    }),
  );

  console.log(`\nStatus of the secrets of project ${EXAMPLE_PROJECT_ID}:`);
  for (const item of Items ?? []) {
    const name = String(item.name ?? String(item.record_key).slice(statusSortKey('').length));
    const secret = {
      kind: 'Secret',
      name,
      status: item.status,
      aws_id: item.aws_id ?? physicalName(EXAMPLE_PROJECT_ID, name),
    };
    console.log(JSON.stringify(secret, null, 2));
  }
}

/** Waits for the first execution for the example project that started after the upload, to end. */
async function waitForExecution(sfn: SFNClient, stateMachineArn: string, uploadedAt: Date): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + EXECUTION_WAIT_MS;

  while (Date.now() < deadline) {
    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    for (const summary of executions ?? []) {
      if (!summary.startDate || summary.startDate < uploadedAt) continue;

      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: summary.executionArn }));
      const input = JSON.parse(execution.input ?? '{}') as { projectId?: string };
      if (input.projectId === EXAMPLE_PROJECT_ID && execution.status !== 'RUNNING') return execution;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }

  throw new ExampleFailedError(
    `no provisioning execution for project ${EXAMPLE_PROJECT_ID} ended within ${EXECUTION_WAIT_MS / 1000} s of the upload; see the log above`,
  );
}

export function printUsage(stack: LocalStack, envFile: string): void {
  const endpoint = stack.endpoint;
  console.log(`
The local stack is running at ${endpoint}. In another shell:

  source ${envFile}
  aws s3 ls s3://$NEPTUNE_BUCKET --recursive
  aws s3 cp examples/neptune.json s3://$NEPTUNE_BUCKET/myproject/neptune.json
  aws stepfunctions list-executions --state-machine-arn $NEPTUNE_STATE_MACHINE_ARN
  aws dynamodb scan --table-name $NEPTUNE_TABLE
  aws secretsmanager list-secrets
  aws lambda list-functions

The AWS CLI v1 needs --endpoint-url "$AWS_ENDPOINT_URL" if it ignores AWS_ENDPOINT_URL.
Press Ctrl+C to stop.`);
}
