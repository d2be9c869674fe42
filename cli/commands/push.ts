import { readFile } from 'node:fs/promises';

import { PutObjectCommand } from '@aws-sdk/client-s3';

import { ManifestInvalidError, ManifestTooLargeError } from '../../shared/errors.ts';
import { parseManifest } from '../../shared/manifest/parse.ts';
import type { Manifest } from '../../shared/manifest/schema.ts';
import { manifestKey } from '../../shared/naming.ts';
import type { ProjectRecord, ProjectStatusView } from '../../shared/status-store.ts';
import { parseCommandArgs, requireProject, stringOption } from '../args.ts';
import { awsCallError } from '../aws-errors.ts';
import { print, type CommandContext } from '../context.ts';
import { requireSettings, s3, statusStore } from '../environment.ts';
import { ExitCode, UsageError, WaitTimeoutError } from '../errors.ts';
import { createProgressDisplay } from '../progress.ts';
import { formatProjectError, formatStatus } from '../status-report.ts';

const DEFAULT_FILE = 'neptune.json';
const DEFAULT_TIMEOUT_SECONDS = 600;
const POLL_INTERVAL_MS = 500;
/**
 * How long the project must stay idle on another manifest version (Failed, or a newer one) before
 * push concludes that the run for this upload failed as a whole, or that a newer upload replaced
 * it. An older run that ends just after the upload leaves such a state for the moment before the
 * new run takes the lease.
 */
const WORKFLOW_FAILURE_SETTLE_MS = 5_000;

export async function runPush(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('push', args, {
    project: { type: 'string' },
    timeout: { type: 'string' },
  });
  const project = requireProject('push', values.project);
  if (positionals.length > 1) throw new UsageError('push takes one FILE; run `neptune push --help`');
  const file = positionals[0] ?? DEFAULT_FILE;
  const timeoutMs = parseTimeout(stringOption(values.timeout)) * 1000;

  const bytes = await readManifestFile(file);
  const manifest = validateManifest(file, bytes, context);
  if (!manifest) return ExitCode.Usage;

  const settings = requireSettings(['bucket', 'table']);
  const store = statusStore(settings.table);
  const tableName = `table ${settings.table} (NEPTUNE_TABLE)`;
  const before = await store.readProject(project).catch((error: unknown) => {
    throw awsCallError(error, 'reading the status table', tableName);
  });

  const key = manifestKey(project);
  let upload;
  try {
    upload = await s3().send(
      new PutObjectCommand({ Bucket: settings.bucket, Key: key, Body: bytes, ContentType: 'application/json' }),
    );
  } catch (error) {
    throw awsCallError(error, 'uploading the manifest', `bucket ${settings.bucket} (NEPTUNE_BUCKET)`);
  }
  const version = upload.VersionId && upload.VersionId !== 'null' ? upload.VersionId : (upload.ETag ?? '');
  print(context.stdout, `Uploaded ${file} to s3://${settings.bucket}/${key} (version ${version}); ${manifest.resources.length} secrets declared.`);

  const declared = manifest.resources.map((resource) => resource.name);
  const progress = createProgressDisplay(context.stdout, context.styles, declared);
  const deadline = Date.now() + timeoutMs;
  let view: ProjectStatusView;
  let outcome: UploadOutcome;
  let failedSince: number | undefined;
  for (;;) {
    try {
      view = await store.readProject(project);
    } catch (error) {
      progress.stop();
      throw awsCallError(error, 'reading the status table', tableName);
    }
    outcome = uploadOutcome(view.project, before.project, version);
    progress.update(view);
    if (outcome === 'applied' || outcome === 'rejected') break;
    if (outcome === 'workflowFailed' || outcome === 'superseded') {
      failedSince ??= Date.now();
      if (Date.now() - failedSince >= WORKFLOW_FAILURE_SETTLE_MS) break;
    } else {
      failedSince = undefined;
    }
    if (Date.now() >= deadline) {
      progress.stop();
      throw new WaitTimeoutError(
        `provisioning of project ${project} did not finish within ${timeoutMs / 1000} s; it may still be running: check with \`neptune status --project ${project}\`, or wait longer with --timeout`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  progress.stop();

  if (outcome === 'workflowFailed') {
    context.stderr.write(`${context.styles.red('error:')} provisioning of project ${project} failed before it applied ${file}:\n`);
    for (const problem of view.project?.errors ?? []) context.stderr.write(`  ${formatProjectError(problem)}\n`);
    return ExitCode.Failed;
  }
  if (outcome === 'superseded') {
    context.stderr.write(
      `${context.styles.red('error:')} a newer upload of project ${project} (version ${view.project?.manifest_version}) was applied instead of ${file}; check it with \`neptune status --project ${project}\`\n`,
    );
    return ExitCode.Failed;
  }
  if (outcome === 'rejected' && view.project?.last_rejection) {
    context.stderr.write(`${context.styles.red('error:')} the stack rejected ${file}:\n`);
    for (const problem of view.project.last_rejection.errors) context.stderr.write(`  ${formatProjectError(problem)}\n`);
    return ExitCode.Failed;
  }

  print(context.stdout);
  context.stdout.write(formatStatus(project, view, context.styles));
  const available = new Set(view.secrets.filter((secret) => secret.status === 'Available').map((secret) => secret.name));
  const notAvailable = declared.filter((name) => !available.has(name));
  if (notAvailable.length > 0) {
    context.stderr.write(`${context.styles.red('error:')} not Available: ${notAvailable.join(', ')}; see the ERROR column above\n`);
    return ExitCode.Failed;
  }
  return ExitCode.Success;
}

async function readManifestFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${file} does not exist; pass the path of your neptune.json`);
    if (code === 'EISDIR') throw new UsageError(`${file} is a directory; pass the path of your neptune.json`);
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Validates with the backend's parser and prints each problem as `FILE:LINE:COLUMN: PATH: message`. */
function validateManifest(file: string, bytes: Buffer, context: CommandContext): Manifest | undefined {
  try {
    return parseManifest(bytes);
  } catch (error) {
    if (error instanceof ManifestTooLargeError) {
      context.stderr.write(`${context.styles.red('error:')} ${file}: ${error.message}\n`);
      return undefined;
    }
    if (!(error instanceof ManifestInvalidError)) throw error;
    const count = error.problems.length;
    context.stderr.write(`${context.styles.red('error:')} ${file} is invalid (${count} ${count === 1 ? 'problem' : 'problems'}); nothing was uploaded\n`);
    for (const problem of error.problems) {
      const position = problem.line === undefined ? '' : `${problem.line}:${problem.column}:`;
      context.stderr.write(`${file}:${position} ${problem.path}: ${problem.message}\n`);
    }
    return undefined;
  }
}

function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`invalid --timeout "${value}": expected a number of seconds greater than 0`);
  return seconds;
}

export type UploadOutcome = 'applied' | 'rejected' | 'workflowFailed' | 'superseded' | 'pending';

/**
 * Classifies the project's state for this upload from its record and the record read just
 * before the upload:
 * - applied: the record names the upload's version and no execution holds the lease;
 * - rejected: the record's last rejection names the upload's version;
 * - workflowFailed: idle, written again since the upload, Failed, and on another version, which
 *   is what a run that stopped at a failed step leaves (the caller waits for it to persist);
 * - superseded: idle, written again since the upload, and on a version that is neither this
 *   upload's nor the one from before it. Every run applies the newest manifest, so a newer
 *   upload was applied instead. The caller waits for this to persist too;
 * - pending: anything else.
 * On a bucket without versioning an upload of unchanged content has the same ETag as before, so
 * applied then also needs the record to have been written again since the upload.
 */
export function uploadOutcome(project: ProjectRecord | undefined, before: ProjectRecord | undefined, version: string): UploadOutcome {
  if (!project || project.lease_owner !== undefined) return 'pending';
  const rewritten =
    before === undefined || project.updated_at !== before.updated_at || project.execution !== before.execution;
  if (project.last_rejection && sameVersion(project.last_rejection.version, version) && rewritten) return 'rejected';
  const current = project.manifest_version !== undefined && sameVersion(project.manifest_version, version);
  if (current) {
    const unchangedBefore = before?.manifest_version !== undefined && sameVersion(before.manifest_version, version);
    if (!unchangedBefore || rewritten) return 'applied';
  }
  if (!current && rewritten && project.status === 'Failed') return 'workflowFailed';
  const previous = before?.manifest_version;
  const other = project.manifest_version !== undefined && (previous === undefined || !sameVersion(project.manifest_version, previous));
  if (!current && rewritten && other) return 'superseded';
  return 'pending';
}

/** ETags are compared without their quotes, which some clients strip. */
function sameVersion(left: string, right: string): boolean {
  return left.replace(/"/g, '') === right.replace(/"/g, '');
}
