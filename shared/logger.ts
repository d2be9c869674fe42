import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger per function. The incoming event is never logged, because the
 * set-value payload carries a secret value; callers log ids and outcomes only.
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'INFO') ?? 'INFO' });
}
