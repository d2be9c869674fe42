import { dynamoClient, iamClient } from '../../shared/clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { PolicyTooLargeError, RoleNotFoundError } from '../../shared/errors.ts';
import { createHandler } from '../../shared/handler.ts';
import { roleName } from '../../shared/naming.ts';
import { grantSecrets } from '../../shared/service-role.ts';
import { StatusStore } from '../../shared/status-store.ts';
import { manifestStepSchema, type PolicyResult } from '../../shared/workflow.ts';

/**
 * Grants the project's service role read access to exactly the project's live secrets: those
 * created, adopted or restored by this run and those already Available. Removed secrets are
 * PendingDeletion and lose their grant here, in the same run that scheduled their deletion.
 *
 * A missing role (with role creation off) or a policy over IAM's quota is returned as a result,
 * not thrown, so that the next step records it on the secrets it affects.
 */
export const handler = createHandler(
  'attach-policy',
  manifestStepSchema,
  async (input, { logger }): Promise<PolicyResult> => {
    const config = loadConfig();
    const iam = iamClient();
    const dynamo = dynamoClient();
    const store = new StatusStore(dynamo, config.NEPTUNE_TABLE);
    // The read goes out together with the lease renewal; nothing is written before both return.
    const [, view] = await Promise.all([store.renewLease(input.projectId, input.execution), store.readProject(input.projectId)]);
    const secretArns = view.secrets
      .filter((secret) => (secret.status === 'Available' || secret.status === 'Provisioning') && secret.arn)
      .map((secret) => secret.arn as string);

    const role = {
      roleName: roleName(config.NEPTUNE_ROLE_NAME_TEMPLATE, input.projectId),
      rolePath: config.NEPTUNE_ROLE_PATH,
      createRoles: config.NEPTUNE_CREATE_ROLES,
      trustPolicy: config.NEPTUNE_ROLE_TRUST_POLICY,
      permissionsBoundary: config.NEPTUNE_ROLE_PERMISSIONS_BOUNDARY,
    };
    try {
      const result = await grantSecrets(iam, input.projectId, secretArns, role, {
        region: config.AWS_REGION,
        kmsKeyArn: config.NEPTUNE_KMS_KEY_ID,
      });
      logger.info('policy attached', { roleName: result.roleName, changed: result.changed, granted: result.granted });
      return result;
    } catch (error) {
      if (!(error instanceof RoleNotFoundError || error instanceof PolicyTooLargeError)) throw error;
      logger.warn('policy not attached', { roleName: role.roleName, errorCode: error.code });
      return { roleName: role.roleName, changed: false, granted: 0, errorCode: error.code, errorMessage: error.message };
    }
  },
  { logKeys: (input) => ({ projectId: input.projectId, execution: input.execution }) },
);
