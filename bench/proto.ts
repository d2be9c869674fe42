import { BenchStack } from './stack.ts';
import { provisionOnce } from './cases/provision.ts';
import { bareMinimumOnce } from './cases/bare-minimum.ts';
const stack = await BenchStack.start();
try {
  for (const n of [1, 10, 100, 100, 100]) {
    const t = Date.now().toString(36);
    const p = await provisionOnce(stack, `p${n}x${t}`, n, 600_000);
    const b = await bareMinimumOnce(stack, `b${n}x${t}`, n);
    console.log(n, p.wallMs.toFixed(0), b.wallMs.toFixed(0), (p.wallMs/b.wallMs).toFixed(2), p.outcome, p.stateTransitions, p.lambdaInvocations, p.maxPayloadBytes, JSON.stringify(b.calls));
  }
} finally { await stack.stop(); }
