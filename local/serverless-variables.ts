/**
 * Resolves Serverless Framework variables (`${self:...}`, `${opt:stage, 'dev'}`, `${file(...)}`)
 * in a parsed serverless.yml for one stage, the way `serverless package` would.
 *
 * CloudFormation references inside `!Sub` strings (`${AWS::Region}`, `${Table.Arn}`) have no
 * source prefix; they are left in place for the intrinsic-function pass.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { parse as parseYaml } from 'yaml';

import { UnresolvedVariableError } from './errors.ts';

export interface VariableContext {
  /** The parsed serverless.yml, before resolution. */
  config: Record<string, unknown>;
  /** Directory of serverless.yml; `${file(...)}` paths are relative to it. */
  serviceDir: string;
  stage: string;
  region: string;
  accountId: string;
}

/** A `${...}` with no `${` inside, so nested variables resolve from the inside out. */
const INNERMOST_VARIABLE = /\$\{([^${}]+)\}/g;

/** A variable with a source prefix such as `self:`, `opt:` or `file(`; anything else belongs to CloudFormation. */
const SERVERLESS_SOURCE = /^\s*([a-zA-Z]+)(?::(?!:)|\()/;

const MAX_RESOLUTION_DEPTH = 20;

export class VariableResolver {
  private readonly context: VariableContext;
  private readonly resolving = new Set<string>();

  constructor(context: VariableContext) {
    this.context = context;
  }

  /** Returns the value at a dotted path of serverless.yml with every variable in it resolved. */
  resolvePath(dottedPath: string): unknown {
    if (this.resolving.has(dottedPath)) {
      throw new UnresolvedVariableError(`serverless.yml: "${dottedPath}" refers to itself through its variables`);
    }

    this.resolving.add(dottedPath);
    try {
      const raw = lookupPath(this.context.config, dottedPath);
      return this.resolveValue(raw, dottedPath);
    } finally {
      this.resolving.delete(dottedPath);
    }
  }

  /** Resolves every variable in a value taken from `location` (used in error messages). */
  resolveValue(value: unknown, location: string): unknown {
    if (typeof value === 'string') return this.resolveString(value, location);
    if (Array.isArray(value)) return value.map((item, index) => this.resolveValue(item, `${location}[${index}]`));

    if (isPlainObject(value)) {
      const resolved: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        resolved[key] = this.resolveValue(item, location ? `${location}.${key}` : key);
      }
      return resolved;
    }

    return value;
  }

  private resolveString(text: string, location: string): unknown {
    let current = text;

    for (let depth = 0; depth < MAX_RESOLUTION_DEPTH; depth++) {
      // A string that is exactly one variable takes the variable's value and type,
      // so `${file(x.json)}` yields an object and `${self:provider.timeout}` a number.
      const whole = /^\$\{([^${}]+)\}$/.exec(current);
      if (whole?.[1] !== undefined && SERVERLESS_SOURCE.test(whole[1])) {
        const value = this.resolveVariable(whole[1], location);
        if (typeof value !== 'string') return value;
        current = value;
        continue;
      }

      let replaced = false;
      const next = current.replace(INNERMOST_VARIABLE, (match, expression: string) => {
        if (!SERVERLESS_SOURCE.test(expression)) return match;
        replaced = true;
        return stringifyForInterpolation(this.resolveVariable(expression, location), expression, location);
      });

      if (!replaced) return next;
      current = next;
    }

    throw new UnresolvedVariableError(
      `serverless.yml ${location}: variables nest deeper than ${MAX_RESOLUTION_DEPTH} levels in "${text}"`,
    );
  }

  /** Resolves one variable expression such as `opt:stage, 'dev'` (the text between `${` and `}`). */
  private resolveVariable(expression: string, location: string): unknown {
    const [reference, fallback] = splitFallback(expression);
    const value = this.lookupReference(reference, location);
    if (value !== undefined) return value;

    if (fallback !== undefined) return parseFallback(fallback, expression, location);

    throw new UnresolvedVariableError(
      `serverless.yml ${location}: variable \${${expression}} has no value for the local stack and no fallback`,
    );
  }

  private lookupReference(reference: string, location: string): unknown {
    const fileMatch = /^file\(([^)]+)\)(?::(.+))?$/.exec(reference);
    if (fileMatch?.[1] !== undefined) return this.loadFile(fileMatch[1].trim(), fileMatch[2]?.trim(), location);

    const separator = reference.indexOf(':');
    const source = reference.slice(0, separator);
    const address = reference.slice(separator + 1).trim();

    switch (source) {
      case 'self':
        return this.resolvePath(address);
      case 'opt':
        if (address === 'stage') return this.context.stage;
        if (address === 'region') return this.context.region;
        return undefined;
      case 'sls':
        if (address === 'stage') return this.context.stage;
        break;
      case 'aws':
        if (address === 'region') return this.context.region;
        if (address === 'accountId') return this.context.accountId;
        break;
    }

    throw new UnresolvedVariableError(
      `serverless.yml ${location}: the local stack cannot resolve \${${reference}}. ` +
        'Supported: ${self:...}, ${opt:stage}, ${opt:region}, ${sls:stage}, ${aws:region}, ${aws:accountId}, ${file(...)}; ' +
        'add support in local/serverless-variables.ts or use one of these.',
    );
  }

  private loadFile(relativePath: string, key: string | undefined, location: string): unknown {
    const filePath = path.resolve(this.context.serviceDir, relativePath);

    let text: string;
    try {
      text = readFileSync(filePath, 'utf8');
    } catch (error) {
      throw new UnresolvedVariableError(`serverless.yml ${location}: cannot read \${file(${relativePath})}: ${(error as Error).message}`);
    }

    const content: unknown = filePath.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    const value = key === undefined ? content : lookupPath(content, key);
    return this.resolveValue(value, `${relativePath}${key ? `:${key}` : ''}`);
  }
}

/** Splits `source:address, fallback` at the first comma outside quotes and parentheses. */
function splitFallback(expression: string): [string, string | undefined] {
  let quote: string | undefined;
  let depth = 0;

  for (let index = 0; index < expression.length; index++) {
    const char = expression[index];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '(') {
      depth++;
    } else if (char === ')') {
      depth--;
    } else if (char === ',' && depth === 0) {
      return [expression.slice(0, index).trim(), expression.slice(index + 1).trim()];
    }
  }

  return [expression.trim(), undefined];
}

function parseFallback(fallback: string, expression: string, location: string): unknown {
  const quoted = /^(['"])(.*)\1$/.exec(fallback);
  if (quoted) return quoted[2];
  if (/^-?\d+(\.\d+)?$/.test(fallback)) return Number(fallback);
  if (fallback === 'true' || fallback === 'false') return fallback === 'true';

  throw new UnresolvedVariableError(
    `serverless.yml ${location}: fallback "${fallback}" in \${${expression}} must be a quoted string, a number or a boolean`,
  );
}

function stringifyForInterpolation(value: unknown, expression: string, location: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);

  throw new UnresolvedVariableError(
    `serverless.yml ${location}: \${${expression}} is an object or a list, so it cannot be part of a longer string`,
  );
}

/** Reads `a.b.c` from nested objects; returns undefined when any part is missing. */
export function lookupPath(root: unknown, dottedPath: string): unknown {
  let current: unknown = root;
  for (const part of dottedPath.split('.')) {
    if (!isPlainObject(current) && !Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
