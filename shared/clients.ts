import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One client per AWS service, created once per Lambda container on first use. Endpoint, region and
 * credentials come from the environment (AWS_ENDPOINT_URL on the local stack), so nothing here
 * differs between AWS and local. The SDK retries throttling and 5xx with exponential backoff and
 * jitter, and timeouts too. A retried write whose first response was lost is harmless: CreateSecret
 * carries an idempotency token and the other writes either repeat the same change or are checked
 * by their callers. Five attempts ride out a short burst before the step's own Retry takes over.
 */
const common = {
  maxAttempts: 5,
  // Without a request timeout a call whose response never comes would hang until the Lambda times
  // out. Every call here returns in well under a second when AWS is healthy. SDK 3.1178 only
  // warns about a request timeout unless throwOnRequestTimeout is set. No connection timeout:
  // it also counts the wait for a free socket, which the local stack's many in-process
  // invocations sharing one client would exceed.
  requestHandler: { requestTimeout: 10_000, throwOnRequestTimeout: true },
} as const;

export interface AwsClients {
  s3: S3Client;
  secretsManager: SecretsManagerClient;
  iam: IAMClient;
  dynamo: DynamoDBDocumentClient;
  stepFunctions: SFNClient;
}

/** Any of the clients above; each has a middleware stack that the local stack can extend. */
type AnyClient = AwsClients[keyof AwsClients];

// One getter per service, each creating its client on first use, so that a function's bundle
// carries only the SDK clients its code calls: every SDK client package is free of side effects,
// and esbuild drops the ones nothing calls.
const created: Partial<AwsClients> = {};
let onCreate: ((client: AnyClient) => void) | undefined;

function remember<Name extends keyof AwsClients>(name: Name, make: () => AwsClients[Name]): AwsClients[Name] {
  const existing = created[name];
  if (existing) return existing as AwsClients[Name];

  const client = make();
  created[name] = client;
  onCreate?.(client);
  return client;
}

export function s3Client(): S3Client {
  // Path-style addressing is needed when the endpoint is a host name such as localhost.
  return remember('s3', () => new S3Client({ ...common, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }));
}

export function secretsManagerClient(): SecretsManagerClient {
  return remember('secretsManager', () => new SecretsManagerClient(common));
}

export function iamClient(): IAMClient {
  return remember('iam', () => new IAMClient(common));
}

export function dynamoClient(): DynamoDBDocumentClient {
  return remember('dynamo', () =>
    DynamoDBDocumentClient.from(new DynamoDBClient(common), { marshallOptions: { removeUndefinedValues: true } }),
  );
}

export function stepFunctionsClient(): SFNClient {
  return remember('stepFunctions', () => new SFNClient(common));
}

/**
 * Replaces the clients, for tests that point them at a counting or fault-injecting endpoint.
 * With undefined it drops them, so that the next use creates them again.
 */
export function setAwsClients(clients: Partial<AwsClients> | undefined): void {
  for (const name of Object.keys(created) as Array<keyof AwsClients>) delete created[name];
  Object.assign(created, clients ?? {});
}

/** Runs `hook` on every client created from now on; the local stack adds its crash seam so. */
export function onAwsClientCreated(hook: (client: AnyClient) => void): void {
  onCreate = hook;
}
