/**
 * The part of the Lambda REST API (version 2015-03-31) that clients of this project use:
 * Invoke, GetFunction, GetFunctionConfiguration and ListFunctions, served by the local runtime.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { writeAwsError, type RequestIdentity } from './aws-protocol.ts';
import { lambdaArn, type FunctionDefinition } from './definitions.ts';
import { InvalidPayloadError, type LambdaRuntime } from './lambda-runtime.ts';
import type { StackLogger } from './log.ts';

/** The functions' LastModified: the time the local stack started. */
const STARTED_AT = new Date().toISOString().replace('Z', '+0000');

export async function handleLambdaRequest(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  body: Buffer,
  identity: RequestIdentity,
  runtime: LambdaRuntime,
  logger: StackLogger,
): Promise<void> {
  const parts = url.pathname.split('/').filter(Boolean);
  const functionName = parts[2] === undefined ? undefined : decodeURIComponent(parts[2]);

  if (identity.operation === 'ListFunctions') {
    writeJson(response, 200, { Functions: runtime.functions.map(functionConfiguration) });
    return;
  }

  const fn = functionName === undefined ? undefined : runtime.find(functionName);
  const supported = ['Invoke', 'GetFunction', 'GetFunctionConfiguration'];
  if (!supported.includes(identity.operation)) {
    writeAwsError(response, identity, {
      status: 400,
      code: 'InvalidRequestContentException',
      message: `The local Lambda API does not implement ${request.method} ${url.pathname}; it serves ${supported.join(', ')} and ListFunctions.`,
    });
    return;
  }

  if (!fn) {
    writeAwsError(response, identity, {
      status: 404,
      code: 'ResourceNotFoundException',
      message: `Function not found: ${functionName?.startsWith('arn:') ? functionName : lambdaArn(runtime.region, runtime.accountId, String(functionName))}`,
    });
    return;
  }

  if (identity.operation === 'GetFunction') {
    writeJson(response, 200, { Configuration: functionConfiguration(fn), Code: { RepositoryType: 'S3', Location: '' }, Tags: {} });
    return;
  }
  if (identity.operation === 'GetFunctionConfiguration') {
    writeJson(response, 200, functionConfiguration(fn));
    return;
  }

  await invoke(request, response, body, identity, fn, runtime, logger);
}

async function invoke(
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer,
  identity: RequestIdentity,
  fn: FunctionDefinition,
  runtime: LambdaRuntime,
  logger: StackLogger,
): Promise<void> {
  const invocationType = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  const payload = body.toString('utf8');

  if (invocationType === 'DryRun') {
    response.writeHead(204).end();
    return;
  }

  if (invocationType === 'Event') {
    // Lambda queues an asynchronous invocation and responds before it runs. Only the error type
    // is logged, because an error message could repeat part of the payload.
    runtime
      .invoke(fn, payload)
      .then((result) => {
        if (result.functionError) {
          logger.error('asynchronous invocation failed', { function: fn.key, requestId: result.requestId, errorType: errorTypeOf(result.payload) });
        }
      })
      .catch((error: unknown) => logger.error('asynchronous invocation rejected', { function: fn.key, error: (error as Error).name }));
    response.writeHead(202, { 'x-amzn-requestid': crypto.randomUUID() }).end();
    return;
  }

  try {
    const result = await runtime.invoke(fn, payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-requestid': result.requestId,
      'x-amz-executed-version': '$LATEST',
    };
    if (result.functionError) headers['x-amz-function-error'] = result.functionError;

    response.writeHead(200, headers);
    response.end(result.payload);
  } catch (error) {
    if (!(error instanceof InvalidPayloadError)) throw error;
    writeAwsError(response, identity, { status: 400, code: error.name, message: error.message });
  }
}

function functionConfiguration(fn: FunctionDefinition): Record<string, unknown> {
  const accountId = fn.arn.split(':')[4];
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: fn.runtime,
    Role: `arn:aws:iam::${accountId}:role/${fn.name}-role`,
    Handler: fn.handler,
    CodeSize: 0,
    Description: '',
    Timeout: fn.timeoutSeconds,
    MemorySize: fn.memorySizeMb,
    LastModified: STARTED_AT,
    CodeSha256: '',
    Version: '$LATEST',
    Environment: { Variables: fn.environment },
    PackageType: 'Zip',
    Architectures: ['x86_64'],
    State: 'Active',
    LastUpdateStatus: 'Successful',
  };
}

function writeJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': crypto.randomUUID() });
  response.end(JSON.stringify(body));
}

function errorTypeOf(payload: string): string {
  try {
    return String((JSON.parse(payload) as { errorType?: unknown }).errorType);
  } catch {
    return 'unknown';
  }
}
