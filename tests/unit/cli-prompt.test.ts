import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { InterruptedError, UsageError } from '../../cli/errors.ts';
import { readSecretValue, type ValueInput } from '../../cli/prompt.ts';

/** Creates a stand-in for a terminal's stdin that records raw-mode changes. */
function fakeTerminal(): { input: ValueInput & PassThrough; rawModes: boolean[] } {
  const rawModes: boolean[] = [];
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode(mode: boolean) {
      rawModes.push(mode);
      return input;
    },
  });
  return { input, rawModes };
}

function output(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('readSecretValue on a terminal', () => {
  it('reads a line in raw mode and echoes nothing', async () => {
    const { input, rawModes } = fakeTerminal();
    const screen = output();

    const reading = readSecretValue(input, screen.stream, 'Value: ');
    input.write('s3cr3t-typed\r');
    const value = await reading;

    expect(value).toBe('s3cr3t-typed');
    expect(rawModes).toEqual([true, false]);
    expect(screen.text()).toBe('Value: \n');
  });

  it('handles Backspace, Ctrl-U and arrow keys', async () => {
    const { input } = fakeTerminal();

    const reading = readSecretValue(input, output().stream, 'Value: ');
    input.write('wrong\u0015abcX\u007f\u001b[D\u001b[Cd€\b€\r');

    expect(await reading).toBe('abcd€');
  });

  it('rejects on Ctrl-C and leaves raw mode', async () => {
    const { input, rawModes } = fakeTerminal();

    const reading = readSecretValue(input, output().stream, 'Value: ');
    input.write('partial\u0003');

    await expect(reading).rejects.toBeInstanceOf(InterruptedError);
    expect(rawModes).toEqual([true, false]);
  });
});

describe('readSecretValue from a pipe', () => {
  it('reads everything and strips one trailing newline', async () => {
    const input = new PassThrough();
    input.end('line1\nline2\n\n');

    expect(await readSecretValue(input, output().stream, 'Value: ')).toBe('line1\nline2\n');
  });

  it('strips one CRLF', async () => {
    const input = new PassThrough();
    input.end('value\r\n');

    expect(await readSecretValue(input, output().stream, 'Value: ')).toBe('value');
  });

  it('keeps a value without a trailing newline as it is', async () => {
    const input = new PassThrough();
    input.end('  spaced  ');

    expect(await readSecretValue(input, output().stream, 'Value: ')).toBe('  spaced  ');
  });

  it('rejects input that is not UTF-8', async () => {
    const input = new PassThrough();
    input.end(Buffer.from([0xff, 0xfe, 0x41]));

    await expect(readSecretValue(input, output().stream, 'Value: ')).rejects.toBeInstanceOf(UsageError);
  });

  it('prints no prompt', async () => {
    const input = new PassThrough();
    const screen = output();
    input.end('x');

    await readSecretValue(input, screen.stream, 'Value: ');

    expect(screen.text()).toBe('');
  });
});
