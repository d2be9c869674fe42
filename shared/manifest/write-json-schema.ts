import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { manifestSchema } from './schema.ts';

/**
 * Writes schemas/neptune.schema.json from the manifest schema, for editors that check a
 * neptune.json. A test fails when the committed file differs from this output.
 */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(manifestSchema, { target: 'draft-2020-12' }),
    title: 'neptune.json',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../../schemas/neptune.schema.json', import.meta.url));
  writeFileSync(target, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
  console.log(`wrote ${target}`);
}
