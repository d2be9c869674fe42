/**
 * The minimum work that provisioning N secrets needs, sent directly to the same gateway and
 * moto: N CreateSecret calls, one PutRolePolicy with their ARNs, and the final status records
 * in BatchWriteItem calls of 25. Each part runs at the concurrency the pipeline uses for it.
 */
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';

import { mapWithConcurrency } from '../../shared/concurrency.ts';
import { buildSecretsPolicy, POLICY_NAME } from '../../shared/iam-policy.ts';
import { PROJECT_SORT_KEY, physicalName, roleName, statusSortKey } from '../../shared/naming.ts';
import { secretTags } from '../../shared/secret-plan.ts';
import { secretName, type BenchStack, type CallCounts } from '../stack.ts';

/** The create-secrets step's CreateSecret calls in flight (functions/create-secrets/handler.ts). */
const SECRET_CALLS_IN_FLIGHT = 10;
/** The status store's writes in flight (shared/status-store.ts). */
const STATUS_WRITES_IN_FLIGHT = 16;
/** DynamoDB's maximum number of items per BatchWriteItem. */
const BATCH_WRITE_MAX_ITEMS = 25;
const BATCH_WRITE_MAX_ATTEMPTS = 10;

export interface BareMinimumRun {
  secrets: number;
  wallMs: number;
  calls: CallCounts;
  /**
   * The same N status records written once more the way the pipeline writes them
   * (StatusStore.writeSecrets: one UpdateItem per secret, 16 in flight). The pipeline does this
   * twice per run, once as Provisioning and once as Available.
   */
  pipelineStatusWriteMs: number;
}

export async function bareMinimumOnce(stack: BenchStack, projectId: string, secrets: number): Promise<BareMinimumRun> {
  // The role exists before the clock starts: creating it is a one-time cost per project.
  const role = roleName('neptune-{projectId}', projectId);
  await stack.iam.send(new CreateRoleCommand({ RoleName: role, Path: '/neptune/', AssumeRolePolicyDocument: TRUST_POLICY }));
  const names = Array.from({ length: secrets }, (_, index) => secretName(index));

  await stack.resetCalls();
  const startedAt = performance.now();

  const arns = await mapWithConcurrency(names, SECRET_CALLS_IN_FLIGHT, async (name) => {
    const response = await stack.secretsManager.send(
      new CreateSecretCommand({
        Name: physicalName(projectId, name),
        Description: `Neptune secret ${name} of project ${projectId}`,
        Tags: secretTags(projectId, name),
      }),
    );
    return response.ARN as string;
  });

  // NOTE: above roughly 100 to 120 secrets, depending on name lengths, this document exceeds
  // IAM's 10,240-character quota. moto 5.2.1 does not enforce the quota, so the write succeeds
  // here, where AWS would reject it.
  const policy = buildSecretsPolicy(arns, { region: stack.region });
  await stack.iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: POLICY_NAME, PolicyDocument: JSON.stringify(policy) }));

  const now = new Date().toISOString();
  const records: Array<Record<string, unknown>> = names.map((name, index) => ({
    project_id: projectId,
    record_key: statusSortKey(name),
    kind: 'Secret',
    name,
    status: 'Available',
    aws_id: physicalName(projectId, name),
    arn: arns[index],
    execution: 'bare-minimum',
    created_at: now,
    updated_at: now,
  }));
  records.push({ project_id: projectId, record_key: PROJECT_SORT_KEY, kind: 'Service', status: 'Available', secret_count: secrets, updated_at: now });
  await mapWithConcurrency(chunk(records, BATCH_WRITE_MAX_ITEMS), STATUS_WRITES_IN_FLIGHT, (batch) => batchWrite(stack, batch));

  const wallMs = performance.now() - startedAt;
  const calls = await stack.readCalls();

  const updates = names.map((name, index) => ({ name, status: 'Available' as const, awsId: physicalName(projectId, name), arn: arns[index] }));
  const writesStartedAt = performance.now();
  await stack.store.writeSecrets(projectId, 'bare-minimum', updates, []);
  const pipelineStatusWriteMs = performance.now() - writesStartedAt;

  return { secrets, wallMs, calls, pipelineStatusWriteMs };
}

/** Writes one batch, and sends unprocessed items again, as DynamoDB requires of callers. */
async function batchWrite(stack: BenchStack, items: Array<Record<string, unknown>>): Promise<void> {
  let requests = items.map((item) => ({ PutRequest: { Item: item } }));
  for (let attempt = 1; requests.length > 0; attempt++) {
    if (attempt > BATCH_WRITE_MAX_ATTEMPTS) throw new Error(`BatchWriteItem left ${requests.length} items unprocessed after ${BATCH_WRITE_MAX_ATTEMPTS} attempts`);
    const response = await stack.dynamo.send(new BatchWriteCommand({ RequestItems: { [stack.table]: requests } }));
    requests = (response.UnprocessedItems?.[stack.table] ?? []) as typeof requests;
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
