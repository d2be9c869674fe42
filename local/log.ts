/**
 * One-line log output of the local stack. Lines never contain Lambda payloads: those can carry
 * secret values (the setValue function's payload always does).
 */
export interface StackLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(options: { quiet?: boolean } = {}): StackLogger {
  const write = (stream: NodeJS.WriteStream, message: string, fields?: Record<string, unknown>) => {
    const time = new Date().toISOString().slice(11, 23);
    const details = fields ? formatFields(fields) : '';
    stream.write(`${time} [local] ${message}${details}\n`);
  };

  return {
    info: (message, fields) => {
      if (!options.quiet) write(process.stdout, message, fields);
    },
    // Errors are shown even when quiet, because a caller that silenced the stack still needs them.
    error: (message, fields) => write(process.stderr, message, fields),
  };
}

function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join('');
}
