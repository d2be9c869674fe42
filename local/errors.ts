/** Errors raised while the local stack starts; each message names the value and the fix. */

/** serverless.yml or a file it references cannot be turned into the local stack. */
export class DefinitionError extends Error {
  override name = 'DefinitionError';
}

/** A `${...}` variable in serverless.yml uses a source or path that the local stack cannot resolve. */
export class UnresolvedVariableError extends DefinitionError {
  override name = 'UnresolvedVariableError';
}

/** Two functions declare different values for one environment variable, but they share one process. */
export class EnvironmentConflictError extends Error {
  override name = 'EnvironmentConflictError';
}

/** The gateway cannot listen on the requested port. */
export class GatewayStartError extends Error {
  override name = 'GatewayStartError';
}

/** `moto_server` is not installed or did not start. */
export class MotoStartError extends Error {
  override name = 'MotoStartError';
}

export class StackAlreadyRunningError extends Error {
  override name = 'StackAlreadyRunningError';
}
