import { randomUUID } from 'node:crypto';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { handler as setValueHandler } from '../../functions/set-value/handler.ts';
import { setAwsClients } from '../../shared/clients.ts';
import { physicalName, statusSortKey } from '../../shared/naming.ts';
import { MAX_SECRET_VALUE_BYTES } from '../../shared/secret-value.ts';
import {
  clientConfig,
  invokeFunction,
  manifestOf,
  stackClients,
  stackEnv,
  uniqueProjectId,
  uploadAndWait,
  uploadManifest,
  waitForUpload,
} from '../support/stack.ts';
import { testLambdaContext } from '../support/lambda-context.ts';

const SET_VALUE = 'NEPTUNE_SET_VALUE_FUNCTION';

async function setValue(payload: unknown) {
  return invokeFunction(SET_VALUE, payload);
}

/** Reads the secret's value, versions and status record, to show that a rejected request changed nothing. */
async function snapshot(projectId: string, logicalName: string) {
  const { secretsManager, store } = stackClients();
  const name = physicalName(projectId, logicalName);
  const view = await store.readProject(projectId);
  let versions: string[] = [];
  let value: string | undefined;
  try {
    const listed = await secretsManager.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
    versions = (listed.Versions ?? []).map((version) => `${version.VersionId}:${(version.VersionStages ?? []).join(',')}`).sort();
    value = (await secretsManager.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
  } catch (error) {
    // A secret scheduled for deletion still lists its versions, but its value cannot be read.
    if ((error as Error).name !== 'ResourceNotFoundException' && (error as Error).name !== 'InvalidRequestException') throw error;
  }
  return { versions, value, project: view.project, secrets: view.secrets };
}

async function currentValue(projectId: string, logicalName: string) {
  const response = await stackClients().secretsManager.send(new GetSecretValueCommand({ SecretId: physicalName(projectId, logicalName) }));
  return { value: response.SecretString, versionId: response.VersionId };
}

async function secretRecord(projectId: string, logicalName: string) {
  const view = await stackClients().store.readProject(projectId);
  return view.secrets.find((secret) => secret.name === logicalName);
}

/** Clients like the deployed function's, except that they record each call's client and command. */
function countingClients(calls: string[]) {
  const config = clientConfig();
  const secretsManager = new SecretsManagerClient(config);
  secretsManager.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(`${context.clientName}:${context.commandName}`);
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(`${context.clientName}:${context.commandName}`);
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return {
    s3: new S3Client({ ...config, forcePathStyle: true }),
    secretsManager,
    iam: new IAMClient(config),
    dynamo,
    stepFunctions: new SFNClient(config),
  };
}

describe('set-value', () => {
  let projectId: string;

  beforeAll(async () => {
    projectId = uniqueProjectId('sv');
    const view = await uploadAndWait(projectId, manifestOf(['API_KEY', 'BIG_VALUE', 'JSON_LIKE', 'NUMBER_LIKE', 'RACED', 'RETRIED', 'UNTOUCHED']));
    expect(view.secrets.every((secret) => secret.status === 'Available')).toBe(true);
  });

  it('stores the value and flags the secret and project for a redeploy', async () => {
    const value = `sk_test_${randomUUID()}`;

    const { result, error } = await setValue({ project: projectId, name: 'API_KEY', value });

    expect(error).toBeUndefined();
    const stored = await currentValue(projectId, 'API_KEY');
    expect(stored.value).toBe(value);
    expect(result).toEqual({
      project: projectId,
      name: 'API_KEY',
      aws_id: physicalName(projectId, 'API_KEY'),
      version_id: stored.versionId,
      redeploy_required: true,
    });
    const view = await stackClients().store.readProject(projectId);
    const record = view.secrets.find((secret) => secret.name === 'API_KEY');
    expect(record?.value_version).toBe(stored.versionId);
    expect(record?.redeploy_required).toBe(true);
    expect(Date.parse(record?.value_set_at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(record?.value_lock_owner).toBeUndefined();
    expect(record?.status).toBe('Available');
    expect(view.project?.redeploy_required).toBe(true);
    expect(view.project?.value_set_at).toBe(record?.value_set_at);
  });

  it('stores a value of exactly 65,536 bytes byte for byte', async () => {
    const value = `€${'x'.repeat(MAX_SECRET_VALUE_BYTES - 3)}`;

    const { error } = await setValue({ project: projectId, name: 'BIG_VALUE', value });

    expect(Buffer.byteLength(value, 'utf8')).toBe(MAX_SECRET_VALUE_BYTES);
    expect(error).toBeUndefined();
    expect((await currentValue(projectId, 'BIG_VALUE')).value).toBe(value);
  });

  it('stores strings that look like JSON or a number unchanged', async () => {
    const json = '{"amount": 497017065025001729471, "nested": [null, true]}';
    const number = '497017065025001729471';

    const jsonResult = await setValue({ project: projectId, name: 'JSON_LIKE', value: json });
    const numberResult = await setValue({ project: projectId, name: 'NUMBER_LIKE', value: number });

    expect(jsonResult.error).toBeUndefined();
    expect(numberResult.error).toBeUndefined();
    expect((await currentValue(projectId, 'JSON_LIKE')).value).toBe(json);
    expect((await currentValue(projectId, 'NUMBER_LIKE')).value).toBe(number);
  });

  describe('rejects a bad request and changes nothing', () => {
    const cases: Array<[string, (project: string) => unknown, string]> = [
      ['missing fields', () => ({}), '"project" is required'],
      ['a missing value', (project) => ({ project, name: 'UNTOUCHED' }), '"value" is required'],
      ['a misspelled field', (project) => ({ project, name: 'UNTOUCHED', valeu: 'x' }), 'unknown field "valeu"'],
      ['a misspelled project field', (project) => ({ projcet: project, name: 'UNTOUCHED', value: 'x' }), 'unknown field "projcet"'],
      ['a null value', (project) => ({ project, name: 'UNTOUCHED', value: null }), '"value" must be a JSON string, not null'],
      ['a number value', (project) => ({ project, name: 'UNTOUCHED', value: 497017065025001729471 }), 'not a number'],
      ['an object value', (project) => ({ project, name: 'UNTOUCHED', value: { key: 'x' } }), 'not an object'],
      ['an empty string', (project) => ({ project, name: 'UNTOUCHED', value: '' }), '"value" must not be an empty string'],
      ['65,537 ASCII bytes', (project) => ({ project, name: 'UNTOUCHED', value: 'a'.repeat(65_537) }), 'is 65537 bytes in UTF-8'],
      ['21,846 euro signs (65,538 bytes)', (project) => ({ project, name: 'UNTOUCHED', value: '€'.repeat(21_846) }), 'is 65538 bytes in UTF-8'],
      ['a name not in the manifest', (project) => ({ project, name: 'NOT_DECLARED', value: 'x' }), 'add {"kind": "Secret", "name": "NOT_DECLARED"}'],
      ['an invalid project id', () => ({ project: 'Bad-Project', name: 'UNTOUCHED', value: 'x' }), '"project" may contain only lowercase'],
    ];

    for (const [label, payload, expected] of cases) {
      it(`rejects ${label}`, async () => {
        const before = await snapshot(projectId, 'UNTOUCHED');

        const { result, error } = await setValue(payload(projectId));

        expect(result).toBeUndefined();
        expect(error?.errorMessage).toContain(expected);
        expect(await snapshot(projectId, 'UNTOUCHED')).toEqual(before);
      });
    }

    it('rejects an unknown project', async () => {
      const unknown = uniqueProjectId('svnone');

      const { error } = await setValue({ project: unknown, name: 'API_KEY', value: 'x' });

      expect(error?.errorType).toBe('NotProvisionedError');
      expect(error?.errorMessage).toBe(`project ${unknown} is unknown; upload ${unknown}/neptune.json that declares API_KEY first`);
      expect((await stackClients().store.readProject(unknown)).project).toBeUndefined();
    });
  });

  it('rejects a secret whose provisioning failed and names the error', async () => {
    const failedProject = uniqueProjectId('svfail');
    await stackClients().secretsManager.send(new CreateSecretCommand({ Name: physicalName(failedProject, 'TAKEN'), SecretString: 'not-ours' }));
    await uploadAndWait(failedProject, manifestOf(['TAKEN']));
    const before = await snapshot(failedProject, 'TAKEN');

    const { error } = await setValue({ project: failedProject, name: 'TAKEN', value: 'x' });

    expect(before.secrets[0]?.status).toBe('Failed');
    expect(error?.errorType).toBe('NotProvisionedError');
    expect(error?.errorMessage).toContain('failed to provision with SecretConflict');
    expect(error?.errorMessage).toContain(`upload ${failedProject}/neptune.json again`);
    expect(await snapshot(failedProject, 'TAKEN')).toEqual(before);
  });

  it('rejects a secret that was removed and is scheduled for deletion', async () => {
    const removedProject = uniqueProjectId('svdel');
    await uploadAndWait(removedProject, manifestOf(['KEPT', 'REMOVED']));
    const view = await uploadAndWait(removedProject, manifestOf(['KEPT']));
    const removed = view.secrets.find((secret) => secret.name === 'REMOVED');
    const before = await snapshot(removedProject, 'REMOVED');

    const { error } = await setValue({ project: removedProject, name: 'REMOVED', value: 'x' });

    expect(removed?.status).toBe('PendingDeletion');
    expect(error?.errorMessage).toContain(`scheduled for deletion on ${removed?.deletion_date}`);
    expect(error?.errorMessage).toContain('add it back and upload');
    expect(await snapshot(removedProject, 'REMOVED')).toEqual(before);
  });

  it('asks to wait for a secret that is still being provisioned', async () => {
    // Seeded directly, because a real run leaves the Provisioning status within milliseconds.
    const seededProject = uniqueProjectId('svprov');
    const { dynamo } = stackClients();
    const table = stackEnv().NEPTUNE_TABLE;
    await dynamo.send(new PutCommand({ TableName: table, Item: { project_id: seededProject, record_key: 'project', kind: 'Service', status: 'Provisioning' } }));
    await dynamo.send(
      new PutCommand({
        TableName: table,
        Item: { project_id: seededProject, record_key: statusSortKey('NEW_KEY'), kind: 'Secret', name: 'NEW_KEY', status: 'Provisioning', aws_id: physicalName(seededProject, 'NEW_KEY') },
      }),
    );

    const { error } = await setValue({ project: seededProject, name: 'NEW_KEY', value: 'x' });

    expect(error?.errorType).toBe('NotProvisionedError');
    expect(error?.errorMessage).toContain('wait for the running provisioning to finish');
    expect((await secretRecord(seededProject, 'NEW_KEY'))?.value_lock_owner).toBeUndefined();
  });

  it('creates one version when a request is retried with the same request_id', async () => {
    const requestId = randomUUID();
    const payload = { project: projectId, name: 'RETRIED', value: `retried-${requestId}`, request_id: requestId };

    const first = await setValue(payload);
    const recordAfterFirst = await secretRecord(projectId, 'RETRIED');
    const second = await setValue(payload);

    const versions = await stackClients().secretsManager.send(
      new ListSecretVersionIdsCommand({ SecretId: physicalName(projectId, 'RETRIED'), IncludeDeprecated: true }),
    );
    expect(first.error).toBeUndefined();
    expect(second.result).toEqual(first.result);
    expect(versions.Versions).toHaveLength(1);
    expect(await secretRecord(projectId, 'RETRIED')).toEqual(recordAfterFirst);
  });

  it('reports a retried request as superseded when a newer value became current', async () => {
    const requestId = randomUUID();
    const older = { project: projectId, name: 'RETRIED', value: 'older', request_id: requestId };
    await setValue(older);
    const newer = await setValue({ project: projectId, name: 'RETRIED', value: 'newer' });

    const retried = await setValue(older);

    const current = await currentValue(projectId, 'RETRIED');
    expect(retried.result).toMatchObject({ superseded: true });
    expect(retried.result).not.toMatchObject({ version_id: current.versionId });
    expect(current.value).toBe('newer');
    expect((await secretRecord(projectId, 'RETRIED'))?.value_version).toBe((newer.result as { version_id: string }).version_id);
  });

  it('rejects a request_id reused for a different value', async () => {
    const requestId = randomUUID();
    await setValue({ project: projectId, name: 'RETRIED', value: 'first', request_id: requestId });
    const before = await snapshot(projectId, 'RETRIED');

    const { error } = await setValue({ project: projectId, name: 'RETRIED', value: 'second', request_id: requestId });

    expect(error?.errorType).toBe('RequestInvalidError');
    expect(error?.errorMessage).toContain('"request_id" was already used to set a different value of RETRIED');
    expect(await snapshot(projectId, 'RETRIED')).toEqual(before);
  });

  it('lets racing requests all succeed and records the AWSCURRENT version', async () => {
    const values = Array.from({ length: 5 }, (_, index) => `racer-${index}-${randomUUID()}`);

    const outcomes = await Promise.all(values.map((value) => setValue({ project: projectId, name: 'RACED', value })));

    expect(outcomes.map((outcome) => outcome.error)).toEqual(values.map(() => undefined));
    const described = await stackClients().secretsManager.send(new DescribeSecretCommand({ SecretId: physicalName(projectId, 'RACED') }));
    const currentVersion = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    const record = await secretRecord(projectId, 'RACED');
    expect(record?.value_version).toBe(currentVersion);
    expect(record?.value_lock_owner).toBeUndefined();
    expect(values).toContain((await currentValue(projectId, 'RACED')).value);
  });

  it('makes at most 3 AWS calls when uncontended', async () => {
    const calls: string[] = [];
    Object.assign(process.env, stackEnv());
    setAwsClients(countingClients(calls));

    const result = await setValueHandler({ project: projectId, name: 'API_KEY', value: `counted-${randomUUID()}` }, testLambdaContext());

    expect(result.redeploy_required).toBe(true);
    expect(calls).toEqual([
      'DynamoDBClient:UpdateItemCommand',
      'SecretsManagerClient:PutSecretValueCommand',
      'DynamoDBClient:TransactWriteItemsCommand',
    ]);
  });

  afterAll(() => setAwsClients(undefined));
});

describe('set-value and provisioning', () => {
  it('keeps the value fields when a later provisioning run writes status', async () => {
    const projectId = uniqueProjectId('svkeep');
    await uploadAndWait(projectId, manifestOf(['API_KEY']));
    const set = await setValue({ project: projectId, name: 'API_KEY', value: 'kept' });
    const before = await secretRecord(projectId, 'API_KEY');

    const view = await uploadAndWait(projectId, manifestOf(['API_KEY', 'ADDED_KEY']));
    const { store } = stackClients();
    await store.acquireLease(projectId, 'svkeep-test-execution');
    await store.writeSecrets(
      projectId,
      'svkeep-test-execution',
      [{ name: 'API_KEY', status: 'Available', awsId: before?.aws_id as string, arn: before?.arn }],
      (await store.readProject(projectId)).secrets,
    );
    await store.writeProject(projectId, 'svkeep-test-execution', { status: 'Available' }, { release: true });

    const after = await secretRecord(projectId, 'API_KEY');
    expect(set.error).toBeUndefined();
    expect(view.secrets.map((secret) => secret.name).sort()).toEqual(['ADDED_KEY', 'API_KEY']);
    expect(after).toMatchObject({
      status: 'Available',
      value_version: before?.value_version,
      value_set_at: before?.value_set_at,
      redeploy_required: true,
    });
    const project = (await store.readProject(projectId)).project;
    expect(project?.redeploy_required).toBe(true);
    expect(project?.value_set_count).toBe(1);
  });

  it('sets values safely while the workflow provisions the same project again', async () => {
    const projectId = uniqueProjectId('svrace');
    await uploadAndWait(projectId, manifestOf(['API_KEY']));
    const values = Array.from({ length: 4 }, (_, index) => `during-${index}`);

    const version = await uploadManifest(projectId, manifestOf(['API_KEY', 'SECOND_KEY', 'THIRD_KEY']));
    const outcomes = [];
    for (const value of values) outcomes.push(await setValue({ project: projectId, name: 'API_KEY', value }));
    const view = await waitForUpload(projectId, version);

    expect(outcomes.map((outcome) => outcome.error)).toEqual(values.map(() => undefined));
    const record = view.secrets.find((secret) => secret.name === 'API_KEY');
    const current = await currentValue(projectId, 'API_KEY');
    expect(view.project?.status).toBe('Available');
    expect(record?.status).toBe('Available');
    expect(current.value).toBe('during-3');
    expect(record?.value_version).toBe(current.versionId);
    expect(record?.redeploy_required).toBe(true);
  });
});
