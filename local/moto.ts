/**
 * Runs `moto_server` as a child process on a free loopback port. moto serves the AWS data plane
 * of the local stack: S3, SQS, DynamoDB, Secrets Manager, IAM and STS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

import { MotoStartError } from './errors.ts';

const INSTALL_HINT = "Install it with: pip install 'moto[server]'";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
/** Lines of moto's output kept to explain a failed start. */
const OUTPUT_TAIL_LINES = 20;

export interface MotoServer {
  /** e.g. `http://127.0.0.1:50123` */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function startMoto(options: { accountId?: string } = {}): Promise<MotoServer> {
  const port = await findFreePort();
  const outputTail: string[] = [];

  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(options.accountId ? { MOTO_ACCOUNT_ID: options.accountId } : {}) },
  });

  const keepTail = (chunk: Buffer) => {
    outputTail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    outputTail.splice(0, Math.max(0, outputTail.length - OUTPUT_TAIL_LINES));
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);

  // A moto that outlives this process would keep its port and memory; kill it on any exit.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(child, endpoint, outputTail);
  } catch (error) {
    child.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    throw error;
  }

  return {
    endpoint,
    port,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
    },
  };
}

async function waitUntilReady(child: ChildProcess, endpoint: string, outputTail: string[]): Promise<void> {
  let startError: Error | undefined;
  child.once('error', (error: NodeJS.ErrnoException) => {
    startError =
      error.code === 'ENOENT'
        ? new MotoStartError(`moto_server was not found on PATH. The local stack needs it. ${INSTALL_HINT}`)
        : new MotoStartError(`moto_server failed to start: ${error.message}`);
  });

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (startError) throw startError;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new MotoStartError(
        `moto_server exited (${child.exitCode ?? child.signalCode}) before it served requests. Its output:\n${outputTail.join('\n')}`,
      );
    }

    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  throw new MotoStartError(`moto_server did not respond on ${endpoint} within ${START_TIMEOUT_MS / 1000} s. Its output:\n${outputTail.join('\n')}`);
}

/** Stops a child process with SIGTERM, then SIGKILL if it has not exited after `timeoutMs`. */
export async function stopChild(child: ChildProcess, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');

  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Asks the kernel for a free loopback port. Another process could take it before moto binds
 * it; moto then exits and the start fails with its output.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
