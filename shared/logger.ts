import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Creates a function's structured JSON logger. Nothing here logs the incoming event, because the
 * set-value payload carries a secret value. Callers log ids and outcomes only.
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'INFO') ?? 'INFO' });
}
