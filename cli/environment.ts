import { existsSync } from 'node:fs';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { StatusStore } from '../shared/status-store.ts';
import { EnvironmentError } from './errors.ts';

/**
 * The stack the command talks to. Names come from the environment, and the AWS SDK reads the
 * endpoint (AWS_ENDPOINT_URL), region (AWS_REGION) and profile (AWS_PROFILE) itself, as the AWS
 * CLI does, so the same command works against the local stack and a deployed one.
 */
export const STACK_VARIABLES = {
  bucket: 'NEPTUNE_BUCKET',
  table: 'NEPTUNE_TABLE',
  setValueFunction: 'NEPTUNE_SET_VALUE_FUNCTION',
  redeployedFunction: 'NEPTUNE_REDEPLOYED_FUNCTION',
} as const;

export type StackSetting = keyof typeof STACK_VARIABLES;

/** The env file that `neptune local` writes, relative to the repository where it runs. */
export const LOCAL_ENV_FILE = '.local/stack.env';

/**
 * Reads the named settings, or throws one error that lists every missing variable. The local
 * stack's env file is never read implicitly: a stale file would silently point a command at
 * the wrong stack, so the message explains how to load it instead.
 */
export function requireSettings<Setting extends StackSetting>(
  settings: Setting[],
  environment: NodeJS.ProcessEnv = process.env,
): Record<Setting, string> {
  const values = {} as Record<Setting, string>;
  const missing: string[] = [];
  for (const setting of settings) {
    const variable = STACK_VARIABLES[setting];
    const value = environment[variable];
    if (value === undefined || value === '') missing.push(variable);
    else values[setting] = value;
  }
  if (missing.length === 0) return values;

  const localHint = existsSync(LOCAL_ENV_FILE)
    ? `for the local stack run \`source ${LOCAL_ENV_FILE}\``
    : `for the local stack start it with \`neptune local\` and run \`source ${LOCAL_ENV_FILE}\``;
  throw new EnvironmentError(
    `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: ${localHint}; for a deployed stack export the stack's outputs under these names`,
  );
}

/**
 * Applies `--profile` and `--region` before any client is created. They set the same variables
 * the AWS CLI reads, so the SDK's own credential and region chain picks them up.
 */
export function applyAwsOptions(options: { profile?: string; region?: string }, environment: NodeJS.ProcessEnv = process.env): void {
  if (options.profile !== undefined) environment.AWS_PROFILE = options.profile;
  if (options.region !== undefined) environment.AWS_REGION = options.region;
}

// The SDK's default of three attempts with backoff rides out a short throttle; a command that
// still fails reports it rather than waiting longer.
const clientOptions = { maxAttempts: 3 } as const;

let s3Client: S3Client | undefined;
let dynamoClient: DynamoDBDocumentClient | undefined;
let lambdaClient: LambdaClient | undefined;

export function s3(): S3Client {
  // Path-style addressing is needed when the endpoint is a host name such as 127.0.0.1.
  s3Client ??= new S3Client({ ...clientOptions, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
  return s3Client;
}

export function dynamo(): DynamoDBDocumentClient {
  dynamoClient ??= DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions));
  return dynamoClient;
}

export function lambda(): LambdaClient {
  lambdaClient ??= new LambdaClient(clientOptions);
  return lambdaClient;
}

export function statusStore(table: string): StatusStore {
  return new StatusStore(dynamo(), table);
}

/** Closes the clients' sockets so that the process can exit without waiting for idle timeouts. */
export function destroyClients(): void {
  s3Client?.destroy();
  dynamoClient?.destroy();
  lambdaClient?.destroy();
  s3Client = undefined;
  dynamoClient = undefined;
  lambdaClient = undefined;
}
