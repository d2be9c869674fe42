/**
 * The Step Functions JSON API (`X-Amz-Target: AWSStepFunctions.<Operation>`) over the local
 * executions: what the SDK's SFNClient and `aws stepfunctions` call.
 */
import type { ServerResponse } from 'node:http';

import { writeAwsError, writeAwsJson, type RequestIdentity } from './aws-protocol.ts';
import type { HistoryEvent } from './execution-history.ts';
import { StepFunctionsApiError, type ExecutionRecord, type ExecutionStatus, type LocalStepFunctions } from './step-functions.ts';

const STATUSES: ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'];
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
/** The state machines' creation date: the time the local stack started. */
const CREATED_AT = new Date();

type Request = Record<string, unknown>;

export function handleStepFunctionsRequest(
  response: ServerResponse,
  body: Buffer,
  identity: RequestIdentity,
  stepFunctions: LocalStepFunctions,
): void {
  try {
    const request = parseRequest(body);
    const result = dispatch(identity.operation, request, stepFunctions);
    writeAwsJson(response, 200, result);
  } catch (error) {
    if (!(error instanceof StepFunctionsApiError)) throw error;
    writeAwsError(response, identity, { status: 400, code: error.code, message: error.message });
  }
}

function dispatch(operation: string, request: Request, stepFunctions: LocalStepFunctions): unknown {
  switch (operation) {
    case 'StartExecution': {
      const record = stepFunctions.startExecution({
        stateMachineArn: requireArn(request, 'stateMachineArn'),
        name: optionalString(request, 'name'),
        input: optionalString(request, 'input'),
      });
      return { executionArn: record.executionArn, startDate: epochSeconds(record.startDate) };
    }
    case 'DescribeExecution':
      return describeExecution(stepFunctions.describeExecution(requireArn(request, 'executionArn')));
    case 'ListExecutions':
      return listExecutions(request, stepFunctions);
    case 'GetExecutionHistory':
      return getExecutionHistory(request, stepFunctions);
    case 'StopExecution': {
      const record = stepFunctions.stopExecution(
        requireArn(request, 'executionArn'),
        optionalString(request, 'error'),
        optionalString(request, 'cause'),
      );
      return { stopDate: epochSeconds(record.stopDate ?? new Date()) };
    }
    case 'ListStateMachines':
      return {
        stateMachines: stepFunctions.stateMachines.map((info) => ({
          stateMachineArn: info.arn,
          name: info.name,
          type: 'STANDARD',
          creationDate: epochSeconds(CREATED_AT),
        })),
      };
    case 'DescribeStateMachine': {
      const info = stepFunctions.findStateMachine(requireArn(request, 'stateMachineArn'));
      return {
        stateMachineArn: info.arn,
        name: info.name,
        status: 'ACTIVE',
        definition: JSON.stringify(info.definition),
        roleArn: `arn:aws:iam::${info.arn.split(':')[4]}:role/${info.name}-role`,
        type: 'STANDARD',
        creationDate: epochSeconds(CREATED_AT),
      };
    }
    default:
      throw new StepFunctionsApiError(
        'UnknownOperationException',
        `The local Step Functions API does not implement ${operation}; it serves StartExecution, DescribeExecution, ` +
          'ListExecutions, GetExecutionHistory, StopExecution, ListStateMachines and DescribeStateMachine.',
      );
  }
}

/** DescribeExecution's fields, plus `stateTransitionCount`, which AWS does not return and clients ignore. */
export function describeExecution(record: ExecutionRecord): Record<string, unknown> {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: epochSeconds(record.startDate),
    ...(record.stopDate ? { stopDate: epochSeconds(record.stopDate) } : {}),
    input: record.input,
    inputDetails: { included: true },
    ...(record.output === undefined ? {} : { output: record.output, outputDetails: { included: true } }),
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.cause === undefined ? {} : { cause: record.cause }),
    stateTransitionCount: record.history.stateTransitions,
  };
}

function listExecutions(request: Request, stepFunctions: LocalStepFunctions): unknown {
  const statusFilter = optionalString(request, 'statusFilter');
  if (statusFilter !== undefined && !STATUSES.includes(statusFilter as ExecutionStatus)) {
    throw new StepFunctionsApiError('ValidationException', `statusFilter must be one of ${STATUSES.join(', ')}`);
  }

  const records = stepFunctions.listExecutions(requireArn(request, 'stateMachineArn'), statusFilter as ExecutionStatus | undefined);
  const { page, nextToken } = paginate(records, request);

  return {
    executions: page.map((record) => ({
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: epochSeconds(record.startDate),
      ...(record.stopDate ? { stopDate: epochSeconds(record.stopDate) } : {}),
    })),
    ...(nextToken ? { nextToken } : {}),
  };
}

function getExecutionHistory(request: Request, stepFunctions: LocalStepFunctions): unknown {
  const record = stepFunctions.describeExecution(requireArn(request, 'executionArn'));
  const includeData = request.includeExecutionData !== false;

  const ordered = request.reverseOrder === true ? [...record.history.events].reverse() : record.history.events;
  const { page, nextToken } = paginate(ordered, request);

  return {
    events: page.map((event) => serializeEvent(event, includeData)),
    ...(nextToken ? { nextToken } : {}),
  };
}

function serializeEvent(event: HistoryEvent, includeData: boolean): Record<string, unknown> {
  const serialized: Record<string, unknown> = { ...event, timestamp: epochSeconds(event.timestamp) };
  if (includeData) return serialized;

  // Without execution data, AWS leaves out inputs and outputs but keeps the rest of each event.
  for (const [key, value] of Object.entries(serialized)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') {
      const { input: _input, output: _output, ...rest } = value as Record<string, unknown>;
      serialized[key] = rest;
    }
  }
  return serialized;
}

/** Pages with an opaque token that encodes the offset of the next item. */
function paginate<T>(items: T[], request: Request): { page: T[]; nextToken?: string } {
  const maxResults = typeof request.maxResults === 'number' && request.maxResults > 0 ? Math.min(request.maxResults, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;

  let offset = 0;
  if (typeof request.nextToken === 'string') {
    offset = Number(Buffer.from(request.nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw new StepFunctionsApiError('InvalidToken', 'Invalid Token: nextToken was not issued by this API');
  }

  const page = items.slice(offset, offset + maxResults);
  const next = offset + page.length;
  return { page, ...(next < items.length ? { nextToken: Buffer.from(String(next)).toString('base64url') } : {}) };
}

function parseRequest(body: Buffer): Request {
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Request;
  } catch {
    // Reported below with the same message as a non-object body.
  }
  throw new StepFunctionsApiError('SerializationException', 'The request body must be a JSON object');
}

function requireArn(request: Request, field: string): string {
  const value = request[field];
  if (typeof value !== 'string' || value === '') {
    throw new StepFunctionsApiError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  }
  if (!value.startsWith('arn:')) throw new StepFunctionsApiError('InvalidArn', `Invalid Arn: '${value}'`);
  return value;
}

function optionalString(request: Request, field: string): string | undefined {
  const value = request[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new StepFunctionsApiError('ValidationException', `${field} must be a string`);
  return value;
}

/** Converts a date to what the JSON protocols send for a timestamp: seconds since the epoch, with a fraction. */
function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}
