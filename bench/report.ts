/** The benchmark's results as one table, and the targets checked against them. */
import type { BareMinimumRun } from './cases/bare-minimum.ts';
import type { BundleFigures } from './cases/bundles.ts';
import type { ManyProjectsRun } from './cases/many-projects.ts';
import type { MotoThroughputRun } from './cases/moto-throughput.ts';
import { writesToSecretsAndIam, type ProvisionRun } from './cases/provision.ts';
import type { SetValueRun } from './cases/set-value.ts';
import type { StatusReadRun } from './cases/status-read.ts';
import { totalCalls } from './stack.ts';
import { formatSummary, round, summarize, summarizeCounts, type Summary } from './stats.ts';

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  machine: {
    cpuModel: string;
    cpus: number;
    memoryGiB: number;
    freeMemoryGiB: number;
    node: string;
    moto: string;
    platform: string;
    loadAverage: { start: number; end: number };
  };
  settings: { runs: number; runs1000: number; setValueCalls: number; statusReads: number };
  provisioning: Array<{ secrets: number; pipeline: ProvisionRun[]; bareMinimum: BareMinimumRun[] }>;
  reUpload: { secrets: number; runs: ProvisionRun[] };
  setValue: { secrets: number; runs: SetValueRun[]; onFullTable: SetValueRun };
  statusRead: StatusReadRun[];
  manyProjects: ManyProjectsRun[];
  motoThroughput: MotoThroughputRun[];
  bundles: BundleFigures[];
  finalTableItems: number;
  targets: TargetResult[];
}

export interface TargetResult {
  target: string;
  measured: string;
  met: boolean;
}

/** Maximum ratio of pipeline time to the bare minimum at 100 secrets. */
const MAX_PIPELINE_RATIO = 1.5;
/** Step Functions' maximum payload between states. */
const MAX_STATE_PAYLOAD_BYTES = 64 * 1024;
const MAX_SET_VALUE_CALLS = 3;
const MAX_SET_VALUE_RATIO = 2;

export function evaluateTargets(results: BenchResults): TargetResult[] {
  const targets: TargetResult[] = [];

  const at100 = results.provisioning.find((entry) => entry.secrets === 100);
  if (at100) {
    const ratio = pipelineRatio(at100);
    targets.push({
      target: `pipeline time at 100 secrets at most ${MAX_PIPELINE_RATIO}× the bare minimum`,
      measured: `${ratio.toFixed(2)}×`,
      met: ratio <= MAX_PIPELINE_RATIO,
    });
  }

  const reUploadWrites = results.reUpload.runs.map((run) => totalCalls(writesToSecretsAndIam(run.calls)));
  targets.push({
    target: 'an unchanged re-upload makes zero writes to Secrets Manager and IAM',
    measured: `${Math.max(...reUploadWrites)} writes`,
    met: reUploadWrites.every((writes) => writes === 0),
  });

  const transitions = new Set(results.provisioning.flatMap((entry) => entry.pipeline.map((run) => run.stateTransitions)));
  targets.push({
    target: 'state transitions per execution do not grow with the number of secrets',
    measured: results.provisioning
      .map((entry) => `${entry.secrets}: ${formatSummary(summarize(entry.pipeline.map((run) => run.stateTransitions)))}`)
      .join(', '),
    met: transitions.size === 1,
  });

  const at1000 = results.provisioning.find((entry) => entry.secrets === 1000);
  if (at1000) {
    const payload = Math.max(...at1000.pipeline.map((run) => run.maxPayloadBytes));
    targets.push({
      target: 'payload between states under 64 KB at 1,000 secrets',
      measured: `${payload.toLocaleString('en-US')} bytes`,
      met: payload < MAX_STATE_PAYLOAD_BYTES,
    });
  }

  const setValue = setValueSummary(results.setValue.runs);
  targets.push({
    target: `a value set makes at most ${MAX_SET_VALUE_CALLS} AWS calls`,
    measured: `${setValue.callsPerSet.toFixed(2)} calls`,
    met: setValue.callsPerSet <= MAX_SET_VALUE_CALLS,
  });
  targets.push({
    target: `a value set takes at most ${MAX_SET_VALUE_RATIO}× a bare PutSecretValue (medians)`,
    measured: `${setValue.ratio.toFixed(2)}×`,
    met: setValue.ratio <= MAX_SET_VALUE_RATIO,
  });

  const queriesPerPage = results.statusRead.map((run) => (run.callsPerRead['dynamodb:Query'] ?? 0) / run.pagesExpected);
  const otherCalls = results.statusRead.some((run) => Object.keys(run.callsPerRead).some((operation) => operation !== 'dynamodb:Query'));
  targets.push({
    target: 'a status read is one Query per 1 MB page',
    measured: results.statusRead[0]
      ? `${results.statusRead[0].callsPerRead['dynamodb:Query'] ?? 0} Query for ${results.statusRead[0].records.toLocaleString('en-US')} records (about ${kib(results.statusRead[0].estimatedBytes)})`
      : 'not measured',
    met: !otherCalls && queriesPerPage.every((ratio) => ratio === 1),
  });

  return targets;
}

/** Median pipeline time over median bare-minimum time, both from the same runs. */
export function pipelineRatio(entry: BenchResults['provisioning'][number]): number {
  const pipeline = summarize(entry.pipeline.map((run) => run.wallMs)).median;
  const bare = summarize(entry.bareMinimum.map((run) => run.wallMs)).median;
  return pipeline / bare;
}

function setValueSummary(runs: SetValueRun[]) {
  const setValueMedian = summarize(runs.map((run) => run.setValueMs.median));
  const putMedian = summarize(runs.map((run) => run.putSecretValueMs.median));
  const callsPerSet = Math.max(...runs.map((run) => totalCalls(run.callsPerSet)));
  return { setValueMedian, putMedian, callsPerSet, ratio: setValueMedian.median / putMedian.median };
}

/** Formats the results as a Markdown table, one row per figure, followed by the targets. */
export function formatReport(results: BenchResults): string {
  const rows: string[][] = [];
  const add = (caseName: string, figure: string, value: string) => rows.push([caseName, figure, value]);
  const ms = (summary: Summary) => formatSummary(summary, ' ms');

  for (const entry of results.provisioning) {
    const caseName = `provision ${entry.secrets.toLocaleString('en-US')}`;
    const pipeline = entry.pipeline;
    add(caseName, 'outcome', [...new Set(pipeline.map((run) => run.outcome))].join('; '));
    add(caseName, 'wall time', ms(summarize(pipeline.map((run) => run.wallMs))));
    add(caseName, 'bare minimum', ms(summarize(entry.bareMinimum.map((run) => run.wallMs))));
    add(caseName, 'pipeline ÷ bare minimum', `${pipelineRatio(entry).toFixed(2)}×`);
    add(caseName, 'AWS calls', formatSummary(summarize(pipeline.map((run) => totalCalls(run.calls)))));
    add(caseName, 'calls by operation', formatCounts(summarizeCounts(pipeline.map((run) => run.calls))));
    add(caseName, 'bare minimum calls', formatCounts(summarizeCounts(entry.bareMinimum.map((run) => run.calls))));
    add(caseName, 'state transitions', formatSummary(summarize(pipeline.map((run) => run.stateTransitions))));
    add(caseName, 'Lambda invocations', formatSummary(summarize(pipeline.map((run) => run.lambdaInvocations))));
    add(caseName, 'largest payload between states', formatSummary(summarize(pipeline.map((run) => run.maxPayloadBytes)), ' B'));
    add(caseName, 'time per task state', formatTaskTimes(pipeline));
    add(caseName, 'N status writes as the pipeline makes them', ms(summarize(entry.bareMinimum.map((run) => run.pipelineStatusWriteMs))));
  }

  const reUpload = results.reUpload.runs;
  if (reUpload.length > 0) {
    const caseName = `re-upload ${results.reUpload.secrets}, unchanged`;
    add(caseName, 'wall time', ms(summarize(reUpload.map((run) => run.wallMs))));
    add(caseName, 'AWS calls', formatSummary(summarize(reUpload.map((run) => totalCalls(run.calls)))));
    add(caseName, 'calls by operation', formatCounts(summarizeCounts(reUpload.map((run) => run.calls))));
    add(caseName, 'writes to Secrets Manager and IAM', formatSummary(summarize(reUpload.map((run) => totalCalls(writesToSecretsAndIam(run.calls))))));
  }

  const setValue = results.setValue.runs;
  if (setValue.length > 0) {
    const caseName = `set-value (${results.settings.setValueCalls} calls)`;
    const figures = setValueSummary(setValue);
    add(caseName, 'set-value median / p95', `${ms(figures.setValueMedian)} / ${ms(summarize(setValue.map((run) => run.setValueMs.p95)))}`);
    add(caseName, 'bare PutSecretValue median / p95', `${ms(figures.putMedian)} / ${ms(summarize(setValue.map((run) => run.putSecretValueMs.p95)))}`);
    add(caseName, 'set-value ÷ PutSecretValue (medians)', `${figures.ratio.toFixed(2)}×`);
    add(caseName, 'calls per set (without the Invoke)', formatCounts(summarizeCounts(setValue.map((run) => run.callsPerSet)), 2));
    add(caseName, 'bare UpdateItem / TransactWriteItems median', `${ms(summarize(setValue.map((run) => run.updateItemMs.median)))} / ${ms(summarize(setValue.map((run) => run.transactWriteItemsMs.median)))}`);
    add(caseName, 'status table items', formatSummary(summarize(setValue.map((run) => run.tableItems))));
    const full = results.setValue.onFullTable;
    add(
      `set-value (${full.calls} calls), full table`,
      'set-value / TransactWriteItems median',
      `${full.setValueMs.median.toFixed(0)} ms / ${full.transactWriteItemsMs.median.toFixed(0)} ms at ${full.tableItems.toLocaleString('en-US')} items`,
    );
  }

  const statusRead = results.statusRead;
  if (statusRead[0]) {
    const caseName = `status, ${statusRead[0].records.toLocaleString('en-US')} records`;
    add(caseName, 'latency median / p95', `${ms(summarize(statusRead.map((run) => run.medianMs)))} / ${ms(summarize(statusRead.map((run) => run.p95Ms)))}`);
    add(caseName, 'calls per read', formatCounts(summarizeCounts(statusRead.map((run) => run.callsPerRead)), 2));
    add(caseName, 'size read, 1 MB pages', `about ${kib(statusRead[0].estimatedBytes)}, ${statusRead[0].pagesExpected} page`);
  }

  const many = results.manyProjects;
  if (many[0]) {
    const caseName = `${many[0].projects} projects × ${many[0].secretsPerProject} secrets`;
    add(caseName, 'total time', ms(summarize(many.map((run) => run.totalMs))));
    add(caseName, 'slowest project', ms(summarize(many.map((run) => run.slowestProjectMs))));
    add(caseName, 'median / fastest project', `${ms(summarize(many.map((run) => run.medianProjectMs)))} / ${ms(summarize(many.map((run) => run.fastestProjectMs)))}`);
    add(caseName, 'longest wait from upload to execution start', ms(summarize(many.map((run) => run.maxStartDelayMs))));
    add(caseName, 'AWS calls', formatSummary(summarize(many.map((run) => run.calls))));
    add(caseName, 'failed executions', formatSummary(summarize(many.map((run) => run.failedExecutions))));
  }

  const throughput = results.motoThroughput;
  if (throughput[0]) {
    const caseName = `moto, ${throughput[0].calls} UpdateItem`;
    add(caseName, '1 / 16 in flight', `${ms(summarize(throughput.map((run) => run.oneInFlightMs)))} / ${ms(summarize(throughput.map((run) => run.sixteenInFlightMs)))}`);
  }

  for (const bundle of results.bundles) {
    add(
      `bundle ${bundle.function}`,
      'size (AWS SDK part), import time',
      `${kib(bundle.bytes)} (${kib(bundle.awsSdkBytes)}), ${bundle.importMs.toFixed(0)} ms (${bundle.importMinMs.toFixed(0)}–${bundle.importMaxMs.toFixed(0)})`,
    );
  }

  const machine = results.machine;
  const lines = [
    `Machine: ${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB; Node.js ${machine.node}; moto ${machine.moto}; ` +
      `load average ${machine.loadAverage.start} at the start, ${machine.loadAverage.end} at the end`,
    `Runs: ${results.settings.runs} per case, ${results.settings.runs1000} at 1,000 secrets; median (min–max over runs)`,
    '',
    ...markdownTable(['case', 'figure', 'value'], rows),
    '',
    ...markdownTable(
      ['target', 'measured', 'met'],
      results.targets.map((target) => [target.target, target.measured, target.met ? 'yes' : 'no']),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function formatCounts(counts: Record<string, Summary>, digits = 0): string {
  return Object.entries(counts)
    .map(([operation, summary]) => `${operation} ${formatSummary(summary, '', digits)}`)
    .join(', ');
}

function formatTaskTimes(runs: ProvisionRun[]): string {
  const states = [...new Set(runs.flatMap((run) => Object.keys(run.taskMs)))];
  return states.map((state) => `${state} ${summarize(runs.map((run) => run.taskMs[state] ?? 0)).median.toFixed(0)} ms`).join(', ');
}

function kib(bytes: number): string {
  return `${round(bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 0 })} KiB`;
}

function markdownTable(header: string[], rows: string[][]): string[] {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`)];
}
