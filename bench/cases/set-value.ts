/**
 * Set-value latency through the Lambda Invoke API, next to direct calls of the three operations
 * it makes (UpdateItem, PutSecretValue, TransactWriteItems). The calls alternate one by one, so
 * a drift of the machine or of moto affects both sides alike.
 */
import { randomUUID } from 'node:crypto';

import { InvokeCommand } from '@aws-sdk/client-lambda';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

import { callsBetween, secretName, type BenchStack, type CallCounts } from '../stack.ts';
import { percentile, round } from '../stats.ts';

export interface SetValueRun {
  calls: number;
  /** Calls per set, without the Lambda Invoke call itself. */
  callsPerSet: CallCounts;
  setValueMs: LatencyFigures;
  putSecretValueMs: LatencyFigures;
  updateItemMs: LatencyFigures;
  transactWriteItemsMs: LatencyFigures;
  /** Items in the status table during the run; moto's TransactWriteItems copies the whole table. */
  tableItems: number;
}

export interface LatencyFigures {
  median: number;
  p95: number;
}

/** Items the direct DynamoDB calls write, under a project id that the naming rules reject, so no upload can touch them. */
const SCRATCH_PROJECT = 'bench-scratch';

export async function setValueRun(stack: BenchStack, projectId: string, secretArns: string[], calls: number): Promise<SetValueRun> {
  const samples = { setValue: [] as number[], put: [] as number[], update: [] as number[], transact: [] as number[] };
  let perSet: CallCounts = {};

  for (let index = 0; index < calls; index++) {
    const secretIndex = index % secretArns.length;
    const name = secretName(secretIndex);
    const value = `bench-${randomUUID()}`;

    const before = await stack.readCalls();
    samples.setValue.push(await timed(() => invokeSetValue(stack, { project: projectId, name, value })));
    perSet = addCounts(perSet, callsBetween(before, await stack.readCalls()));

    samples.put.push(
      await timed(() => stack.secretsManager.send(new PutSecretValueCommand({ SecretId: secretArns[secretIndex], SecretString: value }))),
    );
    samples.update.push(await timed(() => stack.dynamo.send(lockLikeUpdate(stack.table, index))));
    samples.transact.push(await timed(() => stack.dynamo.send(recordLikeTransaction(stack.table, index))));
  }

  const invokes = perSet['lambda:Invoke'] ?? 0;
  delete perSet['lambda:Invoke'];
  if (invokes !== calls) throw new Error(`expected ${calls} lambda:Invoke calls, the gateway counted ${invokes}`);

  return {
    calls,
    callsPerSet: Object.fromEntries(Object.entries(perSet).map(([operation, count]) => [operation, round(count / calls)])),
    setValueMs: latencyFigures(samples.setValue),
    putSecretValueMs: latencyFigures(samples.put),
    updateItemMs: latencyFigures(samples.update),
    transactWriteItemsMs: latencyFigures(samples.transact),
    tableItems: await countItems(stack),
  };
}

async function invokeSetValue(stack: BenchStack, request: { project: string; name: string; value: string }): Promise<void> {
  const response = await stack.lambda.send(new InvokeCommand({ FunctionName: stack.setValueFunction, Payload: Buffer.from(JSON.stringify(request)) }));
  if (response.FunctionError) {
    const body = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
    throw new Error(`set-value failed for ${request.project}/${request.name}: ${body}`);
  }
}

/** Builds an update shaped like set-value's lock: a conditional update of two attributes, on a scratch item. */
function lockLikeUpdate(table: string, index: number): UpdateCommand {
  return new UpdateCommand({
    TableName: table,
    Key: { project_id: SCRATCH_PROJECT, record_key: `secret#S${index % 10}` },
    UpdateExpression: 'SET value_lock_owner = :owner, value_lock_expires_at = :expires',
    ConditionExpression: 'attribute_not_exists(value_lock_owner) OR value_lock_expires_at < :now',
    ExpressionAttributeValues: { ':owner': randomUUID(), ':expires': 0, ':now': Date.now() },
  });
}

/** Builds a transaction shaped like set-value's record: two updates, on scratch items. */
function recordLikeTransaction(table: string, index: number): TransactWriteCommand {
  const setAt = new Date().toISOString();
  return new TransactWriteCommand({
    TransactItems: [
      {
        Update: {
          TableName: table,
          Key: { project_id: SCRATCH_PROJECT, record_key: `secret#S${index % 10}` },
          UpdateExpression: 'SET value_version = :version, value_set_at = :setAt REMOVE value_lock_owner, value_lock_expires_at',
          ExpressionAttributeValues: { ':version': randomUUID(), ':setAt': setAt },
        },
      },
      {
        Update: {
          TableName: table,
          Key: { project_id: SCRATCH_PROJECT, record_key: 'project' },
          UpdateExpression: 'SET value_set_at = :setAt ADD value_set_count :one',
          ExpressionAttributeValues: { ':setAt': setAt, ':one': 1 },
        },
      },
    ],
  });
}

/** Counts the table's items with a paged Scan. */
export async function countItems(stack: BenchStack): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await stack.dynamo.send(new ScanCommand({ TableName: stack.table, Select: 'COUNT', ExclusiveStartKey: startKey }));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const startedAt = performance.now();
  await work();
  return performance.now() - startedAt;
}

function latencyFigures(samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

function addCounts(total: CallCounts, more: CallCounts): CallCounts {
  const sum: CallCounts = { ...total };
  for (const [operation, count] of Object.entries(more)) sum[operation] = (sum[operation] ?? 0) + count;
  return sum;
}
