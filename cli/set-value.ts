import { randomUUID } from 'node:crypto';

import { InvokeCommand } from '@aws-sdk/client-lambda';

import { isTransientAwsError } from '../shared/errors.ts';
import { setValueRequestSchema } from '../shared/secret-value.ts';
import { awsCallError, oneLine } from './aws-errors.ts';
import { lambda } from './environment.ts';
import { CliError, ExitCode, OperationFailedError, UsageError } from './errors.ts';

/** The set-value function's response. */
export interface SetValueResult {
  project: string;
  name: string;
  aws_id: string;
  version_id: string;
  redeploy_required: boolean;
}

/** The set-value function rejected the request; `errorType` is its error class, such as NotProvisionedError. */
export class SetValueRejectedError extends CliError {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message, errorType === 'RequestInvalidError' ? ExitCode.Usage : ExitCode.Failed);
  }
}

// Attempts of one request when the call fails in transit after the SDK's own retries. Every
// attempt sends the same request_id, so the function stores at most one new version.
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 1_000;
/** Function errors after which the same request may succeed; both leave at most one version. */
const RETRYABLE_FUNCTION_ERRORS = new Set(['TransientAwsError', 'SecretValueWriteError']);

/**
 * Checks a request with the set-value function's own schema, so that a bad name or value is
 * reported before anything is sent. The schema's messages name fields and sizes, never the value.
 */
export function checkSetValueInput(project: string, name: string, value: string): void {
  const parsed = setValueRequestSchema.safeParse({ project, name, value });
  if (parsed.success) return;
  const problems = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '');
    if (field === 'value') return `the value of ${name} ${issue.message}`;
    if (field === 'name') return `secret name ${JSON.stringify(name)} ${issue.message}`;
    if (field === 'project') return `project id ${JSON.stringify(project)} ${issue.message}`;
    return issue.message;
  });
  throw new UsageError(problems.join('; '));
}

/**
 * Sets a secret's value through the set-value function. The value travels only in the request
 * payload: it is never part of an error, a log line or the output.
 */
export async function setSecretValue(functionName: string, project: string, name: string, value: string): Promise<SetValueResult> {
  checkSetValueInput(project, name, value);
  const payload = Buffer.from(JSON.stringify({ project, name, value, request_id: randomUUID() }));

  for (let attempt = 1; ; attempt++) {
    try {
      return await invokeOnce(functionName, payload);
    } catch (error) {
      const transient =
        (error instanceof SetValueRejectedError && RETRYABLE_FUNCTION_ERRORS.has(error.errorType)) ||
        (!(error instanceof CliError) && isTransientAwsError(error)) ||
        isNetworkError(error);
      if (!transient || attempt >= ATTEMPTS) {
        if (error instanceof CliError) throw error;
        throw awsCallError(error, `setting ${name}`, `function ${functionName} (NEPTUNE_SET_VALUE_FUNCTION)`);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
    }
  }
}

async function invokeOnce(functionName: string, payload: Uint8Array): Promise<SetValueResult> {
  const response = await lambda().send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: payload }));
  const body = parsePayload(response.Payload);

  if (response.FunctionError) {
    const failure = (body ?? {}) as { errorType?: unknown; errorMessage?: unknown };
    const errorType = typeof failure.errorType === 'string' ? failure.errorType : response.FunctionError;
    const message = typeof failure.errorMessage === 'string' ? oneLine(failure.errorMessage) : `the function failed (${errorType})`;
    throw new SetValueRejectedError(errorType, message);
  }

  const result = body as Partial<SetValueResult> | undefined;
  if (!result || typeof result.version_id !== 'string') {
    throw new OperationFailedError(`function ${functionName} returned no version_id; is NEPTUNE_SET_VALUE_FUNCTION the set-value function?`);
  }
  return result as SetValueResult;
}

function parsePayload(payload: Uint8Array | undefined): unknown {
  if (!payload || payload.byteLength === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(payload).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT';
}
