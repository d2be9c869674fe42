import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { CommandContext } from '../../cli/context.ts';
import { ExitCode } from '../../cli/errors.ts';
import { main } from '../../cli/main.ts';
import { redactValues } from '../../cli/redact.ts';
import { createStyles } from '../../cli/table.ts';

const CANARY = 'canary-value-5d1c2b';

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

/** Runs `neptune` in-process with piped stand-ins for stdin, stdout and stderr. */
async function run(argv: string[], stdinText = ''): Promise<Run> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const readStdout = collect(stdout);
  const readStderr = collect(stderr);
  stdin.end(stdinText);
  const context: CommandContext = { stdin, stdout, stderr, styles: createStyles(stdout), sensitiveValues: new Set() };

  const exitCode = await main(argv, context);
  return { exitCode, stdout: readStdout(), stderr: readStderr() };
}

const STACK_VARIABLES = ['NEPTUNE_BUCKET', 'NEPTUNE_TABLE', 'NEPTUNE_SET_VALUE_FUNCTION', 'NEPTUNE_REDEPLOYED_FUNCTION'];

beforeEach(() => {
  for (const variable of STACK_VARIABLES) vi.stubEnv(variable, '');
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('neptune help', () => {
  it('lists commands and exit codes', async () => {
    const result = await run(['--help']);

    expect(result.exitCode).toBe(ExitCode.Success);
    for (const command of ['push', 'status', 'secret set', 'secret import', 'deployed', 'local']) expect(result.stdout).toContain(command);
    expect(result.stdout).toContain('Exit codes:');
  });

  it.each([['push'], ['status'], ['secret', 'set'], ['secret', 'import'], ['deployed'], ['local']])('shows help of %s', async (...command) => {
    const result = await run([...command.filter(Boolean), '--help']);

    expect(result.exitCode).toBe(ExitCode.Success);
    expect(result.stdout).toContain(`Usage: neptune ${command.filter(Boolean).join(' ')}`);
  });

  it('exits 2 without a command', async () => {
    const result = await run([]);

    expect(result.exitCode).toBe(ExitCode.Usage);
  });
});

describe('neptune usage errors', () => {
  it('rejects an unknown command', async () => {
    const result = await run(['pusj']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('unknown command "pusj"');
  });

  it('rejects an unknown option in one line', async () => {
    const result = await run(['status', '--project', 'abc', '--jsn']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('unknown option --jsn');
  });

  it('requires --project', async () => {
    const result = await run(['status']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('--project is required');
  });

  it('rejects an invalid project id', async () => {
    const result = await run(['status', '--project', 'My-App']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('lowercase letters');
  });

  it('rejects an invalid --timeout', async () => {
    const result = await run(['push', 'examples/neptune.json', '--project', 'abc', '--timeout', 'soon']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('invalid --timeout');
  });

  it('rejects an invalid --started-at', async () => {
    const result = await run(['deployed', '--project', 'abc', '--started-at', 'yesterday']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('invalid --started-at');
  });

  it('prints no stack trace without --debug', async () => {
    const result = await run(['status', '--project', 'abc']);

    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints the stack trace with --debug', async () => {
    const result = await run(['status', '--project', 'abc', '--debug']);

    expect(result.stderr).toMatch(/\n\s+at /);
  });
});

describe('neptune configuration errors', () => {
  it('exits 3 and names the missing variable', async () => {
    const result = await run(['status', '--project', 'abc']);

    expect(result.exitCode).toBe(ExitCode.Environment);
    expect(result.stderr).toContain('NEPTUNE_TABLE is not set');
    expect(result.stderr).toContain('source .local/stack.env');
  });

  it('lists every missing variable at once', async () => {
    const result = await run(['push', 'examples/neptune.json', '--project', 'abc']);

    expect(result.exitCode).toBe(ExitCode.Environment);
    expect(result.stderr).toContain('NEPTUNE_BUCKET, NEPTUNE_TABLE are not set');
  });

  it('exits 3 when the endpoint does not answer', async () => {
    vi.stubEnv('NEPTUNE_TABLE', 'neptune-status');
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');

    const result = await run(['status', '--project', 'abc']);

    expect(result.exitCode).toBe(ExitCode.Environment);
    expect(result.stderr).toContain('cannot reach http://127.0.0.1:9');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('neptune push validation', () => {
  it('exits 2 with line and column for an invalid manifest', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'neptune-cli-')), 'neptune.json');
    writeFileSync(file, '{\n  "kind": "Service",\n  "name": "app",\n  "resources": [\n    { "kind": "Secret", "name": "bad-name" }\n  ]\n}\n');

    const result = await run(['push', file, '--project', 'abc']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain(`${file}:5:33: $.resources[0].name: must start with a letter`);
    expect(result.stderr).toContain('nothing was uploaded');
  });

  it('exits 2 when the file does not exist', async () => {
    const result = await run(['push', 'no-such-dir/neptune.json', '--project', 'abc']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('does not exist');
  });
});

describe('neptune secret set without the stack', () => {
  it('refuses --value and does not print it', async () => {
    const result = await run(['secret', 'set', 'API_KEY', '--project', 'abc', '--value', CANARY, '--debug']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('--insecure-value-argument');
    expect(result.stderr).toContain('history');
    expect(result.stdout + result.stderr).not.toContain(CANARY);
  });

  it('refuses a value given as a second argument without printing it', async () => {
    const result = await run(['secret', 'set', 'API_KEY', CANARY, '--project', 'abc', '--debug']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stdout + result.stderr).not.toContain(CANARY);
  });

  it('does not name an unknown option that may be a value', async () => {
    const result = await run(['secret', 'set', 'API_KEY', '--project', 'abc', `--${CANARY}`]);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stdout + result.stderr).not.toContain(CANARY);
  });

  it('rejects an invalid secret name', async () => {
    const result = await run(['secret', 'set', 'api-key', '--project', 'abc']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('invalid secret name "api-key"');
  });

  it('rejects an empty piped value before any call', async () => {
    vi.stubEnv('NEPTUNE_SET_VALUE_FUNCTION', 'set-value');

    const result = await run(['secret', 'set', 'API_KEY', '--project', 'abc'], '\n');

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('must not be an empty string');
  });

  it('rejects a value over 65,536 bytes without printing it', async () => {
    vi.stubEnv('NEPTUNE_SET_VALUE_FUNCTION', 'set-value');
    const value = `${CANARY}${'é'.repeat(32_768)}`;

    const result = await run(['secret', 'set', 'API_KEY', '--project', 'abc', '--debug'], value);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('the maximum is 65536 bytes');
    expect(result.stdout + result.stderr).not.toContain(CANARY);
  });
});

describe('neptune secret import without the stack', () => {
  it('reports malformed lines by number without their values and sets nothing', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'neptune-cli-')), 'secrets.env');
    writeFileSync(file, `GOOD=1\n${CANARY}\nBAD="${CANARY}\n`);

    const result = await run(['secret', 'import', file, '--project', 'abc', '--debug']);

    expect(result.exitCode).toBe(ExitCode.Usage);
    expect(result.stderr).toContain(`${file}:2: expected KEY=value`);
    expect(result.stderr).toContain(`${file}:3: unterminated double-quoted value`);
    expect(result.stderr).toContain('nothing was set');
    expect(result.stdout + result.stderr).not.toContain(CANARY);
  });
});

describe('redactValues', () => {
  it('replaces every occurrence, longest value first', () => {
    expect(redactValues('a secret-long and secret', new Set(['secret', 'secret-long']))).toBe('a [redacted] and [redacted]');
  });

  it('leaves values under four characters', () => {
    expect(redactValues('line 1 of 123', new Set(['1', '123']))).toBe('line 1 of 123');
  });
});
