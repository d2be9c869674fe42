import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';

import { buildSecretsPolicy, policySize, samePolicy, type PolicyDocument } from '../../shared/iam-policy.ts';

const ACCOUNT_ID = '123456789012';
const REGION = 'us-east-1';
const KMS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ARN_A = `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:neptune-abc-A-Ab12Cd`;
const ARN_B = `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:neptune-abc-B-Ef34Gh`;
const ARN_C = `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:neptune-abc-C-Ij56Kl`;

/** A key policy that delegates access to IAM policies, like the default KMS key policy. */
const KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'EnableIamPolicies', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'kms:*', Resource: '*' }],
};

interface Request {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

async function evaluate(policy: PolicyDocument | undefined, request: Request): Promise<string> {
  const simulation: Simulation = {
    identityPolicies: policy ? [{ name: 'neptune-secrets', policy }] : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(request.action.startsWith('kms:') ? { resourcePolicy: KEY_POLICY } : {}),
    request: {
      action: request.action,
      principal: `arn:aws:iam::${ACCOUNT_ID}:role/neptune-abc`,
      resource: { accountId: ACCOUNT_ID, resource: request.resource },
      contextVariables: request.context ?? {},
    },
  };
  const response = await runSimulation(simulation, {});
  // A rejected simulation must fail the test, never count as a denial.
  if (response.resultType === 'error') throw new Error(`simulation rejected: ${JSON.stringify(response.errors)}`);
  return response.overallResult;
}

describe('buildSecretsPolicy', () => {
  it('returns undefined without secrets', () => {
    // Act
    const policy = buildSecretsPolicy([], { region: REGION, kmsKeyArn: KMS_KEY_ARN });

    // Assess
    expect(policy).toBeUndefined();
  });

  it('grants read access to exactly the given ARNs', () => {
    // Act
    const policy = buildSecretsPolicy([ARN_A], { region: REGION });

    // Assess
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadProjectSecrets',
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: [ARN_A],
        },
      ],
    });
  });

  it('sorts and deduplicates resources', () => {
    // Act
    const policy = buildSecretsPolicy([ARN_C, ARN_A, ARN_B, ARN_A, ARN_C], { region: REGION });

    // Assess
    expect(policy?.Statement[0]?.Resource).toEqual([ARN_A, ARN_B, ARN_C]);
  });

  it('builds the same document for any order', () => {
    // Act
    const first = buildSecretsPolicy([ARN_B, ARN_A], { region: REGION });
    const second = buildSecretsPolicy([ARN_A, ARN_B, ARN_B], { region: REGION });

    // Assess
    expect(JSON.stringify(first)).toBe(JSON.stringify(second));
  });

  it('leaves out KMS without a configured key', () => {
    // Act
    const policy = buildSecretsPolicy([ARN_A], { region: REGION });

    // Assess
    expect(policy?.Statement).toHaveLength(1);
    expect(JSON.stringify(policy)).not.toContain('kms:');
  });

  it('adds KMS decrypt through Secrets Manager only', () => {
    // Act
    const policy = buildSecretsPolicy([ARN_A], { region: 'eu-west-1', kmsKeyArn: KMS_KEY_ARN });

    // Assess
    expect(policy?.Statement).toHaveLength(2);
    expect(policy?.Statement[1]).toEqual({
      Sid: 'DecryptProjectSecrets',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KMS_KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
    });
  });

  it('leaves out KMS for an empty key ARN', () => {
    // Act
    const policy = buildSecretsPolicy([ARN_A], { region: REGION, kmsKeyArn: '' });

    // Assess
    expect(policy?.Statement).toHaveLength(1);
  });
});

describe('policySize', () => {
  it('counts the document without whitespace', () => {
    // Prepare
    const policy = buildSecretsPolicy([ARN_A, ARN_B], { region: REGION }) as PolicyDocument;

    // Act
    const size = policySize(policy);

    // Assess
    expect(size).toBe(JSON.stringify(policy).length);
    expect(size).toBe(JSON.stringify(policy, null, 2).replace(/\s/g, '').length);
  });

  it('grows by each added ARN', () => {
    // Prepare
    const oneSecret = buildSecretsPolicy([ARN_A], { region: REGION }) as PolicyDocument;
    const twoSecrets = buildSecretsPolicy([ARN_A, ARN_B], { region: REGION }) as PolicyDocument;

    // Act
    const growth = policySize(twoSecrets) - policySize(oneSecret);

    // Assess
    expect(growth).toBe(ARN_B.length + 3);
  });
});

describe('samePolicy', () => {
  it('ignores key order and formatting', () => {
    // Prepare
    const desired = buildSecretsPolicy([ARN_A], { region: REGION, kmsKeyArn: KMS_KEY_ARN }) as PolicyDocument;
    const current = JSON.parse(
      `{
        "Statement": [
          { "Resource": ["${ARN_A}"], "Effect": "Allow", "Sid": "ReadProjectSecrets",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"] },
          { "Condition": { "StringEquals": { "kms:ViaService": "secretsmanager.${REGION}.amazonaws.com" } },
            "Resource": "${KMS_KEY_ARN}", "Action": "kms:Decrypt", "Effect": "Allow", "Sid": "DecryptProjectSecrets" }
        ],
        "Version": "2012-10-17"
      }`,
    );

    // Act
    const same = samePolicy(current, desired);

    // Assess
    expect(same).toBe(true);
  });

  it('detects a changed resource', () => {
    // Prepare
    const current = buildSecretsPolicy([ARN_A], { region: REGION });
    const desired = buildSecretsPolicy([ARN_A, ARN_B], { region: REGION });

    // Act
    const same = samePolicy(current, desired);

    // Assess
    expect(same).toBe(false);
  });

  it('detects a changed condition', () => {
    // Prepare
    const current = buildSecretsPolicy([ARN_A], { region: 'eu-west-1', kmsKeyArn: KMS_KEY_ARN });
    const desired = buildSecretsPolicy([ARN_A], { region: REGION, kmsKeyArn: KMS_KEY_ARN });

    // Act
    const same = samePolicy(current, desired);

    // Assess
    expect(same).toBe(false);
  });

  it('compares a missing policy with an empty one', () => {
    // Prepare
    const desired = buildSecretsPolicy([ARN_A], { region: REGION });

    // Act
    const bothMissing = samePolicy(undefined, undefined);
    const onlyCurrentMissing = samePolicy(undefined, desired);
    const onlyDesiredMissing = samePolicy(desired, undefined);

    // Assess
    expect(bothMissing).toBe(true);
    expect(onlyCurrentMissing).toBe(false);
    expect(onlyDesiredMissing).toBe(false);
  });
});

describe('secrets policy evaluation', () => {
  const policy = buildSecretsPolicy([ARN_A, ARN_B], { region: REGION, kmsKeyArn: KMS_KEY_ARN });

  it.each(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'])('allows %s on a granted secret', async (action) => {
    // Act
    const result = await evaluate(policy, { action, resource: ARN_A });

    // Assess
    expect(result).toBe('Allowed');
  });

  it.each([
    'secretsmanager:PutSecretValue',
    'secretsmanager:UpdateSecret',
    'secretsmanager:DeleteSecret',
    'secretsmanager:RestoreSecret',
    'secretsmanager:RotateSecret',
    'secretsmanager:TagResource',
    'secretsmanager:PutResourcePolicy',
    'secretsmanager:GetResourcePolicy',
    'secretsmanager:ListSecretVersionIds',
  ])('denies %s on a granted secret', async (action) => {
    // Act
    const result = await evaluate(policy, { action, resource: ARN_A });

    // Assess
    expect(result).toBe('ImplicitlyDenied');
  });

  it.each(['secretsmanager:ListSecrets', 'secretsmanager:GetRandomPassword', 'secretsmanager:BatchGetSecretValue'])(
    'denies %s',
    async (action) => {
      // Act
      const result = await evaluate(policy, { action, resource: '*' });

      // Assess
      expect(result).toBe('ImplicitlyDenied');
    },
  );

  it('denies a secret that is not granted', async () => {
    // Act
    const result = await evaluate(policy, { action: 'secretsmanager:GetSecretValue', resource: ARN_C });

    // Assess
    expect(result).toBe('ImplicitlyDenied');
  });

  it('allows kms:Decrypt through Secrets Manager', async () => {
    // Act
    const result = await evaluate(policy, {
      action: 'kms:Decrypt',
      resource: KMS_KEY_ARN,
      context: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` },
    });

    // Assess
    expect(result).toBe('Allowed');
  });

  it('denies kms:Decrypt without ViaService', async () => {
    // Act
    const result = await evaluate(policy, { action: 'kms:Decrypt', resource: KMS_KEY_ARN });

    // Assess
    expect(result).toBe('ImplicitlyDenied');
  });

  it.each([`s3.${REGION}.amazonaws.com`, 'secretsmanager.eu-west-1.amazonaws.com'])(
    'denies kms:Decrypt via %s',
    async (viaService) => {
      // Act
      const result = await evaluate(policy, { action: 'kms:Decrypt', resource: KMS_KEY_ARN, context: { 'kms:ViaService': viaService } });

      // Assess
      expect(result).toBe('ImplicitlyDenied');
    },
  );

  it.each(['kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom'])('denies %s through Secrets Manager', async (action) => {
    // Act
    const result = await evaluate(policy, {
      action,
      resource: KMS_KEY_ARN,
      context: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` },
    });

    // Assess
    expect(result).toBe('ImplicitlyDenied');
  });

  it('denies kms:Decrypt on another key', async () => {
    // Act
    const result = await evaluate(policy, {
      action: 'kms:Decrypt',
      resource: KMS_KEY_ARN.replace('1234abcd', 'ffffffff'),
      context: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` },
    });

    // Assess
    expect(result).toBe('ImplicitlyDenied');
  });

  it('denies kms:Decrypt without a configured key', async () => {
    // Prepare
    const withoutKey = buildSecretsPolicy([ARN_A], { region: REGION });

    // Act
    const result = await evaluate(withoutKey, {
      action: 'kms:Decrypt',
      resource: KMS_KEY_ARN,
      context: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` },
    });

    // Assess
    expect(result).toBe('ImplicitlyDenied');
  });
});
