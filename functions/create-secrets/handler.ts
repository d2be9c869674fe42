import { dynamoClient, s3Client, secretsManagerClient } from '../../shared/clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { mapWithConcurrency } from '../../shared/concurrency.ts';
import { createHandler } from '../../shared/handler.ts';
import { parseManifest } from '../../shared/manifest/parse.ts';
import { readAcceptedManifest } from '../../shared/manifest-source.ts';
import { planSecrets, type SecretAction } from '../../shared/secret-plan.ts';
import { applySecretAction, listProjectSecrets, type SecretOutcome } from '../../shared/secrets-manager.ts';
import { StatusStore } from '../../shared/status-store.ts';
import { manifestStepSchema } from '../../shared/workflow.ts';

/**
 * Secrets Manager allows 50 CreateSecret calls per second per account and region; 10 in flight
 * stays under that for one project while several projects run at once, and the SDK retries any
 * throttling that still occurs.
 */
const SECRET_CALLS_IN_FLIGHT = 10;

/**
 * Creates, adopts, restores and deletes the project's secrets so that they match the manifest,
 * and records each change as a status. Every action is safe to repeat, so a retried or crashed
 * attempt converges to the same result. A failing secret is recorded as Failed and does not stop
 * the others.
 */
export const handler = createHandler(
  'create-secrets',
  manifestStepSchema,
  async (input, { logger }) => {
    const config = loadConfig();
    const s3 = s3Client();
    const secretsManager = secretsManagerClient();
    const dynamo = dynamoClient();
    const store = new StatusStore(dynamo, config.NEPTUNE_TABLE);

    // Reads go out together with the lease renewal; nothing is written before the lease is confirmed.
    const [, bytes, observed, view] = await Promise.all([
      store.renewLease(input.projectId, input.execution),
      readAcceptedManifest(s3, { bucket: input.bucket, key: input.key, versionId: input.manifest.versionId, etag: input.manifest.etag }),
      listProjectSecrets(secretsManager, input.projectId),
      store.readProject(input.projectId),
    ]);
    const declaredNames = parseManifest(bytes).resources.map((resource) => resource.name);
    const actions = planSecrets(input.projectId, declaredNames, observed, view.secrets);

    const settings = { recoveryWindowDays: config.NEPTUNE_RECOVERY_WINDOW_DAYS, kmsKeyId: config.NEPTUNE_KMS_KEY_ID };
    const outcomes = await mapWithConcurrency(actions, SECRET_CALLS_IN_FLIGHT, (action) =>
      applySecretAction(secretsManager, input.projectId, action, settings),
    );
    await retryTransientFailures(actions, outcomes, (action) => applySecretAction(secretsManager, input.projectId, action, settings));
    const updates = outcomes.flatMap((outcome) => (outcome.update ? [outcome.update] : []));
    await store.writeSecrets(input.projectId, input.execution, updates, view.secrets);

    const counts: Record<string, number> = { declared: declaredNames.length, written: updates.length, failed: 0 };
    for (const outcome of outcomes) {
      const key = outcome.update?.status === 'Failed' ? 'failed' : outcome.action;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    logger.info('secrets reconciled', { counts });
    return counts;
  },
  { logKeys: (input) => ({ projectId: input.projectId, execution: input.execution }) },
);

/**
 * Rounds after the SDK's own retries for secrets that failed with a transient error: the SDK
 * stops retrying early once its shared retry quota is spent, which a burst of throttling over
 * many secrets does. Every action is safe to repeat (see secrets-manager.ts).
 */
const RETRY_ROUNDS = 3;
const RETRY_BASE_DELAY_MS = 1_000;

async function retryTransientFailures(
  actions: SecretAction[],
  outcomes: SecretOutcome[],
  apply: (action: SecretAction) => Promise<SecretOutcome>,
): Promise<void> {
  for (let round = 0; round < RETRY_ROUNDS; round++) {
    const failed = outcomes.flatMap((outcome, index) => (outcome.update?.errorCode === 'TransientAwsError' ? [index] : []));
    if (failed.length === 0) return;

    // Full jitter, so that projects retrying at the same time spread out.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_BASE_DELAY_MS * 2 ** round));
    const retried = await mapWithConcurrency(failed, SECRET_CALLS_IN_FLIGHT, (index) => apply(actions[index] as SecretAction));
    failed.forEach((index, position) => {
      outcomes[index] = retried[position] as SecretOutcome;
    });
  }
}

