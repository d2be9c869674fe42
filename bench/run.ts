/**
 * `npm run bench`: measures the provisioning pipeline, set-value and status reads on the local
 * stack, prints one table and writes the same figures as JSON. docs/benchmarks.md explains each
 * figure and the targets.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { REPOSITORY_ROOT } from '../local/stack.ts';
import { bareMinimumOnce, type BareMinimumRun } from './cases/bare-minimum.ts';
import { measureBundles } from './cases/bundles.ts';
import { manyProjectsRun } from './cases/many-projects.ts';
import { motoThroughputRun } from './cases/moto-throughput.ts';
import { provisionOnce, uploadAndMeasure, type ProvisionRun } from './cases/provision.ts';
import { countItems, setValueRun, type SetValueRun } from './cases/set-value.ts';
import { statusReadRun } from './cases/status-read.ts';
import { formatReport, evaluateTargets, type BenchResults } from './report.ts';
import { BenchStack, manifestOf } from './stack.ts';
import { round } from './stats.ts';

const HELP = `Usage: npm run bench -- [--runs N] [--runs-1000 N] [--quick] [--output FILE]

Starts its own local stack on a free port, measures provisioning, re-upload, set-value, status
reads, many projects at once and the function bundles, prints a table and writes the figures as
JSON.

  --runs N        runs of every case except provisioning 1,000 secrets (default 3)
  --runs-1000 N   runs of provisioning 1,000 secrets (default 3)
  --quick         1 run of every case and 50 set-value calls, to check that the benchmark works
  --output FILE   where to write the JSON (default bench/results.json)
`;

const SECRET_COUNTS = [1, 10, 100, 1000] as const;
const RE_UPLOAD_SECRETS = 100;
const SET_VALUE_SECRETS = 10;
const SET_VALUE_CALLS = 200;
/** Set-value calls at the end of the run, to show how moto's TransactWriteItems slows down with the table's size. */
const FULL_TABLE_SET_VALUE_CALLS = 20;
const STATUS_READS = 20;
const MANY_PROJECTS = 20;
const MANY_PROJECTS_SECRETS = 50;
const BUNDLE_IMPORTS = 5;
/** Per execution; provisioning 1,000 secrets takes about 20 s on a 2-core machine. */
const EXECUTION_TIMEOUT_MS = 300_000;

interface Options {
  runs: number;
  runs1000: number;
  setValueCalls: number;
  output: string;
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (!options) return;

  const startedAt = new Date();
  const loadAtStart = loadavg()[0] ?? 0;

  progress(`starting the local stack (moto ${motoVersion()})`);
  const stack = await BenchStack.start();
  let measured: Awaited<ReturnType<typeof measureOnStack>>;
  try {
    measured = await measureOnStack(stack, options);
  } finally {
    await stack.stop();
  }

  progress('bundling the functions');
  const bundles = await measureBundles(BUNDLE_IMPORTS);

  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: describeMachine(loadAtStart),
    settings: { runs: options.runs, runs1000: options.runs1000, setValueCalls: options.setValueCalls, statusReads: STATUS_READS },
    ...measured,
    bundles,
    targets: [],
  };
  results.targets = evaluateTargets(results);

  mkdirSync(path.dirname(options.output), { recursive: true });
  writeFileSync(options.output, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(formatReport(results));
  process.stdout.write(`\nFigures written to ${path.relative(process.cwd(), options.output) || options.output}\n`);
}

/** Runs every case that needs the stack, in an order chosen for moto's sake (see the comments). */
async function measureOnStack(stack: BenchStack, options: Options) {
  // Each project id is new, so no run finds the secrets, role or records of another run or of
  // an earlier benchmark on the same stack.
  const tag = `${Date.now().toString(36).slice(-5)}${randomInt(36 ** 2).toString(36)}`;
  let sequence = 0;
  const newProjectId = (prefix: string) => `${prefix}${tag}n${(sequence++).toString(36)}`;

  // Loads every handler module once, so that no measured run pays for the first import.
  await provisionOnce(stack, newProjectId('w'), 1, EXECUTION_TIMEOUT_MS);

  const motoThroughput = await repeat(options.runs, 'moto throughput', () => motoThroughputRun(stack));

  // Set-value runs before provisioning, on a nearly empty table, because moto's
  // TransactWriteItems copies the whole table and slows down as the table grows.
  const setValue = await measureSetValue(stack, newProjectId('v'), options);

  const { provisioning, reUploads, largestProject } = await measureProvisioning(stack, options, newProjectId);

  const statusRead = await repeat(options.runs, `status of ${largestProject}`, () => statusReadRun(stack, largestProject, STATUS_READS));

  const manyProjects = await repeat(options.runs, `${MANY_PROJECTS} projects of ${MANY_PROJECTS_SECRETS} secrets at once`, () => {
    const projectIds = Array.from({ length: MANY_PROJECTS }, () => newProjectId('m'));
    return manyProjectsRun(stack, projectIds, MANY_PROJECTS_SECRETS, EXECUTION_TIMEOUT_MS);
  });

  progress(`set-value, ${FULL_TABLE_SET_VALUE_CALLS} calls, on the full table`);
  const onFullTable = await setValueRun(stack, setValue.projectId, setValue.secretArns, FULL_TABLE_SET_VALUE_CALLS);

  return {
    provisioning,
    reUpload: { secrets: RE_UPLOAD_SECRETS, runs: reUploads },
    setValue: { secrets: SET_VALUE_SECRETS, runs: setValue.runs, onFullTable },
    statusRead,
    manyProjects,
    motoThroughput,
    finalTableItems: await countItems(stack),
  };
}

/**
 * Provisions each number of secrets, alternating pipeline and bare-minimum runs so that a
 * change in the machine's load affects both alike. After each pipeline run of
 * RE_UPLOAD_SECRETS, the same manifest is uploaded again.
 */
async function measureProvisioning(stack: BenchStack, options: Options, newProjectId: (prefix: string) => string) {
  const provisioning: BenchResults['provisioning'] = [];
  const reUploads: ProvisionRun[] = [];
  let largestProject = '';

  for (const secrets of SECRET_COUNTS) {
    const runs = secrets === 1000 ? options.runs1000 : options.runs;
    const pipelineRuns: ProvisionRun[] = [];
    const bareRuns: BareMinimumRun[] = [];

    for (let run = 1; run <= runs; run++) {
      progress(`provisioning ${secrets} secrets, run ${run} of ${runs}`);
      const pipeline = await provisionOnce(stack, newProjectId('p'), secrets, EXECUTION_TIMEOUT_MS);
      pipelineRuns.push(pipeline);
      bareRuns.push(await bareMinimumOnce(stack, newProjectId('b'), secrets));

      if (secrets === RE_UPLOAD_SECRETS) {
        reUploads.push(await uploadAndMeasure(stack, pipeline.projectId, manifestOf(secrets), secrets, EXECUTION_TIMEOUT_MS));
      }
      largestProject = pipeline.projectId;
    }
    provisioning.push({ secrets, pipeline: pipelineRuns, bareMinimum: bareRuns });
  }

  return { provisioning, reUploads, largestProject };
}

async function repeat<T>(runs: number, label: string, measure: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let run = 1; run <= runs; run++) {
    progress(`${label}, run ${run} of ${runs}`);
    results.push(await measure());
  }
  return results;
}

/** Provisions one project for set-value, then runs the set-value case on its secrets. */
async function measureSetValue(
  stack: BenchStack,
  projectId: string,
  options: Options,
): Promise<{ projectId: string; secretArns: string[]; runs: SetValueRun[] }> {
  await provisionOnce(stack, projectId, SET_VALUE_SECRETS, EXECUTION_TIMEOUT_MS);
  const view = await stack.store.readProject(projectId);
  const secretArns = [...view.secrets].sort((a, b) => a.name.localeCompare(b.name)).map((secret) => secret.arn as string);

  const runs = await repeat(options.runs, `set-value, ${options.setValueCalls} calls`, () =>
    setValueRun(stack, projectId, secretArns, options.setValueCalls),
  );
  return { projectId, secretArns, runs };
}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      'runs-1000': { type: 'string' },
      quick: { type: 'boolean', default: false },
      output: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }

  const quick = values.quick;
  return {
    runs: positiveInteger('--runs', values.runs, quick ? 1 : 3),
    runs1000: positiveInteger('--runs-1000', values['runs-1000'], quick ? 1 : 3),
    setValueCalls: quick ? 50 : SET_VALUE_CALLS,
    output: path.resolve(values.output ?? path.join(REPOSITORY_ROOT, 'bench', 'results.json')),
  };
}

function positiveInteger(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`invalid ${option} "${value}"; use a whole number of 1 or more`);
  return number;
}

/** A command-line value that cannot be used. */
class UsageError extends Error {
  override name = 'UsageError';
}

/** Describes the machine, with its 1-minute load average at the start and end, because other processes slow every figure. */
function describeMachine(loadAtStart: number): BenchResults['machine'] {
  const gib = (bytes: number) => Math.round((bytes / 1024 ** 3) * 10) / 10;
  return {
    cpuModel: cpuModel(),
    cpus: cpus().length,
    memoryGiB: gib(totalmem()),
    freeMemoryGiB: gib(freemem()),
    node: process.version,
    moto: motoVersion(),
    platform: `${process.platform} ${process.arch}`,
    loadAverage: { start: round(loadAtStart), end: round(loadavg()[0] ?? 0) },
  };
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) return match[1].trim();
  } catch {
    // Not Linux: the model Node reports is the same text on most systems.
  }
  return cpus()[0]?.model ?? 'unknown';
}

function motoVersion(): string {
  try {
    const output = execFileSync('python3', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8', timeout: 10_000 });
    return output.trim();
  } catch {
    return 'unknown';
  }
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof UsageError ? error.message : String((error as Error).stack ?? error);
  process.stderr.write(`bench failed: ${message}\n`);
  process.exit(1);
});
