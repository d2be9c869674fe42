/**
 * Turns the event log of aws-local-stepfunctions into the event list that Step Functions'
 * GetExecutionHistory returns for a Standard workflow with Lambda tasks.
 *
 * The library reports a Task as entered, failed, retried, caught and exited. AWS also reports
 * the Lambda call inside it (LambdaFunctionScheduled, Started, Succeeded or Failed). Those events
 * are derived here, with the payloads that the task handler records in `TaskTrace`.
 */
import type { StateMachine } from 'aws-local-stepfunctions';

/** One entry of the library's event log; the library does not export the type by name. */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer Event> ? Event : never;

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

/** Payloads the task handler sent and received per state, in call order, so history shows real Lambda payloads. */
export class TaskTrace {
  private readonly inputs = new Map<string, string[]>();
  private readonly outputs = new Map<string, string[]>();

  recordInput(stateName: string, input: string): void {
    push(this.inputs, stateName, input);
  }

  recordOutput(stateName: string, output: string): void {
    push(this.outputs, stateName, output);
  }

  takeInput(stateName: string): string | undefined {
    return this.inputs.get(stateName)?.shift();
  }

  takeOutput(stateName: string): string | undefined {
    return this.outputs.get(stateName)?.shift();
  }
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key) ?? [];
  list.push(value);
  map.set(key, list);
}

export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];
  /** StateEntered events, which is what Step Functions bills and counts as state transitions. */
  stateTransitions = 0;

  private readonly trace: TaskTrace;
  private readonly roleArn: string;
  private readonly taskResources: Map<string, string>;
  /** Task states whose latest attempt failed, so their exit is not a Lambda success. */
  private readonly failedTasks = new Set<string>();

  constructor(options: { trace: TaskTrace; roleArn: string; taskResources: Map<string, string> }) {
    this.trace = options.trace;
    this.roleArn = options.roleArn;
    this.taskResources = options.taskResources;
  }

  add(event: EventLog): void {
    const timestamp = new Date(event.timestamp);

    switch (event.type) {
      case 'ExecutionStarted':
        this.append(timestamp, 'ExecutionStarted', {
          executionStartedEventDetails: { ...dataDetails('input', event.input), roleArn: this.roleArn },
        });
        break;
      case 'ExecutionSucceeded':
        this.append(timestamp, 'ExecutionSucceeded', { executionSucceededEventDetails: dataDetails('output', event.output) });
        break;
      case 'ExecutionFailed':
        this.append(timestamp, 'ExecutionFailed', {
          executionFailedEventDetails: { error: event.Error, cause: causeText(event.Cause) },
        });
        break;
      case 'ExecutionAborted':
        this.append(timestamp, 'ExecutionAborted', { executionAbortedEventDetails: {} });
        break;
      case 'ExecutionTimeout':
        this.append(timestamp, 'ExecutionTimedOut', { executionTimedOutEventDetails: {} });
        break;
      case 'StateEntered':
        this.stateTransitions++;
        this.append(timestamp, `${event.state.type}StateEntered`, {
          stateEnteredEventDetails: { name: event.state.name, ...dataDetails('input', event.state.input) },
        });
        if (event.state.type === 'Task') this.addLambdaScheduled(timestamp, event.state.name, event.state.input);
        break;
      case 'StateRetried':
        if (event.state.type === 'Task') this.addLambdaScheduled(timestamp, event.state.name, event.state.input);
        break;
      case 'StateFailed':
        if (event.state.type === 'Task') this.addLambdaFailed(timestamp, event.state.name, event.Error, event.Cause);
        if (event.state.type === 'Map' || event.state.type === 'Parallel') {
          this.append(timestamp, `${event.state.type}StateFailed`, {});
        }
        break;
      case 'StateExited':
        if (event.state.type === 'Task' && !this.failedTasks.has(event.state.name)) {
          const output = this.trace.takeOutput(event.state.name) ?? 'null';
          this.append(timestamp, 'LambdaFunctionSucceeded', {
            lambdaFunctionSucceededEventDetails: { output, outputDetails: { truncated: false } },
          });
        }
        this.append(timestamp, `${event.state.type}StateExited`, {
          stateExitedEventDetails: { name: event.state.name, ...dataDetails('output', event.state.output) },
        });
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const detailsKey = `${event.type.charAt(0).toLowerCase()}${event.type.slice(1)}EventDetails`;
        this.append(timestamp, event.type, { [detailsKey]: { name: event.parentState.name, index: event.index } });
        break;
      }
      // StateCaught and the Parallel branch events have no counterpart in AWS's history.
    }
  }

  private addLambdaScheduled(timestamp: Date, stateName: string, stateInput: unknown): void {
    this.failedTasks.delete(stateName);
    const input = this.trace.takeInput(stateName) ?? JSON.stringify(stateInput ?? null);

    this.append(timestamp, 'LambdaFunctionScheduled', {
      lambdaFunctionScheduledEventDetails: {
        resource: this.taskResources.get(stateName),
        input,
        inputDetails: { truncated: false },
      },
    });
    this.append(timestamp, 'LambdaFunctionStarted', {});
  }

  private addLambdaFailed(timestamp: Date, stateName: string, error: string, cause: unknown): void {
    this.failedTasks.add(stateName);
    const timedOut = error === 'States.Timeout';
    const type = timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed';
    const detailsKey = timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails';
    this.append(timestamp, type, { [detailsKey]: { error, cause: causeText(cause) } });
  }

  private append(timestamp: Date, type: string, details: Record<string, unknown>): void {
    const id = this.events.length + 1;
    this.events.push({ timestamp, type, id, previousEventId: id - 1, ...details });
  }
}

function dataDetails(field: 'input' | 'output', value: unknown): Record<string, unknown> {
  return { [field]: JSON.stringify(value ?? null), [`${field}Details`]: { truncated: false } };
}

/** Causes are strings in AWS's history; the library sometimes carries the Error object itself. */
export function causeText(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause ?? '');
}
