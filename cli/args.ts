import { parseArgs, type ParseArgsConfig } from 'node:util';

import { projectIdProblem } from '../shared/naming.ts';
import { UsageError } from './errors.ts';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Options that every command accepts. */
export const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
  profile: { type: 'string' },
  region: { type: 'string' },
} as const satisfies OptionSpecs;

export interface GlobalOptions {
  help?: boolean;
  debug?: boolean;
  profile?: string;
  region?: string;
}

/**
 * Parses a command's arguments strictly: an unknown option or a missing option value is a
 * usage error that names the option and points at the command's help.
 */
export function parseCommandArgs<Options extends OptionSpecs>(
  command: string,
  args: string[],
  options: Options,
  settings: { quoteArguments?: boolean } = {},
): { values: GlobalOptions & Record<keyof Options, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return parsed as unknown as { values: GlobalOptions & Record<keyof Options, string | boolean | undefined>; positionals: string[] };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(`${describeParseError(error as Error, settings.quoteArguments ?? true)}; run \`neptune ${command} --help\``);
    }
    throw error;
  }
}

/**
 * Shortens node:util's parse errors to their first sentence. Without `quoteArguments` the
 * option is not named, for commands where a user may have typed a secret in its place.
 */
function describeParseError(error: Error, quoteArguments: boolean): string {
  const code = (error as { code?: string }).code;
  const option = /'(-[^' ]*)/.exec(error.message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return quoteArguments && option ? `unknown option ${option}` : 'unknown option';
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument missing/.test(error.message)) return `option ${option} needs a value`;
    if (/does not take an argument/.test(error.message)) return `option ${option} does not take a value`;
  }
  return (error.message.split('. ')[0] ?? error.message).replace(/\.$/, '');
}

/** Reads `--project` and checks it with the backend's project id rules. */
export function requireProject(command: string, value: string | boolean | undefined): string {
  if (typeof value !== 'string') throw new UsageError(`--project is required; run \`neptune ${command} --help\``);
  const problem = projectIdProblem(value);
  if (problem) throw new UsageError(`invalid --project: ${problem}`);
  return value;
}

export function stringOption(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
