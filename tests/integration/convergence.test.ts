import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';

import { manifestKey, physicalName } from '../../shared/naming.ts';
import {
  invokeFunction,
  manifestOf,
  readRolePolicy,
  setFaults,
  stackClients,
  stackEnv,
  uniqueProjectId,
  uploadAndWait,
  uploadManifest,
  waitForUpload,
} from '../support/stack.ts';

/** Returns the ARNs the role's policy grants, sorted. */
async function grantedArns(projectId: string): Promise<string[]> {
  const policy = (await readRolePolicy(`neptune-${projectId}`)) as { Statement: Array<{ Resource: string | string[] }> } | undefined;
  if (!policy) return [];
  return policy.Statement.flatMap((statement) => statement.Resource).sort();
}

/** Status records by name, without the fields that change on every write. */
async function statusByName(projectId: string) {
  const view = await stackClients().store.readProject(projectId);
  return Object.fromEntries(view.secrets.map((secret) => [secret.name, secret]));
}

afterEach(async () => {
  await setFaults([]);
});

describe('removing and re-adding secrets', () => {
  it('schedules a removed secret for deletion and revokes its grant in the same run', async () => {
    const projectId = uniqueProjectId('rm');
    const first = await uploadAndWait(projectId, manifestOf(['KEEP', 'DROP']));
    const dropArn = first.secrets.find((secret) => secret.name === 'DROP')?.arn as string;

    const view = await uploadAndWait(projectId, manifestOf(['KEEP']));

    const drop = view.secrets.find((secret) => secret.name === 'DROP');
    expect(drop?.status).toBe('PendingDeletion');
    const daysLeft = (Date.parse(drop?.deletion_date as string) - Date.now()) / 86_400_000;
    expect(daysLeft).toBeGreaterThan(29);
    expect(daysLeft).toBeLessThanOrEqual(30);
    const described = await stackClients().secretsManager.send(new DescribeSecretCommand({ SecretId: dropArn }));
    expect(described.DeletedDate).toBeDefined();
    expect(await grantedArns(projectId)).not.toContain(dropArn);
    expect(view.project?.status).toBe('Available');
  });

  it('restores a re-added secret with its value', async () => {
    const projectId = uniqueProjectId('readd');
    const first = await uploadAndWait(projectId, manifestOf(['TOKEN']));
    const arn = first.secrets[0]?.arn as string;
    await stackClients().secretsManager.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'value-before-removal' }));
    await uploadAndWait(projectId, manifestOf([]));

    const view = await uploadAndWait(projectId, manifestOf(['TOKEN']));

    expect(view.secrets[0]).toMatchObject({ name: 'TOKEN', status: 'Available', arn });
    expect(view.secrets[0]?.deletion_date).toBeUndefined();
    const value = await stackClients().secretsManager.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(value.SecretString).toBe('value-before-removal');
    expect(await grantedArns(projectId)).toEqual([arn]);
  });

  it('removes every secret and the whole grant for an empty resource list', async () => {
    const projectId = uniqueProjectId('empty');
    await uploadAndWait(projectId, manifestOf(['ONE', 'TWO']));

    const view = await uploadAndWait(projectId, manifestOf([]));

    expect(view.secrets.map((secret) => secret.status)).toEqual(['PendingDeletion', 'PendingDeletion']);
    expect(await readRolePolicy(`neptune-${projectId}`)).toBeUndefined();
    expect(view.project?.status).toBe('Available');
  });

  it('deletes and revokes nothing for an invalid manifest', async () => {
    const projectId = uniqueProjectId('inv');
    await uploadAndWait(projectId, manifestOf(['ONE', 'TWO']));
    const before = await grantedArns(projectId);

    await uploadAndWait(projectId, '{"kind":"Service","name":"my-app","resources":[{"kind":"Secret","name":"ONE"}],}');

    const statuses = await statusByName(projectId);
    expect(statuses.ONE?.status).toBe('Available');
    expect(statuses.TWO?.status).toBe('Available');
    expect(await grantedArns(projectId)).toEqual(before);
  });
});

describe('events out of order, duplicated and overlapping', () => {
  const bucket = () => stackEnv().NEPTUNE_BUCKET as string;
  const awsEvent = (projectId: string, versionId: string, sequencer: string) => ({
    Records: [
      {
        eventName: 'ObjectCreated:Put',
        eventTime: new Date().toISOString(),
        s3: { bucket: { name: bucket() }, object: { key: manifestKey(projectId), eTag: 'etag', versionId, sequencer } },
      },
    ],
  });

  it('converges on the newest of overlapping uploads', async () => {
    const projectId = uniqueProjectId('race');
    const manifests = [['A'], ['A', 'B'], ['B', 'C'], ['C', 'D', 'E'], ['E']].map((names) => manifestOf(names));

    const versions = [];
    for (const manifest of manifests) versions.push(await uploadManifest(projectId, manifest));
    const view = await waitForUpload(projectId, versions.at(-1) as string);

    const live = view.secrets.filter((secret) => secret.status === 'Available').map((secret) => secret.name);
    expect(live).toEqual(['E']);
    expect(view.project?.secret_count).toBe(1);
    expect(await grantedArns(projectId)).toEqual([view.secrets.find((secret) => secret.name === 'E')?.arn]);
  });

  it('keeps the newest manifest when an older event arrives late, with and without sequencers', async () => {
    const projectId = uniqueProjectId('late');
    const oldVersion = await uploadManifest(projectId, manifestOf(['OLD']));
    await waitForUpload(projectId, oldVersion);
    const newVersion = await uploadManifest(projectId, manifestOf(['NEW']));
    await waitForUpload(projectId, newVersion);
    const arnsBefore = await grantedArns(projectId);

    // The old upload's event, delivered again late: once as AWS sends it (with version id and
    // sequencer), once as moto sends it (with neither).
    const lateAws = await invokeFunction('NEPTUNE_FUNCTION_TRIGGER', awsEvent(projectId, oldVersion, '0055AED6DCD90281E1'));
    const lateMoto = await invokeFunction('NEPTUNE_FUNCTION_TRIGGER', {
      Records: [{ eventName: 'ObjectCreated:Put', eventTime: '2020-01-01T00:00:00.000Z', s3: { bucket: { name: bucket() }, object: { key: manifestKey(projectId), eTag: 'old' } } }],
    });
    expect(lateAws.error).toBeUndefined();
    expect(lateMoto.error).toBeUndefined();
    await settle(projectId);

    const statuses = await statusByName(projectId);
    expect(statuses.NEW?.status).toBe('Available');
    expect(statuses.OLD?.status).toBe('PendingDeletion');
    expect(await grantedArns(projectId)).toEqual(arnsBefore);
  });

  it('creates each secret once across repeated and interleaved uploads of many projects', async () => {
    const projects = Array.from({ length: 6 }, () => uniqueProjectId('many'));
    const names = ['ALPHA', 'BETA', 'GAMMA'];

    const firstRound = await Promise.all(projects.map((projectId) => uploadAndWait(projectId, manifestOf(names))));
    const arns = firstRound.map((view) => Object.fromEntries(view.secrets.map((secret) => [secret.name, secret.arn])));
    await Promise.all(
      projects.flatMap((projectId) => [uploadManifest(projectId, manifestOf(names)), uploadManifest(projectId, manifestOf(names))]),
    );
    // The two uploads of a project race, so S3 decides which one is the newest.
    await Promise.all(projects.map(async (projectId) => waitForUpload(projectId, await newestVersion(projectId))));

    for (const [index, projectId] of projects.entries()) {
      const statuses = await statusByName(projectId);
      for (const name of names) {
        // A second creation would have a new ARN: the random suffix differs.
        expect(statuses[name]?.arn).toBe(arns[index]?.[name]);
        expect(statuses[name]?.status).toBe('Available');
      }
    }
  });
});

describe('projects in parallel', () => {
  it('provisions one project while another is stalled', async () => {
    const stalled = uniqueProjectId('stall');
    const other = uniqueProjectId('other');
    // Two status writes of the stalled project get no response, so its run waits out two SDK
    // request timeouts. The gateway injects them because moto always responds.
    await setFaults([{ service: 'dynamodb', operation: 'UpdateItem', rate: 1, fault: 'timeout', target: stalled, count: 2 }]);
    const stalledVersion = await uploadManifest(stalled, manifestOf(['SLOW']));

    const otherView = await uploadAndWait(other, manifestOf(['QUICK']));

    expect(otherView.project?.status).toBe('Available');
    expect((await stackClients().store.readProject(stalled)).project?.manifest_version).toBeUndefined();
    const stalledView = await waitForUpload(stalled, stalledVersion);
    expect(stalledView.project?.status).toBe('Available');
  }, 120_000);
});

describe('faults from AWS', () => {
  it('ends with every secret Available despite throttling, server errors and timeouts', async () => {
    const projectId = uniqueProjectId('flaky');
    const names = Array.from({ length: 12 }, (_, index) => `FLAKY_${index}`);
    // moto does not throttle or fail, so the gateway injects both.
    await setFaults([
      { service: 'secretsmanager', operation: 'CreateSecret', rate: 0.3, fault: 'throttle' },
      { service: 'dynamodb', operation: 'UpdateItem', rate: 0.2, fault: 'server-error' },
      { service: 'iam', operation: 'PutRolePolicy', rate: 0.5, fault: 'server-error' },
      { service: 'secretsmanager', operation: 'ListSecrets', rate: 1, fault: 'timeout', count: 1 },
    ]);

    const view = await uploadAndWait(projectId, manifestOf(names));

    expect(view.secrets.map((secret) => `${secret.name} ${secret.status} ${secret.error_code ?? ''}`.trim())).toEqual(
      view.secrets.map((secret) => `${secret.name} Available`),
    );
    for (const secret of view.secrets) {
      const described = await stackClients().secretsManager.send(new DescribeSecretCommand({ SecretId: secret.aws_id }));
      expect(described.ARN).toBe(secret.arn);
    }
    expect(await grantedArns(projectId)).toHaveLength(names.length);
  }, 120_000);

  it('fails only the secret whose calls keep failing, and a later upload repairs it', async () => {
    const projectId = uniqueProjectId('broken');
    const broken = physicalName(projectId, 'BROKEN');
    // Every attempt to create this one secret fails; the SDK gives up after its retries.
    await setFaults([{ service: 'secretsmanager', operation: 'CreateSecret', rate: 1, fault: 'server-error', target: broken }]);

    const failed = await uploadAndWait(projectId, manifestOf(['FINE', 'BROKEN']));

    const statuses = Object.fromEntries(failed.secrets.map((secret) => [secret.name, secret]));
    expect(statuses.FINE?.status).toBe('Available');
    expect(statuses.BROKEN).toMatchObject({ status: 'Failed', error_code: 'TransientAwsError' });
    expect(statuses.BROKEN?.error_message).toMatch(/upload the manifest again/);
    expect(failed.project?.status).toBe('Failed');

    await setFaults([]);
    const repaired = await uploadAndWait(projectId, manifestOf(['FINE', 'BROKEN']));

    expect(repaired.secrets.map((secret) => secret.status)).toEqual(['Available', 'Available']);
    expect(repaired.project?.status).toBe('Available');
    expect(repaired.project?.errors).toEqual([]);
  }, 120_000);

  it('converges when a step crashes midway and is retried', async () => {
    const projectId = uniqueProjectId('crash');
    const names = Array.from({ length: 8 }, (_, index) => `CRASH_${index}`);
    // A crash cannot come from moto: the local Lambda runtime stops the step's invocation after
    // its fifth AWS call, as if the process died, and Step Functions retries the step.
    await setFaults([{ service: 'lambda', operation: 'createSecrets', rate: 1, fault: 'crash', afterCalls: 5, count: 1 }]);

    const view = await uploadAndWait(projectId, manifestOf(names));

    expect(view.secrets.map((secret) => secret.status)).toEqual(names.map(() => 'Available'));
    expect(await grantedArns(projectId)).toHaveLength(names.length);
    const rules = (await (await fetch(`${stackEnv().AWS_ENDPOINT_URL}/_neptune/faults`)).json()) as Array<{ injected: number }>;
    expect(rules[0]?.injected).toBe(1);
  }, 120_000);
});

async function newestVersion(projectId: string): Promise<string> {
  const head = await stackClients().s3.send(new HeadObjectCommand({ Bucket: stackEnv().NEPTUNE_BUCKET, Key: manifestKey(projectId) }));
  return head.VersionId as string;
}

/** Waits until no execution has the project's lease. */
async function settle(projectId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  await new Promise((resolve) => setTimeout(resolve, 300));
  while (Date.now() < deadline) {
    const view = await stackClients().store.readProject(projectId);
    if (view.project?.lease_owner === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`project ${projectId} did not settle`);
}
