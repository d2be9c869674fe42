import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { deployState } from '../../shared/secret-value.ts';
import { invokeFunction, manifestOf, stackClients, uniqueProjectId, uploadAndWait } from '../support/stack.ts';

const SET_VALUE = 'NEPTUNE_SET_VALUE_FUNCTION';
const REDEPLOYED = 'NEPTUNE_REDEPLOYED_FUNCTION';

async function setValue(project: string, name: string, value = `value-${randomUUID()}`) {
  const { result, error } = await invokeFunction(SET_VALUE, { project, name, value });
  expect(error).toBeUndefined();
  return result as { version_id: string };
}

async function markRedeployed(payload: unknown) {
  return invokeFunction(REDEPLOYED, payload);
}

async function readStatus(project: string) {
  const view = await stackClients().store.readProject(project);
  const byName = Object.fromEntries(view.secrets.map((secret) => [secret.name, secret]));
  return { project: view.project, secrets: byName };
}

/** Returns a time strictly between two events, so that value_set_at on either side differs from it. */
async function timeBetween(): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  const time = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 5));
  return time;
}

describe('mark-redeployed', () => {
  it('clears the redeploy flag of values set before the deploy began', async () => {
    const project = uniqueProjectId('rdclear');
    await uploadAndWait(project, manifestOf(['A_KEY', 'B_KEY', 'NO_VALUE']));
    const a = await setValue(project, 'A_KEY');
    const b = await setValue(project, 'B_KEY');
    const deployStartedAt = await timeBetween();

    const { result, error } = await markRedeployed({ project, deploy_started_at: deployStartedAt });

    expect(error).toBeUndefined();
    expect(result).toEqual({ project, cleared: 2, still_required: 0, redeploy_required: false });
    const status = await readStatus(project);
    expect(status.secrets.A_KEY).toMatchObject({ redeploy_required: false, deployed_version: a.version_id, value_version: a.version_id });
    expect(status.secrets.B_KEY).toMatchObject({ redeploy_required: false, deployed_version: b.version_id });
    expect(Date.parse(String(status.secrets.A_KEY?.deployed_at))).toBeGreaterThanOrEqual(Date.parse(deployStartedAt));
    expect(deployState(status.secrets.A_KEY ?? {})).toBe('Deployed');
    expect(deployState(status.secrets.NO_VALUE ?? {})).toBe('NoValue');
    expect(status.secrets.NO_VALUE?.redeploy_required).toBeUndefined();
    expect(status.project).toMatchObject({ redeploy_required: false, last_deploy_started_at: deployStartedAt });
    expect(Date.parse(String(status.project?.last_deployed_at))).toBeGreaterThanOrEqual(Date.parse(deployStartedAt));
  });

  it('keeps the flag of a value set after the deploy began', async () => {
    const project = uniqueProjectId('rdkeep');
    await uploadAndWait(project, manifestOf(['BEFORE', 'AFTER']));
    await setValue(project, 'BEFORE');
    const deployStartedAt = await timeBetween();
    await setValue(project, 'AFTER');

    const { result } = await markRedeployed({ project, deploy_started_at: deployStartedAt });

    expect(result).toEqual({ project, cleared: 1, still_required: 1, redeploy_required: true });
    const status = await readStatus(project);
    expect(status.secrets.BEFORE?.redeploy_required).toBe(false);
    expect(status.secrets.AFTER?.redeploy_required).toBe(true);
    expect(status.secrets.AFTER?.deployed_version).toBeUndefined();
    expect(deployState(status.secrets.AFTER ?? {})).toBe('RedeployRequired');
    expect(status.project?.redeploy_required).toBe(true);
  });

  it('keeps the flag of a secret set again after the deploy began', async () => {
    const project = uniqueProjectId('rdtwice');
    await uploadAndWait(project, manifestOf(['API_KEY']));
    const first = await setValue(project, 'API_KEY');
    await markRedeployed({ project, deploy_started_at: await timeBetween() });
    const deployStartedAt = await timeBetween();
    const second = await setValue(project, 'API_KEY');

    const { result } = await markRedeployed({ project, deploy_started_at: deployStartedAt });

    const status = await readStatus(project);
    expect(result).toEqual({ project, cleared: 0, still_required: 1, redeploy_required: true });
    expect(status.secrets.API_KEY).toMatchObject({ redeploy_required: true, value_version: second.version_id, deployed_version: first.version_id });
    expect(deployState(status.secrets.API_KEY ?? {})).toBe('RedeployRequired');
  });

  it('clears a later flag once the next deploy reports', async () => {
    const project = uniqueProjectId('rdnext');
    await uploadAndWait(project, manifestOf(['API_KEY']));
    const earlyStart = await timeBetween();
    const set = await setValue(project, 'API_KEY');
    await markRedeployed({ project, deploy_started_at: earlyStart });

    const { result } = await markRedeployed({ project, deploy_started_at: await timeBetween() });

    const status = await readStatus(project);
    expect(result).toEqual({ project, cleared: 1, still_required: 0, redeploy_required: false });
    expect(status.secrets.API_KEY).toMatchObject({ redeploy_required: false, deployed_version: set.version_id });
  });

  it('never loses a flag while values are set during the call', async () => {
    const project = uniqueProjectId('rdrace');
    await uploadAndWait(project, manifestOf(['A_KEY', 'B_KEY']));
    await setValue(project, 'A_KEY');

    for (let round = 0; round < 5; round++) {
      const deployStartedAt = await timeBetween();

      const [marked] = await Promise.all([
        markRedeployed({ project, deploy_started_at: deployStartedAt }),
        setValue(project, 'B_KEY'),
        setValue(project, 'A_KEY'),
      ]);

      const status = await readStatus(project);
      expect(marked.error).toBeUndefined();
      expect(status.secrets.A_KEY?.redeploy_required).toBe(true);
      expect(status.secrets.B_KEY?.redeploy_required).toBe(true);
      expect(status.project?.redeploy_required).toBe(true);
    }
  });

  it('rejects an unknown project', async () => {
    const project = uniqueProjectId('rdnone');

    const { error } = await markRedeployed({ project, deploy_started_at: new Date().toISOString() });

    expect(error?.errorType).toBe('NotProvisionedError');
    expect(error?.errorMessage).toBe(`project ${project} is unknown; upload ${project}/neptune.json first`);
    expect((await stackClients().store.readProject(project)).project).toBeUndefined();
  });

  describe('rejects a bad request and changes nothing', () => {
    const cases: Array<[string, (project: string) => unknown, string]> = [
      ['a missing start time', (project) => ({ project }), 'deploy_started_at: is required'],
      ['a start time without an offset', (project) => ({ project, deploy_started_at: '2030-01-01T12:00:00' }), 'must be an ISO 8601 time with an offset'],
      ['a start time that is a number', (project) => ({ project, deploy_started_at: Date.now() }), 'must be an ISO 8601 time with an offset'],
      ['a misspelled field', (project) => ({ project, deploy_startedat: new Date().toISOString() }), 'unknown field "deploy_startedat"'],
      ['a start time in the future', (project) => ({ project, deploy_started_at: new Date(Date.now() + 3_600_000).toISOString() }), 'is more than 5 minutes in the future'],
    ];

    for (const [label, payload, expected] of cases) {
      it(`rejects ${label}`, async () => {
        const project = uniqueProjectId('rdbad');
        await uploadAndWait(project, manifestOf(['API_KEY']));
        await setValue(project, 'API_KEY');
        const before = await readStatus(project);

        const { result, error } = await markRedeployed(payload(project));

        expect(result).toBeUndefined();
        expect(error?.errorType).toBe('RequestInvalidError');
        expect(error?.errorMessage).toContain(expected);
        expect(await readStatus(project)).toEqual(before);
      });
    }
  });
});
