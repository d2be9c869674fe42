/**
 * Runs the Lambda handlers in this process, with what a handler can observe on AWS: a JSON
 * event, a Lambda context, the function's timeout, and errors turned into
 * `{errorType, errorMessage}`.
 *
 * All functions share one process and therefore one `process.env`. That is why their
 * environments must agree (see `applySharedEnvironment`), and why AWS_LAMBDA_FUNCTION_NAME and
 * the other per-function runtime variables are not set.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { CRASH_ERROR_TYPE, runWithCrash } from './crash-seam.ts';
import type { FunctionDefinition } from './definitions.ts';
import { EnvironmentConflictError } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import type { StackLogger } from './log.ts';

/** The context object a Node.js handler receives, as far as the local runtime fills it. */
export interface LocalLambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** The response body and function error of one invocation, as the Lambda Invoke API returns them. */
export interface InvocationResult {
  requestId: string;
  /** JSON text: the handler's result, or `{errorType, errorMessage}` when it failed. */
  payload: string;
  /** `Unhandled` when the handler threw, timed out or could not be loaded. */
  functionError?: 'Unhandled';
}

/** The error body Lambda returns for a failed invocation. */
export interface FunctionErrorPayload {
  errorType: string;
  errorMessage: string;
}

type Handler = (event: unknown, context: LocalLambdaContext) => unknown;

/** Thrown for a payload that is not JSON, which Lambda rejects before running the handler. */
export class InvalidPayloadError extends Error {
  override name = 'InvalidRequestContentException';
}

export class LambdaRuntime {
  readonly functions: FunctionDefinition[];
  readonly region: string;
  readonly accountId: string;
  private readonly logger: StackLogger;
  private readonly handlers = new Map<string, Promise<Handler>>();

  private readonly faults: FaultInjector | undefined;

  constructor(functions: FunctionDefinition[], options: { region: string; accountId: string; logger: StackLogger; faults?: FaultInjector }) {
    this.functions = functions;
    this.region = options.region;
    this.accountId = options.accountId;
    this.logger = options.logger;
    this.faults = options.faults;
  }

  /** Finds a function by name, full or partial ARN, with or without a version qualifier. */
  find(nameOrArn: string): FunctionDefinition | undefined {
    const arnMatch = /^(?:arn:aws[a-z-]*:lambda:[^:]+:)?(?:\d{12}:function:)?([^:]+)(?::[^:]+)?$/.exec(nameOrArn);
    const name = arnMatch?.[1] ?? nameOrArn;
    return this.functions.find((fn) => fn.name === name);
  }

  /** Invokes a handler the way Lambda does: parse the payload as JSON, run, serialize the result. */
  async invoke(fn: FunctionDefinition, payload: string): Promise<InvocationResult> {
    const requestId = randomUUID();

    let event: unknown;
    try {
      event = payload.trim() === '' ? {} : JSON.parse(payload);
    } catch (error) {
      throw new InvalidPayloadError(`Could not parse request body into json: ${(error as Error).message}`);
    }

    const startedAt = Date.now();
    const deadline = startedAt + fn.timeoutSeconds * 1000;
    const context: LocalLambdaContext = {
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: String(fn.memorySizeMb),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `local/${requestId}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };

    try {
      const handler = await this.loadHandler(fn);
      const crashAfter = this.faults?.pickCrash(fn.key);
      if (crashAfter !== undefined) {
        const outcome = await runWithCrash(crashAfter, () => runWithTimeout(() => handler(event, context), fn, requestId));
        if (outcome.crashed) {
          this.logger.info('invocation crashed by a fault rule', { function: fn.key, afterCalls: crashAfter });
          const payload = { errorType: CRASH_ERROR_TYPE, errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: fault injected by the local stack` };
          return { requestId, payload: JSON.stringify(payload), functionError: 'Unhandled' };
        }
        if (outcome.error !== undefined) throw outcome.error;
        return { requestId, payload: JSON.stringify(outcome.result ?? null) };
      }
      const result = await runWithTimeout(() => handler(event, context), fn, requestId);
      return { requestId, payload: JSON.stringify(result ?? null) };
    } catch (error) {
      return { requestId, payload: JSON.stringify(toErrorPayload(error)), functionError: 'Unhandled' };
    }
  }

  /**
   * Imports the handler module on first use, so that one broken handler does not stop the others
   * from starting. A failed import is not cached: the next invoke tries again.
   */
  private loadHandler(fn: FunctionDefinition): Promise<Handler> {
    const cached = this.handlers.get(fn.key);
    if (cached) return cached;

    const loading = importHandler(fn).catch((error: unknown) => {
      this.handlers.delete(fn.key);
      this.logger.error('handler failed to load', { function: fn.key, handler: fn.handler, error: String(error) });
      throw error;
    });
    this.handlers.set(fn.key, loading);
    return loading;
  }
}

/** Lambda's error types for a handler that cannot be loaded or does not return in time, as a Catch matches them. */
class ImportModuleError extends Error {
  override name = 'Runtime.ImportModuleError';
}

class HandlerNotFoundError extends Error {
  override name = 'Runtime.HandlerNotFound';
}

class SandboxTimeoutError extends Error {
  override name = 'Sandbox.Timedout';
}

async function importHandler(fn: FunctionDefinition): Promise<Handler> {
  if (!existsSync(fn.handlerFile)) {
    throw new ImportModuleError(`Error: Cannot find module '${path.basename(fn.handlerFile)}' for handler ${fn.handler}`);
  }

  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(fn.handlerFile).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ImportModuleError(`${(error as Error).name}: ${(error as Error).message}`, { cause: error });
  }

  const handler = module[fn.exportName];
  if (typeof handler !== 'function') {
    throw new HandlerNotFoundError(`${fn.handler} is undefined or not exported`);
  }
  return handler as Handler;
}

/**
 * Stops waiting when the function's timeout passes, as Lambda does. The handler itself keeps
 * running in this process, because in-process code cannot be killed.
 */
async function runWithTimeout(run: () => unknown, fn: FunctionDefinition, requestId: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SandboxTimeoutError(`RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`)),
      fn.timeoutSeconds * 1000,
    );
  });

  try {
    const result = await Promise.race([Promise.resolve().then(run), timeout]);
    // Lambda returns the JSON text of the result, so Dates become strings and undefined fields vanish.
    return result === undefined ? null : JSON.parse(JSON.stringify(result));
  } finally {
    clearTimeout(timer);
  }
}

function toErrorPayload(error: unknown): FunctionErrorPayload {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message };
  return { errorType: typeof error, errorMessage: String(error) };
}

/**
 * Sets `process.env` once to the union of the functions' environments plus `extra` (endpoint,
 * region, credentials). Handlers read the environment at module scope, so this runs before any
 * handler is imported.
 */
export function applySharedEnvironment(functions: FunctionDefinition[], extra: Record<string, string>): Record<string, string> {
  const shared: Record<string, string> = {};
  const declaredBy: Record<string, string> = {};

  for (const fn of functions) {
    for (const [name, value] of Object.entries(fn.environment)) {
      const previous = shared[name];
      if (previous !== undefined && previous !== value) {
        throw new EnvironmentConflictError(
          `functions ${declaredBy[name]} and ${fn.key} set ${name} to different values ("${previous}" and "${value}"), ` +
            'but the local stack runs all functions in one process with one environment. ' +
            'Give the variables different names in serverless.yml.',
        );
      }
      shared[name] = value;
      declaredBy[name] ??= fn.key;
    }
  }

  const environment = { ...shared, ...extra };
  Object.assign(process.env, environment);
  return environment;
}
