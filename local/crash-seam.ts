/**
 * The part of the fault-injection seam that makes a Lambda invocation crash midway. A crash
 * cannot come from moto, and an in-process handler cannot be killed, so the invocation runs in
 * an AsyncLocalStorage context. Once it has made its allowed number of AWS calls, every further
 * call it makes fails before it leaves the process, as if the process had died. The runtime then
 * reports the invocation as Lambda reports a crashed one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import { onAwsClientCreated } from '../shared/clients.ts';

interface InvocationState {
  callsLeft: number;
  crashed: boolean;
}

const invocations = new AsyncLocalStorage<InvocationState>();

export class LocalCrashError extends Error {
  override name = 'LocalCrashError';
}

/** Lambda's error type for a function whose process exited before it returned. */
export const CRASH_ERROR_TYPE = 'Runtime.ExitError';

/** Runs one invocation that crashes after `afterCalls` AWS calls; returns whether it crashed. */
export async function runWithCrash<T>(afterCalls: number, run: () => Promise<T>): Promise<{ crashed: boolean; result?: T; error?: unknown }> {
  const state: InvocationState = { callsLeft: afterCalls, crashed: false };
  try {
    const result = await invocations.run(state, run);
    return { crashed: state.crashed, result };
  } catch (error) {
    return { crashed: state.crashed, error };
  }
}

/** Adds the check to every shared client made from now on, so calls inside a crashing invocation fail. */
export function installCrashSeam(): void {
  type Next = (args: unknown) => Promise<unknown>;
  // The clients' stacks differ only in their input and output types, which this check ignores.
  type Stack = { add(middleware: (next: Next) => Next, options: { step: 'initialize'; name: string }): void };
  onAwsClientCreated((client) => {
    (client.middlewareStack as unknown as Stack).add(
      (next) => async (args) => {
        const state = invocations.getStore();
        if (state) {
          if (state.crashed || state.callsLeft <= 0) {
            state.crashed = true;
            throw new LocalCrashError('the invocation crashed (fault injected by the local stack)');
          }
          state.callsLeft--;
        }
        return next(args);
      },
      { step: 'initialize', name: 'neptuneLocalCrashSeam' },
    );
  });
}
