/**
 * Reading a project's whole status as `neptune status` does (StatusStore.readProject): calls per
 * read and latency, with the size of what was read, to compare Query calls with 1 MB pages.
 */
import { type BenchStack, type CallCounts, callsBetween } from '../stack.ts';
import { percentile } from '../stats.ts';

/** DynamoDB returns at most 1 MB of items per Query page. */
const QUERY_PAGE_BYTES = 1024 * 1024;

export interface StatusReadRun {
  reads: number;
  records: number;
  /** An estimate of the items' DynamoDB size: attribute names plus values, as JSON text. */
  estimatedBytes: number;
  pagesExpected: number;
  callsPerRead: CallCounts;
  medianMs: number;
  p95Ms: number;
}

export async function statusReadRun(stack: BenchStack, projectId: string, reads: number): Promise<StatusReadRun> {
  const samples: number[] = [];
  let records = 0;
  let estimatedBytes = 0;

  const before = await stack.readCalls();
  for (let index = 0; index < reads; index++) {
    const startedAt = performance.now();
    const view = await stack.store.readProject(projectId);
    samples.push(performance.now() - startedAt);

    records = view.secrets.length + (view.project ? 1 : 0);
    estimatedBytes = [...view.secrets, ...(view.project ? [view.project] : [])].reduce((sum, item) => sum + itemBytes(item), 0);
  }
  const calls = callsBetween(before, await stack.readCalls());

  const sorted = [...samples].sort((a, b) => a - b);
  return {
    reads,
    records,
    estimatedBytes,
    pagesExpected: Math.max(1, Math.ceil(estimatedBytes / QUERY_PAGE_BYTES)),
    callsPerRead: Object.fromEntries(Object.entries(calls).map(([operation, count]) => [operation, count / reads])),
    medianMs: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
  };
}

function itemBytes(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(JSON.stringify(value) ?? ''), 0);
}
