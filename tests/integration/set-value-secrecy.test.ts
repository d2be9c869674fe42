import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';

import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetExecutionHistoryCommand, paginateListExecutions } from '@aws-sdk/client-sfn';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { setAwsClients } from '../../shared/clients.ts';
import { physicalName } from '../../shared/naming.ts';
import { MAX_SECRET_VALUE_BYTES } from '../../shared/secret-value.ts';
import { manifestOf, setFaults, stackClients, stackEnv, uniqueProjectId, uploadAndWait } from '../support/stack.ts';
import { testLambdaContext } from '../support/lambda-context.ts';

/**
 * Sends a random canary value through the set-value handler on the success path and on every
 * failure path. Each run's stdout, stderr, console output, thrown error with its stack and
 * response are captured and searched for the canary, and so are the whole status table and the
 * workflow's execution histories.
 *
 * The handler runs in this process, so that its output can be captured. Its AWS clients call
 * the local stack as the deployed function's clients call AWS.
 */

const canary = `canary-${randomUUID()}`;

type SetValueHandler = (typeof import('../../functions/set-value/handler.ts'))['handler'];
let handler: SetValueHandler;

interface Capture {
  output: string;
  response?: unknown;
  error?: unknown;
}

/** Runs the handler while recording every write to stdout, stderr and the console. */
async function captureRun(event: unknown): Promise<Capture> {
  const chunks: string[] = [];
  const record = (...parts: unknown[]) => {
    chunks.push(parts.map((part) => (typeof part === 'string' ? part : inspect(part, { depth: 10 }))).join(' '));
  };
  const originalStdout = process.stdout.write;
  const originalStderr = process.stderr.write;
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const originalConsole = consoleMethods.map((method) => console[method]);

  process.stdout.write = ((chunk: string | Uint8Array) => {
    record(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    record(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stderr.write;
  for (const method of consoleMethods) console[method] = record;

  const capture: Capture = { output: '' };
  try {
    capture.response = await handler(event, testLambdaContext());
  } catch (error) {
    capture.error = error;
  } finally {
    process.stdout.write = originalStdout;
    process.stderr.write = originalStderr;
    consoleMethods.forEach((method, index) => {
      console[method] = originalConsole[index] as (typeof console)[typeof method];
    });
  }
  capture.output = chunks.join('\n');
  return capture;
}

/** Lists every text form of a thrown error that a runtime or a log could show. */
function errorTexts(error: unknown): string[] {
  if (!(error instanceof Error)) return [String(error)];
  return [error.message, error.stack ?? '', JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })];
}

/** Scans the whole status table into one text. */
async function scanTable(): Promise<string> {
  const items: unknown[] = [];
  const pages = paginateScan({ client: stackClients().dynamo }, { TableName: stackEnv().NEPTUNE_TABLE, ConsistentRead: true });
  for await (const page of pages) items.push(...(page.Items ?? []));
  return JSON.stringify(items);
}

/** Collects the input, output and history of every workflow execution of these projects. */
async function executionHistories(projectIds: string[]): Promise<string> {
  const { stepFunctions } = stackClients();
  const texts: string[] = [];
  const executions = paginateListExecutions({ client: stepFunctions }, { stateMachineArn: stackEnv().NEPTUNE_STATE_MACHINE_ARN });
  for await (const page of executions) {
    for (const execution of page.executions ?? []) {
      if (!projectIds.some((projectId) => execution.name?.startsWith(`${projectId}-`))) continue;
      const history = await stepFunctions.send(new GetExecutionHistoryCommand({ executionArn: execution.executionArn, maxResults: 1000 }));
      texts.push(JSON.stringify(history.events ?? []));
    }
  }
  return texts.join('\n');
}

function expectNoCanary(capture: Capture): void {
  expect(capture.output).not.toContain(canary);
  expect(JSON.stringify(capture.response ?? null)).not.toContain(canary);
  for (const text of errorTexts(capture.error)) expect(text).not.toContain(canary);
}

describe('set-value secrecy', () => {
  let projectId: string;
  let failedProjectId: string;
  const captures: Capture[] = [];

  beforeAll(async () => {
    Object.assign(process.env, stackEnv());
    // Powertools' most detailed log level and its switch for logging the event. The handler
    // reads both when its module loads, so it is imported only now.
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
    ({ handler } = await import('../../functions/set-value/handler.ts'));
    setAwsClients(undefined);
    projectId = uniqueProjectId('svsecret');
    failedProjectId = uniqueProjectId('svsecfail');
    await uploadAndWait(projectId, manifestOf(['CANARY_KEY', 'OTHER_KEY']));
    await stackClients().secretsManager.send(new CreateSecretCommand({ Name: physicalName(failedProjectId, 'TAKEN'), SecretString: 'not-ours' }));
    await uploadAndWait(failedProjectId, manifestOf(['TAKEN']));
  });

  afterAll(() => setAwsClients(undefined));

  it('stores the canary on the success path and writes it nowhere else', async () => {
    const capture = await captureRun({ project: projectId, name: 'CANARY_KEY', value: canary });
    captures.push(capture);

    const stored = await stackClients().secretsManager.send(new GetSecretValueCommand({ SecretId: physicalName(projectId, 'CANARY_KEY') }));
    expect(capture.error).toBeUndefined();
    expect(stored.SecretString).toBe(canary);
    expect(capture.output).toContain('"message":"value set"');
    expectNoCanary(capture);
  });

  const failures: Array<[string, () => unknown, string]> = [
    ['an oversize value', () => ({ project: projectId, name: 'OTHER_KEY', value: `${canary}${'x'.repeat(MAX_SECRET_VALUE_BYTES)}` }), 'RequestInvalidError'],
    ['a value that is an object', () => ({ project: projectId, name: 'OTHER_KEY', value: { canary } }), 'RequestInvalidError'],
    ['a misspelled value field', () => ({ project: projectId, name: 'OTHER_KEY', valeu: canary }), 'RequestInvalidError'],
    ['a name not in the manifest', () => ({ project: projectId, name: 'NOT_DECLARED', value: canary }), 'NotProvisionedError'],
    ['an unknown project', () => ({ project: uniqueProjectId('svsecnone'), name: 'CANARY_KEY', value: canary }), 'NotProvisionedError'],
    ['a secret whose provisioning failed', () => ({ project: failedProjectId, name: 'TAKEN', value: canary }), 'NotProvisionedError'],
  ];

  for (const [label, event, errorName] of failures) {
    it(`keeps the canary out of a rejection for ${label}`, async () => {
      const capture = await captureRun(event());
      captures.push(capture);

      expect((capture.error as Error | undefined)?.name).toBe(errorName);
      expect(capture.output).toContain('"message":"value not set"');
      expectNoCanary(capture);
    });
  }

  it('keeps the canary out of a request_id reused for another value', async () => {
    const requestId = randomUUID();
    await captureRun({ project: projectId, name: 'OTHER_KEY', value: 'first value', request_id: requestId });

    const capture = await captureRun({ project: projectId, name: 'OTHER_KEY', value: canary, request_id: requestId });
    captures.push(capture);

    expect((capture.error as Error | undefined)?.name).toBe('RequestInvalidError');
    expectNoCanary(capture);
  });

  it('keeps the canary out of a failed PutSecretValue', async () => {
    // moto always stores the value, so the gateway's fault seam makes the call fail as AWS fails
    // under load: every attempt, including the SDK's own retries, gets an HTTP 500.
    await setFaults([{ service: 'secretsmanager', operation: 'PutSecretValue', rate: 1, fault: 'server-error' }]);
    let capture: Capture;
    try {
      capture = await captureRun({ project: projectId, name: 'OTHER_KEY', value: canary });
    } finally {
      await setFaults([]);
    }
    captures.push(capture);

    const record = (await stackClients().store.readProject(projectId)).secrets.find((secret) => secret.name === 'OTHER_KEY');
    expect((capture.error as Error | undefined)?.name).toBe('SecretValueWriteError');
    expect((capture.error as Error).message).toContain('with InternalFailure (HTTP 500)');
    expect(record?.value_lock_owner).toBeUndefined();
    expectNoCanary(capture);
  });

  it('writes the canary into no status record and no workflow history', async () => {
    // A provisioning run after the value was set, so that the workflow ran while it existed.
    await uploadAndWait(projectId, manifestOf(['CANARY_KEY', 'OTHER_KEY', 'LATER_KEY']));

    const table = await scanTable();
    const histories = await executionHistories([projectId, failedProjectId]);

    expect(captures.length).toBeGreaterThanOrEqual(9);
    expect(table).toContain(projectId);
    expect(table).not.toContain(canary);
    expect(histories).toContain(projectId);
    expect(histories).not.toContain(canary);
  });
});
