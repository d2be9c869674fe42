/**
 * Many projects uploaded at once. All uploads are sent together, and each project's time runs
 * from its own upload until its execution ends.
 */
import { manifestOf, totalCalls, type BenchStack, type CallCounts } from '../stack.ts';
import { percentile } from '../stats.ts';

export interface ManyProjectsRun {
  projects: number;
  secretsPerProject: number;
  /** From the first upload until the last execution ended. */
  totalMs: number;
  /** Each project's time runs from its own upload until its execution ended. */
  slowestProjectMs: number;
  medianProjectMs: number;
  fastestProjectMs: number;
  /** The maximum time from an upload until its execution started. */
  maxStartDelayMs: number;
  failedExecutions: number;
  calls: number;
}

export async function manyProjectsRun(
  stack: BenchStack,
  projectIds: string[],
  secretsPerProject: number,
  timeoutMs: number,
): Promise<ManyProjectsRun> {
  const manifest = manifestOf(secretsPerProject);

  await stack.resetCalls();
  const startedAt = Date.now();
  const uploads = await Promise.all(projectIds.map((projectId) => stack.upload(projectId, manifest)));
  const executions = await Promise.all(uploads.map((upload) => stack.waitForExecution(upload, timeoutMs)));
  const calls: CallCounts = await stack.readCalls();

  const stoppedAtMs = executions.map((execution) => (execution.stopDate as number) * 1000);
  const projectMs = uploads.map((upload, index) => (stoppedAtMs[index] as number) - upload.startedAtMs).sort((a, b) => a - b);
  return {
    projects: projectIds.length,
    secretsPerProject,
    totalMs: Math.max(...stoppedAtMs) - startedAt,
    slowestProjectMs: projectMs.at(-1) as number,
    medianProjectMs: percentile(projectMs, 50),
    fastestProjectMs: projectMs[0] as number,
    maxStartDelayMs: Math.max(...uploads.map((upload, index) => (executions[index]?.startDate ?? 0) * 1000 - upload.startedAtMs)),
    failedExecutions: executions.filter((execution) => execution.status !== 'SUCCEEDED').length,
    // The uploads are the benchmark's own calls.
    calls: totalCalls(calls) - projectIds.length,
  };
}
