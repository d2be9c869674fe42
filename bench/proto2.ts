import { BenchStack, manifestOf } from './stack.ts';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithConcurrency } from '../shared/concurrency.ts';
const stack = await BenchStack.start();
try {
  for (const n of [100, 100]) {
    const pid = `q${n}x${Date.now().toString(36)}`;
    const up = await stack.upload(pid, manifestOf(n));
    const ex = await stack.waitForExecution(up, 600_000);
    const h = await stack.readHistory(up.executionName, stack.stateMachineArn);
    let prev = up.startedAtMs;
    for (const e of h) { const t = e.timestamp!.getTime(); console.log((t - up.startedAtMs).toString().padStart(6), e.type, e.stateEnteredEventDetails?.name ?? e.stateExitedEventDetails?.name ?? ''); prev = t; }
    // bare UpdateItem x 200 at 16
    const t0 = performance.now();
    await mapWithConcurrency(Array.from({length: 200}, (_, i) => i), 16, async (i) => {
      await stack.dynamo.send(new UpdateCommand({ TableName: stack.table, Key: { project_id: pid + 'z', record_key: `secret#S${i % 100}` }, UpdateExpression: 'SET #s = :s, kind = :k', ExpressionAttributeNames: {'#s': 'status'}, ExpressionAttributeValues: {':s': 'Available', ':k': 'Secret'} }));
    });
    console.log('200 UpdateItem @16:', (performance.now() - t0).toFixed(0));
  }
} finally { await stack.stop(); }
