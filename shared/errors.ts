/**
 * Failures with a stable `code` that reaches the status record and the caller. Messages are
 * written for the person who uploaded the manifest or called the function, and never contain a
 * secret value. `name` is set explicitly because Lambda reports it as the error type, and the
 * state machine's Retry and Catch match on it.
 */
export abstract class NeptuneError extends Error {
  abstract readonly code: string;

  /** True when the message is safe and useful to show to the caller as it is. */
  readonly expose: boolean = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One rule of the manifest that the uploaded file breaks. */
export interface ManifestProblem {
  /** JSON path of the offending value, such as `$.resources[2].name`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class ManifestInvalidError extends NeptuneError {
  readonly code = 'ManifestInvalid';

  constructor(readonly problems: ManifestProblem[]) {
    super(`neptune.json is invalid: ${problems.map(formatProblem).join('; ')}`);
  }
}

export function formatProblem(problem: ManifestProblem): string {
  const position = problem.line === undefined ? '' : ` (line ${problem.line}, column ${problem.column})`;
  return `${problem.path}${position}: ${problem.message}`;
}

export class ManifestNotFoundError extends NeptuneError {
  readonly code = 'ManifestNotFound';
}

export class ManifestTooLargeError extends NeptuneError {
  readonly code = 'ManifestTooLarge';
}

/** Another execution holds the project's lease; the state machine retries with backoff. */
export class ProjectBusyError extends NeptuneError {
  readonly code = 'ProjectBusy';
}

/** The execution lost the project's lease to a newer one, so it must not write any more. */
export class LeaseLostError extends NeptuneError {
  readonly code = 'LeaseLost';
}

/** A secret with our physical name exists but was not created by Neptune for this project. */
export class SecretConflictError extends NeptuneError {
  readonly code = 'SecretConflict';
}

export class PolicyTooLargeError extends NeptuneError {
  readonly code = 'PolicyTooLarge';
}

export class RoleNotFoundError extends NeptuneError {
  readonly code = 'RoleNotFound';
}

/** Invalid configuration of the deployment itself, such as a malformed environment variable. */
export class ConfigurationError extends NeptuneError {
  readonly code = 'ConfigurationInvalid';
}

/** Invalid payload of a directly invoked function, such as set-value. */
export class RequestInvalidError extends NeptuneError {
  readonly code = 'RequestInvalid';
}

/** The caller refers to a project or secret that is not provisioned. */
export class NotProvisionedError extends NeptuneError {
  readonly code = 'NotProvisioned';
}

/**
 * An AWS call that still failed with throttling, a 5xx or a network error after the SDK's own
 * retries. The state machine retries the whole step, which is safe because every step converges.
 */
export class TransientAwsError extends NeptuneError {
  readonly code = 'TransientAwsError';
  override readonly expose = false;
}

const TRANSIENT_ERROR_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServiceError',
  'InternalServiceErrorException',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** True for errors that a later attempt of the same call can succeed past. */
export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  const status = metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  if (TRANSIENT_ERROR_NAMES.has(error.name)) return true;
  const code = (error as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE' || code === 'ETIMEDOUT';
}

/** Describes a failure as the code and message to record. Unknown errors keep their AWS name. */
export function describeFailure(error: unknown): { code: string; message: string } {
  if (error instanceof NeptuneError) return { code: error.code, message: error.message };
  if (isTransientAwsError(error)) {
    const name = (error as Error).name;
    return { code: 'TransientAwsError', message: `AWS kept failing with ${name} after retries; upload the manifest again to retry` };
  }
  const name = error instanceof Error ? error.name : 'Error';
  return { code: name, message: error instanceof Error ? error.message : String(error) };
}

/** Another set-value request held the secret's value lock for longer than a request waits. */
export class SecretValueBusyError extends NeptuneError {
  readonly code = 'SecretValueBusy';
}

/**
 * Secrets Manager did not store a value, or its response was lost. The message names the AWS error
 * type only: AWS messages are not passed on, so that no part of a request can reach the caller.
 */
export class SecretValueWriteError extends NeptuneError {
  readonly code = 'SecretValueWriteFailed';
}

/** A value was stored, but its status could not be recorded because the secret changed meanwhile. */
export class SecretValueNotRecordedError extends NeptuneError {
  readonly code = 'SecretValueNotRecorded';
}

/** Values kept being set while mark-redeployed ran, so it gave up before recording the project. */
export class RedeployNotRecordedError extends NeptuneError {
  readonly code = 'RedeployNotRecorded';
}
