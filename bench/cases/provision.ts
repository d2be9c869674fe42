/**
 * Provisioning measured from the upload until the execution ends, which is after WriteStatus
 * has written every secret's final status and released the project's lease.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

import { manifestOf, withoutOwnCalls, type BenchStack, type CallCounts } from '../stack.ts';

/** The upload itself, counted by the gateway but made by the benchmark. */
const UPLOAD_CALLS: CallCounts = { 's3:PutObject': 1 };

export interface ProvisionRun {
  projectId: string;
  secrets: number;
  wallMs: number;
  executionStatus: string;
  /** The final status of the secrets, e.g. `Available` or `Failed (PolicyTooLarge)`. */
  outcome: string;
  calls: CallCounts;
  stateTransitions: number;
  /** The trigger's invocations (one StartExecution each) plus one per Lambda task in the history. */
  lambdaInvocations: number;
  /** The largest state input or output, Lambda payload or execution input or output, in UTF-8 bytes. */
  maxPayloadBytes: number;
  /** Milliseconds from entering to leaving each Task state, by state name, from the history's timestamps. */
  taskMs: Record<string, number>;
}

/** Uploads a manifest of `secrets` secrets for a new project and measures the pipeline. */
export async function provisionOnce(stack: BenchStack, projectId: string, secrets: number, timeoutMs: number): Promise<ProvisionRun> {
  return uploadAndMeasure(stack, projectId, manifestOf(secrets), secrets, timeoutMs);
}

/** Uploads `manifest` and measures the upload's execution and the calls made while it ran. */
export async function uploadAndMeasure(
  stack: BenchStack,
  projectId: string,
  manifest: string,
  secrets: number,
  timeoutMs: number,
): Promise<ProvisionRun> {
  await stack.resetCalls();
  const upload = await stack.upload(projectId, manifest);
  const execution = await stack.waitForExecution(upload, timeoutMs);
  const calls = withoutOwnCalls(await stack.readCalls(), UPLOAD_CALLS);

  // Everything below is read after the measured window, so its own calls are not counted.
  const history = await stack.readHistory(upload.executionName, stack.stateMachineArn);
  const view = await stack.store.readProject(projectId);
  if (view.project?.manifest_version !== upload.versionId || view.project.lease_owner !== undefined) {
    throw new Error(`project ${projectId} did not settle on upload ${upload.versionId}: ${JSON.stringify(view.project)}`);
  }

  return {
    projectId,
    secrets,
    wallMs: (execution.stopDate as number) * 1000 - upload.startedAtMs,
    executionStatus: execution.status,
    outcome: describeOutcome(view.secrets.map((secret) => (secret.error_code ? `${secret.status} (${secret.error_code})` : secret.status))),
    calls,
    stateTransitions: execution.stateTransitions,
    lambdaInvocations: (calls['states:StartExecution'] ?? 0) + history.filter((event) => event.type === 'LambdaFunctionScheduled').length,
    maxPayloadBytes: maxPayloadBytes(history),
    taskMs: taskDurations(history),
  };
}

/** `Available` when all agree, else each status with its count, e.g. `Available ×9, Failed ×1`. */
function describeOutcome(statuses: string[]): string {
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  if (counts.size === 1) return [...counts.keys()][0] as string;
  return [...counts].map(([status, count]) => `${status} ×${count}`).join(', ');
}

/** Returns the size of the largest payload in the history: execution, state or Lambda input or output. */
export function maxPayloadBytes(history: HistoryEvent[]): number {
  let max = 0;
  for (const event of history) {
    const payloads = [
      event.executionStartedEventDetails?.input,
      event.executionSucceededEventDetails?.output,
      event.stateEnteredEventDetails?.input,
      event.stateExitedEventDetails?.output,
      event.lambdaFunctionScheduledEventDetails?.input,
      event.lambdaFunctionSucceededEventDetails?.output,
    ];
    for (const payload of payloads) {
      if (payload !== undefined) max = Math.max(max, Buffer.byteLength(payload, 'utf8'));
    }
  }
  return max;
}

function taskDurations(history: HistoryEvent[]): Record<string, number> {
  const durations: Record<string, number> = {};
  const entered = new Map<string, number>();
  for (const event of history) {
    const time = event.timestamp?.getTime();
    if (time === undefined) continue;
    if (event.type === 'TaskStateEntered' && event.stateEnteredEventDetails?.name) entered.set(event.stateEnteredEventDetails.name, time);
    const exited = event.type === 'TaskStateExited' ? event.stateExitedEventDetails?.name : undefined;
    const start = exited === undefined ? undefined : entered.get(exited);
    if (exited !== undefined && start !== undefined) durations[exited] = (durations[exited] ?? 0) + time - start;
  }
  return durations;
}

/** Calls that change Secrets Manager or IAM: every operation except reads. */
export function writesToSecretsAndIam(calls: CallCounts): CallCounts {
  const writes: CallCounts = {};
  for (const [operation, count] of Object.entries(calls)) {
    const [service, name = ''] = operation.split(':');
    if (service !== 'secretsmanager' && service !== 'iam') continue;
    if (/^(Get|List|Describe|BatchGet)/.test(name)) continue;
    writes[operation] = count;
  }
  return writes;
}
