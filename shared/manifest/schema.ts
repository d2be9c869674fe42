import { z } from 'zod';

import { LOGICAL_NAME_MAX_LENGTH, LOGICAL_NAME_PATTERN } from '../naming.ts';

/**
 * The schema of neptune.json. The TypeScript types, the validation at the edge and the
 * published JSON Schema (schemas/neptune.schema.json) all come from this one definition.
 */

/** The maximum number of secrets one manifest may declare. The state machine passes only counts between
 * states, so this bounds the work of one step, not the payload size. */
export const MAX_SECRETS_PER_MANIFEST = 1000;

/** The largest manifest accepted, in bytes. 1,000 secrets with the longest names fit in 200 KB. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

const typeName = (input: unknown): string => (input === null ? 'null' : Array.isArray(input) ? 'array' : typeof input);

export const logicalNameSchema = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be a string, not ${typeName(issue.input)}`) })
  .min(1, 'must not be empty')
  .max(LOGICAL_NAME_MAX_LENGTH, `must be at most ${LOGICAL_NAME_MAX_LENGTH} characters`)
  .regex(LOGICAL_NAME_PATTERN, 'must start with a letter and contain only ASCII letters, digits and underscores (A-Z, a-z, 0-9, _)')
  .describe('Logical name of the secret. The physical name in Secrets Manager is neptune-<projectId>-<name>.');

export const secretResourceSchema = z
  .strictObject(
    {
      kind: z.literal('Secret', {
        error: (issue) =>
          issue.input === undefined
            ? 'is required'
            : `unknown resource kind ${JSON.stringify(issue.input)}; the supported kind is "Secret" (kinds are case-sensitive)`,
      }),
      name: logicalNameSchema,
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')}; a Secret has only "kind" and "name"` : 'must be an object such as {"kind": "Secret", "name": "API_KEY"}') },
  )
  .describe('A secret that the service reads at run time.');

export const manifestSchema = z
  .strictObject(
    {
      $schema: z.string().optional().describe('Optional reference to this JSON Schema, for editors.'),
      kind: z.literal('Service', {
        error: (issue) => (issue.input === undefined ? 'is required' : `must be "Service", not ${JSON.stringify(issue.input)}`),
      }),
      name: z
        .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
        .min(1, 'must not be empty')
        .max(128, 'must be at most 128 characters')
        .describe('Name of the service.'),
      resources: z
        .array(secretResourceSchema, {
          error: (issue) => (issue.input === undefined ? 'is required (use [] for a service without secrets)' : `must be an array, not ${typeName(issue.input)}`),
        })
        .max(MAX_SECRETS_PER_MANIFEST, `must list at most ${MAX_SECRETS_PER_MANIFEST} resources`)
        .describe('The resources the service declares.'),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')}` : 'must be a JSON object') },
  )
  .superRefine((manifest, context) => {
    for (const duplicate of duplicateNames(manifest.resources)) {
      context.addIssue({ code: 'custom', path: ['resources', duplicate.index, 'name'], message: duplicate.message });
    }
  })
  .describe('neptune.json: the resources a Neptune service declares.');

export type Manifest = z.output<typeof manifestSchema>;
export type SecretResource = z.output<typeof secretResourceSchema>;

/**
 * Finds resources whose name repeats an earlier one, ignoring case (see LOGICAL_NAME_PATTERN in
 * naming.ts). Takes unvalidated entries too, so duplicates are reported alongside other errors.
 */
export function duplicateNames(resources: readonly unknown[]): Array<{ index: number; message: string }> {
  const duplicates: Array<{ index: number; message: string }> = [];
  const firstIndexByName = new Map<string, number>();
  const names = resources.map((resource) => (resource as { name?: unknown } | null)?.name);

  names.forEach((name, index) => {
    if (typeof name !== 'string') return;
    const folded = name.toUpperCase();
    const first = firstIndexByName.get(folded);
    if (first === undefined) {
      firstIndexByName.set(folded, index);
      return;
    }
    const firstName = names[first] as string;
    duplicates.push({
      index,
      message:
        firstName === name
          ? `duplicate name "${name}"; it is already declared at $.resources[${first}]`
          : `name "${name}" differs only in case from "${firstName}" at $.resources[${first}]; names must be unique regardless of case`,
    });
  });
  return duplicates;
}
