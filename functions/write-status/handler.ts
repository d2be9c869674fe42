import { dynamoClient } from '../../shared/clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { createHandler } from '../../shared/handler.ts';
import { StatusStore, type ProjectError, type SecretStatusUpdate } from '../../shared/status-store.ts';
import { writeStatusStepSchema } from '../../shared/workflow.ts';

/**
 * Records the run's outcome, as the workflow's last step. A secret whose creation and grant both
 * succeeded becomes Available. If the grant failed, the secrets waiting for it become Failed with
 * the grant's error. Then the project record takes the applied manifest version and overall
 * status, and the lease is released.
 */
export const handler = createHandler(
  'write-status',
  writeStatusStepSchema,
  async (input, { logger }) => {
    const config = loadConfig();
    const store = new StatusStore(dynamoClient(), config.NEPTUNE_TABLE);
    // The read goes out together with the lease renewal; nothing is written before both return.
    const [, view] = await Promise.all([store.renewLease(input.projectId, input.execution), store.readProject(input.projectId)]);
    const grantFailed = input.policy.errorCode !== undefined;

    const updates: SecretStatusUpdate[] = view.secrets
      .filter((secret) => secret.status === 'Provisioning')
      .map((secret) =>
        grantFailed
          ? {
              name: secret.name,
              status: 'Failed',
              awsId: secret.aws_id,
              arn: secret.arn,
              errorCode: input.policy.errorCode,
              errorMessage: input.policy.errorMessage,
            }
          : { name: secret.name, status: 'Available', awsId: secret.aws_id, arn: secret.arn },
      );
    await store.writeSecrets(input.projectId, input.execution, updates, view.secrets);

    const updated = new Map(updates.map((update) => [update.name, update]));
    const summary = { available: 0, failed: 0, pendingDeletion: 0 };
    const errors: ProjectError[] = [];
    for (const secret of view.secrets) {
      const update = updated.get(secret.name);
      const status = update?.status ?? secret.status;
      if (status === 'Available') summary.available++;
      if (status === 'PendingDeletion') summary.pendingDeletion++;
      if (status === 'Failed') {
        summary.failed++;
        const code = update?.errorCode ?? secret.error_code ?? 'Failed';
        errors.push({ name: secret.name, code, message: update?.errorMessage ?? secret.error_message ?? '' });
      }
    }

    await store.writeProject(
      input.projectId,
      input.execution,
      {
        name: input.manifest.serviceName,
        status: summary.failed > 0 ? 'Failed' : 'Available',
        manifest_version: input.manifest.versionId ?? input.manifest.etag,
        manifest_etag: input.manifest.etag,
        secret_count: input.manifest.secretCount,
        errors,
        // This manifest is the newest upload (see load-manifest), so an older rejection is over.
        last_rejection: null,
      },
      { release: true },
    );
    logger.info('status written', { summary });
    return summary;
  },
  { logKeys: (input) => ({ projectId: input.projectId, execution: input.execution }) },
);
