import { InterruptedError, UsageError } from './errors.ts';

/** Input that `readSecretValue` reads from: process.stdin, or a stand-in in tests. */
export interface ValueInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const BACKSPACE = '\u007f';
const CTRL_H = '\b';
const ESCAPE = '\u001b';

/**
 * Reads a secret value without ever showing it. On a terminal it prompts on `output` (stderr,
 * so that stdout stays clean) and reads one line in raw mode with no echo: Backspace deletes a
 * character, Ctrl-U clears the line, Enter ends it, Ctrl-C aborts. From a pipe or file it
 * reads all of the input, so multi-line values such as PEM keys work, and strips exactly one
 * trailing newline (`\n` or `\r\n`), which `echo` and most editors add.
 */
export async function readSecretValue(input: ValueInput, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  if (input.isTTY && typeof input.setRawMode === 'function') return readHidden(input, output, prompt);
  return readPiped(input);
}

async function readPiped(input: ValueInput): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  const bytes = Buffer.concat(chunks);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError('standard input is not valid UTF-8 text; Secrets Manager stores a value as a string');
  }
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

function readHidden(input: ValueInput, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  const setRawMode = input.setRawMode as (mode: boolean) => unknown;
  output.write(prompt);
  setRawMode.call(input, true);
  input.setEncoding('utf8');
  input.resume();

  return new Promise((resolve, reject) => {
    // Code points, so that Backspace removes a whole character, not half a surrogate pair.
    const characters: string[] = [];
    // Arrow and function keys arrive as ESC [ ... final byte, or ESC O letter; none of it is
    // input. A lone ESC is ignored.
    let escapeState: 'none' | 'escape' | 'csi' | 'ss3' = 'none';

    const finish = (error?: Error) => {
      input.removeListener('data', onData);
      setRawMode.call(input, false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(characters.join(''));
    };

    const onData = (chunk: string | Buffer) => {
      for (const character of String(chunk)) {
        if (escapeState === 'csi') {
          if (character >= '@' && character <= '~') escapeState = 'none';
          continue;
        }
        if (escapeState === 'ss3') {
          escapeState = 'none';
          continue;
        }
        if (escapeState === 'escape') {
          escapeState = 'none';
          if (character === '[') escapeState = 'csi';
          if (character === 'O') escapeState = 'ss3';
          if (escapeState !== 'none') continue;
        }
        if (character === ESCAPE) {
          escapeState = 'escape';
          continue;
        }
        if (character === CTRL_C) return finish(new InterruptedError());
        if (character === '\r' || character === '\n' || character === CTRL_D) return finish();
        if (character === BACKSPACE || character === CTRL_H) {
          characters.pop();
          continue;
        }
        if (character === CTRL_U) {
          characters.length = 0;
          continue;
        }
        if (character < ' ') continue;
        characters.push(character);
      }
    };

    input.on('data', onData);
  });
}
