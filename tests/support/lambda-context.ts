import { randomUUID } from 'node:crypto';

import type { Context } from 'aws-lambda';

/** Makes a Lambda context for running a handler in the test process, with a 30-second timeout. */
export function testLambdaContext(functionName = 'neptune-secrets-test-setValue'): Context {
  const started = Date.now();
  return {
    awsRequestId: randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, started + 30_000 - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
