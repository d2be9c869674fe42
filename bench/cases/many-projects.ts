/**
 * Many projects uploaded at once: every upload is sent together, and each project's time runs
 * from the start of the batch until its own execution ends.
 */
import { manifestOf, totalCalls, type BenchStack, type CallCounts } from '../stack.ts';

export interface ManyProjectsRun {
  projects: number;
  secretsPerProject: number;
  totalMs: number;
  slowestProjectMs: number;
  fastestProjectMs: number;
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

  const projectMs = executions.map((execution) => (execution.stopDate as number) * 1000 - startedAt);
  return {
    projects: projectIds.length,
    secretsPerProject,
    totalMs: Math.max(...projectMs),
    slowestProjectMs: Math.max(...projectMs),
    fastestProjectMs: Math.min(...projectMs),
    failedExecutions: executions.filter((execution) => execution.status !== 'SUCCEEDED').length,
    // The uploads are the benchmark's own calls.
    calls: totalCalls(calls) - projectIds.length,
  };
}
