import { readFile } from 'node:fs/promises';

import { ManifestInvalidError, ManifestTooLargeError, formatProblem } from '../../shared/errors.ts';
import { parseManifest } from '../../shared/manifest/parse.ts';
import { parseCommandArgs, requireProject, stringOption } from '../args.ts';
import { awsCallError } from '../aws-errors.ts';
import { print, type CommandContext } from '../context.ts';
import { parseDotenv } from '../dotenv.ts';
import { requireSettings, statusStore } from '../environment.ts';
import { CliError, ExitCode, OperationFailedError, UsageError } from '../errors.ts';
import { redactValues } from '../redact.ts';
import { setSecretValue } from '../set-value.ts';

export async function runSecretImport(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('secret import', args, {
    project: { type: 'string' },
    manifest: { type: 'string' },
  }, { quoteArguments: false });
  if (positionals.length !== 1) throw new UsageError('secret import takes exactly one FILE.env; run `neptune secret import --help`');
  const file = positionals[0] as string;
  const project = requireProject('secret import', values.project);
  const manifestFile = stringOption(values.manifest);

  const text = await readTextFile(file);
  const { entries, problems } = parseDotenv(text);
  for (const entry of entries) context.sensitiveValues.add(entry.value);
  if (problems.length > 0) {
    for (const problem of problems) context.stderr.write(`${file}:${problem.line}: ${problem.message}\n`);
    throw new UsageError(`${file} has ${problems.length} malformed ${problems.length === 1 ? 'line' : 'lines'}; nothing was set`);
  }
  if (entries.length === 0) throw new UsageError(`${file} defines no keys; nothing was set`);

  const settings = requireSettings(manifestFile === undefined ? ['setValueFunction', 'table'] : ['setValueFunction']);
  const declared = manifestFile === undefined ? await declaredInStatusTable(settings.table as string, project) : await declaredInManifest(manifestFile);

  const unknown = entries.filter((entry) => !declared.has(entry.key)).map((entry) => entry.key);
  const known = entries.filter((entry) => declared.has(entry.key));
  if (unknown.length > 0) {
    const source = manifestFile ?? `the manifest of project ${project}`;
    context.stderr.write(
      `${context.styles.red('error:')} not declared in ${source}, so not set: ${unknown.join(', ')}. Declare them in neptune.json and run \`neptune push\`, or remove them from ${file}\n`,
    );
  }

  let failed = 0;
  for (const entry of known) {
    try {
      const result = await setSecretValue(settings.setValueFunction, project, entry.key, entry.value);
      print(context.stdout, `${entry.key}: set, version ${result.version_id}`);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      // One key's failure does not stop the others; a stack that cannot be reached stops all.
      if (error.exitCode === ExitCode.Environment) throw error;
      failed++;
      context.stderr.write(`${entry.key}: ${context.styles.red('failed')}: ${redactValues(error.message, context.sensitiveValues)}\n`);
    }
  }

  const set = known.length - failed;
  print(context.stdout, `Set ${set} of ${entries.length} keys from ${file}.`);
  if (set > 0) {
    print(context.stdout, `Redeploy required: the service reads new values after its next deploy; then run \`neptune deployed --project ${project}\`.`);
  }
  return unknown.length > 0 || failed > 0 ? ExitCode.Failed : ExitCode.Success;
}

async function readTextFile(file: string): Promise<string> {
  let bytes;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${file} does not exist`);
    throw new UsageError(`cannot read ${file}: ${code ?? (error as Error).message}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${file} is not valid UTF-8 text`);
  }
}

/** Names the project declares: every secret record except those pending deletion. */
async function declaredInStatusTable(table: string, project: string): Promise<Set<string>> {
  let view;
  try {
    view = await statusStore(table).readProject(project);
  } catch (error) {
    throw awsCallError(error, 'reading the status table', `table ${table} (NEPTUNE_TABLE)`);
  }
  if (!view.project && view.secrets.length === 0) {
    throw new OperationFailedError(`project ${project} has no status yet; upload its manifest with \`neptune push --project ${project}\` first`);
  }
  return new Set(view.secrets.filter((secret) => secret.kind === 'Secret' && secret.status !== 'PendingDeletion').map((secret) => secret.name));
}

async function declaredInManifest(file: string): Promise<Set<string>> {
  let bytes;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read --manifest ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return new Set(parseManifest(bytes).resources.map((resource) => resource.name));
  } catch (error) {
    if (error instanceof ManifestInvalidError) throw new UsageError(`--manifest ${file} is invalid: ${error.problems.map(formatProblem).join('; ')}`);
    if (error instanceof ManifestTooLargeError) throw new UsageError(`--manifest ${file}: ${error.message}`);
    throw error;
  }
}
