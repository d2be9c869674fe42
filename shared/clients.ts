import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One client per AWS service, created once per Lambda container. Endpoint, region and
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

let shared: AwsClients | undefined;

export function awsClients(): AwsClients {
  shared ??= {
    // Path-style addressing is needed when the endpoint is a host name such as localhost.
    s3: new S3Client({ ...common, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }),
    secretsManager: new SecretsManagerClient(common),
    iam: new IAMClient(common),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(common), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    stepFunctions: new SFNClient(common),
  };
  return shared;
}

/** Replaces the clients, for tests that point them at a fault-injecting endpoint. */
export function setAwsClients(clients: AwsClients | undefined): void {
  shared = clients;
}
