/**
 * How many requests moto serves at once: the same 200 UpdateItem calls sent one at a time and
 * 16 at a time. Equal times mean moto handles one request at a time, so on the local stack a
 * step's time grows with its number of calls whatever its concurrency.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';

import { mapWithConcurrency } from '../../shared/concurrency.ts';
import type { BenchStack } from '../stack.ts';

const CALLS = 200;

export interface MotoThroughputRun {
  calls: number;
  oneInFlightMs: number;
  sixteenInFlightMs: number;
}

export async function motoThroughputRun(stack: BenchStack): Promise<MotoThroughputRun> {
  return {
    calls: CALLS,
    oneInFlightMs: await updateItems(stack, 1),
    sixteenInFlightMs: await updateItems(stack, 16),
  };
}

async function updateItems(stack: BenchStack, inFlight: number): Promise<number> {
  const indexes = Array.from({ length: CALLS }, (_, index) => index);
  const startedAt = performance.now();
  await mapWithConcurrency(indexes, inFlight, (index) =>
    stack.dynamo.send(
      new UpdateCommand({
        // A project id that the naming rules reject, so no upload can touch these items.
        TableName: stack.table,
        Key: { project_id: 'bench-throughput', record_key: `secret#S${index % 100}` },
        UpdateExpression: 'SET #status = :status, updated_at = :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': 'Available', ':now': new Date().toISOString() },
      }),
    ),
  );
  return performance.now() - startedAt;
}
