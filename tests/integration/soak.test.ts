import { GetObjectCommand } from '@aws-sdk/client-s3';
import { paginateListSecrets } from '@aws-sdk/client-secrets-manager';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterAll, describe, expect, it } from 'vitest';

import { manifestKey } from '../../shared/naming.ts';
import { TAG_NAME, TAG_PROJECT } from '../../shared/secret-plan.ts';
import { manifestOf, readRolePolicy, setFaults, stackClients, stackEnv, uniqueProjectId, uploadManifest, waitForUpload } from '../support/stack.ts';

const PROJECTS = 50;
const SECRETS = 20;

/** A small seeded generator, so that a failing soak run can be repeated exactly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

afterAll(async () => {
  await setFaults([]);
});

describe('soak', () => {
  it('converges for 50 projects of 20 secrets under faults, overlap, removals and re-adds', async () => {
    const random = seededRandom(20261204);
    const allNames = Array.from({ length: SECRETS }, (_, index) => `SOAK_${String(index).padStart(2, '0')}`);
    const projects = Array.from({ length: PROJECTS }, (_, index) => `${uniqueProjectId('soak')}${index}`.slice(-32));
    const pickSubset = () => allNames.filter(() => random() < 0.7);
    const { secretsManager, store, s3 } = stackClients();
    // moto never throttles or fails; the gateway injects what AWS does under load.
    await setFaults([
      { service: 'secretsmanager', operation: 'CreateSecret', rate: 0.1, fault: 'throttle' },
      { service: 'secretsmanager', operation: 'ListSecrets', rate: 0.05, fault: 'server-error' },
      { service: 'secretsmanager', operation: 'DeleteSecret', rate: 0.1, fault: 'throttle' },
      { service: 'dynamodb', operation: 'UpdateItem', rate: 0.03, fault: 'server-error' },
      { service: 'iam', operation: 'PutRolePolicy', rate: 0.1, fault: 'throttle' },
      { service: 's3', operation: 'GetObject', rate: 0.05, fault: 'server-error' },
    ]);
    let uploads = 0;

    // Round 1: every project declares every secret; remember each secret's ARN.
    await Promise.all(
      projects.map(async (projectId) => {
        uploads++;
        return waitForUpload(projectId, await uploadManifest(projectId, manifestOf(allNames)), 300_000);
      }),
    );
    const firstArns = new Map<string, string>();
    for (const projectId of projects) {
      for (const secret of (await store.readProject(projectId)).secrets) firstArns.set(secret.aws_id, secret.arn as string);
    }

    // Rounds 2 to 4, without waiting: removals, re-adds and duplicate uploads, interleaved across
    // projects and overlapping within each project.
    const pending: Array<Promise<unknown>> = [];
    for (let round = 0; round < 3; round++) {
      for (const projectId of projects) {
        const names = round === 2 && random() < 0.3 ? allNames : pickSubset();
        const copies = random() < 0.3 ? 2 : 1;
        for (let copy = 0; copy < copies; copy++) {
          uploads++;
          pending.push(uploadManifest(projectId, manifestOf(names)));
        }
      }
    }
    await Promise.all(pending);
    // Uploads of one project race, so S3 decides which is the newest; read it back to know
    // what the project must end up with.
    const finalNames = new Map<string, string[]>();
    await Promise.all(
      projects.map(async (projectId) => {
        const newest = await s3.send(new GetObjectCommand({ Bucket: stackEnv().NEPTUNE_BUCKET, Key: manifestKey(projectId) }));
        const manifest = JSON.parse(await (newest.Body as { transformToString(): Promise<string> }).transformToString()) as {
          resources: Array<{ name: string }>;
        };
        finalNames.set(projectId, manifest.resources.map((resource) => resource.name));
        return waitForUpload(projectId, newest.VersionId as string, 300_000);
      }),
    );

    // Executions of older uploads may still be waiting for a project's lease; they change
    // nothing, but the checks below need them finished.
    await waitForNoRunningExecutions(projects);

    const mismatches: string[] = [];
    let liveSecrets = 0;
    let pendingDeletion = 0;
    for (const projectId of projects) {
      const expected = new Set(finalNames.get(projectId));
      const view = await store.readProject(projectId);

      const observed = [];
      const pages = paginateListSecrets(
        { client: secretsManager },
        { IncludePlannedDeletion: true, Filters: [{ Key: 'name', Values: [`neptune-${projectId}-`] }] },
      );
      for await (const page of pages) observed.push(...(page.SecretList ?? []));

      for (const secret of observed) {
        const tags = Object.fromEntries((secret.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
        const logicalName = tags[TAG_NAME] as string;
        if (tags[TAG_PROJECT] !== projectId) mismatches.push(`${secret.Name}: tagged for ${tags[TAG_PROJECT]}`);
        if (firstArns.get(secret.Name as string) !== secret.ARN) mismatches.push(`${secret.Name}: created again`);
        const live = secret.DeletedDate === undefined;
        if (live) liveSecrets++;
        else pendingDeletion++;
        if (live !== expected.has(logicalName)) mismatches.push(`${secret.Name}: live=${live}, declared=${expected.has(logicalName)}`);

        const record = view.secrets.find((candidate) => candidate.name === logicalName);
        const expectedStatus = expected.has(logicalName) ? 'Available' : 'PendingDeletion';
        if (record?.status !== expectedStatus) mismatches.push(`${secret.Name}: status ${record?.status}, expected ${expectedStatus}`);
      }
      if (observed.length !== SECRETS) mismatches.push(`${projectId}: ${observed.length} secrets, expected ${SECRETS}`);

      const policy = (await readRolePolicy(`neptune-${projectId}`)) as { Statement: Array<{ Resource: string[] }> } | undefined;
      const granted = (policy?.Statement[0]?.Resource ?? []).slice().sort();
      const wanted = [...expected].map((name) => firstArns.get(`neptune-${projectId}-${name}`)).sort();
      if (JSON.stringify(granted) !== JSON.stringify(wanted)) mismatches.push(`${projectId}: policy grants ${granted.length}, expected ${wanted.length}`);

      if (view.project?.lease_owner !== undefined) mismatches.push(`${projectId}: still leased`);
      if (view.project?.status !== 'Available') mismatches.push(`${projectId}: project status ${view.project?.status}`);
      if (view.secrets.some((secret) => secret.status === 'Provisioning')) mismatches.push(`${projectId}: a record is still Provisioning`);
    }

    const runningHere = await runningExecutions(projects);
    const faults = (await (await fetch(`${stackEnv().AWS_ENDPOINT_URL}/_neptune/faults`)).json()) as Array<{ injected: number }>;
    const injected = faults.reduce((sum, rule) => sum + rule.injected, 0);

    console.log(
      `soak: ${PROJECTS} projects, ${uploads} uploads, ${liveSecrets} live secrets, ${pendingDeletion} pending deletion, ` +
        `${injected} faults injected, ${runningHere.length} executions running, ${mismatches.length} mismatches`,
    );
    expect(mismatches).toEqual([]);
    expect(runningHere).toEqual([]);
    expect(injected).toBeGreaterThan(0);
  }, 900_000);
});

async function runningExecutions(projects: string[]) {
  const running = await stackClients().stepFunctions.send(
    new ListExecutionsCommand({ stateMachineArn: stackEnv().NEPTUNE_STATE_MACHINE_ARN, statusFilter: 'RUNNING', maxResults: 1000 }),
  );
  return (running.executions ?? []).filter((execution) => projects.some((projectId) => execution.name?.startsWith(`${projectId}-`)));
}

async function waitForNoRunningExecutions(projects: string[], timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await runningExecutions(projects)).length > 0) {
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

