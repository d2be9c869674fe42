/**
 * The local stack itself: the gateway's routing for SDK and CLI clients, the env file, fault
 * injection, call counting, the Step Functions and Lambda APIs, and that what it runs matches
 * serverless.yml. Runs against the stack that tests/global-setup.ts starts.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetPolicyCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { InvokeCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, inject, it } from 'vitest';

import { loadDefinitions, type FunctionDefinition } from '../../local/definitions.ts';
import { DefinitionError, EnvironmentConflictError, UnresolvedVariableError } from '../../local/errors.ts';
import { applySharedEnvironment, LambdaRuntime } from '../../local/lambda-runtime.ts';
import { createLogger } from '../../local/log.ts';
import { upperSnakeCase } from '../../local/stack.ts';
import { manifestKey } from '../../shared/naming.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const stack = inject('localStack');
const endpoint = stack.AWS_ENDPOINT_URL as string;
const region = stack.AWS_REGION as string;
const definitions = loadDefinitions({ serviceDir: ROOT, region });
const stateMachineArn = stack.NEPTUNE_STATE_MACHINE_ARN as string;

const clientConfig = {
  endpoint,
  region,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  // One attempt, so a test gets the error the gateway returned rather than the SDK's retries.
  maxAttempts: 1,
};

const execFileAsync = promisify(execFile);

/** Runs the AWS CLI against the gateway with static credentials and no user configuration. */
async function awsCli(...args: string[]): Promise<unknown> {
  const { stdout } = await execFileAsync('aws', ['--endpoint-url', endpoint, '--output', 'json', ...args], {
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: region,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: path.join(tmpdir(), 'neptune-no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(tmpdir(), 'neptune-no-aws-credentials'),
    },
  });
  return stdout.trim() === '' ? undefined : JSON.parse(stdout);
}

const hasAwsCli = await execFileAsync('aws', ['--version']).then(
  () => true,
  () => false,
);

async function control(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${endpoint}${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function setFaults(rules: unknown[]): Promise<void> {
  const response = await control('PUT', '/_neptune/faults', rules);
  expect(response.status).toBe(200);
}

async function rejection(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('env file', () => {
  it('names the endpoint, resources and every function', () => {
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.AWS_REGION).toBe('us-east-1');
    expect(stack.AWS_DEFAULT_REGION).toBe(stack.AWS_REGION);
    expect(stack.AWS_ACCESS_KEY_ID).toBe('test');
    expect(stack.AWS_SECRET_ACCESS_KEY).toBe('test');
    expect(stack.NEPTUNE_BUCKET).toBe(definitions.manifestBucket.name);
    expect(stack.NEPTUNE_TABLE).toBe('neptune-secrets-local-status');
    expect(stateMachineArn).toBe('arn:aws:states:us-east-1:123456789012:stateMachine:neptune-secrets-local-provision');
    for (const fn of definitions.functions) {
      expect(stack[`NEPTUNE_FUNCTION_${upperSnakeCase(fn.key)}`], fn.key).toBe(`neptune-secrets-local-${fn.key}`);
    }
    expect(stack.NEPTUNE_SET_VALUE_FUNCTION).toBe('neptune-secrets-local-setValue');
    expect(stack.NEPTUNE_REDEPLOYED_FUNCTION).toBe('neptune-secrets-local-markRedeployed');
  });

  it('can be sourced by a POSIX shell', async () => {
    const file = inject('localStackEnvFile');
    const text = readFileSync(file, 'utf8');
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^export [A-Z0-9_]+='[^']*'$/);

    const { stdout } = await execFileAsync('sh', ['-c', `. "${file}" && printf '%s|%s' "$AWS_ENDPOINT_URL" "$NEPTUNE_TABLE"`]);

    expect(stdout).toBe(`${endpoint}|${stack.NEPTUNE_TABLE}`);
  });
});

describe('gateway routing with SDK clients', () => {
  it('serves S3 from moto, with the manifest bucket', async () => {
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const key = `routing/${randomUUID()}.txt`;

    await s3.send(new PutObjectCommand({ Bucket: stack.NEPTUNE_BUCKET, Key: key, Body: 'hello' }));
    const object = await s3.send(new GetObjectCommand({ Bucket: stack.NEPTUNE_BUCKET, Key: key }));

    expect(await object.Body?.transformToString()).toBe('hello');
    expect(object.VersionId).toBeTruthy();
  });

  it('serves DynamoDB with the status table of serverless.yml', async () => {
    const dynamodb = new DynamoDBClient(clientConfig);

    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: stack.NEPTUNE_TABLE }));

    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'project_id', KeyType: 'HASH' },
      { AttributeName: 'record_key', KeyType: 'RANGE' },
    ]);
  });

  it('serves Secrets Manager', async () => {
    const secrets = new SecretsManagerClient(clientConfig);
    const name = `local-stack-test-${randomUUID()}`;

    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'value' }));
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: name }));

    expect(SecretString).toBe('value');
  });

  it('serves IAM and SQS from moto', async () => {
    const boundary = definitions.managedPolicies[0];
    const iam = new IAMClient(clientConfig);

    const { QueueUrl } = await new SQSClient(clientConfig).send(new GetQueueUrlCommand({ QueueName: 'neptune-secrets-local-manifest-events' }));

    expect(QueueUrl).toContain('neptune-secrets-local-manifest-events');
    if (boundary) {
      const arn = `arn:aws:iam::123456789012:policy${boundary.path}${boundary.name}`;
      const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
      expect(Policy?.PolicyName).toBe(boundary.name);
    }
  });

  it('serves Lambda and Step Functions locally', async () => {
    const { Functions } = await new LambdaClient(clientConfig).send(new ListFunctionsCommand({}));
    const { stateMachines } = await new SFNClient(clientConfig).send(new ListStateMachinesCommand({}));

    expect(Functions?.map((fn) => fn.FunctionName).sort()).toEqual(definitions.functions.map((fn) => fn.name).sort());
    expect(stateMachines?.map((machine) => machine.stateMachineArn)).toEqual([stateMachineArn]);
  });
});

describe.skipIf(!hasAwsCli)('gateway routing with the AWS CLI', () => {
  it('serves S3, DynamoDB, Secrets Manager, STS, Lambda and Step Functions', async () => {
    const buckets = (await awsCli('s3api', 'list-buckets')) as { Buckets: Array<{ Name: string }> };
    const table = (await awsCli('dynamodb', 'describe-table', '--table-name', stack.NEPTUNE_TABLE as string)) as { Table: { TableName: string } };
    const secrets = (await awsCli('secretsmanager', 'list-secrets', '--max-items', '5')) as { SecretList: unknown[] };
    const identity = (await awsCli('sts', 'get-caller-identity')) as { Account: string };
    const functions = (await awsCli('lambda', 'list-functions')) as { Functions: Array<{ FunctionName: string }> };
    const machines = (await awsCli('stepfunctions', 'list-state-machines')) as { stateMachines: Array<{ name: string }> };

    expect(buckets.Buckets.map((bucket) => bucket.Name)).toContain(stack.NEPTUNE_BUCKET);
    expect(table.Table.TableName).toBe(stack.NEPTUNE_TABLE);
    expect(Array.isArray(secrets.SecretList)).toBe(true);
    expect(identity.Account).toBe('123456789012');
    expect(functions.Functions.map((fn) => fn.FunctionName)).toContain(stack.NEPTUNE_SET_VALUE_FUNCTION);
    expect(machines.stateMachines.map((machine) => machine.name)).toEqual(['neptune-secrets-local-provision']);
  });

  it('reports an unknown function as ResourceNotFoundException', async () => {
    const outFile = path.join(mkdtempSync(path.join(tmpdir(), 'neptune-')), 'out.json');

    const error = (await rejection(awsCli('lambda', 'invoke', '--function-name', 'no-such-function', outFile))) as Error & { stderr?: string };

    expect(error.stderr).toContain('ResourceNotFoundException');
  });
});

describe('fault injection', () => {
  afterEach(async () => {
    await setFaults([]);
  });

  it('throttles a call until the rule is cleared', async () => {
    const secrets = new SecretsManagerClient(clientConfig);
    await setFaults([{ service: 'secretsmanager', operation: 'ListSecrets', rate: 1, fault: 'throttle' }]);

    const error = await rejection(secrets.send(new ListSecretsCommand({})));
    const rules = (await control('GET', '/_neptune/faults')).body as Array<{ injected: number }>;
    await setFaults([]);
    const listed = await secrets.send(new ListSecretsCommand({}));

    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(rules[0]?.injected).toBe(1);
    expect(Array.isArray(listed.SecretList)).toBe(true);
  });

  it('uses each protocol’s throttling error', async () => {
    await setFaults([
      { service: 'dynamodb', rate: 1, fault: 'throttle' },
      { service: 'iam', operation: 'ListRoles', rate: 1, fault: 'throttle' },
      { service: 's3', operation: 'ListObjectsV2', rate: 1, fault: 'throttle' },
    ]);

    const dynamodb = await rejection(new DynamoDBClient(clientConfig).send(new DescribeTableCommand({ TableName: stack.NEPTUNE_TABLE })));
    const iam = await rejection(new IAMClient(clientConfig).send(new ListRolesCommand({})));
    const s3 = await rejection(new S3Client({ ...clientConfig, forcePathStyle: true }).send(new ListObjectsV2Command({ Bucket: stack.NEPTUNE_BUCKET })));

    expect(dynamodb.name).toBe('ThrottlingException');
    expect(iam.name).toBe('Throttling');
    expect(s3.name).toBe('SlowDown');
    expect(s3.$metadata?.httpStatusCode).toBe(503);
  });

  it('returns a server error', async () => {
    await setFaults([{ service: 'secretsmanager', operation: 'ListSecrets', rate: 1, fault: 'server-error' }]);

    const error = await rejection(new SecretsManagerClient(clientConfig).send(new ListSecretsCommand({})));

    expect(error.name).toBe('InternalFailure');
    expect(error.$metadata?.httpStatusCode).toBe(500);
  });

  it('holds a call until the client times out', async () => {
    await setFaults([{ service: 'secretsmanager', operation: 'ListSecrets', rate: 1, fault: 'timeout' }]);
    // Without throwOnRequestTimeout, this SDK version only logs a warning when requestTimeout passes.
    const secrets = new SecretsManagerClient({ ...clientConfig, requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true } });

    const started = Date.now();
    const error = await rejection(secrets.send(new ListSecretsCommand({})));

    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails only the counted number of calls', async () => {
    const secrets = new SecretsManagerClient(clientConfig);
    await setFaults([{ service: 'secretsmanager', operation: 'ListSecrets', rate: 1, fault: 'throttle', count: 1 }]);

    const first = await rejection(secrets.send(new ListSecretsCommand({})));
    const second = await secrets.send(new ListSecretsCommand({}));

    expect(first.name).toBe('ThrottlingException');
    expect(Array.isArray(second.SecretList)).toBe(true);
  });

  it('rejects an invalid rule', async () => {
    const response = await control('PUT', '/_neptune/faults', [{ service: 's3', rate: 2, fault: 'throttle' }]);

    expect(response.status).toBe(400);
    expect((response.body as { message: string }).message).toContain('rate');
  });
});

describe('call counting', () => {
  it('counts each call by service and operation', async () => {
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const bucket = `neptune-counting-${randomUUID()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await control('POST', '/_neptune/calls/reset');

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.txt', Body: 'a' }));
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a.txt' })).then((object) => object.Body?.transformToString());
    await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const calls = (await control('GET', '/_neptune/calls')).body as Record<string, number>;

    expect(calls['s3:PutObject']).toBe(1);
    expect(calls['s3:GetObject']).toBe(1);
    expect(calls['s3:ListObjectsV2']).toBe(2);
  });
});

describe('Step Functions API', () => {
  const sfn = new SFNClient(clientConfig);

  afterEach(async () => {
    await setFaults([]);
  });

  it('returns the running execution for a repeated start and rejects a reused name', async () => {
    // Held S3 and DynamoDB calls keep the first task, and so the execution, running.
    await setFaults([
      { service: 's3', rate: 1, fault: 'timeout' },
      { service: 'dynamodb', rate: 1, fault: 'timeout' },
    ]);
    const name = `local-test-${randomUUID()}`;
    const input = JSON.stringify({ projectId: 'localtest', bucket: stack.NEPTUNE_BUCKET, key: manifestKey('localtest'), versionId: null });

    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
    const repeated = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
    const otherInput = await rejection(sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"other":true}' })));
    await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
    const stopped = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    const afterStop = await rejection(sfn.send(new StartExecutionCommand({ stateMachineArn, name, input })));

    expect(repeated.executionArn).toBe(first.executionArn);
    expect(otherInput.name).toBe('ExecutionAlreadyExists');
    expect(stopped.status).toBe('ABORTED');
    expect(afterStop.name).toBe('ExecutionAlreadyExists');
  });

  it('rejects invalid names and unknown state machines', async () => {
    const withSpace = await rejection(sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'not valid' })));
    const tooLong = await rejection(sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'a'.repeat(81) })));
    const unknown = await rejection(
      sfn.send(new StartExecutionCommand({ stateMachineArn: `${stateMachineArn}-missing`, name: 'valid-name' })),
    );

    expect(withSpace.name).toBe('InvalidName');
    expect(tooLong.name).toBe('InvalidName');
    expect(unknown.name).toBe('StateMachineDoesNotExist');
  });

  it('runs an uploaded manifest and reports its history', async () => {
    const projectId = `localstack${Date.now().toString(36)}`;
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const manifest = { kind: 'Service', name: 'local-stack-test', resources: [{ kind: 'Secret', name: 'API_KEY' }] };

    await s3.send(new PutObjectCommand({ Bucket: stack.NEPTUNE_BUCKET, Key: manifestKey(projectId), Body: JSON.stringify(manifest) }));
    const execution = await waitForExecution(sfn, projectId);
    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: execution.executionArn, maxResults: 1000 }));
    const local = (await control('GET', `/_neptune/executions/${execution.name}`)).body as { stateTransitions: number };
    const input = JSON.parse(execution.input ?? '{}') as { versionId?: unknown };

    expect(execution.status).toBe('SUCCEEDED');
    expect(input.versionId).toEqual(expect.any(String));
    expect(events?.[0]?.type).toBe('ExecutionStarted');
    expect(events?.at(-1)?.type).toBe('ExecutionSucceeded');
    const entered = events?.filter((event) => event.type === 'TaskStateEntered').map((event) => event.stateEnteredEventDetails?.name);
    expect(entered).toEqual(['LoadManifest', 'CreateSecrets', 'AttachPolicy', 'WriteStatus']);
    expect(events?.filter((event) => event.type === 'LambdaFunctionSucceeded')).toHaveLength(4);
    expect(events?.map((event) => event.id)).toEqual(events?.map((_, index) => index + 1));
    expect(local.stateTransitions).toBe(events?.filter((event) => event.type?.endsWith('StateEntered')).length);
  });
});

async function waitForExecution(sfn: SFNClient, projectId: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    const summary = executions?.find((candidate) => candidate.name?.startsWith(`${projectId}-`) && candidate.status !== 'RUNNING');
    if (summary) return sfn.send(new DescribeExecutionCommand({ executionArn: summary.executionArn }));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no execution for project ${projectId} ended within 60 s`);
}

describe('Lambda API', () => {
  const lambda = new LambdaClient(clientConfig);

  it('reports an unknown function as ResourceNotFoundException', async () => {
    const error = await rejection(lambda.send(new InvokeCommand({ FunctionName: 'no-such-function', Payload: Buffer.from('{}') })));

    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.$metadata?.httpStatusCode).toBe(404);
  });

  it('accepts an asynchronous invocation', async () => {
    const response = await lambda.send(
      new InvokeCommand({ FunctionName: stack.NEPTUNE_FUNCTION_TRIGGER, InvocationType: 'Event', Payload: Buffer.from('{"Records":[]}') }),
    );

    expect(response.StatusCode).toBe(202);
  });
});

describe('local Lambda runtime', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'neptune-handler-'));
  const handlerFile = path.join(directory, 'handler.mjs');
  writeFileSync(
    handlerFile,
    [
      'class ProjectBusyError extends Error { name = "ProjectBusyError"; }',
      'export async function handler(event, context) {',
      '  if (event.fail) throw new ProjectBusyError("project is busy");',
      '  if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));',
      '  return { event, at: new Date(0), name: context.functionName, remaining: context.getRemainingTimeInMillis(), skipped: undefined };',
      '}',
    ].join('\n'),
  );
  const fn: FunctionDefinition = {
    ...(definitions.functions[0] as FunctionDefinition),
    key: 'testHandler',
    name: 'test-handler',
    handlerFile,
    exportName: 'handler',
    timeoutSeconds: 1,
  };
  const runtime = new LambdaRuntime([fn], { region, accountId: '123456789012', logger: createLogger({ quiet: true }) });

  it('round-trips event and result through JSON', async () => {
    const result = await runtime.invoke(fn, '{"value":1}');

    expect(result.functionError).toBeUndefined();
    expect(JSON.parse(result.payload)).toEqual({
      event: { value: 1 },
      at: '1970-01-01T00:00:00.000Z',
      name: 'test-handler',
      remaining: expect.any(Number),
    });
  });

  it('turns a thrown error into errorType and errorMessage', async () => {
    const result = await runtime.invoke(fn, '{"fail":true}');

    expect(result.functionError).toBe('Unhandled');
    expect(JSON.parse(result.payload)).toEqual({ errorType: 'ProjectBusyError', errorMessage: 'project is busy' });
  });

  it('times out after the function timeout', async () => {
    const result = await runtime.invoke(fn, '{"sleepMs":1500}');

    expect(result.functionError).toBe('Unhandled');
    expect(JSON.parse(result.payload).errorType).toBe('Sandbox.Timedout');
  });
});

describe('drift between serverless.yml and the local stack', () => {
  const asl = JSON.parse(readFileSync(path.join(ROOT, 'statemachines', 'provision.asl.json'), 'utf8')) as unknown;
  const functionKeys = definitions.functions.map((fn) => fn.key);

  it('runs exactly the functions of serverless.yml', async () => {
    const { Functions } = await new LambdaClient(clientConfig).send(new ListFunctionsCommand({}));

    expect(Functions?.map((fn) => fn.FunctionName).sort()).toEqual(functionKeys.map((key) => `neptune-secrets-local-${key}`).sort());
  });

  it.each(definitions.functions.map((fn) => [fn.key, fn] as const))('%s has a handler file that exports its handler', async (_key, fn) => {
    expect(existsSync(fn.handlerFile), fn.handlerFile).toBe(true);

    const module = (await import(fn.handlerFile)) as Record<string, unknown>;

    expect(typeof module[fn.exportName]).toBe('function');
  });

  it('references only serverless.yml functions from the state machine', () => {
    const referenced = collectGetAttTargets(asl);

    for (const target of referenced) expect(functionKeys, target).toContain(target);
  });

  it('references every workflow function from the state machine', () => {
    const referenced = new Set(collectGetAttTargets(asl));
    const invokedOutsideTheWorkflow = new Set(['trigger', 'setValue', 'markRedeployed']);

    for (const key of functionKeys.filter((candidate) => !invokedOutsideTheWorkflow.has(candidate))) {
      expect(referenced.has(key), `${key} is not referenced by provision.asl.json`).toBe(true);
    }
  });
});

function collectGetAttTargets(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(collectGetAttTargets);
  if (typeof value !== 'object' || value === null) return [];

  const getAtt = (value as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return [String(getAtt[0])];
  return Object.values(value).flatMap(collectGetAttTargets);
}

describe('serverless.yml loading', () => {
  /** Writes serverless.yml and the state machine file it references into a new directory. */
  function serviceDir(yaml: string, asl: unknown = { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }): string {
    const directory = mkdtempSync(path.join(tmpdir(), 'neptune-service-'));
    writeFileSync(path.join(directory, 'serverless.yml'), yaml);
    writeFileSync(path.join(directory, 'machine.json'), JSON.stringify(asl));
    return directory;
  }

  const baseYaml = [
    'service: demo',
    'custom:',
    "  stage: ${opt:stage, 'dev'}",
    'provider:',
    '  name: aws',
    '  environment:',
    '    TABLE: ${self:service}-${self:custom.stage}-status',
    '    ARN: !Sub arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:demo',
    'functions:',
    '  work:',
    '    handler: functions/work/handler.handler',
    'stepFunctions:',
    '  stateMachines:',
    '    main:',
    '      name: demo-${sls:stage}-main',
    '      definition: ${file(machine.json)}',
  ].join('\n');

  it('resolves variables and pseudo parameters for the local stage', () => {
    const loaded = loadDefinitions({ serviceDir: serviceDir(baseYaml) });

    expect(loaded.functions[0]?.name).toBe('demo-local-work');
    expect(loaded.functions[0]?.environment.TABLE).toBe('demo-local-status');
    expect(loaded.functions[0]?.environment.ARN).toBe('arn:aws:states:us-east-1:123456789012:stateMachine:demo');
    expect(loaded.stateMachines[0]?.name).toBe('demo-local-main');
    expect(loaded.manifestBucket.name).toBe('demo-local-manifests');
  });

  it('rejects an unknown variable source', () => {
    const directory = serviceDir(baseYaml.replace("${opt:stage, 'dev'}", '${ssm:/demo/stage}'));

    expect(() => loadDefinitions({ serviceDir: directory })).toThrow(UnresolvedVariableError);
    expect(() => loadDefinitions({ serviceDir: directory })).toThrow('${ssm:/demo/stage}');
  });

  it('rejects a missing self reference', () => {
    const directory = serviceDir(baseYaml.replace('${self:custom.stage}', '${self:custom.missing}'));

    expect(() => loadDefinitions({ serviceDir: directory })).toThrow('${self:custom.missing}');
  });

  it('rejects a state machine task of an unknown function', () => {
    const asl = { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: { 'Fn::GetAtt': ['missing', 'Arn'] }, End: true } } };

    expect(() => loadDefinitions({ serviceDir: serviceDir(baseYaml, asl) })).toThrow(DefinitionError);
    expect(() => loadDefinitions({ serviceDir: serviceDir(baseYaml, asl) })).toThrow('[missing, Arn] names no function');
  });

  it('takes the bucket name from a declared bucket', () => {
    const yaml = `${baseYaml}\nresources:\n  Resources:\n    ManifestBucket:\n      Type: AWS::S3::Bucket\n      Properties:\n        BucketName: !Sub demo-\${AWS::AccountId}`;

    expect(loadDefinitions({ serviceDir: serviceDir(yaml) }).manifestBucket.name).toBe('demo-123456789012');
  });

  it('rejects functions whose environments conflict', () => {
    const base = definitions.functions[0] as FunctionDefinition;
    const first = { ...base, key: 'first', environment: { SHARED: 'a' } };
    const second = { ...base, key: 'second', environment: { SHARED: 'b' } };

    expect(() => applySharedEnvironment([first, second], {})).toThrow(EnvironmentConflictError);
  });
});
