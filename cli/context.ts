import type { ValueInput } from './prompt.ts';
import { createStyles, type Styles } from './table.ts';

/** Streams a command reads and writes: the process's own, or stand-ins in tests. */
export interface CommandContext {
  stdin: ValueInput;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  styles: Styles;
  /**
   * Values read during this run. The error printer removes them from anything it prints, as a
   * second guard behind the rule that no error message contains a value.
   */
  sensitiveValues: Set<string>;
}

export function processContext(): CommandContext {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    styles: createStyles(process.stdout),
    sensitiveValues: new Set(),
  };
}

export function print(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}
