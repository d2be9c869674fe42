/**
 * A parser for .env files as people write them for dotenv and shells:
 *
 * - `KEY=value`, optionally prefixed by `export `; spaces around `=` are allowed.
 * - Keys are letters, digits and underscores, not starting with a digit.
 * - Unquoted values end at the line's end, a ` #` comment is cut off (a `#` starts a comment
 *   only after whitespace, so `pa#ss` stays whole), and surrounding whitespace is trimmed.
 *   The value is everything after the first `=`, so `a=b=c` gives key `a` and value `b=c`.
 * - Single-quoted values are literal and may span lines.
 * - Double-quoted values may span lines and understand the escapes `\n`, `\r`, `\t`, `\"` and
 *   `\\`; any other backslash is kept as written.
 * - After a closing quote only whitespace and a `#` comment may follow.
 * - Blank lines and lines starting with `#` are skipped; a UTF-8 byte order mark and CRLF line
 *   ends are accepted.
 *
 * Problems name the line and never quote a value, because values are secrets.
 */

export interface DotenvEntry {
  key: string;
  value: string;
  /** 1-based line where the entry starts. */
  line: number;
}

export interface DotenvProblem {
  line: number;
  message: string;
}

export interface DotenvResult {
  entries: DotenvEntry[];
  problems: DotenvProblem[];
}

const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOUBLE_QUOTE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

export function parseDotenv(input: string): DotenvResult {
  const text = (input.startsWith('\uFEFF') ? input.slice(1) : input).replace(/\r\n?/g, '\n');
  const lines = text.split('\n');
  const entries: DotenvEntry[] = [];
  const problems: DotenvProblem[] = [];
  const firstLineOfKey = new Map<string, number>();

  let index = 0;
  while (index < lines.length) {
    const lineNumber = index + 1;
    const line = lines[index] as string;
    index++;

    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;

    const withoutExport = /^export\s+/.exec(trimmed) ? trimmed.replace(/^export\s+/, '') : trimmed;
    const equals = withoutExport.indexOf('=');
    if (equals < 0) {
      problems.push({ line: lineNumber, message: 'expected KEY=value' });
      continue;
    }
    const key = withoutExport.slice(0, equals).trim();
    if (!KEY_PATTERN.test(key)) {
      problems.push({
        line: lineNumber,
        message: 'invalid key: a key contains only letters, digits and underscores and does not start with a digit',
      });
      continue;
    }

    const rest = withoutExport.slice(equals + 1).replace(/^[ \t]+/, '');
    const quote = rest[0];
    let value: string;
    if (quote === "'" || quote === '"') {
      const quoted = readQuoted(quote, rest.slice(1), lines, index);
      if (quoted.problem) {
        problems.push({ line: lineNumber, message: quoted.problem });
        // The line after the bad value may be ordinary again; an unterminated quote has
        // consumed the rest of the file, so nothing follows it.
        index = quoted.nextLine;
        continue;
      }
      value = quoted.value;
      index = quoted.nextLine;
    } else {
      value = stripComment(rest).trim();
    }

    const earlier = firstLineOfKey.get(key);
    if (earlier !== undefined) {
      problems.push({ line: lineNumber, message: `${key} is already defined on line ${earlier}` });
      continue;
    }
    firstLineOfKey.set(key, lineNumber);
    entries.push({ key, value, line: lineNumber });
  }

  return { entries, problems };
}

/** Cuts a comment that starts with `#` at the value's start or after whitespace. */
function stripComment(value: string): string {
  const match = /(^|[ \t])#/.exec(value);
  return match ? value.slice(0, match.index) : value;
}

/**
 * Reads a quoted value that starts after its opening quote on `first` and may continue on the
 * following lines (from `lines[nextLine]`). Returns the value and the index of the first line
 * after it.
 */
function readQuoted(
  quote: "'" | '"',
  first: string,
  lines: string[],
  nextLine: number,
): { value: string; nextLine: number; problem?: string } {
  let value = '';
  let current = first;
  let lineIndex = nextLine;

  for (;;) {
    for (let position = 0; position < current.length; position++) {
      const char = current[position] as string;
      if (char === quote) {
        const trailing = current.slice(position + 1).trim();
        if (trailing !== '' && !trailing.startsWith('#')) {
          return { value: '', nextLine: lineIndex, problem: `unexpected text after the closing ${quoteName(quote)} quote` };
        }
        return { value, nextLine: lineIndex };
      }
      if (quote === '"' && char === '\\' && position + 1 < current.length) {
        const escaped = current[position + 1] as string;
        value += DOUBLE_QUOTE_ESCAPES[escaped] ?? `\\${escaped}`;
        position++;
        continue;
      }
      value += char;
    }

    if (lineIndex >= lines.length) {
      return { value: '', nextLine: lineIndex, problem: `unterminated ${quoteName(quote)}-quoted value: the closing ${quote} is missing` };
    }
    value += '\n';
    current = lines[lineIndex] as string;
    lineIndex++;
  }
}

function quoteName(quote: "'" | '"'): string {
  return quote === "'" ? 'single' : 'double';
}
