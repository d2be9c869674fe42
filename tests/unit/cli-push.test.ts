import { describe, expect, it } from 'vitest';

import { uploadOutcome } from '../../cli/commands/push.ts';
import type { ProjectRecord } from '../../shared/status-store.ts';

function project(fields: Partial<ProjectRecord>): ProjectRecord {
  return { project_id: 'abc', record_key: 'project', kind: 'Service', status: 'Available', ...fields };
}

describe('uploadOutcome', () => {
  it('is pending while no record exists', () => {
    expect(uploadOutcome(undefined, undefined, 'v2')).toBe('pending');
  });

  it('is pending while an execution holds the lease', () => {
    const current = project({ manifest_version: 'v2', lease_owner: 'execution-2', updated_at: 't2' });

    expect(uploadOutcome(current, project({ manifest_version: 'v1', updated_at: 't1' }), 'v2')).toBe('pending');
  });

  it('is applied once the record names the version and the lease is released', () => {
    const current = project({ manifest_version: 'v2', updated_at: 't2' });

    expect(uploadOutcome(current, project({ manifest_version: 'v1', updated_at: 't1' }), 'v2')).toBe('applied');
  });

  it('compares ETags without their quotes', () => {
    expect(uploadOutcome(project({ manifest_version: '"etag2"', updated_at: 't2' }), undefined, 'etag2')).toBe('applied');
  });

  it('waits for a rewrite when unchanged content keeps the same ETag', () => {
    const before = project({ manifest_version: '"etag1"', updated_at: 't1', execution: 'execution-1' });

    expect(uploadOutcome(before, before, '"etag1"')).toBe('pending');
    expect(uploadOutcome(project({ manifest_version: '"etag1"', updated_at: 't2', execution: 'execution-2' }), before, '"etag1"')).toBe('applied');
  });

  it('is rejected when the last rejection names the version', () => {
    const current = project({ manifest_version: 'v1', updated_at: 't2', last_rejection: { version: 'v2', at: 't2', errors: [] } });

    expect(uploadOutcome(current, project({ manifest_version: 'v1', updated_at: 't1' }), 'v2')).toBe('rejected');
  });

  it('reports a failed run that left the previous version', () => {
    const current = project({ status: 'Failed', manifest_version: 'v1', updated_at: 't2' });

    expect(uploadOutcome(current, project({ manifest_version: 'v1', updated_at: 't1' }), 'v2')).toBe('workflowFailed');
  });

  it('is pending while the record is the one from before the upload', () => {
    const before = project({ status: 'Failed', manifest_version: 'v1', updated_at: 't1' });

    expect(uploadOutcome(before, before, 'v2')).toBe('pending');
  });

  it('reports a newer upload that was applied instead', () => {
    const current = project({ manifest_version: 'v3', updated_at: 't3' });

    expect(uploadOutcome(current, project({ manifest_version: 'v1', updated_at: 't1' }), 'v2')).toBe('superseded');
  });

  it('is pending while an older run leaves the earlier version', () => {
    const current = project({ manifest_version: 'v1', updated_at: 't2', execution: 'execution-older' });

    expect(uploadOutcome(current, project({ manifest_version: 'v1', updated_at: 't1' }), 'v2')).toBe('pending');
  });
});
