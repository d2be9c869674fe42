import { BenchStack } from './stack.ts';
import { execSync } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithConcurrency } from '../shared/concurrency.ts';
const stack = await BenchStack.start();
try {
  const ps = execSync(`ps -o pid=,args= --ppid ${process.pid}`).toString();
  const m = /(\d+).*moto_server -H 127.0.0.1 -p (\d+)/.exec(ps)!;
  const motoPid = m[1], port = m[2];
  const direct = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
  const cpu = () => { const f = execSync(`cat /proc/${motoPid}/stat`).toString().split(' '); return (Number(f[13]) + Number(f[14])) * 10; };
  for (const [label, client] of [['gateway', stack.dynamo], ['direct', direct], ['gateway', stack.dynamo], ['direct', direct]] as const) {
    for (const conc of [1, 16]) {
      const c0 = cpu(); const n0 = process.cpuUsage();
      const t0 = performance.now();
      await mapWithConcurrency(Array.from({length: 200}, (_, i) => i), conc, async (i) => {
        await client.send(new UpdateCommand({ TableName: stack.table, Key: { project_id: 'zz', record_key: `secret#S${i % 100}` }, UpdateExpression: 'SET #s = :s, kind = :k', ExpressionAttributeNames: {'#s': 'status'}, ExpressionAttributeValues: {':s': 'Available', ':k': 'Secret'} }));
      });
      const n1 = process.cpuUsage(n0);
      console.log(label, conc, 'wall', (performance.now() - t0).toFixed(0), 'moto cpu ms', cpu() - c0, 'node cpu ms', ((n1.user + n1.system) / 1000).toFixed(0));
    }
  }
} finally { await stack.stop(); }
