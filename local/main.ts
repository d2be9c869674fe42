/**
 * `npm run local` starts the local stack and keeps it running; `npm start` also runs the example.
 * Other programs can start it in-process with `startLocalStack`.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { DefinitionError, EnvironmentConflictError, GatewayStartError, MotoStartError, StackAlreadyRunningError } from './errors.ts';
import { ExampleFailedError, printUsage, runExample } from './example.ts';
import { parseFaultRules, type FaultRule } from './faults.ts';
import { DEFAULT_ENV_FILE, DEFAULT_FAULT_SEED, DEFAULT_PORT, REPOSITORY_ROOT, startLocalStack } from './stack.ts';

export { startLocalStack, type LocalStack, type LocalStackOptions } from './stack.ts';

const HELP = `Usage: tsx local/main.ts [--port N] [--env-file PATH] [--example] [--quiet]

Starts moto and a gateway on 127.0.0.1 that serves S3, SQS, DynamoDB, Secrets Manager, IAM,
STS, Lambda and Step Functions for this project, then writes a shell-sourceable env file.

  --port N         gateway port; 0 picks a free port (default: $NEPTUNE_LOCAL_PORT or ${DEFAULT_PORT})
  --env-file PATH  where to write the env file (default: $NEPTUNE_LOCAL_ENV_FILE or .local/stack.env).
                   Node 20 itself reads --env-file anywhere on its command line and exits when the
                   file does not exist yet, so on Node 20 set NEPTUNE_LOCAL_ENV_FILE instead.
  --example        upload examples/neptune.json as project abc123 and print the result
  --quiet          log only errors

Environment:
  NEPTUNE_LOCAL_RETRY_SCALE  factor for Step Functions Retry waits, e.g. 0.05 (default 1; local only)
  NEPTUNE_LOCAL_FAULTS       JSON array of fault rules active from the start
  NEPTUNE_LOCAL_FAULT_SEED   seed of the fault-injection random sequence (default ${DEFAULT_FAULT_SEED})
`;

/** A command-line value or environment variable that cannot be used. */
class UsageError extends Error {
  override name = 'UsageError';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'env-file': { type: 'string' },
      example: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });

  if (values.help) {
    process.stdout.write(HELP);
    return;
  }

  const envFile = path.resolve(values['env-file'] ?? (process.env.NEPTUNE_LOCAL_ENV_FILE || DEFAULT_ENV_FILE));
  const stack = await startLocalStack({
    port: parsePort(values.port ?? process.env.NEPTUNE_LOCAL_PORT),
    envFile,
    retryScale: parseRetryScale(process.env.NEPTUNE_LOCAL_RETRY_SCALE),
    faults: parseFaultsVariable(process.env.NEPTUNE_LOCAL_FAULTS),
    faultSeed: parseSeed(process.env.NEPTUNE_LOCAL_FAULT_SEED),
    quiet: values.quiet,
  });

  stopOnSignals(stack.stop);

  if (values.example) {
    try {
      await runExample(stack, REPOSITORY_ROOT);
    } catch (error) {
      // The stack stays up, so the developer can look at what the example left behind.
      stack.logger.error('the example failed', { error: String(error) });
    }
    printUsage(stack, path.relative(process.cwd(), envFile) || envFile);
  }
}

function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;

  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal means the clean stop hangs; exit at once.
    if (stopping) process.exit(130);
    stopping = true;

    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`local stack did not stop cleanly after ${signal}: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };

  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid port "${value}"; use a number from 0 to 65535 (0 picks a free port)`);
  }
  return port;
}

function parseRetryScale(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  const scale = Number(value);
  if (!(scale > 0)) throw new UsageError(`invalid NEPTUNE_LOCAL_RETRY_SCALE "${value}"; use a positive number such as 0.05`);
  return scale;
}

function parseSeed(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_FAULT_SEED;
  const seed = Number(value);
  if (!Number.isInteger(seed)) throw new UsageError(`invalid NEPTUNE_LOCAL_FAULT_SEED "${value}"; use an integer`);
  return seed;
}

function parseFaultsVariable(value: string | undefined): FaultRule[] {
  if (value === undefined || value.trim() === '') return [];
  try {
    return parseFaultRules(JSON.parse(value));
  } catch (error) {
    throw new UsageError(`invalid NEPTUNE_LOCAL_FAULTS: ${(error as Error).message}`);
  }
}

const EXPECTED_ERRORS = [
  UsageError,
  DefinitionError,
  EnvironmentConflictError,
  GatewayStartError,
  MotoStartError,
  StackAlreadyRunningError,
  ExampleFailedError,
];

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    const expected = EXPECTED_ERRORS.some((type) => error instanceof type);
    process.stderr.write(`local stack failed to start: ${expected ? (error as Error).message : String((error as Error).stack ?? error)}\n`);
    process.exit(1);
  });
}
