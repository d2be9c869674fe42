import { readFileSync } from 'node:fs';

import { applyAwsOptions, destroyClients } from './environment.ts';
import { CliError, ExitCode, UsageError } from './errors.ts';
import { COMMAND_HELP, MAIN_HELP } from './help.ts';
import { processContext, type CommandContext } from './context.ts';
import { redactValues } from './redact.ts';
import { runDeployed } from './commands/deployed.ts';
import { runLocal } from './commands/local.ts';
import { runPush } from './commands/push.ts';
import { runSecretImport } from './commands/secret-import.ts';
import { runSecretSet } from './commands/secret-set.ts';
import { runStatus } from './commands/status.ts';

type Command = (args: string[], context: CommandContext) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  push: runPush,
  status: runStatus,
  'secret set': runSecretSet,
  'secret import': runSecretImport,
  deployed: runDeployed,
  local: runLocal,
};

/** Runs one `neptune` invocation, reports any error on stderr, and returns the exit code. */
export async function main(argv: string[], context: CommandContext = processContext()): Promise<number> {
  const debug = argumentsBeforeSeparator(argv).includes('--debug');
  try {
    return await dispatch(argv, context);
  } catch (error) {
    return reportError(error, context, debug);
  } finally {
    destroyClients();
  }
}

async function dispatch(argv: string[], context: CommandContext): Promise<number> {
  const [first, second] = argv;

  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? [second, argv[2]].filter(Boolean).join(' ') : '';
    // Without a command the help is a usage error, so it goes to stderr.
    const stream = first === undefined ? context.stderr : context.stdout;
    stream.write(COMMAND_HELP[topic] ?? MAIN_HELP);
    return first === undefined ? ExitCode.Usage : ExitCode.Success;
  }

  if (first === '--version') {
    context.stdout.write(`${packageVersion()}\n`);
    return ExitCode.Success;
  }

  const name = first === 'secret' && second !== undefined && !second.startsWith('-') ? `secret ${second}` : first;
  const rest = argv.slice(name.split(' ').length);
  const command = COMMANDS[name];
  if (!command) {
    if (first === 'secret') {
      if (rest.includes('--help') || rest.includes('-h') || second === undefined || second.startsWith('-')) {
        context.stdout.write(COMMAND_HELP.secret as string);
        return second === undefined ? ExitCode.Usage : ExitCode.Success;
      }
      throw new UsageError(`unknown command "secret ${second}"; the secret commands are "secret set" and "secret import"`);
    }
    throw new UsageError(`unknown command "${first}"; run \`neptune --help\` for the list of commands`);
  }

  const own = argumentsBeforeSeparator(rest);
  if (own.includes('--help') || own.includes('-h')) {
    context.stdout.write(COMMAND_HELP[name] as string);
    return ExitCode.Success;
  }
  applyAwsOptions({ profile: optionValue(own, '--profile'), region: optionValue(own, '--region') });
  return command(rest, context);
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}

function argumentsBeforeSeparator(argv: string[]): string[] {
  const separator = argv.indexOf('--');
  return separator < 0 ? argv : argv.slice(0, separator);
}

/** Reads `--name value` or `--name=value` ahead of the command's own strict parsing. */
function optionValue(argv: string[], option: string): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (argument === option) return argv[index + 1];
    if (argument.startsWith(`${option}=`)) return argument.slice(option.length + 1);
  }
  return undefined;
}

function reportError(error: unknown, context: CommandContext, debug: boolean): number {
  const redact = (text: string) => redactValues(text, context.sensitiveValues);
  const known = error instanceof CliError;
  const message = error instanceof Error ? error.message : String(error);
  const line = known ? message : `unexpected ${error instanceof Error ? error.name : 'error'}: ${message}`;
  const hint = !known && !debug ? ' (run again with --debug for the stack trace)' : '';
  context.stderr.write(`${context.styles.red('error:')} ${redact(line)}${hint}\n`);

  if (debug) {
    let current: unknown = error;
    for (let depth = 0; current instanceof Error && depth < 5; depth++) {
      context.stderr.write(`${redact(current.stack ?? `${current.name}: ${current.message}`)}\n`);
      current = current.cause;
      if (current instanceof Error) context.stderr.write('Caused by: ');
    }
  }
  return known ? error.exitCode : ExitCode.Failed;
}
