/**
 * Exit codes and the errors that end a command. Every message is one line written for the person
 * at the terminal: what failed and what to do next. No message ever contains a secret value.
 */

export const ExitCode = {
  /** The command did everything it was asked. */
  Success: 0,
  /** The request reached the stack, but the outcome is not what was asked: a secret is not
   * Available, a value was not set, the backend rejected the manifest. */
  Failed: 1,
  /** Invalid usage or input found before anything was sent: bad flags, an invalid manifest, a
   * malformed .env file. */
  Usage: 2,
  /** Configuration or AWS access: a missing variable, an unreachable endpoint, missing
   * credentials, access denied, a table, bucket or function that does not exist. */
  Environment: 3,
  /** `push` stopped waiting before provisioning finished. */
  Timeout: 4,
  /** Interrupted with Ctrl-C (128 + SIGINT). */
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Usage, options);
  }
}

export class EnvironmentError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Environment, options);
  }
}

export class OperationFailedError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Failed, options);
  }
}

export class WaitTimeoutError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.Timeout);
  }
}

export class InterruptedError extends CliError {
  constructor() {
    super('interrupted; nothing was set', ExitCode.Interrupted);
  }
}
