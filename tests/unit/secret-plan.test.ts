import { describe, expect, it } from 'vitest';

import {
  decideDeclared,
  isOurs,
  MANAGED_BY,
  planSecrets,
  secretTags,
  TAG_MANAGED_BY,
  TAG_NAME,
  TAG_PROJECT,
  type ObservedSecret,
} from '../../shared/secret-plan.ts';
import type { SecretRecord, SecretStatus } from '../../shared/status-store.ts';

const PROJECT = 'abc123';
const DELETED_AT = new Date('2025-01-15T10:00:00Z');

function arnOf(physicalName: string): string {
  return `arn:aws:secretsmanager:us-east-1:123456789012:secret:${physicalName}-AbCdEf`;
}

function tagsOf(projectId: string, logicalName: string): Record<string, string> {
  return { [TAG_PROJECT]: projectId, [TAG_NAME]: logicalName, [TAG_MANAGED_BY]: MANAGED_BY };
}

function observed(logicalName: string, options: { tags?: Record<string, string>; deletedDate?: Date } = {}): ObservedSecret {
  const name = `neptune-${PROJECT}-${logicalName}`;
  return {
    name,
    arn: arnOf(name),
    tags: options.tags ?? tagsOf(PROJECT, logicalName),
    ...(options.deletedDate ? { deletedDate: options.deletedDate } : {}),
  };
}

function record(logicalName: string, status: SecretStatus, arn?: string): SecretRecord {
  const name = `neptune-${PROJECT}-${logicalName}`;
  return {
    project_id: PROJECT,
    record_key: `secret#${logicalName}`,
    kind: 'Secret',
    name: logicalName,
    status,
    aws_id: name,
    ...(arn ? { arn } : {}),
  };
}

describe('secretTags', () => {
  it('tags project, name and manager', () => {
    // Act
    const tags = secretTags(PROJECT, 'API_KEY');

    // Assess
    expect(tags).toEqual([
      { Key: 'neptune:project', Value: PROJECT },
      { Key: 'neptune:name', Value: 'API_KEY' },
      { Key: 'neptune:managed-by', Value: 'neptune-secrets' },
    ]);
  });
});

describe('isOurs', () => {
  it('accepts the tags Neptune writes', () => {
    // Prepare
    const tags = Object.fromEntries(secretTags(PROJECT, 'API_KEY').map((tag) => [tag.Key, tag.Value]));

    // Act
    const ours = isOurs({ tags }, PROJECT, 'API_KEY');

    // Assess
    expect(ours).toBe(true);
  });

  it.each([
    ['another project', tagsOf('abc12', 'API_KEY')],
    ['another name', tagsOf(PROJECT, 'Api_Key')],
    ['no tags', {}],
    ['only the project tag', { [TAG_PROJECT]: PROJECT }],
  ])('rejects %s', (_case, tags) => {
    // Act
    const ours = isOurs({ tags }, PROJECT, 'API_KEY');

    // Assess
    expect(ours).toBe(false);
  });
});

describe('decideDeclared', () => {
  it('creates a missing secret', () => {
    // Act
    const action = decideDeclared(PROJECT, 'API_KEY', undefined, undefined);

    // Assess
    expect(action).toEqual({ type: 'create', logicalName: 'API_KEY', physicalName: 'neptune-abc123-API_KEY' });
  });

  it('keeps a live secret with a current record', () => {
    // Prepare
    const secret = observed('API_KEY');

    // Act
    const action = decideDeclared(PROJECT, 'API_KEY', secret, record('API_KEY', 'Available', secret.arn));

    // Assess
    expect(action).toEqual({ type: 'keep', logicalName: 'API_KEY', physicalName: secret.name, arn: secret.arn, statusCurrent: true });
  });

  it.each([
    ['no record', undefined],
    ['a Provisioning record', record('API_KEY', 'Provisioning', arnOf('neptune-abc123-API_KEY'))],
    ['a Failed record', record('API_KEY', 'Failed', arnOf('neptune-abc123-API_KEY'))],
    ['a PendingDeletion record', record('API_KEY', 'PendingDeletion', arnOf('neptune-abc123-API_KEY'))],
    ['an Available record of an older ARN', record('API_KEY', 'Available', arnOf('neptune-abc123-API_KEY').replace('AbCdEf', 'ZyXwVu'))],
    ['an Available record without an ARN', record('API_KEY', 'Available')],
  ])('marks the status stale with %s', (_case, existing) => {
    // Act
    const action = decideDeclared(PROJECT, 'API_KEY', observed('API_KEY'), existing);

    // Assess
    expect(action.type).toBe('keep');
    expect(action).toMatchObject({ statusCurrent: false });
  });

  it('restores our secret scheduled for deletion', () => {
    // Prepare
    const secret = observed('API_KEY', { deletedDate: DELETED_AT });

    // Act
    const action = decideDeclared(PROJECT, 'API_KEY', secret, record('API_KEY', 'PendingDeletion', secret.arn));

    // Assess
    expect(action).toEqual({ type: 'restore', logicalName: 'API_KEY', physicalName: secret.name, arn: secret.arn });
  });

  it.each([
    ['tags of another project', { tags: tagsOf('other', 'API_KEY') }],
    ['tags of another name', { tags: tagsOf(PROJECT, 'OTHER') }],
    ['no tags', { tags: {} }],
    ['no tags and a deletion date', { tags: {}, deletedDate: DELETED_AT }],
  ])('reports a conflict for a secret with %s', (_case, options) => {
    // Act
    const action = decideDeclared(PROJECT, 'API_KEY', observed('API_KEY', options), undefined);

    // Assess
    expect(action).toEqual({ type: 'conflict', logicalName: 'API_KEY', physicalName: 'neptune-abc123-API_KEY' });
  });
});

describe('planSecrets', () => {
  it('creates every secret of a new project', () => {
    // Act
    const actions = planSecrets(PROJECT, ['A', 'B'], [], []);

    // Assess
    expect(actions).toEqual([
      { type: 'create', logicalName: 'A', physicalName: 'neptune-abc123-A' },
      { type: 'create', logicalName: 'B', physicalName: 'neptune-abc123-B' },
    ]);
  });

  it('returns no actions for an empty project', () => {
    // Act
    const actions = planSecrets(PROJECT, [], [], []);

    // Assess
    expect(actions).toEqual([]);
  });

  it('matches declared names to observed secrets', () => {
    // Prepare
    const keptSecret = observed('KEPT');
    const restoredSecret = observed('RESTORED', { deletedDate: DELETED_AT });

    // Act
    const actions = planSecrets(PROJECT, ['NEW', 'KEPT', 'RESTORED'], [keptSecret, restoredSecret], [record('KEPT', 'Available', keptSecret.arn)]);

    // Assess
    expect(actions.map((action) => [action.type, action.logicalName])).toEqual([
      ['create', 'NEW'],
      ['keep', 'KEPT'],
      ['restore', 'RESTORED'],
    ]);
    expect(actions[1]).toMatchObject({ statusCurrent: true });
  });

  it('deletes our live secret that is no longer declared', () => {
    // Prepare
    const removed = observed('REMOVED');

    // Act
    const actions = planSecrets(PROJECT, [], [removed], [record('REMOVED', 'Available', removed.arn)]);

    // Assess
    expect(actions).toEqual([{ type: 'delete', logicalName: 'REMOVED', physicalName: removed.name, arn: removed.arn }]);
  });

  it('deletes an undeclared secret that has no record', () => {
    // Prepare
    const removed = observed('REMOVED');

    // Act
    const actions = planSecrets(PROJECT, [], [removed], []);

    // Assess
    expect(actions.map((action) => action.type)).toEqual(['delete']);
  });

  it('records a deletion the status does not show', () => {
    // Prepare
    const removed = observed('REMOVED', { deletedDate: DELETED_AT });

    // Act
    const actions = planSecrets(PROJECT, [], [removed], [record('REMOVED', 'Available', removed.arn)]);

    // Assess
    expect(actions).toEqual([
      { type: 'recordDeletion', logicalName: 'REMOVED', physicalName: removed.name, arn: removed.arn, deletedDate: DELETED_AT },
    ]);
  });

  it('leaves a recorded deletion alone', () => {
    // Prepare
    const removed = observed('REMOVED', { deletedDate: DELETED_AT });

    // Act
    const actions = planSecrets(PROJECT, [], [removed], [record('REMOVED', 'PendingDeletion', removed.arn)]);

    // Assess
    expect(actions).toEqual([]);
  });

  it('forgets a Failed record of an undeclared name', () => {
    // Act
    const actions = planSecrets(PROJECT, ['A'], [], [record('GONE', 'Failed')]);

    // Assess
    expect(actions).toEqual([
      { type: 'create', logicalName: 'A', physicalName: 'neptune-abc123-A' },
      { type: 'forget', logicalName: 'GONE', physicalName: 'neptune-abc123-GONE' },
    ]);
  });

  it('forgets an undeclared conflict without deleting it', () => {
    // Prepare
    const foreign = observed('TAKEN', { tags: tagsOf('other', 'TAKEN') });

    // Act
    const actions = planSecrets(PROJECT, [], [foreign], [record('TAKEN', 'Failed')]);

    // Assess
    expect(actions).toEqual([{ type: 'forget', logicalName: 'TAKEN', physicalName: 'neptune-abc123-TAKEN' }]);
  });

  it('keeps a PendingDeletion record whose secret is gone', () => {
    // Act
    const actions = planSecrets(PROJECT, [], [], [record('PURGED', 'PendingDeletion')]);

    // Assess
    expect(actions).toEqual([]);
  });

  it('never deletes a secret of another project', () => {
    // Prepare
    const secrets: ObservedSecret[] = [
      observed('OTHER_PROJECT', { tags: tagsOf('abc12', 'OTHER_PROJECT') }),
      observed('LONGER_ID', { tags: tagsOf('abc1234', 'LONGER_ID') }),
      observed('UNTAGGED', { tags: {} }),
      observed('ONLY_NAME', { tags: { [TAG_NAME]: 'ONLY_NAME' } }),
      // Tags claim this project, but the name belongs to project abc12.
      { name: 'neptune-abc12-MOVED', arn: arnOf('neptune-abc12-MOVED'), tags: tagsOf(PROJECT, 'MOVED') },
      // Tags claim another name than the physical name carries.
      { name: 'neptune-abc123-REAL', arn: arnOf('neptune-abc123-REAL'), tags: tagsOf(PROJECT, 'CLAIMED') },
    ];

    // Act
    const actions = planSecrets(PROJECT, [], secrets, []);

    // Assess
    expect(actions).toEqual([]);
  });

  it('compares names case-sensitively', () => {
    // Prepare
    const previous = observed('API_KEY');

    // Act
    const actions = planSecrets(PROJECT, ['Api_Key'], [previous], [record('API_KEY', 'Available', previous.arn)]);

    // Assess
    expect(actions.map((action) => [action.type, action.logicalName])).toEqual([
      ['create', 'Api_Key'],
      ['delete', 'API_KEY'],
    ]);
  });

  it('plans one action per name across every case', () => {
    // Prepare
    const keptSecret = observed('KEPT');
    const deletedSecret = observed('DELETED');
    const unrecordedSecret = observed('UNRECORDED', { deletedDate: DELETED_AT });
    const conflictSecret = observed('CONFLICT', { tags: {} });

    // Act
    const actions = planSecrets(
      PROJECT,
      ['NEW', 'KEPT', 'CONFLICT'],
      [keptSecret, deletedSecret, unrecordedSecret, conflictSecret],
      [record('KEPT', 'Provisioning', keptSecret.arn), record('STALE', 'Failed'), record('UNRECORDED', 'Available', unrecordedSecret.arn)],
    );

    // Assess
    expect(actions.map((action) => `${action.type} ${action.logicalName}`)).toEqual([
      'create NEW',
      'keep KEPT',
      'conflict CONFLICT',
      'delete DELETED',
      'recordDeletion UNRECORDED',
      'forget STALE',
    ]);
  });
});
