/**
 * Starts the whole local stack: moto, the gateway, the Lambda runtime, Step Functions, the
 * resources from serverless.yml and the S3 event delivery, then writes the env file.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { installCrashSeam } from './crash-seam.ts';
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION, loadDefinitions, type StackDefinitions } from './definitions.ts';
import { StackAlreadyRunningError } from './errors.ts';
import { readEndpoint, removeEnvFile, removeOwnEnvFile, writeEnvFile } from './env-file.ts';
import { FaultInjector, type FaultRule } from './faults.ts';
import { startGateway } from './gateway.ts';
import { applySharedEnvironment, LambdaRuntime } from './lambda-runtime.ts';
import { createLogger, type StackLogger } from './log.ts';
import { startMoto } from './moto.ts';
import { createMotoClients, createResources, startManifestEventPoller } from './s3-events.ts';
import { LocalStepFunctions } from './step-functions.ts';

export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PORT = 4566;
export const DEFAULT_ENV_FILE = path.join(REPOSITORY_ROOT, '.local', 'stack.env');
export const DEFAULT_FAULT_SEED = 1;

export interface LocalStackOptions {
  /** Gateway port on 127.0.0.1; 0 picks a free one. Default 4566. */
  port?: number;
  /** Path of the env file; default `.local/stack.env` in the repository. */
  envFile?: string;
  /** Local-only factor for Step Functions Retry waits; default 1 (the definition's waits). */
  retryScale?: number;
  /** Fault rules active from the start; default none. */
  faults?: FaultRule[];
  faultSeed?: number;
  /** Log only errors. */
  quiet?: boolean;
  region?: string;
  /** Directory with serverless.yml; default the repository root. */
  serviceDir?: string;
}

export interface LocalStack {
  /** The gateway, e.g. `http://127.0.0.1:4566`. */
  endpoint: string;
  /** The variables written to the env file. */
  env: Record<string, string>;
  envFile: string;
  definitions: StackDefinitions;
  logger: StackLogger;
  /** Stops polling, aborts running executions, closes the gateway, stops moto, removes the env file. */
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const logger = createLogger({ quiet: options.quiet });
  const region = options.region ?? DEFAULT_REGION;
  const accountId = process.env.MOTO_ACCOUNT_ID ?? DEFAULT_ACCOUNT_ID;
  const envFile = path.resolve(options.envFile ?? DEFAULT_ENV_FILE);

  // A file left by a stack that was killed would claim readiness for a stack that is not running,
  // but the file of a stack that still runs belongs to that stack.
  const existingEndpoint = readEndpoint(envFile);
  if (existingEndpoint !== undefined) {
    if (await isLocalStackRunning(existingEndpoint)) {
      throw new StackAlreadyRunningError(
        `a local stack is already running at ${existingEndpoint} (${path.relative(process.cwd(), envFile) || envFile}); ` +
          'use it, stop it first, or give this stack another env file with NEPTUNE_LOCAL_ENV_FILE',
      );
    }
    removeEnvFile(envFile);
  }

  const definitions = loadDefinitions({ serviceDir: options.serviceDir ?? REPOSITORY_ROOT, region, accountId });
  const stoppers: Array<() => Promise<void>> = [];
  let ownEndpoint: string | undefined;
  const stopAll = async () => {
    if (ownEndpoint !== undefined) removeOwnEnvFile(envFile, ownEndpoint);
    for (const stop of stoppers.reverse()) await stop();
    stoppers.length = 0;
  };

  try {
    const moto = await startMoto({ accountId });
    stoppers.push(moto.stop);

    const faults = new FaultInjector(options.faultSeed ?? DEFAULT_FAULT_SEED);
    faults.setRules(options.faults ?? []);

    const runtime = new LambdaRuntime(definitions.functions, { region, accountId, logger, faults });
    const stepFunctions = new LocalStepFunctions(definitions.stateMachines, { runtime, logger, retryScale: options.retryScale ?? 1 });

    const gateway = await startGateway({ port: options.port ?? DEFAULT_PORT, motoEndpoint: moto.endpoint, runtime, stepFunctions, faults, logger });
    stoppers.push(gateway.close);
    // Stopped before the gateway closes, so running executions end as aborted rather than
    // failing on connections the gateway refuses.
    stoppers.push(() => stepFunctions.stop());

    const sharedEnvironment = applyHandlerEnvironment(definitions, gateway.endpoint);
    // Before any handler runs, so that every client a handler creates gets the seam.
    installCrashSeam();

    const clients = createMotoClients(moto.endpoint, region);
    const queueUrl = await createResources(definitions, clients);
    const poller = startManifestEventPoller({ definitions, clients, queueUrl, runtime, logger });
    stoppers.push(poller.stop);

    const env = stackEnvironment(definitions, gateway.endpoint, sharedEnvironment);
    writeEnvFile(envFile, env);
    ownEndpoint = gateway.endpoint;
    logger.info('ready', { endpoint: gateway.endpoint, envFile: path.relative(process.cwd(), envFile) || envFile });

    let stopping: Promise<void> | undefined;
    return {
      endpoint: gateway.endpoint,
      env,
      envFile,
      definitions,
      logger,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Points every AWS client in this process at the gateway with static credentials. Variables a
 * developer's shell may carry (a profile, a session token, per-service endpoints) are removed,
 * because they would send the handlers' calls elsewhere or sign them with real credentials.
 */
function applyHandlerEnvironment(definitions: StackDefinitions, endpoint: string): Record<string, string> {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_ENDPOINT_URL_') || name === 'AWS_PROFILE' || name === 'AWS_SESSION_TOKEN') delete process.env[name];
  }

  return applySharedEnvironment(definitions.functions, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: definitions.region,
    AWS_DEFAULT_REGION: definitions.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
}

function stackEnvironment(definitions: StackDefinitions, endpoint: string, shared: Record<string, string>): Record<string, string> {
  const functionName = (key: string) => definitions.functions.find((fn) => fn.key === key)?.name ?? '';

  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: definitions.region,
    AWS_DEFAULT_REGION: definitions.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    NEPTUNE_BUCKET: definitions.manifestBucket.name,
    NEPTUNE_TABLE: shared.NEPTUNE_TABLE ?? definitions.tables[0]?.name ?? '',
    NEPTUNE_STATE_MACHINE_ARN: shared.NEPTUNE_STATE_MACHINE_ARN ?? definitions.stateMachines[0]?.arn ?? '',
    ...Object.fromEntries(definitions.functions.map((fn) => [`NEPTUNE_FUNCTION_${upperSnakeCase(fn.key)}`, fn.name])),
    NEPTUNE_SET_VALUE_FUNCTION: functionName('setValue'),
    NEPTUNE_REDEPLOYED_FUNCTION: functionName('markRedeployed'),
  };
}

/** `loadManifest` → `LOAD_MANIFEST` */
export function upperSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

/** Asks the gateway named in an env file whether it still runs; it only ever listens on loopback. */
async function isLocalStackRunning(endpoint: string): Promise<boolean> {
  const host = URL.canParse(endpoint) ? new URL(endpoint).hostname : '';
  if (host !== '127.0.0.1' && host !== 'localhost') return false;
  try {
    const response = await fetch(`${endpoint}/_neptune/health`, { signal: AbortSignal.timeout(1_000) });
    return response.ok;
  } catch {
    return false;
  }
}
