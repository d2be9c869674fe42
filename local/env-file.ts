/**
 * The stack's env file: `export KEY='value'` lines that a POSIX shell can `source`, written only
 * once the stack accepts uploads, so its existence means "ready".
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeEnvFile(file: string, variables: Record<string, string>): void {
  const lines = Object.entries(variables).map(([name, value]) => `export ${name}=${shellQuote(value)}`);

  // Written under a temporary name and renamed, so a reader never sees half a file.
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${lines.join('\n')}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

export function removeEnvFile(file: string): void {
  rmSync(file, { force: true });
}

/** Removes the env file only if it still names this endpoint, so another stack's file stays. */
export function removeOwnEnvFile(file: string, endpoint: string): void {
  if (readEndpoint(file) === endpoint) removeEnvFile(file);
}

/** Returns the endpoint an existing env file names, or undefined when there is no such file. */
export function readEndpoint(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  return parseEnvFile(readFileSync(file, 'utf8')).AWS_ENDPOINT_URL;
}

/** Parses the lines `writeEnvFile` writes; other lines are ignored. */
export function parseEnvFile(text: string): Record<string, string> {
  const variables: Record<string, string> = {};

  for (const line of text.split('\n')) {
    const match = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    variables[match[1]] = shellUnquote(match[2]);
  }

  return variables;
}

/** Single quotes keep every character literal in a POSIX shell; a `'` inside is written as `'\''`. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function shellUnquote(quoted: string): string {
  if (!quoted.startsWith("'")) return quoted;
  return quoted.slice(1, -1).replace(/'\\''/g, "'");
}
