import {
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';

import { PolicyTooLargeError, RoleNotFoundError } from './errors.ts';
import { buildSecretsPolicy, POLICY_NAME, policySize, ROLE_INLINE_POLICY_MAX_CHARS, samePolicy, type PolicyOptions } from './iam-policy.ts';
import { MANAGED_BY, TAG_MANAGED_BY, TAG_PROJECT } from './secret-plan.ts';

export interface RoleSettings {
  roleName: string;
  rolePath: string;
  createRoles: boolean;
  trustPolicy: string;
  permissionsBoundary?: string;
}

export interface GrantResult {
  roleName: string;
  /** True when the call changed the role's policy or created the role. */
  changed: boolean;
  granted: number;
}

/**
 * Makes the role's inline policy grant exactly these secret ARNs: creates the role if allowed and
 * missing, writes the policy only if it differs, and deletes it when nothing is granted.
 * Throws RoleNotFoundError or PolicyTooLargeError, which the caller records on the secrets.
 */
export async function grantSecrets(
  iam: IAMClient,
  projectId: string,
  secretArns: string[],
  role: RoleSettings,
  policy: PolicyOptions,
): Promise<GrantResult> {
  const document = buildSecretsPolicy(secretArns, policy);
  if (document && policySize(document) > ROLE_INLINE_POLICY_MAX_CHARS) {
    throw new PolicyTooLargeError(
      `the read policy for ${secretArns.length} secrets is ${policySize(document)} characters, over IAM's limit of ${ROLE_INLINE_POLICY_MAX_CHARS} for a role's inline policies; declare fewer secrets in neptune.json or split the service`,
    );
  }

  // Both reads at once: for a missing role, GetRolePolicy fails with NoSuchEntity too.
  const [exists, current] = await Promise.all([roleExists(iam, role.roleName), readPolicy(iam, role.roleName)]);
  const created = exists ? false : await createRole(iam, projectId, role, document !== undefined);
  if (samePolicy(current, document)) return { roleName: role.roleName, changed: created, granted: secretArns.length };

  if (document) {
    await iam.send(
      new PutRolePolicyCommand({ RoleName: role.roleName, PolicyName: POLICY_NAME, PolicyDocument: JSON.stringify(document) }),
    );
  } else {
    await iam.send(new DeleteRolePolicyCommand({ RoleName: role.roleName, PolicyName: POLICY_NAME }));
  }
  return { roleName: role.roleName, changed: true, granted: secretArns.length };
}

async function roleExists(iam: IAMClient, roleName: string): Promise<boolean> {
  try {
    await iam.send(new GetRoleCommand({ RoleName: roleName }));
    return true;
  } catch (error) {
    if (error instanceof NoSuchEntityException) return false;
    throw error;
  }
}

/** Creates the missing role and returns true, or returns false when nothing is to be granted. */
async function createRole(iam: IAMClient, projectId: string, role: RoleSettings, needed: boolean): Promise<boolean> {
  if (!needed) return false;
  if (!role.createRoles) {
    throw new RoleNotFoundError(
      `the service role ${role.roleName} does not exist and creating roles is switched off (NEPTUNE_CREATE_ROLES=false); create the role, then upload neptune.json again`,
    );
  }

  try {
    await iam.send(
      new CreateRoleCommand({
      RoleName: role.roleName,
      Path: role.rolePath,
      AssumeRolePolicyDocument: role.trustPolicy,
      PermissionsBoundary: role.permissionsBoundary,
      Description: `Service role of Neptune project ${projectId}`,
      Tags: [
        { Key: TAG_PROJECT, Value: projectId },
        { Key: TAG_MANAGED_BY, Value: MANAGED_BY },
        ],
      }),
    );
  } catch (error) {
    // A retried step may find the role that its first attempt created.
    if ((error as Error).name !== 'EntityAlreadyExistsException') throw error;
  }
  return true;
}

async function readPolicy(iam: IAMClient, roleName: string): Promise<unknown> {
  try {
    const response = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: POLICY_NAME }));
    // IAM returns the document URL-encoded.
    return response.PolicyDocument ? JSON.parse(decodeURIComponent(response.PolicyDocument)) : undefined;
  } catch (error) {
    if (error instanceof NoSuchEntityException) return undefined;
    throw error;
  }
}
