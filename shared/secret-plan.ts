import { physicalName } from './naming.ts';
import type { SecretRecord } from './status-store.ts';

/**
 * Decides what to do with each secret of a project, from plain data: the names the manifest
 * declares, the secrets Secrets Manager has under the project's names, and the status records.
 * The AWS calls that carry out the plan live in secrets-manager.ts.
 */

export const TAG_PROJECT = 'neptune:project';
export const TAG_NAME = 'neptune:name';
export const TAG_MANAGED_BY = 'neptune:managed-by';
export const MANAGED_BY = 'neptune-secrets';

/** Secrets Manager's description of one secret under one of our physical names. */
export interface ObservedSecret {
  name: string;
  arn: string;
  tags: Record<string, string>;
  /** Set when the secret is scheduled for deletion. */
  deletedDate?: Date;
}

export type SecretAction =
  /** No secret of that name exists: create it with our tags. */
  | { type: 'create'; logicalName: string; physicalName: string }
  /** Ours and live. Nothing to call; the status is written if it is not yet Available. */
  | { type: 'keep'; logicalName: string; physicalName: string; arn: string; statusCurrent: boolean }
  /** Ours and scheduled for deletion: restore it, value and all. */
  | { type: 'restore'; logicalName: string; physicalName: string; arn: string }
  /** A secret of that name exists that Neptune did not create for this project. */
  | { type: 'conflict'; logicalName: string; physicalName: string }
  /** Ours, live, and no longer declared: schedule it for deletion. */
  | { type: 'delete'; logicalName: string; physicalName: string; arn: string }
  /** Ours, no longer declared, already scheduled for deletion, but its record does not say so
   * (a run stopped between the call and the status write). */
  | { type: 'recordDeletion'; logicalName: string; physicalName: string; arn: string; deletedDate: Date }
  /** A record of a name that is no longer declared and has no secret of ours, such as a conflict. */
  | { type: 'forget'; logicalName: string; physicalName: string };

export function isOurs(secret: Pick<ObservedSecret, 'tags'>, projectId: string, logicalName: string): boolean {
  return secret.tags[TAG_PROJECT] === projectId && secret.tags[TAG_NAME] === logicalName;
}

export function secretTags(projectId: string, logicalName: string): Array<{ Key: string; Value: string }> {
  return [
    { Key: TAG_PROJECT, Value: projectId },
    { Key: TAG_NAME, Value: logicalName },
    { Key: TAG_MANAGED_BY, Value: MANAGED_BY },
  ];
}

/** Decides the action for one declared secret, given the secret Secrets Manager has under its name. */
export function decideDeclared(
  projectId: string,
  logicalName: string,
  observed: ObservedSecret | undefined,
  record: SecretRecord | undefined,
): SecretAction {
  const name = physicalName(projectId, logicalName);
  if (!observed) return { type: 'create', logicalName, physicalName: name };
  if (!isOurs(observed, projectId, logicalName)) return { type: 'conflict', logicalName, physicalName: name };
  if (observed.deletedDate) return { type: 'restore', logicalName, physicalName: name, arn: observed.arn };

  const statusCurrent = record?.status === 'Available' && record.arn === observed.arn;
  return { type: 'keep', logicalName, physicalName: name, arn: observed.arn, statusCurrent };
}

/**
 * Plans the whole project. Declared names are matched to observed secrets by physical name;
 * our live secrets that are no longer declared are deleted. A name is compared exactly, because
 * Secrets Manager names are case-sensitive.
 */
export function planSecrets(
  projectId: string,
  declaredNames: string[],
  observed: ObservedSecret[],
  records: SecretRecord[],
): SecretAction[] {
  const observedByName = new Map(observed.map((secret) => [secret.name, secret]));
  const recordByName = new Map(records.map((record) => [record.name, record]));
  const declared = new Set(declaredNames);

  const actions = declaredNames.map((logicalName) =>
    decideDeclared(projectId, logicalName, observedByName.get(physicalName(projectId, logicalName)), recordByName.get(logicalName)),
  );

  for (const secret of observed) {
    const logicalName = secret.tags[TAG_NAME];
    if (logicalName === undefined || declared.has(logicalName)) continue;
    if (!isOurs(secret, projectId, logicalName) || secret.name !== physicalName(projectId, logicalName)) continue;

    const base = { logicalName, physicalName: secret.name, arn: secret.arn };
    if (!secret.deletedDate) {
      actions.push({ type: 'delete', ...base });
    } else if (recordByName.get(logicalName)?.status !== 'PendingDeletion') {
      actions.push({ type: 'recordDeletion', ...base, deletedDate: secret.deletedDate });
    }
  }
  const ours = new Set(actions.map((action) => action.logicalName));
  for (const record of records) {
    if (declared.has(record.name) || ours.has(record.name)) continue;
    if (record.status === 'PendingDeletion') continue;
    actions.push({ type: 'forget', logicalName: record.name, physicalName: record.aws_id });
  }
  return actions;
}
