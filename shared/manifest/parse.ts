import { ManifestInvalidError, ManifestTooLargeError, type ManifestProblem } from '../errors.ts';
import { childPath, JsonSyntaxError, parseJson } from './json.ts';
import { duplicateNames, MAX_MANIFEST_BYTES, manifestSchema, type Manifest } from './schema.ts';

const UTF8_BOM = '\uFEFF';

/**
 * Parses and validates the bytes of a neptune.json. Throws ManifestTooLargeError or
 * ManifestInvalidError, whose problems name the JSON path, the rule and, where known, the line
 * and column. Nothing else is thrown, so callers can record every failure.
 */
export function parseManifest(bytes: Uint8Array | string): Manifest {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > MAX_MANIFEST_BYTES) {
    throw new ManifestTooLargeError(`neptune.json is ${size} bytes; the maximum is ${MAX_MANIFEST_BYTES} bytes`);
  }

  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ManifestInvalidError([{ path: '$', message: 'the file is not valid UTF-8' }]);
  }
  // Editors on Windows often save UTF-8 with a byte order mark; it carries no content.
  if (text.startsWith(UTF8_BOM)) text = text.slice(1);

  let parsed;
  try {
    parsed = parseJson(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new ManifestInvalidError([
      { path: error.path, message: `invalid JSON: ${error.message}`, line: error.position.line, column: error.position.column },
    ]);
  }

  const result = manifestSchema.safeParse(parsed.value);
  if (result.success) return result.data;

  const problem = (path: string, message: string): ManifestProblem => ({
    path,
    message,
    ...(parsed.positions.get(path) ?? nearestPosition(parsed.positions, path)),
  });
  const problems = result.error.issues.map((issue) =>
    problem(issue.path.reduce<string>((parent, key) => childPath(parent, key as string | number), '$'), issue.message),
  );

  // zod skips the duplicate check when another rule fails, so run it here too: one upload then
  // reports every problem.
  const resources = (parsed.value as { resources?: unknown } | null)?.resources;
  if (Array.isArray(resources)) {
    for (const duplicate of duplicateNames(resources)) {
      const path = `$.resources[${duplicate.index}].name`;
      if (!problems.some((existing) => existing.path === path && existing.message === duplicate.message)) {
        problems.push(problem(path, duplicate.message));
      }
    }
  }
  throw new ManifestInvalidError(problems);
}

/** Finds the position of the nearest enclosing value, because a missing field has none of its own. */
function nearestPosition(positions: Map<string, { line: number; column: number }>, path: string) {
  let parent = path;
  while (parent.length > 1) {
    parent = parent.replace(/(\.[^.[\]]+|\[[^\]]+\])$/, '');
    const position = positions.get(parent);
    if (position) return position;
  }
  return undefined;
}
