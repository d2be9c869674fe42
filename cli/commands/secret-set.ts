import { logicalNameProblem } from '../../shared/naming.ts';
import { parseCommandArgs, requireProject, stringOption } from '../args.ts';
import { print, type CommandContext } from '../context.ts';
import { requireSettings } from '../environment.ts';
import { CliError, ExitCode, UsageError } from '../errors.ts';
import { readSecretValue } from '../prompt.ts';
import { checkSetValueInput, setSecretValue, SetValueRejectedError } from '../set-value.ts';

/** The flag that allows `--value`; its name says what the user accepts by passing it. */
export const INSECURE_VALUE_FLAG = 'insecure-value-argument';

export async function runSecretSet(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('secret set', args, {
    project: { type: 'string' },
    value: { type: 'string' },
    [INSECURE_VALUE_FLAG]: { type: 'boolean' },
  }, { quoteArguments: false });
  const argumentValue = stringOption(values.value);
  if (argumentValue !== undefined) context.sensitiveValues.add(argumentValue);

  // Extra arguments are not echoed: a user may have typed the value there.
  if (positionals.length === 0) throw new UsageError('the secret NAME is missing; run `neptune secret set --help`');
  if (positionals.length > 1) {
    throw new UsageError(
      'secret set takes exactly one NAME and never a value as an argument; type the value at the prompt or pipe it to standard input',
    );
  }
  const name = positionals[0] as string;
  const nameProblem = logicalNameProblem(name);
  if (nameProblem) throw new UsageError(`invalid secret ${nameProblem}`);
  const project = requireProject('secret set', values.project);

  if (argumentValue !== undefined && values[INSECURE_VALUE_FLAG] !== true) {
    throw new UsageError(
      `--value is rejected because the shell keeps command lines in its history; type the value at the prompt or pipe it, as in \`printf '%s' "$VALUE" | neptune secret set ${name} --project ${project}\`, or add --${INSECURE_VALUE_FLAG} to accept the risk`,
    );
  }

  const { setValueFunction } = requireSettings(['setValueFunction']);
  const value = argumentValue ?? (await readSecretValue(context.stdin, context.stderr, `Value for ${name} (input is hidden): `));
  context.sensitiveValues.add(value);
  checkSetValueInput(project, name, value);

  let result;
  try {
    result = await setSecretValue(setValueFunction, project, name, value);
  } catch (error) {
    if (error instanceof SetValueRejectedError) throw new CliError(`setting ${name} failed: ${error.message}`, error.exitCode, { cause: error });
    throw error;
  }
  print(context.stdout, `Set ${name} (${result.aws_id}), version ${result.version_id}.`);
  print(
    context.stdout,
    result.redeploy_required
      ? `Redeploy required: the service reads the new value after its next deploy; then run \`neptune deployed --project ${project}\`.`
      : 'No redeploy is required.',
  );
  return ExitCode.Success;
}
