/**
 * Rules that turn a project id and a logical secret name into AWS names.
 *
 * The physical name is `neptune-<projectId>-<logicalName>`. Neither part may contain a hyphen,
 * so the name splits back into exactly one (projectId, logicalName) pair. Therefore no two pairs
 * can produce the same physical name, and a grant of one project never matches a secret of
 * another project.
 */

export const PHYSICAL_NAME_PREFIX = 'neptune-';

/**
 * Project ids are lowercase letters and digits, 1 to 32 characters.
 * - Lowercase only, because IAM role names are unique regardless of case: `Abc` and `abc`
 *   would otherwise compete for the same service role.
 * - No hyphen, because the hyphen separates the project id from the logical name.
 * - At most 32, so that the default role name (`neptune-` + id) stays far below IAM's
 *   64-character limit and execution names stay below Step Functions' 80.
 */
export const PROJECT_ID_PATTERN = /^[a-z0-9]{1,32}$/;
export const PROJECT_ID_MAX_LENGTH = 32;

/**
 * Logical names start with an ASCII letter, then ASCII letters, digits and underscores, up to
 * 128 characters.
 * - The same characters as a portable environment variable name, because services usually read
 *   a secret into a variable of the same name and `neptune secret import` maps .env keys to it.
 * - No hyphen, for the reason given at the top of this file. Secrets Manager also warns against
 *   names that end in a hyphen and six characters, which a hyphen-free name never does.
 * - At most 128, so that the physical name (at most 8 + 32 + 1 + 128 = 169 characters) stays
 *   well inside Secrets Manager's 512 and each grant stays short in the role's policy.
 * - Two names that differ only in case are rejected as duplicates (see manifest.ts), because
 *   environment variables are case-insensitive on Windows and people read them as one name.
 */
export const LOGICAL_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;
export const LOGICAL_NAME_MAX_LENGTH = 128;

/** The object key that carries a project's manifest: `<projectId>/neptune.json`. */
export const MANIFEST_FILE_NAME = 'neptune.json';

export function physicalName(projectId: string, logicalName: string): string {
  return `${PHYSICAL_NAME_PREFIX}${projectId}-${logicalName}`;
}

/** Splits a physical name back into its parts, or returns undefined if it is not one of ours. */
export function parsePhysicalName(name: string): { projectId: string; logicalName: string } | undefined {
  if (!name.startsWith(PHYSICAL_NAME_PREFIX)) return undefined;
  const rest = name.slice(PHYSICAL_NAME_PREFIX.length);
  const separator = rest.indexOf('-');
  if (separator < 0) return undefined;
  const projectId = rest.slice(0, separator);
  const logicalName = rest.slice(separator + 1);
  if (!isProjectId(projectId) || !isLogicalName(logicalName)) return undefined;
  return { projectId, logicalName };
}

export function isProjectId(value: string): boolean {
  return PROJECT_ID_PATTERN.test(value);
}

export function isLogicalName(value: string): boolean {
  return value.length <= LOGICAL_NAME_MAX_LENGTH && LOGICAL_NAME_PATTERN.test(value);
}

/** Describes why a project id is invalid, or returns undefined when it is valid. */
export function projectIdProblem(value: string): string | undefined {
  if (value.length === 0) return 'project id is empty';
  if (value.length > PROJECT_ID_MAX_LENGTH) {
    return `project id is ${value.length} characters long; the maximum is ${PROJECT_ID_MAX_LENGTH}`;
  }
  if (!PROJECT_ID_PATTERN.test(value)) {
    return `project id "${value}" may contain only lowercase letters a-z and digits 0-9`;
  }
  return undefined;
}

/** Describes why a logical name is invalid, or returns undefined when it is valid. */
export function logicalNameProblem(value: string): string | undefined {
  if (value.length === 0) return 'name is empty';
  if (value.length > LOGICAL_NAME_MAX_LENGTH) {
    return `name is ${value.length} characters long; the maximum is ${LOGICAL_NAME_MAX_LENGTH}`;
  }
  if (!LOGICAL_NAME_PATTERN.test(value)) {
    return `name "${value}" must start with a letter A-Z or a-z and contain only ASCII letters, digits and underscores`;
  }
  return undefined;
}

/**
 * Reads the project id from an object key of the form `<projectId>/neptune.json`.
 * Returns undefined for every other key, including folder placeholders and nested paths.
 */
export function projectIdFromKey(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length !== 2 || parts[1] !== MANIFEST_FILE_NAME) return undefined;
  const projectId = parts[0] ?? '';
  return isProjectId(projectId) ? projectId : undefined;
}

export function manifestKey(projectId: string): string {
  return `${projectId}/${MANIFEST_FILE_NAME}`;
}

/** Builds the service role's name from a template that config.ts has checked contains `{projectId}` once. */
export function roleName(template: string, projectId: string): string {
  return template.replace('{projectId}', projectId);
}

export function statusSortKey(logicalName: string): string {
  return `secret#${logicalName}`;
}

export const PROJECT_SORT_KEY = 'project';
