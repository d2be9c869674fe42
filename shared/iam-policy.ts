/**
 * The inline policy that lets a project's service role read exactly its own secrets. It grants
 * each secret by the full ARN that Secrets Manager returned, which ends in a random suffix, so no
 * other secret (of this project or another) can ever match it.
 */

export const POLICY_NAME = 'neptune-secrets';

/** IAM's quota for all inline policies of one role, counted without whitespace. */
export const ROLE_INLINE_POLICY_MAX_CHARS = 10_240;

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Array<{
    Sid: string;
    Effect: 'Allow';
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string>>;
  }>;
}

export interface PolicyOptions {
  region: string;
  /** ARN of the customer-managed KMS key that encrypts the secrets, if one is configured. */
  kmsKeyArn?: string;
}

/** Builds the policy for these secret ARNs, or returns undefined when there is nothing to grant. */
export function buildSecretsPolicy(secretArns: string[], options: PolicyOptions): PolicyDocument | undefined {
  if (secretArns.length === 0) return undefined;

  const document: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ReadProjectSecrets',
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        // Sorted, so the same set of secrets always gives the same document and an unchanged
        // project needs no write.
        Resource: [...new Set(secretArns)].sort(),
      },
    ],
  };

  if (options.kmsKeyArn) {
    document.Statement.push({
      Sid: 'DecryptProjectSecrets',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: options.kmsKeyArn,
      // Decrypt only on behalf of Secrets Manager, never for direct use of the key.
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${options.region}.amazonaws.com` } },
    });
  }
  return document;
}

/** Measures the document as IAM counts it against the quota: without whitespace. */
export function policySize(document: PolicyDocument): number {
  return JSON.stringify(document).length;
}

/** Compares two documents by content, ignoring formatting and the order of keys. */
export function samePolicy(current: unknown, desired: PolicyDocument | undefined): boolean {
  if (current === undefined || desired === undefined) return current === desired;
  return canonical(current) === canonical(desired);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonical(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
