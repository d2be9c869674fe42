import { parseCommandArgs, requireProject } from '../args.ts';
import { awsCallError } from '../aws-errors.ts';
import type { CommandContext } from '../context.ts';
import { requireSettings, statusStore } from '../environment.ts';
import { ExitCode, OperationFailedError, UsageError } from '../errors.ts';
import { formatStatus, secretReports } from '../status-report.ts';

export async function runStatus(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('status', args, { project: { type: 'string' }, json: { type: 'boolean' } });
  const project = requireProject('status', values.project);
  if (positionals.length > 0) throw new UsageError('status takes no arguments besides its options; run `neptune status --help`');

  const { table } = requireSettings(['table']);
  let view;
  try {
    view = await statusStore(table).readProject(project);
  } catch (error) {
    throw awsCallError(error, 'reading the status table', `table ${table} (NEPTUNE_TABLE)`);
  }
  if (!view.project && view.secrets.length === 0) {
    throw new OperationFailedError(`project ${project} has no status yet; upload its manifest with \`neptune push --project ${project}\``);
  }

  if (values.json) context.stdout.write(`${JSON.stringify(secretReports(view), null, 2)}\n`);
  else context.stdout.write(formatStatus(project, view, context.styles));
  return ExitCode.Success;
}
