import { existsSync, readFileSync } from 'node:fs';

// NOTE: ajv is installed as a dependency of asl-validator, not declared in package.json.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

import { parseManifest } from '../../shared/manifest/parse.ts';
import { manifestJsonSchema } from '../../shared/manifest/write-json-schema.ts';

const COMMITTED_SCHEMA_TEXT = readFileSync(new URL('../../schemas/neptune.schema.json', import.meta.url), 'utf8');
const EXAMPLE_URL = new URL('../../examples/neptune.json', import.meta.url);
const EXAMPLE_TEXT = readFileSync(EXAMPLE_URL, 'utf8');

function validatorFor(schema: object) {
  return new Ajv2020({ strict: true, allErrors: true }).compile(schema);
}

describe('manifestJsonSchema', () => {
  it('matches the committed schema file', () => {
    // Act
    const generated = `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;

    // Assess
    expect(COMMITTED_SCHEMA_TEXT, 'run `npm run schema` and commit schemas/neptune.schema.json').toBe(generated);
  });

  it('accepts the example with a JSON Schema validator', () => {
    // Prepare
    const validate = validatorFor(JSON.parse(COMMITTED_SCHEMA_TEXT));

    // Act
    const valid = validate(JSON.parse(EXAMPLE_TEXT));

    // Assess
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each([
    ['a lowercase kind', { kind: 'Service', name: 'my-app', resources: [{ kind: 'secret', name: 'A' }] }],
    ['a hyphen in a name', { kind: 'Service', name: 'my-app', resources: [{ kind: 'Secret', name: 'MY-KEY' }] }],
    ['a name of 129 characters', { kind: 'Service', name: 'my-app', resources: [{ kind: 'Secret', name: 'K'.repeat(129) }] }],
    ['an unknown field', { kind: 'Service', name: 'my-app', resources: [{ kind: 'Secret', name: 'A', value: 'x' }] }],
    ['missing resources', { kind: 'Service', name: 'my-app' }],
  ])('rejects %s with a JSON Schema validator', (_case, manifest) => {
    // Prepare
    const validate = validatorFor(JSON.parse(COMMITTED_SCHEMA_TEXT));

    // Act
    const valid = validate(manifest);

    // Assess
    expect(valid).toBe(false);
  });
});

describe('examples/neptune.json', () => {
  it('passes the manifest schema', () => {
    // Act
    const manifest = parseManifest(EXAMPLE_TEXT);

    // Assess
    expect(manifest.kind).toBe('Service');
    expect(manifest.resources.length).toBeGreaterThan(0);
  });

  it('refers to the committed schema file', () => {
    // Prepare
    const example = JSON.parse(EXAMPLE_TEXT) as { $schema?: string };

    // Act
    const schemaUrl = new URL(example.$schema ?? '', EXAMPLE_URL);

    // Assess
    expect(schemaUrl.pathname.endsWith('/schemas/neptune.schema.json')).toBe(true);
    expect(existsSync(schemaUrl)).toBe(true);
  });
});
