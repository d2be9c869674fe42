import { randomInt } from 'node:crypto';

import { IAMClient, GetRolePolicyCommand, NoSuchEntityException } from '@aws-sdk/client-iam';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';

import { StatusStore, type ProjectStatusView } from '../../shared/status-store.ts';
import { manifestKey } from '../../shared/naming.ts';

/**
 * Access to the local stack that tests/global-setup.ts starts for the test run: its environment,
 * real AWS SDK clients pointed at it, and helpers to upload a manifest and wait for its outcome.
 */

/** Returns the variables of the test stack's env file, which tests/global-setup.ts provides. */
export function stackEnv(): Record<string, string> {
  return inject('localStack');
}

export function clientConfig() {
  const env = stackEnv();
  return {
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test' },
  };
}

export function stackClients() {
  const config = clientConfig();
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
  return {
    s3: new S3Client({ ...config, forcePathStyle: true }),
    secretsManager: new SecretsManagerClient(config),
    iam: new IAMClient(config),
    lambda: new LambdaClient(config),
    stepFunctions: new SFNClient(config),
    dynamo,
    store: new StatusStore(dynamo, stackEnv().NEPTUNE_TABLE as string),
  };
}

/** Makes a project id no other test uses: lowercase letters and digits, as the naming rules require. */
export function uniqueProjectId(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${randomInt(1e6).toString(36)}`.slice(0, 32);
}

export function manifestOf(names: string[], serviceName = 'my-app'): string {
  return JSON.stringify({ kind: 'Service', name: serviceName, resources: names.map((name) => ({ kind: 'Secret', name })) });
}

/** Uploads a manifest and returns the version the project record will name once it is applied. */
export async function uploadManifest(projectId: string, body: string | Uint8Array): Promise<string> {
  const response = await stackClients().s3.send(
    new PutObjectCommand({ Bucket: stackEnv().NEPTUNE_BUCKET, Key: manifestKey(projectId), Body: body }),
  );
  return response.VersionId && response.VersionId !== 'null' ? response.VersionId : (response.ETag as string);
}

/**
 * Waits until the project has applied or rejected the given upload and no execution has its lease,
 * then returns its status.
 */
export async function waitForUpload(projectId: string, version: string, timeoutMs = 90_000): Promise<ProjectStatusView> {
  const { store } = stackClients();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await store.readProject(projectId);
    const project = view.project;
    const settled = project !== undefined && project.lease_owner === undefined;
    const applied = project?.manifest_version === version;
    const rejected = project?.last_rejection?.version === version;
    if (settled && (applied || rejected)) return view;
    if (Date.now() > deadline) {
      throw new Error(`upload ${version} of project ${projectId} did not settle within ${timeoutMs} ms: ${JSON.stringify(project)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function uploadAndWait(projectId: string, body: string | Uint8Array): Promise<ProjectStatusView> {
  return waitForUpload(projectId, await uploadManifest(projectId, body));
}

/** Reads the role's inline policy document; undefined when the role or the policy does not exist. */
export async function readRolePolicy(roleName: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await stackClients().iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'neptune-secrets' }));
    return JSON.parse(decodeURIComponent(response.PolicyDocument as string)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof NoSuchEntityException) return undefined;
    throw error;
  }
}

/** Invokes a function of the stack by its key in serverless.yml; returns the payload or the error. */
export async function invokeFunction(variable: string, payload: unknown): Promise<{ result?: unknown; error?: { errorType: string; errorMessage: string } }> {
  const response = await stackClients().lambda.send(
    new InvokeCommand({ FunctionName: stackEnv()[variable], Payload: Buffer.from(JSON.stringify(payload)) }),
  );
  const body = response.Payload ? (JSON.parse(Buffer.from(response.Payload).toString('utf8')) as unknown) : undefined;
  if (response.FunctionError) return { error: body as { errorType: string; errorMessage: string } };
  return { result: body };
}

/** Counts of AWS calls by `service:Operation` that the gateway served since the last reset. */
export async function gatewayCalls(): Promise<Record<string, number>> {
  const response = await fetch(`${stackEnv().AWS_ENDPOINT_URL}/_neptune/calls`);
  return (await response.json()) as Record<string, number>;
}

export async function setFaults(rules: unknown[]): Promise<void> {
  const response = await fetch(`${stackEnv().AWS_ENDPOINT_URL}/_neptune/faults`, { method: 'PUT', body: JSON.stringify(rules) });
  if (!response.ok) throw new Error(`setting faults failed: ${response.status} ${await response.text()}`);
}
