import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { NotProvisionedError, RequestInvalidError, SecretValueWriteError } from './errors.ts';
import { CURRENT_STAGE } from './secret-value.ts';

/** The version that PutSecretValue created, or found for a repeated token. */
export interface WrittenVersion {
  versionId: string;
  /** False when the token's version exists but a later value has since become AWSCURRENT. */
  current: boolean;
}

/**
 * Writes a secret value as a new version that becomes AWSCURRENT. The same token always maps to
 * one version, so a retried request creates no second version.
 *
 * Errors are rethrown as NeptuneErrors whose messages name the secret and the AWS error type.
 * The SDK's own error is dropped, not attached as `cause`, so that nothing it carries can reach a
 * log or the caller.
 */
export async function putSecretValue(
  client: SecretsManagerClient,
  secret: { arn: string; physicalName: string; logicalName: string },
  value: string,
  token: string,
): Promise<WrittenVersion> {
  let response;
  try {
    response = await client.send(new PutSecretValueCommand({ SecretId: secret.arn, SecretString: value, ClientRequestToken: token }));
  } catch (error) {
    throw writeError(secret, error);
  }

  if (!response.VersionId) {
    throw new SecretValueWriteError(`Secrets Manager returned no version id for ${secret.physicalName}; set the value again (with the same request_id, if the request had one)`);
  }
  return { versionId: response.VersionId, current: (response.VersionStages ?? []).includes(CURRENT_STAGE) };
}

function writeError(secret: { physicalName: string; logicalName: string }, error: unknown): Error {
  const name = error instanceof Error ? error.name : 'UnknownError';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

  switch (name) {
    case 'ResourceExistsException':
      // The token exists with a different value: the caller reused a request_id for a new value.
      return new RequestInvalidError(
        `"request_id" was already used to set a different value of ${secret.logicalName}; send a new request_id for a new value`,
      );
    case 'ResourceNotFoundException':
      return new NotProvisionedError(
        `secret ${secret.physicalName} no longer exists in Secrets Manager; upload neptune.json again to recreate it`,
      );
    case 'InvalidRequestException':
      // AWS rejects a write to a secret that is scheduled for deletion with this error.
      return new NotProvisionedError(
        `Secrets Manager rejected the value for ${secret.physicalName} with InvalidRequestException; the secret may be scheduled for deletion, so check its status and upload neptune.json again`,
      );
    default:
      return new SecretValueWriteError(
        `Secrets Manager failed to store the value of ${secret.physicalName} with ${name}${status === undefined ? '' : ` (HTTP ${status})`} after retries; ` +
          'the value may or may not be stored, so set it again (with the same request_id, if the request had one)',
      );
  }
}
