import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { physicalName } from '../../shared/naming.ts';
import { manifestOf, stackClients, uniqueProjectId } from '../support/stack.ts';

/**
 * Runs `neptune` in a real terminal: a detached tmux session on a private tmux server, typed
 * into with send-keys and read back with capture-pane, as a person at a terminal would see it.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'cli/bin/neptune.js');
const TMUX_SOCKET = `neptune-cli-test-${process.pid}`;
const EXIT_MARKER = 'neptune-exit=';

let workDir: string;
let sessionCount = 0;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', TMUX_SOCKET, ...args], { encoding: 'utf8' });
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Starts `neptune ARGS` in a new tmux session through a script that sets the test stack's
 * environment, prints the exit code after the command and keeps the pane open.
 */
function startInTerminal(args: string[], extraVariables: Record<string, string> = {}): string {
  const session = `cli${sessionCount++}`;
  const variables = { ...inject('localStack'), HOME: workDir, AWS_EC2_METADATA_DISABLED: 'true', NO_COLOR: '1', ...extraVariables };
  const script = path.join(workDir, `${session}.sh`);
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      // Ctrl-C signals the whole foreground group; the script survives it to print the exit
      // code. A trap with a command, unlike an ignored signal, is not inherited by neptune.
      "trap 'true' INT",
      ...Object.entries(variables).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
      `${shellQuote(process.execPath)} ${shellQuote(BIN)} ${args.map(shellQuote).join(' ')}`,
      `echo "${EXIT_MARKER}$?"`,
      'sleep 600',
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', script);
  return session;
}

/** Returns the pane's text, including what scrolled off the screen. */
function screen(session: string): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
}

async function waitForScreen(session: string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(session);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the terminal did not show ${pattern} within ${timeoutMs} ms; it shows:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'neptune-cli-tty-'));
});

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // The server exits by itself when its last session is gone.
  }
  rmSync(workDir, { recursive: true, force: true });
});

describe('neptune in a terminal', () => {
  let projectId: string;

  beforeAll(async () => {
    projectId = uniqueProjectId('clitty');
    const manifest = path.join(workDir, 'neptune.json');
    writeFileSync(manifest, manifestOf(['API_KEY', 'DATABASE_URL']));

    const session = startInTerminal(['push', manifest, '--project', projectId]);
    const text = await waitForScreen(session, new RegExp(`${EXIT_MARKER}\\d+`));
    expect(text).toContain(`${EXIT_MARKER}0`);
  });

  it('push redraws progress and ends with the status table', async () => {
    const manifest = path.join(workDir, 'neptune-3.json');
    writeFileSync(manifest, manifestOf(['API_KEY', 'DATABASE_URL', 'NEW_ONE']));

    const session = startInTerminal(['push', manifest, '--project', projectId]);
    const text = await waitForScreen(session, new RegExp(`${EXIT_MARKER}\\d+`));

    expect(text).toContain(`${EXIT_MARKER}0`);
    expect(text).toMatch(/\* NEW_ONE +Available/);
    expect(text).toMatch(/NEW_ONE +Available +neptune-\w+-NEW_ONE +unset/);
    // Redrawn in place: each secret has one progress line, not one per poll.
    expect(text.match(/\* API_KEY +Available/g)).toHaveLength(1);
  });

  it('secret set reads the value from a prompt that does not echo', async () => {
    const canary = `canary${Date.now().toString(36)}tty`;
    const session = startInTerminal(['secret', 'set', 'API_KEY', '--project', projectId]);
    await waitForScreen(session, /Value for API_KEY \(input is hidden\): /);

    // Typed with a wrong last character that Backspace removes, as a person would correct it.
    tmux('send-keys', '-t', session, '-l', `${canary}X`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whileTyping = screen(session);
    tmux('send-keys', '-t', session, 'BSpace');
    tmux('send-keys', '-t', session, 'Enter');
    const text = await waitForScreen(session, new RegExp(`${EXIT_MARKER}\\d+`));

    expect(whileTyping).not.toContain(canary);
    expect(text).not.toContain(canary);
    expect(text).toContain(`${EXIT_MARKER}0`);
    expect(text).toMatch(/Set API_KEY \(neptune-\w+-API_KEY\), version \w+\./);
    const stored = await stackClients().secretsManager.send(new GetSecretValueCommand({ SecretId: physicalName(projectId, 'API_KEY') }));
    expect(stored.SecretString).toBe(canary);
  });

  it('secret set stops on Ctrl-C and sets nothing', async () => {
    const session = startInTerminal(['secret', 'set', 'DATABASE_URL', '--project', projectId]);
    await waitForScreen(session, /Value for DATABASE_URL \(input is hidden\): /);

    tmux('send-keys', '-t', session, '-l', 'partial');
    tmux('send-keys', '-t', session, 'C-c');
    const text = await waitForScreen(session, new RegExp(`${EXIT_MARKER}\\d+`));

    expect(text).toContain(`${EXIT_MARKER}130`);
    expect(text).toContain('interrupted; nothing was set');
    const stored = stackClients().secretsManager.send(new GetSecretValueCommand({ SecretId: physicalName(projectId, 'DATABASE_URL') }));
    await expect(stored).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('neptune local', () => {
  it('starts a stack that the other commands use, and stops on Ctrl-C', async () => {
    const envFile = path.join(workDir, 'own-stack.env');
    const session = startInTerminal(['local', '--port', '0', '--quiet'], { NEPTUNE_LOCAL_ENV_FILE: envFile });
    const deadline = Date.now() + 60_000;
    while (!existsSync(envFile)) {
      if (Date.now() > deadline) throw new Error(`neptune local wrote no env file within 60 s; the terminal shows:\n${screen(session)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const endpoint = /AWS_ENDPOINT_URL='(http:\/\/127\.0\.0\.1:\d+)'/.exec(readFileSync(envFile, 'utf8'))?.[1];
    expect(endpoint).toBeDefined();
    expect(endpoint).not.toBe(inject('localStack').AWS_ENDPOINT_URL);

    tmux('send-keys', '-t', session, 'C-c');
    const text = await waitForScreen(session, new RegExp(`${EXIT_MARKER}\\d+`));

    expect(text).toContain(`${EXIT_MARKER}0`);
    expect(existsSync(envFile)).toBe(false);
  });
});
