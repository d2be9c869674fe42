import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';

import { isTransientAwsError, NeptuneError, RequestInvalidError, TransientAwsError } from './errors.ts';
import { createLogger } from './logger.ts';

export type Logger = ReturnType<typeof createLogger>;

/**
 * Wraps a function's core in the steps every handler shares: validate the event with its schema
 * at the edge, attach ids to the log, and on failure log one line and rethrow. AWS errors that a
 * later attempt can get past are rethrown as TransientAwsError, which the state machine retries.
 * The event itself is never logged, because set-value's event carries a secret value.
 */
export function createHandler<Schema extends z.ZodType, Result>(
  functionName: string,
  schema: Schema,
  core: (input: z.output<Schema>, tools: { logger: Logger; context: Context }) => Promise<Result>,
  options: { logKeys?: (input: z.output<Schema>) => Record<string, string> } = {},
) {
  const logger = createLogger(functionName);

  const handle = async (event: unknown, context: Context): Promise<Result> => {
    logger.addContext(context);
    logger.resetKeys();

    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      // Paths and messages only: zod's messages here never quote the rejected value.
      const problems = parsed.error.issues.map((issue) => `${['$', ...issue.path].join('.')}: ${issue.message}`);
      throw new RequestInvalidError(`invalid request: ${problems.join('; ')}`);
    }
    if (options.logKeys) logger.appendKeys(options.logKeys(parsed.data));

    return core(parsed.data, { logger, context });
  };

  return middy(handle).use({
    onError: async (request) => {
      const error = request.error;
      if (error instanceof NeptuneError) {
        logger.warn('failed', { errorCode: error.code, errorMessage: error.message });
        return;
      }
      const name = error instanceof Error ? error.name : 'Error';
      logger.error('failed', { errorName: name, errorMessage: error instanceof Error ? error.message : String(error) });
      if (isTransientAwsError(error)) {
        request.error = new TransientAwsError(`AWS call failed with ${name} after retries`, { cause: error });
      }
    },
  });
}
