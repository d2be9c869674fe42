import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  paginateListSecrets,
  RestoreSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

import { describeFailure } from './errors.ts';
import { parsePhysicalName, PHYSICAL_NAME_PREFIX } from './naming.ts';
import { decideDeclared, secretTags, type ObservedSecret, type SecretAction } from './secret-plan.ts';
import type { SecretStatusUpdate } from './status-store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SecretsSettings {
  recoveryWindowDays: number;
  kmsKeyId?: string;
}

/** The result of one action: the status to record, or none when the record is already right. */
export interface SecretOutcome {
  logicalName: string;
  action: SecretAction['type'];
  update?: SecretStatusUpdate;
  /** True when the action wrote to Secrets Manager. */
  wrote: boolean;
}

/**
 * Lists the secrets, live or scheduled for deletion, whose names belong to the project. The name
 * filter (a case-sensitive prefix) only narrows the listing. Each name is then checked exactly,
 * so the list never contains another project's secret.
 */
export async function listProjectSecrets(client: SecretsManagerClient, projectId: string): Promise<ObservedSecret[]> {
  const observed: ObservedSecret[] = [];
  const pages = paginateListSecrets(
    { client, pageSize: 100 },
    { IncludePlannedDeletion: true, Filters: [{ Key: 'name', Values: [`${PHYSICAL_NAME_PREFIX}${projectId}-`] }] },
  );
  for await (const page of pages) {
    for (const entry of page.SecretList ?? []) {
      if (!entry.Name || !entry.ARN || parsePhysicalName(entry.Name)?.projectId !== projectId) continue;
      observed.push({
        name: entry.Name,
        arn: entry.ARN,
        tags: Object.fromEntries((entry.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
        deletedDate: entry.DeletedDate,
      });
    }
  }
  return observed;
}

/** Carries out one planned action. Never throws: a failure becomes a Failed status. */
export async function applySecretAction(
  client: SecretsManagerClient,
  projectId: string,
  action: SecretAction,
  settings: SecretsSettings,
): Promise<SecretOutcome> {
  try {
    return await apply(client, projectId, action, settings);
  } catch (error) {
    const { code, message } = describeFailure(error);
    return {
      logicalName: action.logicalName,
      action: action.type,
      wrote: false,
      update: { name: action.logicalName, status: 'Failed', awsId: action.physicalName, errorCode: code, errorMessage: message },
    };
  }
}

async function apply(
  client: SecretsManagerClient,
  projectId: string,
  action: SecretAction,
  settings: SecretsSettings,
): Promise<SecretOutcome> {
  const { logicalName, physicalName } = action;
  const outcome = (update: SecretStatusUpdate | undefined, wrote: boolean): SecretOutcome => ({
    logicalName,
    action: action.type,
    update,
    wrote,
  });

  switch (action.type) {
    case 'keep':
      if (action.statusCurrent) return outcome(undefined, false);
      return outcome({ name: logicalName, status: 'Provisioning', awsId: physicalName, arn: action.arn }, false);

    case 'restore': {
      try {
        await client.send(new RestoreSecretCommand({ SecretId: action.arn }));
      } catch (error) {
        // An earlier attempt whose response was lost may have restored it already.
        if ((error as Error).name !== 'InvalidRequestException' || (await describe(client, action.arn)).deletedDate) throw error;
      }
      return outcome({ name: logicalName, status: 'Provisioning', awsId: physicalName, arn: action.arn }, true);
    }

    case 'conflict':
      return outcome(
        {
          name: logicalName,
          status: 'Failed',
          awsId: physicalName,
          errorCode: 'SecretConflict',
          errorMessage: `a secret named ${physicalName} already exists and was not created by Neptune for project ${projectId}; Neptune leaves it untouched. Delete or rename that secret, or choose another name in neptune.json`,
        },
        false,
      );

    case 'delete': {
      let deletionDate: Date;
      try {
        const response = await client.send(
          new DeleteSecretCommand({ SecretId: action.arn, RecoveryWindowInDays: settings.recoveryWindowDays }),
        );
        deletionDate = response.DeletionDate ?? new Date(Date.now() + settings.recoveryWindowDays * DAY_MS);
      } catch (error) {
        // An earlier attempt whose response was lost may have scheduled it already, and AWS then
        // rejects the repeat as InvalidRequestException.
        if ((error as Error).name !== 'InvalidRequestException') throw error;
        const deletedDate = (await describe(client, action.arn)).deletedDate;
        if (!deletedDate) throw error;
        deletionDate = new Date(deletedDate.getTime() + settings.recoveryWindowDays * DAY_MS);
      }
      return outcome(
        { name: logicalName, status: 'PendingDeletion', awsId: physicalName, arn: action.arn, deletionDate: deletionDate.toISOString() },
        true,
      );
    }

    case 'recordDeletion': {
      // NOTE: an estimate: the recovery window of the earlier request is not reported back, so the
      // current setting is assumed.
      const deletionDate = new Date(action.deletedDate.getTime() + settings.recoveryWindowDays * DAY_MS);
      return outcome(
        { name: logicalName, status: 'PendingDeletion', awsId: physicalName, arn: action.arn, deletionDate: deletionDate.toISOString() },
        false,
      );
    }

    case 'forget':
      return outcome({ name: logicalName, status: 'Failed', awsId: physicalName, forget: true }, false);

    case 'create':
      return create(client, projectId, logicalName, physicalName, settings);
  }
}

async function create(
  client: SecretsManagerClient,
  projectId: string,
  logicalName: string,
  physicalName: string,
  settings: SecretsSettings,
): Promise<SecretOutcome> {
  try {
    const response = await client.send(
      new CreateSecretCommand({
        Name: physicalName,
        Description: `Neptune secret ${logicalName} of project ${projectId}`,
        KmsKeyId: settings.kmsKeyId,
        Tags: secretTags(projectId, logicalName),
      }),
    );
    return {
      logicalName,
      action: 'create',
      wrote: true,
      update: { name: logicalName, status: 'Provisioning', awsId: physicalName, arn: response.ARN },
    };
  } catch (error) {
    // The listing missed a secret that exists: one created since, or one scheduled for deletion
    // (AWS reports that as InvalidRequestException, moto as ResourceExistsException). Describe
    // it and decide again; the second decision never creates, so this cannot loop.
    const name = (error as Error).name;
    if (name !== 'ResourceExistsException' && name !== 'InvalidRequestException') throw error;

    const observed = await describe(client, physicalName);
    const action = decideDeclared(projectId, logicalName, observed, undefined);
    return apply(client, projectId, action, settings);
  }
}

async function describe(client: SecretsManagerClient, secretId: string): Promise<ObservedSecret> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return {
    name: described.Name ?? secretId,
    arn: described.ARN ?? '',
    tags: Object.fromEntries((described.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
    deletedDate: described.DeletedDate,
  };
}
