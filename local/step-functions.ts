/**
 * Runs executions of the state machines from serverless.yml with aws-local-stepfunctions, in
 * this process, and keeps what Step Functions' API reports about them: status, input, output,
 * error, cause, dates and history. Every Task calls the local Lambda runtime, so handlers get the
 * same JSON round trip as through the Lambda API.
 */
import './promise-with-resolvers.ts';

import { randomUUID } from 'node:crypto';

import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

import type { StateMachineInfo } from './definitions.ts';
import { DefinitionError } from './errors.ts';
import { causeText, ExecutionHistory, TaskTrace, type HistoryEvent } from './execution-history.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';
import type { StackLogger } from './log.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  /** JSON text, as Step Functions stores it. */
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  history: ExecutionHistory;
  /** Settles when the execution has ended and its record is final. */
  finished: Promise<void>;
}

/** An API error with the code Step Functions returns in `__type`. */
export class StepFunctionsApiError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

/**
 * A Lambda task that failed, carrying the handler's error type as its name so that Retry and
 * Catch `ErrorEquals` match it. Its message is the error payload as JSON, which is the `Cause`
 * that Step Functions passes to a Catch on AWS.
 */
class LambdaTaskError extends Error {
  constructor(errorType: string, payload: string) {
    super(payload);
    this.name = errorType;
  }
}

/** Step Functions execution names: letters, digits, `-` and `_`, 1 to 80 characters. */
const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** The optimized Lambda integration; its result wraps the function's output in `Payload`. */
const LAMBDA_INVOKE_INTEGRATION = /^arn:aws[a-z-]*:states:::lambda:invoke$/;

interface TaskState {
  name: string;
  resource: string;
  retry: Array<Record<string, unknown>>;
}

export interface StepFunctionsOptions {
  runtime: LambdaRuntime;
  logger: StackLogger;
  /**
   * Local-only: multiplies every Retry wait, so tests need not wait minutes. 1 keeps the waits of
   * the definition, including backoff and jitter.
   */
  retryScale: number;
}

export class LocalStepFunctions {
  readonly stateMachines: StateMachineInfo[];
  private readonly runtime: LambdaRuntime;
  private readonly logger: StackLogger;
  private readonly retryScale: number;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly aborts = new Map<string, () => void>();
  private readonly tasks = new Map<string, TaskState[]>();
  private readonly machines = new Map<string, StateMachine>();

  constructor(stateMachines: StateMachineInfo[], options: StepFunctionsOptions) {
    this.stateMachines = stateMachines;
    this.runtime = options.runtime;
    this.logger = options.logger;
    this.retryScale = options.retryScale;

    for (const info of stateMachines) {
      const tasks = collectTaskStates(info.definition);
      for (const task of tasks) this.requireKnownResource(info, task);

      this.tasks.set(info.arn, tasks);
      this.machines.set(info.arn, new StateMachine(info.definition as unknown as StateMachineDefinition));
    }
  }

  findStateMachine(arn: string): StateMachineInfo {
    const info = this.stateMachines.find((candidate) => candidate.arn === arn);
    if (!info) throw new StepFunctionsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return info;
  }

  /**
   * Starts an execution with the semantics of a Standard workflow: a name may be used once per
   * state machine, except that repeating a start with the same name and input while that
   * execution runs returns the running one.
   */
  startExecution(request: { stateMachineArn: string; name?: string; input?: string }): ExecutionRecord {
    const info = this.findStateMachine(request.stateMachineArn);
    const name = request.name ?? randomUUID();
    const input = request.input ?? '{}';

    if (!EXECUTION_NAME_PATTERN.test(name)) {
      throw new StepFunctionsApiError('InvalidName', `Invalid Name: '${name}'`);
    }

    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch (error) {
      throw new StepFunctionsApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
    }

    const executionArn = `${info.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new StepFunctionsApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const record = this.run(info, executionArn, name, input, parsedInput);
    this.executions.set(executionArn, record);
    return record;
  }

  describeExecution(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (!record) throw new StepFunctionsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return record;
  }

  /** Finds an execution by its ARN or, for local tooling, by its name alone. */
  findExecution(nameOrArn: string): ExecutionRecord | undefined {
    return this.executions.get(nameOrArn) ?? [...this.executions.values()].find((record) => record.name === nameOrArn);
  }

  /** Executions of one state machine, newest first, as ListExecutions returns them. */
  listExecutions(stateMachineArn: string, statusFilter?: ExecutionStatus): ExecutionRecord[] {
    this.findStateMachine(stateMachineArn);

    return [...this.executions.values()]
      .filter((record) => record.stateMachineArn === stateMachineArn)
      .filter((record) => statusFilter === undefined || record.status === statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  stopExecution(executionArn: string, error?: string, cause?: string): ExecutionRecord {
    const record = this.describeExecution(executionArn);
    if (record.status !== 'RUNNING') return record;

    record.status = 'ABORTED';
    record.error = error;
    record.cause = cause;
    record.stopDate = new Date();
    this.aborts.get(executionArn)?.();
    return record;
  }

  /** Aborts every running execution and waits until their records are final. */
  async stop(): Promise<void> {
    const running = [...this.executions.values()].filter((record) => record.status === 'RUNNING');
    for (const record of running) this.stopExecution(record.executionArn, 'LocalStackStopped', 'The local stack stopped.');
    await Promise.all(running.map((record) => record.finished));
  }

  private run(info: StateMachineInfo, executionArn: string, name: string, input: string, parsedInput: unknown): ExecutionRecord {
    const machine = this.machines.get(info.arn);
    const tasks = this.tasks.get(info.arn) ?? [];
    if (!machine) throw new StepFunctionsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${info.arn}'`);

    const trace = new TaskTrace();
    const roleArn = `arn:aws:iam::${info.arn.split(':')[4]}:role/${info.name}-role`;
    const history = new ExecutionHistory({
      trace,
      roleArn,
      taskResources: new Map(tasks.map((task) => [task.name, task.resource])),
    });

    const startDate = new Date();
    const execution = machine.run(parsedInput as never, {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(tasks.map((task) => [task.name, this.taskHandler(task, trace)])),
        ...(this.retryScale === 1 ? {} : { retryIntervalOverrides: scaledRetryIntervals(tasks, this.retryScale) }),
      },
      context: {
        Execution: { Id: executionArn, Name: name, RoleArn: roleArn, StartTime: startDate.toISOString() },
        StateMachine: { Id: info.arn, Name: info.name },
      },
      noThrowOnAbort: true,
    });

    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: info.arn,
      name,
      status: 'RUNNING',
      input,
      startDate,
      history,
      finished: Promise.resolve(),
    };

    this.aborts.set(executionArn, execution.abort);
    this.logger.info('execution started', { stateMachine: info.name, execution: name });
    record.finished = this.follow(record, execution.eventLogs, execution.result);
    return record;
  }

  /** Reads the event log until the execution ends, then completes the record from its last event. */
  private async follow(
    record: ExecutionRecord,
    eventLogs: ReturnType<StateMachine['run']>['eventLogs'],
    result: Promise<unknown>,
  ): Promise<void> {
    // The result promise rejects on failure; the event log carries the same outcome, so only
    // the rejection is absorbed here.
    result.catch(() => undefined);

    for await (const event of eventLogs) {
      record.history.add(event);

      if (event.type === 'ExecutionSucceeded') {
        record.status = 'SUCCEEDED';
        record.output = JSON.stringify(event.output ?? null);
      } else if (event.type === 'ExecutionFailed') {
        record.status = 'FAILED';
        record.error = event.Error;
        record.cause = causeText(event.Cause);
      } else if (event.type === 'ExecutionTimeout') {
        record.status = 'TIMED_OUT';
      } else if (event.type === 'ExecutionAborted') {
        record.status = 'ABORTED';
      }
    }

    record.stopDate ??= new Date();
    this.aborts.delete(record.executionArn);
    this.logger.info(`execution ${record.status.toLowerCase().replace('_', ' ')}`, {
      execution: record.name,
      error: record.error,
      durationMs: record.stopDate.getTime() - record.startDate.getTime(),
      transitions: record.history.stateTransitions,
    });
  }

  /** Calls the function behind a Task state through the local Lambda runtime. */
  private taskHandler(task: TaskState, trace: TaskTrace): (input: unknown) => Promise<never> {
    const integration = LAMBDA_INVOKE_INTEGRATION.test(task.resource);

    return async (input: unknown) => {
      const functionName = integration ? String((input as Record<string, unknown> | null)?.FunctionName) : task.resource;
      const payload = JSON.stringify((integration ? (input as Record<string, unknown>).Payload : input) ?? null);
      const fn = this.runtime.find(functionName);
      trace.recordInput(task.name, payload);

      if (!fn) throw new LambdaTaskError('Lambda.ResourceNotFoundException', JSON.stringify({ errorMessage: `Function not found: ${functionName}` }));

      const invocation = await this.runtime.invoke(fn, payload);
      if (invocation.functionError) {
        const { errorType } = JSON.parse(invocation.payload) as { errorType: string };
        throw new LambdaTaskError(errorType, invocation.payload);
      }

      trace.recordOutput(task.name, invocation.payload);
      const output: unknown = JSON.parse(invocation.payload);
      return (integration ? { ExecutedVersion: '$LATEST', Payload: output, StatusCode: 200 } : output) as never;
    };
  }

  private requireKnownResource(info: StateMachineInfo, task: TaskState): void {
    if (LAMBDA_INVOKE_INTEGRATION.test(task.resource) || this.runtime.find(task.resource)) return;

    throw new DefinitionError(
      `state machine ${info.name}: Task state "${task.name}" has Resource "${task.resource}", ` +
        'which is neither a function of serverless.yml nor arn:aws:states:::lambda:invoke',
    );
  }
}

/** Task states of a definition, including those inside Map and Parallel states. */
function collectTaskStates(definition: Record<string, unknown>): TaskState[] {
  const tasks: TaskState[] = [];
  const states = (definition.States ?? {}) as Record<string, Record<string, unknown>>;

  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') {
      tasks.push({ name, resource: String(state.Resource), retry: (state.Retry ?? []) as TaskState['retry'] });
    }

    const nested = [state.ItemProcessor, state.Iterator, ...((state.Branches as unknown[] | undefined) ?? [])];
    for (const child of nested) {
      if (child && typeof child === 'object') tasks.push(...collectTaskStates(child as Record<string, unknown>));
    }
  }

  return tasks;
}

/**
 * Retry waits for `retryIntervalOverrides`, one per retrier, in milliseconds.
 *
 * The library takes one fixed wait per retrier, so it cannot grow with each attempt. Each wait is
 * the mean of the retrier's backoff series (IntervalSeconds × BackoffRate^attempt, capped by
 * MaxDelaySeconds, without jitter) times the scale. The total wait of a retrier that uses all its
 * attempts is then the scale times what AWS would wait before jitter.
 */
export function scaledRetryIntervals(tasks: TaskState[], scale: number): Record<string, number[]> {
  const overrides: Record<string, number[]> = {};

  for (const task of tasks) {
    overrides[task.name] = task.retry.map((retrier) => {
      const intervalSeconds = Number(retrier.IntervalSeconds ?? 1);
      const backoffRate = Number(retrier.BackoffRate ?? 2);
      const maxAttempts = Math.max(1, Number(retrier.MaxAttempts ?? 3));
      const maxDelaySeconds = retrier.MaxDelaySeconds === undefined ? Infinity : Number(retrier.MaxDelaySeconds);

      let totalSeconds = 0;
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        totalSeconds += Math.min(intervalSeconds * backoffRate ** attempt, maxDelaySeconds);
      }
      return Math.round((totalSeconds / maxAttempts) * scale * 1000);
    });
  }

  return overrides;
}

export type { HistoryEvent };
