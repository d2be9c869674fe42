/** Medians and spreads of repeated measurements. */

/** A figure measured once per run: its median, the range over runs, and every sample. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) throw new Error('cannot summarize zero samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: percentile(sorted, 50), min: round(sorted[0] as number), max: round(sorted.at(-1) as number), samples: samples.map(round) };
}

/**
 * Returns the p-th percentile of ascending samples, interpolated between the two nearest ranks,
 * so that the median of an even count is the mean of the middle two.
 */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) throw new Error('cannot take a percentile of zero samples');
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return round(low + (high - low) * (rank - lower));
}

/** Summaries of per-run counts by key; a key missing from a run counts as 0 in that run. */
export function summarizeCounts(runs: Array<Record<string, number>>): Record<string, Summary> {
  const keys = [...new Set(runs.flatMap((counts) => Object.keys(counts)))].sort();
  return Object.fromEntries(keys.map((key) => [key, summarize(runs.map((counts) => counts[key] ?? 0))]));
}

/** Rounds to two decimals, so that the JSON stays readable. */
export function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** `1,234 (1,200–1,300)`: the median and, when runs differ, their range. */
export function formatSummary(summary: Summary, unit = '', digits = 0): string {
  const format = (value: number) => `${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit}`;
  if (summary.min === summary.max) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`;
}
