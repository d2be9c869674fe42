/**
 * Starts one local stack for the integration tests, in a child process, and stops it after the
 * run. Tests read its variables with `inject('localStack')`, and its env file's path with
 * `inject('localStackEnvFile')`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TestProject } from 'vitest/node';

import { parseEnvFile } from '../local/env-file.ts';
import { stopChild } from '../local/moto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The variables of the local stack's env file: endpoint, region, resource and function names. */
    localStack: Record<string, string>;
    /** Path of that env file. */
    localStackEnvFile: string;
  }
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Named by process, so that two test runs in one working tree do not share a stack's files.
const ENV_FILE = path.join(ROOT, '.local', `test-stack-${process.pid}.env`);
const LOG_FILE = path.join(ROOT, '.local', `test-stack-${process.pid}.log`);
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** Retry waits at 2% of the definition's, so a retried step takes milliseconds, not seconds. */
const RETRY_SCALE = '0.02';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  mkdirSync(path.dirname(ENV_FILE), { recursive: true });
  rmSync(ENV_FILE, { force: true });
  const log = openSync(LOG_FILE, 'w');

  // `node --import tsx` rather than the tsx command, so that the signal that stops the stack
  // reaches it without a wrapper process in between. The env file path goes in the environment:
  // Node 20 reads an `--env-file` argument itself, even after the script name, and exits when
  // the file does not exist yet.
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts', '--port', '0'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NEPTUNE_LOCAL_ENV_FILE: ENV_FILE,
      NEPTUNE_LOCAL_RETRY_SCALE: RETRY_SCALE,
      NEPTUNE_LOCAL_FAULTS: '',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);

  try {
    await waitForEnvFile(child);
  } catch (error) {
    await stopChild(child, STOP_TIMEOUT_MS);
    throw error;
  }

  project.provide('localStack', parseEnvFile(readFileSync(ENV_FILE, 'utf8')));
  project.provide('localStackEnvFile', ENV_FILE);

  return async () => {
    await stopChild(child, STOP_TIMEOUT_MS);
  };
}

async function waitForEnvFile(child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;

  while (!existsSync(ENV_FILE)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the local stack exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logTail()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`the local stack was not ready within ${START_TIMEOUT_MS / 1000} s:\n${logTail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function logTail(): string {
  return readFileSync(LOG_FILE, 'utf8').split('\n').slice(-30).join('\n');
}
