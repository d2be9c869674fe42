/**
 * The benchmark's view of the local stack: SDK clients pointed at its gateway, the gateway's
 * call counter and execution records, and uploads whose end is read from the execution record.
 *
 * Waiting reads `/_neptune/executions/<name>`, which the gateway serves outside the call counter,
 * so a measured window counts the pipeline's AWS calls and nothing the benchmark adds, except
 * the upload itself, which callers subtract.
 */
import path from 'node:path';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { startLocalStack, type LocalStack } from '../local/main.ts';
import { REPOSITORY_ROOT } from '../local/stack.ts';
import { manifestKey } from '../shared/naming.ts';
import { StatusStore } from '../shared/status-store.ts';

/**
 * Retry waits at 2% of the definition's, as in the integration tests. Only a moto error makes a
 * step retry, and the figures should show moto's error, not seconds of waiting for it.
 */
const RETRY_SCALE = 0.02;
const POLL_INTERVAL_MS = 20;

/** AWS calls counted by the gateway, by `service:Operation`. */
export type CallCounts = Record<string, number>;

/** An execution as the gateway reports it. Dates are epoch seconds with a fraction. */
export interface ExecutionState {
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  startDate: number;
  stopDate?: number;
  stateTransitions: number;
  error?: string;
}

type ExecutionNamer = (typeof import('../functions/trigger/handler.ts'))['executionName'];

export interface Upload {
  projectId: string;
  versionId: string;
  executionName: string;
  /** `Date.now()` just before the PutObject request was sent. */
  startedAtMs: number;
}

export class BenchStack {
  readonly endpoint: string;
  readonly bucket: string;
  readonly table: string;
  readonly region: string;
  readonly setValueFunction: string;
  readonly s3: S3Client;
  readonly secretsManager: SecretsManagerClient;
  readonly iam: IAMClient;
  readonly lambda: LambdaClient;
  readonly stepFunctions: SFNClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly store: StatusStore;

  private constructor(
    private readonly stack: LocalStack,
    private readonly nameExecution: ExecutionNamer,
  ) {
    const env = stack.env;
    this.endpoint = stack.endpoint;
    this.bucket = requireVariable(env, 'NEPTUNE_BUCKET');
    this.table = requireVariable(env, 'NEPTUNE_TABLE');
    this.region = requireVariable(env, 'AWS_REGION');
    this.setValueFunction = requireVariable(env, 'NEPTUNE_SET_VALUE_FUNCTION');

    // The same client settings as the handlers' (shared/clients.ts), so that direct calls and the
    // pipeline's calls pay the same SDK overhead.
    const config = {
      endpoint: stack.endpoint,
      region: this.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 5,
      requestHandler: { requestTimeout: 10_000, throwOnRequestTimeout: true },
    };
    this.s3 = new S3Client({ ...config, forcePathStyle: true });
    this.secretsManager = new SecretsManagerClient(config);
    this.iam = new IAMClient(config);
    this.lambda = new LambdaClient(config);
    this.stepFunctions = new SFNClient(config);
    this.dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
    this.store = new StatusStore(this.dynamo, this.table);
  }

  /**
   * Starts a local stack in this process on a free port, with an env file named after this
   * process, so that it does not collide with `npm start` or a test run.
   */
  static async start(): Promise<BenchStack> {
    const stack = await startLocalStack({
      port: 0,
      envFile: path.join(REPOSITORY_ROOT, '.local', `bench-${process.pid}.env`),
      retryScale: RETRY_SCALE,
      quiet: true,
    });
    // Handlers create their loggers when they are first imported, which happens on their first
    // invocation after this line. The trigger module is imported below for the same reason.
    // Only errors are logged, because the 1,000-secret case ends with an expected
    // PolicyTooLarge warning.
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    const { executionName } = await import('../functions/trigger/handler.ts');
    return new BenchStack(stack, executionName);
  }

  stop(): Promise<void> {
    return this.stack.stop();
  }

  async resetCalls(): Promise<void> {
    const response = await fetch(`${this.endpoint}/_neptune/calls/reset`, { method: 'POST' });
    await response.arrayBuffer();
  }

  async readCalls(): Promise<CallCounts> {
    const response = await fetch(`${this.endpoint}/_neptune/calls`);
    return (await response.json()) as CallCounts;
  }

  /** Returns undefined until the trigger has started the execution. */
  async readExecution(name: string): Promise<ExecutionState | undefined> {
    const response = await fetch(`${this.endpoint}/_neptune/executions/${encodeURIComponent(name)}`);
    if (response.status === 404) {
      await response.arrayBuffer();
      return undefined;
    }
    if (!response.ok) throw new Error(`reading execution ${name} failed: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as ExecutionState;
  }

  /** Uploads a manifest and names the execution its S3 event will start. */
  async upload(projectId: string, manifest: string): Promise<Upload> {
    const key = manifestKey(projectId);
    const startedAtMs = Date.now();
    const response = await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: manifest, ContentType: 'application/json' }));
    if (!response.VersionId) throw new Error(`the manifest bucket returned no version id for ${key}; it must be versioned`);

    const name = this.nameExecution(projectId, this.bucket, key, {
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: this.bucket }, object: { key, versionId: response.VersionId } },
    });
    return { projectId, versionId: response.VersionId, executionName: name, startedAtMs };
  }

  /** Waits until the upload's execution has ended and returns its final record. */
  async waitForExecution(upload: Upload, timeoutMs: number): Promise<ExecutionState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = await this.readExecution(upload.executionName);
      if (execution && execution.status !== 'RUNNING') return execution;
      if (Date.now() > deadline) {
        throw new Error(
          `the execution for upload ${upload.versionId} of project ${upload.projectId} did not end within ${timeoutMs / 1000} s ` +
            `(state: ${execution ? execution.status : 'not started'})`,
        );
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  /** Reads the whole history of an execution with GetExecutionHistory. */
  async readHistory(executionName: string, stateMachineArn: string): Promise<HistoryEvent[]> {
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.stepFunctions.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return events;
  }

  get stateMachineArn(): string {
    return requireVariable(this.stack.env, 'NEPTUNE_STATE_MACHINE_ARN');
  }
}

/** Calls in `after` that are not in `before`, by operation; operations with zero are left out. */
export function callsBetween(before: CallCounts, after: CallCounts): CallCounts {
  const difference: CallCounts = {};
  for (const [operation, count] of Object.entries(after)) {
    const added = count - (before[operation] ?? 0);
    if (added > 0) difference[operation] = added;
  }
  return difference;
}

/** Removes calls the benchmark itself made in a measured window, such as its upload. */
export function withoutOwnCalls(calls: CallCounts, own: CallCounts): CallCounts {
  const remaining: CallCounts = { ...calls };
  for (const [operation, count] of Object.entries(own)) {
    const left = (remaining[operation] ?? 0) - count;
    if (left > 0) remaining[operation] = left;
    else delete remaining[operation];
  }
  return remaining;
}

export function totalCalls(calls: CallCounts): number {
  return Object.values(calls).reduce((sum, count) => sum + count, 0);
}

/** Builds a manifest of `count` secrets named S0001, S0002, and so on. Short names keep 100 grants inside IAM's policy quota. */
export function manifestOf(count: number): string {
  const resources = Array.from({ length: count }, (_, index) => ({ kind: 'Secret', name: secretName(index) }));
  return JSON.stringify({ kind: 'Service', name: 'bench', resources });
}

export function secretName(index: number): string {
  return `S${String(index + 1).padStart(4, '0')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function requireVariable(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`the local stack's environment has no ${name}`);
  return value;
}
