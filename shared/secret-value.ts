import { createHash } from 'node:crypto';

import { z } from 'zod';

import { NotProvisionedError, RequestInvalidError } from './errors.ts';
import { LOGICAL_NAME_MAX_LENGTH, LOGICAL_NAME_PATTERN, manifestKey, PROJECT_ID_MAX_LENGTH, PROJECT_ID_PATTERN } from './naming.ts';
import type { ProjectRecord, SecretRecord } from './status-store.ts';

/**
 * The pure rules of setting a secret's value and of recording redeploys: the request schemas,
 * the value's size limit, the idempotency token, the explanation of why a secret cannot take a
 * value, and which flags a finished deploy clears. Nothing here calls AWS.
 *
 * Every message built here is about field names, rules, ids and sizes. None of them contains the
 * value or any part of it, because messages reach logs and the caller.
 */

/** Secrets Manager's maximum SecretString size, in bytes of UTF-8. */
export const MAX_SECRET_VALUE_BYTES = 65_536;

/** Maximum length of a request id; a UUID has 36 characters. */
export const MAX_REQUEST_ID_LENGTH = 128;

/** The staging label Secrets Manager gives the version that readers get by default. */
export const CURRENT_STAGE = 'AWSCURRENT';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;

/** Names a JSON value's type for a message, without quoting the value itself. */
function jsonTypeName(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'object') return 'an object';
  if (typeof input === 'number' || typeof input === 'bigint') return 'a number';
  if (typeof input === 'boolean') return 'a boolean';
  return typeof input;
}

const requiredString = (rule: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be a string (${rule}), not ${jsonTypeName(issue.input)}`) });

const projectIdSchema = requiredString('the project id')
  .min(1, 'must not be empty')
  .max(PROJECT_ID_MAX_LENGTH, `must be at most ${PROJECT_ID_MAX_LENGTH} characters`)
  .regex(PROJECT_ID_PATTERN, 'may contain only lowercase letters a-z and digits 0-9');

const logicalNameSchema = requiredString('the logical name from neptune.json')
  .min(1, 'must not be empty')
  .max(LOGICAL_NAME_MAX_LENGTH, `must be at most ${LOGICAL_NAME_MAX_LENGTH} characters`)
  .regex(LOGICAL_NAME_PATTERN, 'must start with a letter and contain only ASCII letters, digits and underscores (A-Z, a-z, 0-9, _)');

/**
 * The secret value: a JSON string, taken as it is. A number, boolean, object, array or null is
 * rejected rather than converted, so that no digits are lost and nothing becomes a string by
 * accident. The size check counts UTF-8 bytes, because Secrets Manager's limit is in bytes.
 */
const secretValueSchema = z
  .custom<string>((input) => typeof input === 'string', {
    error: (issue) =>
      issue.input === undefined
        ? 'is required'
        : `must be a JSON string, not ${jsonTypeName(issue.input)}; send numbers and JSON documents as strings, for example "123"`,
  })
  .refine((value) => value.length > 0, 'must not be an empty string')
  .superRefine((value, context) => {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_SECRET_VALUE_BYTES) {
      context.addIssue({
        code: 'custom',
        message: `is ${bytes} bytes in UTF-8; the maximum is ${MAX_SECRET_VALUE_BYTES} bytes`,
      });
    }
  });

const requestIdSchema = requiredString('an id that a retry of the same request reuses, such as a UUID')
  .min(1, 'must not be empty')
  .max(MAX_REQUEST_ID_LENGTH, `must be at most ${MAX_REQUEST_ID_LENGTH} characters`)
  .regex(REQUEST_ID_PATTERN, 'may contain only ASCII letters, digits and the characters _ . : -');

/** Lists unknown fields by name, but only names that look like field names, because a caller
 * could paste anything, even the value, where a key belongs. */
function unknownFieldsMessage(keys: string[], allowed: string): string {
  const shown = keys.filter((key) => /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(key)).map((key) => `"${key}"`);
  const hidden = keys.length - shown.length;
  const parts = [...shown, ...(hidden > 0 ? [`${hidden} field(s) with unusual names`] : [])];
  return `unknown field ${parts.join(', ')}; the allowed fields are ${allowed}`;
}

export const setValueRequestSchema = z.strictObject(
  {
    project: projectIdSchema,
    name: logicalNameSchema,
    value: secretValueSchema,
    request_id: requestIdSchema.optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? unknownFieldsMessage(issue.keys, '"project", "name", "value" and "request_id"')
        : `must be a JSON object such as {"project": "abc123", "name": "API_KEY", "value": "..."}, not ${jsonTypeName(issue.input)}`,
  },
);

export type SetValueRequest = z.output<typeof setValueRequestSchema>;

/**
 * A point in time with an explicit offset, as `2030-01-31T12:00:00Z` or
 * `2030-01-31T13:00:00.250+01:00`. A time without an offset is rejected, because its meaning
 * would depend on the caller's time zone.
 */
const timestampSchema = z.iso
  .datetime({
    offset: true,
    error: (issue) =>
      issue.input === undefined ? 'is required' : 'must be an ISO 8601 time with an offset, such as 2030-01-31T12:00:00Z',
  })
  .transform((text) => new Date(text));

export const markRedeployedRequestSchema = z.strictObject(
  {
    project: projectIdSchema,
    deploy_started_at: timestampSchema,
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? unknownFieldsMessage(issue.keys, '"project" and "deploy_started_at"')
        : `must be a JSON object such as {"project": "abc123", "deploy_started_at": "2030-01-31T12:00:00Z"}, not ${jsonTypeName(issue.input)}`,
  },
);

export type MarkRedeployedRequest = z.output<typeof markRedeployedRequestSchema>;

/**
 * Validates a payload against a schema and throws RequestInvalidError naming each field and
 * rule. The messages come from the issues' `message` and `path` only, never from their input.
 */
export function parseRequest<Schema extends z.ZodType>(schema: Schema, event: unknown): z.output<Schema> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;

  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path === '' ? `request ${issue.message}` : `"${path}" ${issue.message}`;
  });
  throw new RequestInvalidError(`invalid request: ${problems.join('; ')}`);
}

/**
 * Derives the PutSecretValue ClientRequestToken, 64 hex digits, from the project, the name and
 * the request id. A retry of the same request therefore gets the same token, and Secrets Manager
 * returns the version it already created instead of creating a second one.
 *
 * The token must not be derived from the value: setting a value that an older version already
 * contains would reuse that version's token, Secrets Manager would ignore the request, and the old
 * version would not become AWSCURRENT again.
 */
export function clientRequestToken(projectId: string, logicalName: string, requestId: string): string {
  return createHash('sha256').update([projectId, logicalName, requestId].join('\u0000')).digest('hex');
}

/**
 * Builds the error for a secret that cannot take a value, from its status record and its
 * project's record. The message names the cause and what the caller should do next.
 */
export function notSettableError(
  projectId: string,
  logicalName: string,
  secret: SecretRecord | undefined,
  project: ProjectRecord | undefined,
): NotProvisionedError {
  const manifest = manifestKey(projectId);

  if (!project) {
    return new NotProvisionedError(`project ${projectId} is unknown; upload ${manifest} that declares ${logicalName} first`);
  }

  if (!secret) {
    const provisioning = project.status === 'Provisioning' || project.lease_owner !== undefined;
    const hint = provisioning ? `; if you have just added it, wait for the running provisioning of project ${projectId} to finish` : '';
    return new NotProvisionedError(
      `secret ${logicalName} is not declared in ${manifest}; add {"kind": "Secret", "name": "${logicalName}"} to its resources and upload it${hint}`,
    );
  }

  switch (secret.status) {
    case 'Provisioning':
      return new NotProvisionedError(
        `secret ${logicalName} of project ${projectId} is still being provisioned; wait for the running provisioning to finish, then set the value again`,
      );
    case 'Failed':
      return new NotProvisionedError(
        `secret ${logicalName} of project ${projectId} failed to provision with ${secret.error_code ?? 'an unknown error'}` +
          `${secret.error_message ? ` (${secret.error_message})` : ''}; fix the cause and upload ${manifest} again`,
      );
    case 'PendingDeletion':
      return new NotProvisionedError(
        `secret ${logicalName} of project ${projectId} was removed from ${manifest} and is scheduled for deletion` +
          `${secret.deletion_date ? ` on ${secret.deletion_date}` : ''}; add it back and upload ${manifest} to restore it`,
      );
    case 'Available':
      // Available but without an ARN: a record written before the secret's ARN was known.
      return new NotProvisionedError(
        `secret ${logicalName} of project ${projectId} has no recorded ARN; upload ${manifest} again to repair its status`,
      );
  }
}

/** Whether the running service has a secret's current value. */
export type DeployState = 'NoValue' | 'Deployed' | 'RedeployRequired';

/**
 * Decides whether the service's running deployment has the secret's current value. A secret
 * without a value has nothing to deploy. Otherwise the deployed version must be the version
 * that set-value last recorded, and no newer value may be waiting for a redeploy.
 */
export function deployState(secret: Pick<SecretRecord, 'value_version' | 'redeploy_required'> & { deployed_version?: unknown }): DeployState {
  if (secret.value_version === undefined) return 'NoValue';
  if (secret.redeploy_required === true) return 'RedeployRequired';
  return secret.deployed_version === secret.value_version ? 'Deployed' : 'RedeployRequired';
}

/** A secret whose redeploy flag a finished deploy clears, with what was read, for the conditional write. */
export interface RedeployClear {
  name: string;
  valueVersion: string;
  valueSetAt: string;
}

/**
 * Splits the flagged secrets of a project by the time the deploy began: a value set at or before
 * that time was in place when the deploy read its secrets, so its flag is cleared. A value set
 * later may not have been read, so it keeps its flag.
 */
export function planRedeployClears(secrets: SecretRecord[], deployStartedAt: Date): { clear: RedeployClear[]; keep: string[] } {
  const clear: RedeployClear[] = [];
  const keep: string[] = [];
  for (const secret of secrets) {
    if (secret.redeploy_required !== true) continue;
    const setAt = secret.value_set_at === undefined ? Number.NaN : Date.parse(secret.value_set_at);
    if (secret.value_version !== undefined && secret.value_set_at !== undefined && setAt <= deployStartedAt.getTime()) {
      clear.push({ name: secret.name, valueVersion: secret.value_version, valueSetAt: secret.value_set_at });
    } else {
      keep.push(secret.name);
    }
  }
  return { clear, keep };
}
