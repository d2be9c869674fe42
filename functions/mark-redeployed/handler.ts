import { dynamoClient } from '../../shared/clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { NotProvisionedError, RedeployNotRecordedError, RequestInvalidError } from '../../shared/errors.ts';
import { createHandler } from '../../shared/handler.ts';
import { manifestKey } from '../../shared/naming.ts';
import { markRedeployedRequestSchema, planRedeployClears } from '../../shared/secret-value.ts';
import { StatusStore } from '../../shared/status-store.ts';

/**
 * Records that a project's service was redeployed. The deploy pipeline calls it once the rollout
 * has finished, with `deploy_started_at`: the time the deploy began to read its secrets.
 *
 * A secret whose value was set at or before that time is cleared: its redeploy flag becomes
 * false and `deployed_version` takes its value version. A value set later may have been missed
 * by the deploy, so that secret keeps its flag. The project stays flagged while any of its
 * secrets is.
 */

/** How far in the future `deploy_started_at` may be, for clock skew between the pipeline and AWS. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** How often the project is read again when values are set while this function runs. */
const MAX_ROUNDS = 5;

export interface MarkRedeployedResult {
  project: string;
  /** Secrets whose redeploy flag this call cleared. */
  cleared: number;
  /** Secrets that still need a redeploy, because their value was set after the deploy began. */
  still_required: number;
  redeploy_required: boolean;
}

export const handler = createHandler(
  'mark-redeployed',
  markRedeployedRequestSchema,
  async (request, { logger }): Promise<MarkRedeployedResult> => {
    const { project, deploy_started_at: deployStartedAt } = request;
    if (deployStartedAt.getTime() > Date.now() + MAX_CLOCK_SKEW_MS) {
      throw new RequestInvalidError(
        `"deploy_started_at" ${deployStartedAt.toISOString()} is more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes in the future; send the time the deploy began`,
      );
    }

    const config = loadConfig();
    const store = new StatusStore(dynamoClient(), config.NEPTUNE_TABLE);
    let cleared = 0;

    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const view = await store.readProject(project);
      if (!view.project) {
        throw new NotProvisionedError(`project ${project} is unknown; upload ${manifestKey(project)} first`);
      }

      const plan = planRedeployClears(view.secrets, deployStartedAt);
      const stillRequired = [...plan.keep];
      for (const secret of plan.clear) {
        // A false result means a newer value was set after the read; that secret keeps its flag.
        if (await store.clearSecretRedeploy(project, secret)) cleared++;
        else stillRequired.push(secret.name);
      }

      const valueSetCount = typeof view.project.value_set_count === 'number' ? view.project.value_set_count : undefined;
      const redeployRequired = stillRequired.length > 0;
      if (await store.writeProjectRedeploy(project, { redeployRequired, deployStartedAt, valueSetCount })) {
        logger.info('redeploy recorded', { cleared, stillRequired: stillRequired.length, round });
        return { project, cleared, still_required: stillRequired.length, redeploy_required: redeployRequired };
      }
      logger.info('a value was set while recording the redeploy; reading the project again', { round });
    }

    throw new RedeployNotRecordedError(
      `values of project ${project} kept changing while the redeploy was recorded (${MAX_ROUNDS} attempts); call this function again`,
    );
  },
  { logKeys: (request) => ({ projectId: request.project }) },
);
