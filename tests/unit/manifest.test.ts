import { describe, expect, it } from 'vitest';

import { ManifestInvalidError, ManifestTooLargeError, type ManifestProblem } from '../../shared/errors.ts';
import { parseManifest } from '../../shared/manifest/parse.ts';
import { MAX_MANIFEST_BYTES, MAX_SECRETS_PER_MANIFEST } from '../../shared/manifest/schema.ts';

const DOCS_EXAMPLE = '{"kind":"Service","name":"my-app","resources":[{"kind":"Secret","name":"STRIPE_API_KEY"}]}';

function manifestWith(resources: unknown[]): string {
  return JSON.stringify({ kind: 'Service', name: 'my-app', resources }, null, 2);
}

function secrets(count: number): Array<{ kind: string; name: string }> {
  return Array.from({ length: count }, (_, index) => ({ kind: 'Secret', name: `SECRET_${index}` }));
}

/** Parses input that must be rejected, and returns the problems the error lists. */
function problemsOf(input: Uint8Array | string): ManifestProblem[] {
  try {
    parseManifest(input);
  } catch (error) {
    if (error instanceof ManifestInvalidError) return error.problems;
    throw error;
  }
  throw new Error('expected ManifestInvalidError, but the manifest was accepted');
}

/** Parses input that must be rejected with exactly one problem, and returns it. */
function onlyProblemOf(input: Uint8Array | string): ManifestProblem {
  const problems = problemsOf(input);
  expect(problems).toHaveLength(1);
  return problems[0] as ManifestProblem;
}

describe('parseManifest', () => {
  it('reports duplicate names alongside other errors', () => {
    // Prepare
    const text = JSON.stringify({
      kind: 'Service',
      name: 'my-app',
      resources: [
        { kind: 'secret', name: 'API_KEY' },
        { kind: 'Secret', name: 'api_key' },
      ],
    });

    // Act
    const problems = problemsOf(text);

    // Assess
    expect(problems.map((problem) => problem.path)).toEqual(['$.resources[0].kind', '$.resources[1].name']);
    expect(problems[1]?.message).toContain('differs only in case');
  });

  it('accepts the docs example', () => {
    // Act
    const manifest = parseManifest(DOCS_EXAMPLE);

    // Assess
    expect(manifest).toEqual({ kind: 'Service', name: 'my-app', resources: [{ kind: 'Secret', name: 'STRIPE_API_KEY' }] });
  });

  it('accepts the example as bytes', () => {
    // Act
    const manifest = parseManifest(new TextEncoder().encode(DOCS_EXAMPLE));

    // Assess
    expect(manifest.resources.map((resource) => resource.name)).toEqual(['STRIPE_API_KEY']);
  });

  it('accepts an empty resource list', () => {
    // Act
    const manifest = parseManifest(manifestWith([]));

    // Assess
    expect(manifest.resources).toEqual([]);
  });

  it('accepts a $schema reference', () => {
    // Prepare
    const text = JSON.stringify({ $schema: './neptune.schema.json', kind: 'Service', name: 'my-app', resources: [] });

    // Act
    const manifest = parseManifest(text);

    // Assess
    expect(manifest.$schema).toBe('./neptune.schema.json');
  });

  it('accepts a byte order mark as bytes', () => {
    // Prepare
    const body = new TextEncoder().encode(DOCS_EXAMPLE);
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...body]);

    // Act
    const manifest = parseManifest(bytes);

    // Assess
    expect(manifest.name).toBe('my-app');
  });

  it('accepts a byte order mark as U+FEFF', () => {
    // Act
    const manifest = parseManifest(`\uFEFF${DOCS_EXAMPLE}`);

    // Assess
    expect(manifest.name).toBe('my-app');
  });

  it('rejects invalid UTF-8', () => {
    // Prepare
    const bytes = new Uint8Array([...new TextEncoder().encode('{"kind":"Service","name":"'), 0xc3, 0x28, ...new TextEncoder().encode('"}')]);

    // Act
    const problem = onlyProblemOf(bytes);

    // Assess
    expect(problem.path).toBe('$');
    expect(problem.message).toContain('not valid UTF-8');
  });

  it('rejects an empty file', () => {
    // Act
    const problem = onlyProblemOf('');

    // Assess
    expect(problem.path).toBe('$');
    expect(problem.message).toContain('the file is empty');
    expect(problem.line).toBe(1);
    expect(problem.column).toBe(1);
  });

  it('rejects a file of only whitespace', () => {
    // Act
    const problem = onlyProblemOf('\n  \n');

    // Assess
    expect(problem.message).toContain('the file is empty');
  });

  it('rejects text that is not JSON', () => {
    // Act
    const problem = onlyProblemOf('kind: Service\nname: my-app\n');

    // Assess
    expect(problem.path).toBe('$');
    expect(problem.message).toContain('invalid JSON');
    expect(problem.message).toContain('"kind:"');
    expect(problem.line).toBe(1);
    expect(problem.column).toBe(1);
  });

  it('rejects a trailing comma with its position', () => {
    // Prepare
    const text = '{\n  "kind": "Service",\n  "name": "my-app",\n  "resources": [],\n}\n';

    // Act
    const problem = onlyProblemOf(text);

    // Assess
    // The position of the comma itself, at the end of line 4.
    expect(problem.path).toBe('$');
    expect(problem.message).toContain('trailing comma');
    expect(problem.line).toBe(4);
    expect(problem.column).toBe(18);
  });

  it('rejects a trailing comma in the resource list', () => {
    // Prepare
    const text = '{\n  "kind": "Service",\n  "name": "my-app",\n  "resources": [\n    {"kind": "Secret", "name": "A"},\n  ]\n}';

    // Act
    const problem = onlyProblemOf(text);

    // Assess
    expect(problem.path).toBe('$.resources');
    expect(problem.message).toContain('trailing comma');
    expect(problem.line).toBe(5);
    expect(problem.column).toBe(36);
  });

  it('rejects a duplicate key at its second occurrence', () => {
    // Prepare
    const text = '{\n  "kind": "Service",\n  "name": "my-app",\n  "resources": [],\n    "name": "other"\n}';

    // Act
    const problem = onlyProblemOf(text);

    // Assess
    expect(problem.path).toBe('$.name');
    expect(problem.message).toContain('duplicate key "name"');
    expect(problem.message).toContain('line 3, column 3');
    expect(problem.line).toBe(5);
    expect(problem.column).toBe(5);
  });

  it('rejects a duplicate key inside a resource', () => {
    // Prepare
    const text = '{"kind": "Service", "name": "my-app", "resources": [\n{"kind": "Secret", "name": "A", "name": "B"}]}';

    // Act
    const problem = onlyProblemOf(text);

    // Assess
    expect(problem.path).toBe('$.resources[0].name');
    expect(problem.line).toBe(2);
    expect(problem.column).toBe(33);
  });

  it('rejects a manifest that is not an object', () => {
    // Act
    const problem = onlyProblemOf('[]');

    // Assess
    expect(problem.path).toBe('$');
    expect(problem.message).toContain('must be a JSON object');
  });

  it('rejects a missing resources field', () => {
    // Prepare
    const text = '{\n  "kind": "Service",\n  "name": "my-app"\n}';

    // Act
    const problem = onlyProblemOf(text);

    // Assess
    expect(problem.path).toBe('$.resources');
    expect(problem.message).toContain('is required');
    expect(problem.message).toContain('use []');
    expect(problem.line).toBe(1);
    expect(problem.column).toBe(1);
  });

  it('rejects resources that are not an array', () => {
    // Act
    const problem = onlyProblemOf('{"kind": "Service", "name": "my-app", "resources": {}}');

    // Assess
    expect(problem.path).toBe('$.resources');
    expect(problem.message).toContain('must be an array, not object');
  });

  it('rejects a wrong service kind', () => {
    // Act
    const problem = onlyProblemOf('{"kind": "Deployment", "name": "my-app", "resources": []}');

    // Assess
    expect(problem.path).toBe('$.kind');
    expect(problem.message).toContain('must be "Service"');
    expect(problem.message).toContain('"Deployment"');
  });

  it('rejects a resource without a name', () => {
    // Prepare
    const text = '{\n  "kind": "Service",\n  "name": "my-app",\n  "resources": [\n    {"kind": "Secret"}\n  ]\n}';

    // Act
    const problem = onlyProblemOf(text);

    // Assess
    expect(problem.path).toBe('$.resources[0].name');
    expect(problem.message).toBe('is required');
    expect(problem.line).toBe(5);
    expect(problem.column).toBe(5);
  });

  it('rejects a resource that is not an object', () => {
    // Act
    const problem = onlyProblemOf(manifestWith(['STRIPE_API_KEY']));

    // Assess
    expect(problem.path).toBe('$.resources[0]');
    expect(problem.message).toContain('must be an object');
  });

  it('rejects a name that is not a string', () => {
    // Act
    const problem = onlyProblemOf(manifestWith([{ kind: 'Secret', name: 42 }]));

    // Assess
    expect(problem.path).toBe('$.resources[0].name');
    expect(problem.message).toContain('must be a string, not number');
  });

  it.each(['secret', 'SECRET', 'ConfigMap'])('rejects the resource kind %j', (kind) => {
    // Act
    const problem = onlyProblemOf(manifestWith([{ kind, name: 'A' }]));

    // Assess
    expect(problem.path).toBe('$.resources[0].kind');
    expect(problem.message).toContain(`unknown resource kind "${kind}"`);
    expect(problem.message).toContain('"Secret"');
  });

  it('points at the line of a wrong kind', () => {
    // Prepare
    const text = manifestWith([{ kind: 'Secret', name: 'A' }, { kind: 'secret', name: 'B' }]);
    const expectedLine = text.split('\n').findIndex((line) => line.includes('"secret"')) + 1;

    // Act
    const problem = onlyProblemOf(text);

    // Assess
    expect(problem.path).toBe('$.resources[1].kind');
    expect(problem.line).toBe(expectedLine);
  });

  it.each([
    ['a space', 'MY KEY'],
    ['an accented letter', 'CAFÉ_KEY'],
    ['a colon', 'db:password'],
    ['a hyphen', 'MY-KEY'],
    ['a leading digit', '1KEY'],
    ['a leading underscore', '_KEY'],
  ])('rejects a name with %s', (_case, name) => {
    // Act
    const problem = onlyProblemOf(manifestWith([{ kind: 'Secret', name }]));

    // Assess
    expect(problem.path).toBe('$.resources[0].name');
    expect(problem.message).toContain('must start with a letter');
    expect(problem.message).toContain('only ASCII letters, digits and underscores');
  });

  it('rejects a name of 600 characters', () => {
    // Act
    const problem = onlyProblemOf(manifestWith([{ kind: 'Secret', name: 'K'.repeat(600) }]));

    // Assess
    expect(problem.path).toBe('$.resources[0].name');
    expect(problem.message).toBe('must be at most 128 characters');
  });

  it('accepts a name of 128 characters', () => {
    // Act
    const manifest = parseManifest(manifestWith([{ kind: 'Secret', name: 'K'.repeat(128) }]));

    // Assess
    expect(manifest.resources[0]?.name).toHaveLength(128);
  });

  it('rejects an empty name', () => {
    // Act
    const problems = problemsOf(manifestWith([{ kind: 'Secret', name: '' }]));

    // Assess
    expect(problems[0]?.path).toBe('$.resources[0].name');
    expect(problems[0]?.message).toBe('must not be empty');
  });

  it('rejects a duplicate name', () => {
    // Act
    const problem = onlyProblemOf(manifestWith([{ kind: 'Secret', name: 'A' }, { kind: 'Secret', name: 'B' }, { kind: 'Secret', name: 'A' }]));

    // Assess
    expect(problem.path).toBe('$.resources[2].name');
    expect(problem.message).toContain('duplicate name "A"');
    expect(problem.message).toContain('$.resources[0]');
  });

  it('rejects names that differ only in case', () => {
    // Act
    const problem = onlyProblemOf(manifestWith([{ kind: 'Secret', name: 'Api_Key' }, { kind: 'Secret', name: 'API_KEY' }]));

    // Assess
    expect(problem.path).toBe('$.resources[1].name');
    expect(problem.message).toContain('"API_KEY" differs only in case from "Api_Key"');
    expect(problem.message).toContain('$.resources[0]');
  });

  it('rejects an unknown field of a resource', () => {
    // Act
    const problem = onlyProblemOf(manifestWith([{ kind: 'Secret', name: 'A', value: 'sk_live_x' }]));

    // Assess
    expect(problem.path).toBe('$.resources[0]');
    expect(problem.message).toContain('unknown field "value"');
  });

  it('rejects an unknown top-level field', () => {
    // Act
    const problem = onlyProblemOf('{"kind": "Service", "name": "my-app", "resources": [], "version": 2}');

    // Assess
    expect(problem.path).toBe('$');
    expect(problem.message).toContain('unknown field "version"');
  });

  it('rejects __proto__ as an unknown field', () => {
    // Act
    const problem = onlyProblemOf('{"kind": "Service", "name": "my-app", "resources": [], "__proto__": {"polluted": true}}');

    // Assess
    expect(problem.message).toContain('unknown field "__proto__"');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lists every problem of a manifest', () => {
    // Act
    const problems = problemsOf(manifestWith([{ kind: 'secret', name: 'A' }, { kind: 'Secret', name: 'B C' }]));

    // Assess
    expect(problems.map((problem) => problem.path)).toEqual(['$.resources[0].kind', '$.resources[1].name']);
  });

  it('names path and position in the error message', () => {
    // Prepare
    let message = '';

    // Act
    try {
      parseManifest('{"kind": "Service", "name": "my-app", "resources": [{"kind": "Secret"}]}');
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    expect(message).toBe('neptune.json is invalid: $.resources[0].name (line 1, column 53): is required');
  });

  it('accepts exactly the maximum number of secrets', () => {
    // Act
    const manifest = parseManifest(manifestWith(secrets(MAX_SECRETS_PER_MANIFEST)));

    // Assess
    expect(MAX_SECRETS_PER_MANIFEST).toBe(1_000);
    expect(manifest.resources).toHaveLength(1_000);
  });

  it('rejects one secret over the maximum', () => {
    // Act
    const problem = onlyProblemOf(manifestWith(secrets(MAX_SECRETS_PER_MANIFEST + 1)));

    // Assess
    expect(problem.path).toBe('$.resources');
    expect(problem.message).toBe('must list at most 1000 resources');
  });

  it('accepts the maximum number of secrets with the longest names', () => {
    // Prepare
    const resources = Array.from({ length: MAX_SECRETS_PER_MANIFEST }, (_, index) => ({
      kind: 'Secret',
      name: `K${String(index).padStart(127, '0')}`,
    }));

    // Act
    const manifest = parseManifest(manifestWith(resources));

    // Assess
    expect(manifest.resources).toHaveLength(MAX_SECRETS_PER_MANIFEST);
  });

  it('rejects a manifest of several megabytes', () => {
    // Prepare
    const text = `${manifestWith([])}${' '.repeat(4 * 1024 * 1024)}`;

    // Act
    const parse = () => parseManifest(text);

    // Assess
    expect(parse).toThrow(ManifestTooLargeError);
    expect(parse).toThrow(`the maximum is ${MAX_MANIFEST_BYTES} bytes`);
  });

  it('rejects oversized bytes before decoding them', () => {
    // Prepare
    const bytes = new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(0xff);

    // Act
    const parse = () => parseManifest(bytes);

    // Assess
    expect(parse).toThrow(ManifestTooLargeError);
  });

  it('counts the size in bytes, not characters', () => {
    // Prepare
    const padding = 'é'.repeat(Math.ceil(MAX_MANIFEST_BYTES / 2));
    const text = `{"kind": "Service", "name": "${padding}", "resources": []}`;

    // Act
    const parse = () => parseManifest(text);

    // Assess
    expect(text.length).toBeLessThan(MAX_MANIFEST_BYTES);
    expect(parse).toThrow(ManifestTooLargeError);
  });
});
