import { dynamoClient } from '../../shared/clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { LeaseLostError } from '../../shared/errors.ts';
import { createHandler } from '../../shared/handler.ts';
import { StatusStore, type SecretStatusUpdate } from '../../shared/status-store.ts';
import { recordFailureStepSchema } from '../../shared/workflow.ts';

/**
 * The workflow's Catch target: a step failed after its retries. Every secret this project still
 * shows as Provisioning becomes Failed with the step's error, the project becomes Failed, and the
 * lease is released, so that no record stays in progress. An execution that never held the lease
 * (it waited too long) or lost it to a newer one writes nothing, because the newer one is in charge.
 */
export const handler = createHandler(
  'record-failure',
  recordFailureStepSchema,
  async (input, { logger }) => {
    const config = loadConfig();
    const store = new StatusStore(dynamoClient(), config.NEPTUNE_TABLE);
    try {
      await store.renewLease(input.projectId, input.execution);
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
      logger.warn('failure not recorded because another execution holds the project lease', { error: input.failure.Error });
      return { recorded: false };
    }
    const view = await store.readProject(input.projectId);

    const code = input.failure.Error;
    const message = `provisioning stopped at a failed step: ${causeMessage(input.failure.Cause)}; upload neptune.json again to retry`;
    const updates: SecretStatusUpdate[] = view.secrets
      .filter((secret) => secret.status === 'Provisioning')
      .map((secret) => ({ name: secret.name, status: 'Failed', awsId: secret.aws_id, arn: secret.arn, errorCode: code, errorMessage: message }));

    try {
      await store.writeSecrets(input.projectId, input.execution, updates, view.secrets);
      await store.writeProject(
        input.projectId,
        input.execution,
        { status: 'Failed', errors: [{ code, message }] },
        { release: true },
      );
    } catch (error) {
      if (error instanceof LeaseLostError) return { recorded: false };
      throw error;
    }
    logger.warn('failure recorded', { errorCode: code, secrets: updates.length });
    return { recorded: true };
  },
  { logKeys: (input) => ({ projectId: input.projectId, execution: input.execution }) },
);

/** Lambda reports a failure's cause as JSON with an errorMessage; other causes are plain text. */
function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause was reported';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: use the text as it is.
  }
  return cause.slice(0, 500);
}
