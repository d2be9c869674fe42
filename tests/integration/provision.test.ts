import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { GetExecutionHistoryCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';

import { RoleNotFoundError } from '../../shared/errors.ts';
import { MAX_SECRETS_PER_MANIFEST } from '../../shared/manifest/schema.ts';
import { manifestKey, physicalName } from '../../shared/naming.ts';
import { TAG_NAME, TAG_PROJECT } from '../../shared/secret-plan.ts';
import { grantSecrets } from '../../shared/service-role.ts';
import { isAllowed } from '../support/iam.ts';
import {
  gatewayCalls,
  invokeFunction,
  manifestOf,
  readRolePolicy,
  stackClients,
  stackEnv,
  uniqueProjectId,
  uploadAndWait,
  uploadManifest,
  waitForUpload,
} from '../support/stack.ts';

const ACCOUNT = '123456789012';
const roleArn = (projectId: string) => `arn:aws:iam::${ACCOUNT}:role/neptune/neptune-${projectId}`;

/** Everything an upload could change, to compare before and after. */
async function snapshot(projectId: string) {
  const { secretsManager, store } = stackClients();
  const view = await store.readProject(projectId);
  const secrets = await Promise.all(
    view.secrets.map(async (record) => {
      const described = await secretsManager.send(new DescribeSecretCommand({ SecretId: record.aws_id }));
      const versions = await secretsManager.send(new ListSecretVersionIdsCommand({ SecretId: record.aws_id, IncludeDeprecated: true }));
      return { name: record.aws_id, arn: described.ARN, deleted: described.DeletedDate?.toISOString(), versions: versions.Versions?.length ?? 0 };
    }),
  );
  const records = view.secrets.map(({ updated_at: _updatedAt, execution: _execution, ...rest }) => rest);
  return { records, secrets, policy: await readRolePolicy(`neptune-${projectId}`) };
}

describe('provisioning an uploaded manifest', () => {
  it('makes every declared secret Available, tagged and readable by the service role', async () => {
    const projectId = uniqueProjectId('prov');
    const names = ['STRIPE_API_KEY', 'DATABASE_URL'];

    const view = await uploadAndWait(projectId, manifestOf(names));

    expect(view.project?.status).toBe('Available');
    expect(view.project?.name).toBe('my-app');
    const { Role: role } = await stackClients().iam.send(new GetRoleCommand({ RoleName: `neptune-${projectId}` }));
    expect(role?.Path).toBe('/neptune/');
    // serverless.yml sets NEPTUNE_ROLE_PERMISSIONS_BOUNDARY to the stack's boundary policy.
    expect(role?.PermissionsBoundary?.PermissionsBoundaryArn).toMatch(/^arn:aws:iam::\d{12}:policy\/.+/);
    expect(decodeURIComponent(role?.AssumeRolePolicyDocument as string)).toContain('sts:AssumeRole');
    expect(view.secrets.map((secret) => secret.name).sort()).toEqual([...names].sort());
    const policy = await readRolePolicy(`neptune-${projectId}`);
    for (const secret of view.secrets) {
      expect(secret).toMatchObject({ kind: 'Secret', status: 'Available', aws_id: physicalName(projectId, secret.name) });
      const described = await stackClients().secretsManager.send(new DescribeSecretCommand({ SecretId: secret.aws_id }));
      expect(described.ARN).toBe(secret.arn);
      const tags = Object.fromEntries((described.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
      expect(tags[TAG_PROJECT]).toBe(projectId);
      expect(tags[TAG_NAME]).toBe(secret.name);
      expect(await isAllowed([policy], { principal: roleArn(projectId), action: 'secretsmanager:GetSecretValue', resource: secret.arn as string })).toBe(true);
    }
  });

  it('denies each role the secrets of another project', async () => {
    const first = uniqueProjectId('iso');
    const second = `${first}x`;

    const firstView = await uploadAndWait(first, manifestOf(['SHARED_NAME']));
    const secondView = await uploadAndWait(second, manifestOf(['SHARED_NAME']));

    const firstPolicy = await readRolePolicy(`neptune-${first}`);
    const secondArn = secondView.secrets[0]?.arn as string;
    const firstArn = firstView.secrets[0]?.arn as string;
    expect(await isAllowed([firstPolicy], { principal: roleArn(first), action: 'secretsmanager:GetSecretValue', resource: secondArn })).toBe(false);
    expect(await isAllowed([firstPolicy], { principal: roleArn(first), action: 'secretsmanager:GetSecretValue', resource: firstArn })).toBe(true);
  });

  it('changes nothing when the same manifest is uploaded again', async () => {
    const projectId = uniqueProjectId('same');
    const manifest = manifestOf(['A_KEY', 'B_KEY', 'C_KEY']);
    await uploadAndWait(projectId, manifest);
    const before = await snapshot(projectId);
    const callsBefore = await gatewayCalls();

    await uploadAndWait(projectId, manifest);

    expect(await snapshot(projectId)).toEqual(before);
    const callsAfter = await gatewayCalls();
    for (const operation of ['CreateSecret', 'PutSecretValue', 'DeleteSecret', 'RestoreSecret', 'TagResource']) {
      expect(countOf(callsAfter, `secretsmanager:${operation}`), operation).toBe(countOf(callsBefore, `secretsmanager:${operation}`));
    }
    for (const operation of ['PutRolePolicy', 'DeleteRolePolicy', 'CreateRole']) {
      expect(countOf(callsAfter, `iam:${operation}`), operation).toBe(countOf(callsBefore, `iam:${operation}`));
    }
  });

  it('adopts an existing secret with our tags and leaves its value untouched', async () => {
    const projectId = uniqueProjectId('adopt');
    const name = physicalName(projectId, 'LEGACY_TOKEN');
    await stackClients().secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: 'kept-value',
        Tags: [{ Key: TAG_PROJECT, Value: projectId }, { Key: TAG_NAME, Value: 'LEGACY_TOKEN' }],
      }),
    );

    const view = await uploadAndWait(projectId, manifestOf(['LEGACY_TOKEN']));

    expect(view.secrets[0]).toMatchObject({ name: 'LEGACY_TOKEN', status: 'Available' });
    const value = await stackClients().secretsManager.send(new GetSecretValueCommand({ SecretId: name }));
    expect(value.SecretString).toBe('kept-value');
  });

  it('records a conflict for a secret that Neptune did not create, and never touches it', async () => {
    const projectId = uniqueProjectId('conf');
    const name = physicalName(projectId, 'TAKEN');
    await stackClients().secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: 'not-ours' }));

    const view = await uploadAndWait(projectId, manifestOf(['TAKEN', 'FREE']));

    const taken = view.secrets.find((secret) => secret.name === 'TAKEN');
    const free = view.secrets.find((secret) => secret.name === 'FREE');
    expect(taken).toMatchObject({ status: 'Failed', error_code: 'SecretConflict' });
    expect(taken?.arn).toBeUndefined();
    expect(taken?.error_message).toContain(name);
    expect(free?.status).toBe('Available');
    expect(view.project?.status).toBe('Failed');
    const value = await stackClients().secretsManager.send(new GetSecretValueCommand({ SecretId: name }));
    expect(value.SecretString).toBe('not-ours');
    const described = await stackClients().secretsManager.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.Tags ?? []).toEqual([]);
    const policy = JSON.stringify(await readRolePolicy(`neptune-${projectId}`));
    expect(policy).not.toContain(name);
  });

  it(`accepts ${MAX_SECRETS_PER_MANIFEST} secrets and rejects one more`, async () => {
    const projectId = uniqueProjectId('max');
    const names = Array.from({ length: MAX_SECRETS_PER_MANIFEST }, (_, index) => `S${index}`);

    const accepted = await uploadAndWait(projectId, manifestOf(names));
    const rejected = await uploadAndWait(projectId, manifestOf([...names, 'ONE_MORE']));

    expect(accepted.secrets.filter((secret) => secret.name !== 'ONE_MORE')).toHaveLength(MAX_SECRETS_PER_MANIFEST);
    // The policy of 1,000 ARNs is over IAM's inline quota, so the grant fails and is recorded.
    expect(accepted.project?.status).toBe('Failed');
    expect(accepted.project?.errors?.[0]?.code).toBe('PolicyTooLarge');
    expect(rejected.project?.last_rejection?.errors[0]).toMatchObject({ path: '$.resources', code: 'ManifestInvalid' });
    expect(rejected.project?.last_rejection?.errors[0]?.message).toContain(`at most ${MAX_SECRETS_PER_MANIFEST}`);
    expect(rejected.secrets.find((secret) => secret.name === 'ONE_MORE')).toBeUndefined();
    expect(await largestStatePayload(projectId)).toBeLessThan(64 * 1024);
  }, 300_000);

  it('records RoleNotFound when the role is missing and role creation is off', async () => {
    const projectId = uniqueProjectId('norole');
    const role = { roleName: `neptune-${projectId}`, rolePath: '/neptune/', createRoles: false, trustPolicy: '{}' };

    const attempt = grantSecrets(stackClients().iam, projectId, [`arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:neptune-${projectId}-A-abcdef`], role, { region: 'us-east-1' });

    await expect(attempt).rejects.toBeInstanceOf(RoleNotFoundError);
    await expect(attempt).rejects.toThrow(/NEPTUNE_CREATE_ROLES=false/);
    expect(await readRolePolicy(role.roleName)).toBeUndefined();
  });
});

describe('bad manifests', () => {
  const valid = manifestOf(['KEEP_ME']);
  const resource = (entry: unknown) => JSON.stringify({ kind: 'Service', name: 'my-app', resources: [entry] });
  const cases: Array<[string, string | Uint8Array, string]> = [
    ['an empty file', '', '$'],
    ['text that is not JSON', 'this is not json', '$'],
    ['a trailing comma', '{"kind":"Service","name":"my-app","resources":[{"kind":"Secret","name":"A"},]}', '$.resources'],
    ['resources missing', '{"kind":"Service","name":"my-app"}', '$.resources'],
    ['a resource without name', resource({ kind: 'Secret' }), '$.resources[0].name'],
    ['kind "secret"', resource({ kind: 'secret', name: 'A' }), '$.resources[0].kind'],
    ['another kind', resource({ kind: 'Database', name: 'A' }), '$.resources[0].kind'],
    ['a name with a space', resource({ kind: 'Secret', name: 'MY KEY' }), '$.resources[0].name'],
    ['a name with an é', resource({ kind: 'Secret', name: 'CLÉ' }), '$.resources[0].name'],
    ['a name with a colon', resource({ kind: 'Secret', name: 'A:B' }), '$.resources[0].name'],
    ['a name of 600 characters', resource({ kind: 'Secret', name: 'A'.repeat(600) }), '$.resources[0].name'],
    ['two entries with the same name', manifestOf(['KEEP_ME', 'KEEP_ME']), '$.resources[1].name'],
    ['two names differing only in case', manifestOf(['KEEP_ME', 'keep_me']), '$.resources[1].name'],
    ['a manifest of several megabytes', ' '.repeat(3 * 1024 * 1024) + valid, '$'],
  ];

  it.each(cases)('rejects %s with a recorded error and changes nothing', async (_label, body, path) => {
    const projectId = uniqueProjectId('bad');
    await uploadAndWait(projectId, valid);
    const before = await snapshot(projectId);

    const view = await uploadAndWait(projectId, body);

    const rejection = view.project?.last_rejection;
    expect(rejection?.errors.length).toBeGreaterThan(0);
    if (typeof body === 'string' && body.length > 1024 * 1024) {
      expect(rejection?.errors[0]?.code).toBe('ManifestTooLarge');
    } else {
      expect(rejection?.errors.map((error) => error.path)).toContain(path);
    }
    expect(view.project?.status).toBe('Available');
    expect(await snapshot(projectId)).toEqual(before);
  });

  it('records a first upload that is invalid as an Invalid project with no secrets', async () => {
    const projectId = uniqueProjectId('first');

    const view = await uploadAndWait(projectId, '{"kind":"Service","name":"x","resources":[}');

    expect(view.project?.status).toBe('Invalid');
    expect(view.project?.errors?.[0]?.message).toMatch(/line 1, column \d+/);
    expect(view.secrets).toEqual([]);
    expect(await readRolePolicy(`neptune-${projectId}`)).toBeUndefined();
  });
});

describe('the trigger', () => {
  const s3Event = (bucket: string, key: string, extra: Record<string, unknown> = {}) => ({
    Records: [
      {
        eventName: 'ObjectCreated:Put',
        eventTime: new Date().toISOString(),
        s3: { bucket: { name: bucket }, object: { key, size: 10, eTag: 'abc', ...extra } },
      },
    ],
  });

  async function executionsOf(projectId: string) {
    const response = await stackClients().stepFunctions.send(
      new ListExecutionsCommand({ stateMachineArn: stackEnv().NEPTUNE_STATE_MACHINE_ARN, maxResults: 1000 }),
    );
    return (response.executions ?? []).filter((execution) => execution.name?.startsWith(`${projectId}-`));
  }

  it('starts one execution for a duplicate delivery of the same event', async () => {
    const projectId = uniqueProjectId('dup');
    const version = await uploadManifest(projectId, manifestOf(['ONCE']));
    await waitForUpload(projectId, version);
    // An event as AWS sends it, with a sequencer. The real upload did not use this version id,
    // so the event starts an execution of its own the first time.
    const event = s3Event(stackEnv().NEPTUNE_BUCKET as string, manifestKey(projectId), {
      versionId: `${version}-redelivered`,
      sequencer: '0055AED6DCD90281E5',
    });

    const first = await invokeFunction('NEPTUNE_FUNCTION_TRIGGER', event);
    const second = await invokeFunction('NEPTUNE_FUNCTION_TRIGGER', event);

    expect(first.error).toBeUndefined();
    expect(second.error).toBeUndefined();
    // Step Functions returns the running execution for a repeated start, and rejects a repeated
    // start of a finished one. Either way the second delivery starts nothing new.
    const firstStarted = (first.result as { started: string[] }).started;
    const secondStarted = (second.result as { started: string[] }).started;
    expect(firstStarted).toHaveLength(1);
    expect(secondStarted.filter((name) => !firstStarted.includes(name))).toEqual([]);
    // One from the real upload's notification, one from the event sent twice by hand.
    expect(await executionsOf(projectId)).toHaveLength(2);
  });

  it('starts nothing for other keys, folder placeholders and test events', async () => {
    const projectId = uniqueProjectId('skip');
    const bucket = stackEnv().NEPTUNE_BUCKET as string;
    const events = [
      s3Event(bucket, `${projectId}/`),
      s3Event(bucket, `${projectId}/other.json`),
      s3Event(bucket, `${projectId}/nested/neptune.json`),
      { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucket },
    ];

    for (const event of events) {
      const response = await invokeFunction('NEPTUNE_FUNCTION_TRIGGER', event);
      expect(response.error).toBeUndefined();
      expect((response.result as { started: string[] }).started).toEqual([]);
    }
    expect(await executionsOf(projectId)).toEqual([]);
  });

  it('decodes URL-encoded keys', async () => {
    const projectId = uniqueProjectId('enc');
    await uploadManifest(projectId, manifestOf(['ENCODED']));

    const response = await invokeFunction('NEPTUNE_FUNCTION_TRIGGER', s3Event(stackEnv().NEPTUNE_BUCKET as string, `${projectId}%2Fneptune.json`, { versionId: 'v-encoded' }));

    expect((response.result as { started: string[] }).started).toHaveLength(1);
  });
});

/** Measures the largest input or output, in bytes, of any state of the project's executions. */
async function largestStatePayload(projectId: string): Promise<number> {
  const { stepFunctions } = stackClients();
  const listed = await stepFunctions.send(new ListExecutionsCommand({ stateMachineArn: stackEnv().NEPTUNE_STATE_MACHINE_ARN, maxResults: 1000 }));
  let largest = 0;
  for (const execution of (listed.executions ?? []).filter((candidate) => candidate.name?.startsWith(`${projectId}-`))) {
    const history = await stepFunctions.send(new GetExecutionHistoryCommand({ executionArn: execution.executionArn, maxResults: 1000 }));
    for (const event of history.events ?? []) {
      const payloads = [event.stateEnteredEventDetails?.input, event.stateExitedEventDetails?.output];
      for (const payload of payloads) largest = Math.max(largest, Buffer.byteLength(payload ?? ''));
    }
  }
  expect(largest).toBeGreaterThan(0);
  return largest;
}

function countOf(calls: Record<string, number>, key: string): number {
  return calls[key] ?? 0;
}
