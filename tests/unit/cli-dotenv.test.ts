import { describe, expect, it } from 'vitest';

import { parseDotenv } from '../../cli/dotenv.ts';

function values(text: string): Record<string, string> {
  const result = parseDotenv(text);
  expect(result.problems).toEqual([]);
  return Object.fromEntries(result.entries.map((entry) => [entry.key, entry.value]));
}

describe('parseDotenv', () => {
  it('parses the export prefix, a multi-line quoted value and = inside a value', () => {
    const text = 'export PORT_NUMBER=8000\nB64="qS1z\nNo4="\nDSN=postgres://u:p@h/db?ssl=1\n';
    const parsed = values(text);

    expect(parsed.PORT_NUMBER).toBe('8000');
    expect(parsed.B64).toBe('qS1z\nNo4=');
    expect(parsed.DSN).toBe('postgres://u:p@h/db?ssl=1');
    expect(Object.keys(parsed)).toEqual(['PORT_NUMBER', 'B64', 'DSN']);
  });

  it('records the line where each entry starts', () => {
    const result = parseDotenv('# header\n\nA=1\nB="x\ny"\nC=3\n');

    expect(result.entries.map((entry) => [entry.key, entry.line])).toEqual([
      ['A', 3],
      ['B', 4],
      ['C', 6],
    ]);
  });

  it('skips comments and blank lines', () => {
    expect(values('# comment\n   # indented comment\n\n   \nA=1\n')).toEqual({ A: '1' });
  });

  it('strips a comment after whitespace and trims unquoted values', () => {
    expect(values('A=  value with spaces   # comment\n')).toEqual({ A: 'value with spaces' });
  });

  it('keeps a # that does not follow whitespace', () => {
    expect(values('A=pa#ss\nB=#not-a-comment-in-a-shell\n').A).toBe('pa#ss');
    expect(values('A= #only a comment\n')).toEqual({ A: '' });
  });

  it('keeps single-quoted values literal', () => {
    expect(values("A='$HOME \\n # not a comment'\n")).toEqual({ A: '$HOME \\n # not a comment' });
  });

  it('spans lines inside single quotes', () => {
    expect(values("KEY='-----BEGIN KEY-----\nabc\n-----END KEY-----'\n")).toEqual({ KEY: '-----BEGIN KEY-----\nabc\n-----END KEY-----' });
  });

  it('decodes escapes inside double quotes', () => {
    expect(values('A="line1\\nline2\\t\\"quoted\\" back\\\\slash \\$x"\n')).toEqual({ A: 'line1\nline2\t"quoted" back\\slash \\$x' });
  });

  it('allows a comment after a closing quote', () => {
    expect(values('A="x y" # comment\nB=\'z\'   \n')).toEqual({ A: 'x y', B: 'z' });
  });

  it('accepts spaces around the equals sign', () => {
    expect(values('A = 1\nexport   B=2\n')).toEqual({ A: '1', B: '2' });
  });

  it('accepts CRLF line ends and a byte order mark', () => {
    expect(values('\uFEFFA=1\r\nB="x\r\ny"\r\n')).toEqual({ A: '1', B: 'x\ny' });
  });

  it('accepts an empty value', () => {
    expect(values('A=\nB=""\n')).toEqual({ A: '', B: '' });
  });

  it('reports a line without =', () => {
    const result = parseDotenv('A=1\njust some words\n');

    expect(result.problems).toEqual([{ line: 2, message: 'expected KEY=value' }]);
    expect(result.entries.map((entry) => entry.key)).toEqual(['A']);
  });

  it('reports an invalid key', () => {
    const result = parseDotenv('1A=x\nMY-KEY=y\n');

    expect(result.problems.map((problem) => problem.line)).toEqual([1, 2]);
    expect(result.problems[0]?.message).toMatch(/invalid key/);
  });

  it('reports an unterminated quote at its first line', () => {
    const result = parseDotenv('A=1\nB="never closed\nC=3\n');

    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]?.line).toBe(2);
    expect(result.problems[0]?.message).toMatch(/unterminated double-quoted value/);
  });

  it('reports text after a closing quote', () => {
    const result = parseDotenv("A='x'y\n");

    expect(result.problems).toEqual([{ line: 1, message: 'unexpected text after the closing single quote' }]);
  });

  it('reports a key defined twice', () => {
    const result = parseDotenv('A=1\nA=2\n');

    expect(result.problems).toEqual([{ line: 2, message: 'A is already defined on line 1' }]);
  });

  it('never puts a value into a problem message', () => {
    const canary = 'canary-7f3a9e';
    const text = [`${canary}`, `A="${canary}`, `B='${canary}'${canary}`, `9${canary}=x`, `export ${canary}`].join('\n');
    const result = parseDotenv(text);

    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) expect(problem.message).not.toContain(canary);
  });
});
