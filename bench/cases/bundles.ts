/**
 * Each function bundled as serverless-esbuild bundles it for deployment (the options of
 * `custom.esbuild` in serverless.yml), with its size and the time a fresh Node.js process takes
 * to import the bundle, which is the module-loading part of a Lambda cold start.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { build, type BuildOptions } from 'esbuild';
import { parse as parseYaml } from 'yaml';

import { cloudFormationTags } from '../../local/cloudformation.ts';
import { loadDefinitions } from '../../local/definitions.ts';
import { REPOSITORY_ROOT } from '../../local/stack.ts';
import { percentile, round } from '../stats.ts';

const run = promisify(execFile);

export interface BundleFigures {
  function: string;
  bytes: number;
  /** Bytes of the bundle that come from the AWS SDK (`@aws-sdk/*`, `@smithy/*`, `@aws-crypto/*`). */
  awsSdkBytes: number;
  /** Median over fresh processes of the time from `import()` until the module has loaded. */
  importMs: number;
  importMinMs: number;
  importMaxMs: number;
}

/** The subset of serverless-esbuild's options that serverless.yml sets. */
interface EsbuildSettings {
  bundle?: boolean;
  minify?: boolean;
  sourcemap?: boolean;
  target?: string;
  platform?: 'node';
  format?: 'esm' | 'cjs';
  outExtension?: Record<string, string>;
  banner?: Record<string, string>;
}

export async function measureBundles(imports: number): Promise<BundleFigures[]> {
  const settings = readEsbuildSettings();
  const functions = loadDefinitions({ serviceDir: REPOSITORY_ROOT }).functions;
  const outputDirectory = mkdtempSync(path.join(tmpdir(), 'neptune-bench-bundles-'));

  try {
    const figures: BundleFigures[] = [];
    for (const fn of functions) {
      const extension = settings.outExtension?.['.js'] ?? '.js';
      const outfile = path.join(outputDirectory, `${fn.key}${extension}`);
      const options: BuildOptions = {
        entryPoints: [fn.handlerFile],
        outfile,
        bundle: settings.bundle ?? true,
        minify: settings.minify ?? false,
        sourcemap: settings.sourcemap ?? false,
        target: settings.target,
        platform: settings.platform ?? 'node',
        format: settings.format ?? 'esm',
        banner: settings.banner,
        logLevel: 'silent',
        metafile: true,
      };
      const result = await build(options);
      const inputs = Object.values(result.metafile?.outputs ?? {}).flatMap((output) => Object.entries(output.inputs));
      const awsSdkBytes = inputs
        .filter(([input]) => /node_modules\/@(aws-sdk|smithy|aws-crypto)\//.test(input))
        .reduce((sum, [, contribution]) => sum + contribution.bytesInOutput, 0);

      const samples: number[] = [];
      for (let index = 0; index < imports; index++) samples.push(await importTime(outfile, fn.exportName));
      const sorted = samples.sort((a, b) => a - b);
      figures.push({
        function: fn.key,
        bytes: statSync(outfile).size,
        awsSdkBytes,
        importMs: percentile(sorted, 50),
        importMinMs: round(sorted[0] as number),
        importMaxMs: round(sorted.at(-1) as number),
      });
    }
    return figures;
  } finally {
    rmSync(outputDirectory, { recursive: true, force: true });
  }
}

function readEsbuildSettings(): EsbuildSettings {
  const file = path.join(REPOSITORY_ROOT, 'serverless.yml');
  const config = parseYaml(readFileSync(file, 'utf8'), { customTags: cloudFormationTags() }) as { custom?: { esbuild?: EsbuildSettings } };
  const settings = config.custom?.esbuild;
  if (!settings) throw new Error(`${file} has no custom.esbuild section to bundle the functions with`);
  return settings;
}

/**
 * Imports the bundle in a new Node.js process and returns the milliseconds `import()` took.
 * The process gets a region and dummy credentials only. That is enough, because the handlers
 * create their AWS clients on first use, not when they are imported.
 */
async function importTime(file: string, exportName: string): Promise<number> {
  const script = [
    `const startedAt = performance.now();`,
    `const module = await import(${JSON.stringify(pathToFileURL(file).href)});`,
    `const elapsed = performance.now() - startedAt;`,
    `if (typeof module[${JSON.stringify(exportName)}] !== 'function') throw new Error('the bundle does not export ${exportName}');`,
    `process.stdout.write(String(elapsed));`,
  ].join('\n');

  const { stdout } = await run(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    timeout: 60_000,
  });
  const elapsed = Number(stdout.trim());
  if (!Number.isFinite(elapsed)) throw new Error(`importing ${file} printed ${JSON.stringify(stdout)} instead of a time`);
  return elapsed;
}
