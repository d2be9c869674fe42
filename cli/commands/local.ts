import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { parseCommandArgs } from '../args.ts';
import type { CommandContext } from '../context.ts';
import { ExitCode, UsageError } from '../errors.ts';

const LOCAL_MAIN = fileURLToPath(new URL('../../local/main.ts', import.meta.url));

/**
 * Runs the local stack in a child process with this terminal, exactly as `npm run local` does.
 * A child, not an import, because the stack's entry point installs its own signal handlers and
 * exits the process when it stops.
 */
export async function runLocal(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('local', args, { port: { type: 'string' }, quiet: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError('local takes no arguments besides its options; run `neptune local --help`');

  // The stack's entry point checks the port itself, with the same message as `npm run local`.
  const forwarded = [...(typeof values.port === 'string' ? ['--port', values.port] : []), ...(values.quiet ? ['--quiet'] : [])];
  const tsxLoader = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsxLoader, LOCAL_MAIN, ...forwarded], { stdio: 'inherit' });

  // Ctrl-C reaches the child through the terminal; this process only waits for it to stop.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));

  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.removeListener('SIGINT', ignore);
      resolve(code ?? (signal === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Failed));
    });
  });
}
