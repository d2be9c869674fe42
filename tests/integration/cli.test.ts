import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { manifestKey, physicalName } from '../../shared/naming.ts';
import { manifestOf, stackClients, uniqueProjectId } from '../support/stack.ts';

/**
 * Runs the real `neptune` bin as a child process against the test stack, with piped (non-TTY)
 * standard streams, as a CI job or a script would.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'cli/bin/neptune.js');
const CANARY = 'canary-3e9b7d41';

interface CliRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // A home without AWS config files, so that only the test stack's variables apply.
    HOME: workDir,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...inject('localStack'),
    ...options.env,
  };
  const child = spawn(process.execPath, [BIN, ...args], { cwd: workDir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) =>
      resolve({ exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }),
    );
  });
}

function writeFile(name: string, content: string): string {
  const file = path.join(workDir, name);
  writeFileSync(file, content);
  return file;
}

async function storedValue(projectId: string, name: string): Promise<{ value?: string; versionId?: string }> {
  const response = await stackClients().secretsManager.send(new GetSecretValueCommand({ SecretId: physicalName(projectId, name) }));
  return { value: response.SecretString, versionId: response.VersionId };
}

interface SecretJson {
  kind: string;
  name: string;
  status: string;
  aws_id: string;
  value_set: boolean;
  redeploy_required: boolean;
  value_version?: string;
  error_code?: string;
  deletion_date?: string;
}

async function statusJson(projectId: string): Promise<SecretJson[]> {
  const result = await runCli(['status', '--project', projectId, '--json']);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout) as SecretJson[];
}

async function pushNames(projectId: string, names: string[]): Promise<CliRun> {
  const file = writeFile(`${projectId}-${names.length}.json`, manifestOf(names));
  return runCli(['push', file, '--project', projectId]);
}

let workDir: string;

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'neptune-cli-'));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('neptune push', () => {
  it('provisions the example and prints plain progress lines', async () => {
    const projectId = uniqueProjectId('clipush');

    const result = await runCli(['push', path.join(ROOT, 'examples/neptune.json'), '--project', projectId]);

    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Uploaded ${path.join(ROOT, 'examples/neptune.json')} to s3://`);
    for (const name of ['STRIPE_API_KEY', 'STRIPE_SECRET_KEY', 'RESEND_API_KEY', 'OPENAI_API_KEY', 'DATABASE_URL']) {
      expect(result.stdout).toContain(`\n${name}: Available\n`);
      expect(result.stdout).toMatch(new RegExp(`\\n${name} +Available +neptune-${projectId}-${name} +unset`));
    }
    expect(result.stdout).toMatch(/\nNAME +STATUS +AWS ID +VALUE +REDEPLOY +ERROR\n/);
    expect(result.stdout).not.toContain('\u001b');
  });

  it('rejects an invalid manifest with line and column and uploads nothing', async () => {
    const projectId = uniqueProjectId('clibad');
    const file = writeFile('bad.json', '{\n  "kind": "Service",\n  "name": "app",\n  "resources": [\n    { "kind": "Secret", "name": "API_KEY" },\n    { "kind": "Secret", "name": "api_key" }\n  ]\n}\n');

    const result = await runCli(['push', file, '--project', projectId]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${file}:6:33: $.resources[1].name: name "api_key" differs only in case from "API_KEY"`);
    expect(result.stdout).toBe('');
    const head = stackClients().s3.send(new HeadObjectCommand({ Bucket: inject('localStack').NEPTUNE_BUCKET, Key: manifestKey(projectId) }));
    await expect(head).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('reports a JSON syntax error with its position', async () => {
    const file = writeFile('syntax.json', '{\n  "kind": "Service",\n  "name": "app",\n  "resources": [],\n}\n');

    const result = await runCli(['push', file, '--project', uniqueProjectId('clisyntax')]);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${file}:4:18: $: invalid JSON: trailing comma`);
  });

  it('shows a removed secret as pending deletion', async () => {
    const projectId = uniqueProjectId('clidel');
    expect((await pushNames(projectId, ['KEEP_ME', 'DROP_ME'])).exitCode).toBe(0);

    const result = await pushNames(projectId, ['KEEP_ME']);

    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('DROP_ME: PendingDeletion until ');
    const secrets = await statusJson(projectId);
    const dropped = secrets.find((secret) => secret.name === 'DROP_ME');
    expect(dropped?.status).toBe('PendingDeletion');
    expect(dropped?.deletion_date).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('exits 3 with one line when the endpoint is unreachable', async () => {
    const result = await runCli(['push', path.join(ROOT, 'examples/neptune.json'), '--project', 'clinowhere'], {
      env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
    });

    expect(result.exitCode).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('cannot reach http://127.0.0.1:9');
  });
});

describe('neptune status', () => {
  it('prints the docs JSON shape with value and redeploy fields', async () => {
    const projectId = uniqueProjectId('clistatus');
    expect((await pushNames(projectId, ['STRIPE_API_KEY', 'DATABASE_URL'])).exitCode).toBe(0);

    const secrets = await statusJson(projectId);

    expect(secrets).toEqual([
      { kind: 'Secret', name: 'DATABASE_URL', status: 'Available', aws_id: `neptune-${projectId}-DATABASE_URL`, value_set: false, redeploy_required: false },
      { kind: 'Secret', name: 'STRIPE_API_KEY', status: 'Available', aws_id: `neptune-${projectId}-STRIPE_API_KEY`, value_set: false, redeploy_required: false },
    ]);
  });

  it('exits 1 for a project without status', async () => {
    const result = await runCli(['status', '--project', uniqueProjectId('clinone')]);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('has no status yet');
  });
});

describe('neptune secret set, import and deployed', () => {
  const names = ['API_KEY', 'TLS_KEY', 'PORT_NUMBER', 'B64', 'DSN', 'EMPTY_ONE', 'QUOTED'];
  let projectId: string;

  beforeAll(async () => {
    projectId = uniqueProjectId('cliset');
    const pushed = await pushNames(projectId, names);
    expect(pushed.stderr).toBe('');
    expect(pushed.exitCode).toBe(0);
  });

  it('sets a value from piped stdin and prints its version', async () => {
    const result = await runCli(['secret', 'set', 'API_KEY', '--project', projectId], { input: `${CANARY}\n` });

    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const stored = await storedValue(projectId, 'API_KEY');
    expect(stored.value).toBe(CANARY);
    expect(result.stdout).toContain(`version ${stored.versionId}`);
    expect(result.stdout).toContain('Redeploy required');
    expect(result.stdout).not.toContain(CANARY);
  });

  it('keeps a multi-line piped value and strips one trailing newline', async () => {
    const pem = '-----BEGIN KEY-----\nabc\n\n-----END KEY-----\n';

    const result = await runCli(['secret', 'set', 'TLS_KEY', '--project', projectId], { input: `${pem}\n` });

    expect(result.exitCode).toBe(0);
    expect((await storedValue(projectId, 'TLS_KEY')).value).toBe(pem);
  });

  it('refuses --value and stores nothing', async () => {
    const before = await storedValue(projectId, 'API_KEY');

    const result = await runCli(['secret', 'set', 'API_KEY', '--project', projectId, '--value', `${CANARY}-refused`, '--debug']);

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--insecure-value-argument');
    expect(result.stdout + result.stderr).not.toContain(CANARY);
    expect(await storedValue(projectId, 'API_KEY')).toEqual(before);
  });

  it('accepts --value with --insecure-value-argument', async () => {
    const result = await runCli(['secret', 'set', 'API_KEY', '--project', projectId, '--value', `${CANARY}-argument`, '--insecure-value-argument']);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain(CANARY);
    expect((await storedValue(projectId, 'API_KEY')).value).toBe(`${CANARY}-argument`);
  });

  it('reports an undeclared name in one line', async () => {
    const result = await runCli(['secret', 'set', 'NOT_DECLARED', '--project', projectId, '--debug'], { input: CANARY });

    expect(result.exitCode).toBe(1);
    expect(result.stderr.split('\n')[0]).toContain('setting NOT_DECLARED failed: secret NOT_DECLARED is not declared');
    expect(result.stdout + result.stderr).not.toContain(CANARY);
  });

  it('imports the .env cases byte-exact, refuses unknown keys and reports a failed key', async () => {
    const file = writeFile(
      'secrets.env',
      [
        '# Neptune secrets',
        'export PORT_NUMBER=8000',
        'B64="qS1z',
        'No4="',
        'DSN=postgres://u:p@h/db?ssl=1',
        '',
        `UNKNOWN_ONE=${CANARY}`,
        'EMPTY_ONE=',
        'UNKNOWN_TWO="x"',
        '',
      ].join('\n'),
    );

    const result = await runCli(['secret', 'import', file, '--project', projectId, '--debug']);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('so not set: UNKNOWN_ONE, UNKNOWN_TWO.');
    expect(result.stderr).toContain('EMPTY_ONE: failed: the value of EMPTY_ONE must not be an empty string');
    expect(result.stdout).toMatch(/^PORT_NUMBER: set, version \S+$/m);
    expect(result.stdout).toContain('Set 3 of 6 keys');
    expect(result.stdout + result.stderr).not.toContain(CANARY);
    expect((await storedValue(projectId, 'PORT_NUMBER')).value).toBe('8000');
    expect((await storedValue(projectId, 'B64')).value).toBe('qS1z\nNo4=');
    expect((await storedValue(projectId, 'DSN')).value).toBe('postgres://u:p@h/db?ssl=1');
  });

  it('sets a single-quoted value literally', async () => {
    const file = writeFile('quoted.env', "QUOTED='$HOME # \\n'   # a comment\n");

    const result = await runCli(['secret', 'import', file, '--project', projectId]);

    expect(result.exitCode).toBe(0);
    expect((await storedValue(projectId, 'QUOTED')).value).toBe('$HOME # \\n');
  });

  it('clears the redeploy flags with deployed', async () => {
    const before = await statusJson(projectId);
    expect(before.find((secret) => secret.name === 'API_KEY')).toMatchObject({ value_set: true, redeploy_required: true });
    expect(before.find((secret) => secret.name === 'EMPTY_ONE')).toMatchObject({ value_set: false, redeploy_required: false });

    const result = await runCli(['deployed', '--project', projectId]);

    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('no longer need a redeploy');
    const after = await statusJson(projectId);
    expect(after.filter((secret) => secret.redeploy_required)).toEqual([]);
  });

  it('keeps the flag of a value set after the deploy started', async () => {
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    expect((await runCli(['secret', 'set', 'DSN', '--project', projectId], { input: 'postgres://new' })).exitCode).toBe(0);

    const result = await runCli(['deployed', '--project', projectId, '--started-at', startedAt]);

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('1 secret was set after the deploy started');
    expect((await statusJson(projectId)).find((secret) => secret.name === 'DSN')?.redeploy_required).toBe(true);
  });
});
