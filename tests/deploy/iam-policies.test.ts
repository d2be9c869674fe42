import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  ACCOUNT_ID,
  IntrinsicEvaluator,
  packagedTemplate,
  REGION,
  type CloudFormationResource,
  type CloudFormationTemplate,
} from './packaged-template.ts';

/**
 * Evaluates the roles in the packaged template with an IAM policy evaluator: each function may
 * make exactly the calls its code makes, on this stage's resources, and nothing else.
 */

interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}

interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

interface AwsRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

const STAGE_PREFIX = 'neptune-secrets-ci';
const OTHER_STAGE_PREFIX = 'neptune-secrets-prod';
const ARN_PREFIX = `${REGION}:${ACCOUNT_ID}`;

const TABLE = `arn:aws:dynamodb:${ARN_PREFIX}:table/${STAGE_PREFIX}-status`;
const OTHER_STAGE_TABLE = `arn:aws:dynamodb:${ARN_PREFIX}:table/${OTHER_STAGE_PREFIX}-status`;
const BUCKET = `arn:aws:s3:::${STAGE_PREFIX}-${ACCOUNT_ID}-${REGION}`;
const OTHER_STAGE_BUCKET = `arn:aws:s3:::${OTHER_STAGE_PREFIX}-${ACCOUNT_ID}-${REGION}`;
const STATE_MACHINE = `arn:aws:states:${ARN_PREFIX}:stateMachine:${STAGE_PREFIX}-provision`;
const OTHER_STAGE_STATE_MACHINE = `arn:aws:states:${ARN_PREFIX}:stateMachine:${OTHER_STAGE_PREFIX}-provision`;
const FAILURE_QUEUE = `arn:aws:sqs:${ARN_PREFIX}:${STAGE_PREFIX}-trigger-failures`;
const OTHER_STAGE_FAILURE_QUEUE = `arn:aws:sqs:${ARN_PREFIX}:${OTHER_STAGE_PREFIX}-trigger-failures`;

const SECRET = `arn:aws:secretsmanager:${ARN_PREFIX}:secret:neptune-abc-API_KEY-Ab12Cd`;
const SECRET_OUTSIDE_NAMESPACE = `arn:aws:secretsmanager:${ARN_PREFIX}:secret:prod/database-Ab12Cd`;
const SECRET_IN_OTHER_REGION = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT_ID}:secret:neptune-abc-API_KEY-Ab12Cd`;
const PROJECT_TAG = { 'aws:ResourceTag/neptune:project': 'abc' };
const CREATE_TAGS = { 'aws:RequestTag/neptune:managed-by': 'neptune-secrets', 'aws:TagKeys': ['neptune:project', 'neptune:name', 'neptune:managed-by'] };

const SERVICE_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/neptune/neptune-abc`;
const OTHER_ROLES = [
  `arn:aws:iam::${ACCOUNT_ID}:role/admin`,
  `arn:aws:iam::${ACCOUNT_ID}:role/neptune-abc`,
  `arn:aws:iam::${ACCOUNT_ID}:role/other/neptune-abc`,
  `arn:aws:iam::${ACCOUNT_ID}:role/neptune/admin`,
  // The backend's own roles, which CloudFormation names after the stack at path "/".
  `arn:aws:iam::${ACCOUNT_ID}:role/${STAGE_PREFIX}-AttachPolicyRole-1A2B3C4D5E6F`,
];
const ROLE_TAGS = { 'aws:TagKeys': ['neptune:project', 'neptune:managed-by'] };

/** IAM actions that would let a holder widen a role's rights beyond the inline read policy. */
const ESCALATING_IAM_ACTIONS = [
  'iam:AttachRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:PassRole',
  'iam:DeleteRole',
  'iam:UpdateRole',
];

const logStream = (functionKey: string): string =>
  `arn:aws:logs:${ARN_PREFIX}:log-group:/aws/lambda/${STAGE_PREFIX}-${functionKey}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;

function ownLogs(functionKey: string): AwsRequest[] {
  return [
    { action: 'logs:CreateLogStream', resource: logStream(functionKey) },
    { action: 'logs:PutLogEvents', resource: logStream(functionKey) },
  ];
}

function onTable(...actions: string[]): AwsRequest[] {
  return actions.map((action) => ({ action: `dynamodb:${action}`, resource: TABLE }));
}

/** Every call each function's code makes, on this stage's resources (shared/*.ts, functions/*). */
const EXPECTED_CALLS: Record<string, AwsRequest[]> = {
  trigger: [
    ...ownLogs('trigger'),
    { action: 'states:StartExecution', resource: STATE_MACHINE },
    { action: 'sqs:SendMessage', resource: FAILURE_QUEUE },
  ],
  loadManifest: [
    ...ownLogs('loadManifest'),
    { action: 's3:GetObject', resource: `${BUCKET}/abc/neptune.json` },
    { action: 's3:ListBucket', resource: BUCKET },
    ...onTable('UpdateItem'),
  ],
  createSecrets: [
    ...ownLogs('createSecrets'),
    { action: 's3:GetObject', resource: `${BUCKET}/abc/neptune.json` },
    { action: 's3:GetObjectVersion', resource: `${BUCKET}/abc/neptune.json` },
    { action: 's3:ListBucket', resource: BUCKET },
    { action: 'secretsmanager:ListSecrets', resource: '*' },
    { action: 'secretsmanager:CreateSecret', resource: SECRET, context: CREATE_TAGS },
    { action: 'secretsmanager:TagResource', resource: SECRET, context: CREATE_TAGS },
    { action: 'secretsmanager:DescribeSecret', resource: SECRET },
    { action: 'secretsmanager:DeleteSecret', resource: SECRET, context: PROJECT_TAG },
    { action: 'secretsmanager:RestoreSecret', resource: SECRET, context: PROJECT_TAG },
    ...onTable('Query', 'UpdateItem', 'ConditionCheckItem', 'DeleteItem'),
  ],
  attachPolicy: [
    ...ownLogs('attachPolicy'),
    ...onTable('Query', 'UpdateItem'),
    { action: 'iam:GetRole', resource: SERVICE_ROLE },
    { action: 'iam:GetRolePolicy', resource: SERVICE_ROLE },
    { action: 'iam:PutRolePolicy', resource: SERVICE_ROLE },
    { action: 'iam:DeleteRolePolicy', resource: SERVICE_ROLE },
    // The boundary's ARN is only known from the template; see withBoundary().
    { action: 'iam:CreateRole', resource: SERVICE_ROLE, context: { 'iam:PermissionsBoundary': 'BOUNDARY' } },
    { action: 'iam:TagRole', resource: SERVICE_ROLE, context: ROLE_TAGS },
  ],
  writeStatus: [...ownLogs('writeStatus'), ...onTable('Query', 'UpdateItem', 'ConditionCheckItem', 'DeleteItem')],
  recordFailure: [...ownLogs('recordFailure'), ...onTable('Query', 'UpdateItem', 'ConditionCheckItem', 'DeleteItem')],
  setValue: [
    ...ownLogs('setValue'),
    { action: 'secretsmanager:PutSecretValue', resource: SECRET, context: PROJECT_TAG },
    ...onTable('Query', 'UpdateItem'),
  ],
  markRedeployed: [...ownLogs('markRedeployed'), ...onTable('Query', 'UpdateItem')],
};

/** Statements allowed to use Resource "*", because the action supports no resource ARN. */
const WILDCARD_RESOURCE_ACTIONS = new Set([
  'secretsmanager:ListSecrets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

/** Replaces this stage's resource in a request with resources the function must never reach. */
function outsideVariants(request: AwsRequest, functionKey: string): AwsRequest[] {
  const { resource } = request;
  const swap = (replacement: string): AwsRequest => ({ ...request, resource: replacement });

  if (resource === TABLE) return [swap(OTHER_STAGE_TABLE)];
  if (resource === SECRET) return [swap(SECRET_OUTSIDE_NAMESPACE), swap(SECRET_IN_OTHER_REGION)];
  if (resource === SERVICE_ROLE) return OTHER_ROLES.map(swap);
  if (resource === STATE_MACHINE) return [swap(OTHER_STAGE_STATE_MACHINE)];
  if (resource === FAILURE_QUEUE) return [swap(OTHER_STAGE_FAILURE_QUEUE)];
  if (resource === BUCKET) return [swap(OTHER_STAGE_BUCKET)];
  if (resource.startsWith(`${BUCKET}/`)) return [swap(resource.replace(BUCKET, OTHER_STAGE_BUCKET))];
  if (resource === logStream(functionKey)) {
    const otherFunction = functionKey === 'trigger' ? 'setValue' : 'trigger';
    return [swap(logStream(otherFunction)), swap(resource.replace(STAGE_PREFIX, OTHER_STAGE_PREFIX))];
  }
  return [];
}

/** Requests that no function of the backend may make. */
function forbiddenForEveryFunction(boundaryArn: string): AwsRequest[] {
  const secretActions = ['GetSecretValue', 'PutSecretValue', 'CreateSecret', 'DeleteSecret', 'DescribeSecret', 'RestoreSecret', 'TagResource', 'UpdateSecret'];
  const tableActions = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'ConditionCheckItem'];
  const roleActions = ['GetRole', 'GetRolePolicy', 'PutRolePolicy', 'DeleteRolePolicy', 'TagRole', ...ESCALATING_IAM_ACTIONS.map((action) => action.slice(4))];

  return [
    ...secretActions.map((action) => ({ action: `secretsmanager:${action}`, resource: SECRET_OUTSIDE_NAMESPACE, context: { ...PROJECT_TAG, ...CREATE_TAGS } })),
    // No backend function reads a secret's value.
    { action: 'secretsmanager:GetSecretValue', resource: SECRET },
    ...tableActions.map((action) => ({ action: `dynamodb:${action}`, resource: OTHER_STAGE_TABLE })),
    ...OTHER_ROLES.flatMap((role) => roleActions.map((action) => ({ action: `iam:${action}`, resource: role, context: ROLE_TAGS }))),
    ...OTHER_ROLES.map((role) => ({ action: 'iam:CreateRole', resource: role, context: { 'iam:PermissionsBoundary': boundaryArn } })),
    ...ESCALATING_IAM_ACTIONS.map((action) => ({ action, resource: SERVICE_ROLE })),
    // Changing the boundary would widen every role created under it.
    { action: 'iam:CreatePolicyVersion', resource: boundaryArn },
    { action: 'iam:SetDefaultPolicyVersion', resource: boundaryArn },
    { action: 'iam:CreateRole', resource: SERVICE_ROLE },
    {
      action: 'iam:CreateRole',
      resource: SERVICE_ROLE,
      context: { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT_ID}:policy/AdministratorAccess` },
    },
    { action: 'iam:TagRole', resource: SERVICE_ROLE, context: { 'aws:TagKeys': ['neptune:project', 'owner'] } },
    { action: 'states:StartExecution', resource: OTHER_STAGE_STATE_MACHINE },
    { action: 's3:GetObject', resource: `${OTHER_STAGE_BUCKET}/abc/neptune.json` },
    { action: 's3:PutObject', resource: `${BUCKET}/abc/neptune.json` },
    { action: 's3:DeleteObject', resource: `${BUCKET}/abc/neptune.json` },
  ];
}

async function evaluate(policies: PolicyDocument[], principal: string, request: AwsRequest, boundary?: PolicyDocument): Promise<string> {
  const simulation: Simulation = {
    identityPolicies: policies.map((policy, index) => ({ name: `policy${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(boundary ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: boundary }] } : {}),
    ...(request.action.startsWith('kms:') ? { resourcePolicy: KEY_POLICY } : {}),
    request: {
      action: request.action,
      principal,
      resource: { accountId: ACCOUNT_ID, resource: request.resource },
      contextVariables: request.context ?? {},
    },
  };
  const response = await runSimulation(simulation, {});
  // A rejected simulation must fail the test, never count as a denial.
  if (response.resultType === 'error') throw new Error(`simulation of ${request.action} rejected: ${JSON.stringify(response.errors)}`);
  return response.overallResult;
}

/** A key policy that delegates access to IAM policies, like the default KMS key policy. */
const KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'EnableIamPolicies', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'kms:*', Resource: '*' }],
};

function asList(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

function functionLogicalId(functionKey: string): string {
  return `${functionKey.charAt(0).toUpperCase()}${functionKey.slice(1)}LambdaFunction`;
}

/** The inline policies of a role, with every intrinsic function evaluated. */
function rolePolicies(template: CloudFormationTemplate, evaluator: IntrinsicEvaluator, roleLogicalId: string): PolicyDocument[] {
  const role = template.Resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not an AWS::IAM::Role`);
  expect(role.Properties?.ManagedPolicyArns, `${roleLogicalId} has managed policies`).toBeUndefined();

  const policies = (role.Properties?.Policies ?? []) as Array<{ PolicyDocument: unknown }>;
  return policies.map((policy) => evaluator.evaluate(policy.PolicyDocument) as PolicyDocument);
}

function functionRoleLogicalId(functionResource: CloudFormationResource | undefined, functionKey: string): string {
  const role = functionResource?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const logicalId = role?.['Fn::GetAtt']?.[0];
  if (!logicalId) throw new Error(`function ${functionKey} has no role of its own in the template`);
  return logicalId;
}

describe('function roles', () => {
  let template: CloudFormationTemplate;
  let evaluator: IntrinsicEvaluator;
  let boundaryArn: string;

  beforeAll(async () => {
    template = await packagedTemplate();
    evaluator = new IntrinsicEvaluator(template);
    boundaryArn = evaluator.evaluateString({ Ref: 'NeptuneServiceRoleBoundary' });
  }, 180_000);

  const withBoundary = (request: AwsRequest): AwsRequest =>
    request.context?.['iam:PermissionsBoundary'] === 'BOUNDARY'
      ? { ...request, context: { ...request.context, 'iam:PermissionsBoundary': boundaryArn } }
      : request;

  it('gives every function its own role', () => {
    // Act
    const roles = Object.keys(EXPECTED_CALLS).map((key) => functionRoleLogicalId(template.Resources[functionLogicalId(key)], key));

    // Assess
    expect(new Set(roles).size).toBe(roles.length);
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('covers every function in the template', () => {
    // Act
    const functionIds = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .map(([logicalId]) => logicalId)
      .sort();

    // Assess
    expect(functionIds).toEqual(Object.keys(EXPECTED_CALLS).map(functionLogicalId).sort());
  });

  it('uses no wildcard action and no wildcard resource without need', () => {
    const roleIds = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
      .map(([logicalId]) => logicalId);

    for (const roleId of roleIds) {
      for (const statement of rolePolicies(template, evaluator, roleId).flatMap((policy) => policy.Statement)) {
        const where = `${roleId} ${statement.Sid ?? ''}`;
        expect(statement.Effect, where).toBe('Allow');
        for (const action of asList(statement.Action)) expect(action, where).not.toContain('*');
        if (asList(statement.Resource).includes('*')) {
          for (const action of asList(statement.Action)) expect(WILDCARD_RESOURCE_ACTIONS, `${where} ${action}`).toContain(action);
        }
      }
    }
  });

  describe.each(Object.keys(EXPECTED_CALLS))('%s', (functionKey) => {
    let policies: PolicyDocument[];
    let principal: string;

    beforeAll(() => {
      const roleId = functionRoleLogicalId(template.Resources[functionLogicalId(functionKey)], functionKey);
      policies = rolePolicies(template, evaluator, roleId);
      principal = `arn:aws:iam::${ACCOUNT_ID}:role/${roleId}`;
    });

    it('grants exactly the actions its code calls', () => {
      // Act
      const granted = new Set(policies.flatMap((policy) => policy.Statement.flatMap((statement) => asList(statement.Action))));

      // Assess
      const expected = new Set(EXPECTED_CALLS[functionKey]?.map((request) => request.action));
      expect([...granted].sort()).toEqual([...expected].sort());
    });

    it('allows each call on its own resources', async () => {
      for (const request of (EXPECTED_CALLS[functionKey] ?? []).map(withBoundary)) {
        // Act
        const result = await evaluate(policies, principal, request);

        // Assess
        expect(result, `${request.action} on ${request.resource}`).toBe('Allowed');
      }
    });

    it('denies the same calls on other resources', async () => {
      const requests = (EXPECTED_CALLS[functionKey] ?? []).map(withBoundary).flatMap((request) => outsideVariants(request, functionKey));

      for (const request of requests) {
        // Act
        const result = await evaluate(policies, principal, request);

        // Assess
        expect(result, `${request.action} on ${request.resource}`).not.toBe('Allowed');
      }
    });

    it('denies secrets, tables and roles it does not own', async () => {
      for (const request of forbiddenForEveryFunction(boundaryArn)) {
        // Act
        const result = await evaluate(policies, principal, request);

        // Assess
        expect(result, `${request.action} on ${request.resource} ${JSON.stringify(request.context ?? {})}`).not.toBe('Allowed');
      }
    });
  });

  it('denies changing secrets without Neptune tags', async () => {
    const untagged: AwsRequest[] = [
      { action: 'secretsmanager:DeleteSecret', resource: SECRET, context: { 'aws:ResourceTag/owner': 'someone-else' } },
      { action: 'secretsmanager:RestoreSecret', resource: SECRET },
      { action: 'secretsmanager:CreateSecret', resource: SECRET },
      { action: 'secretsmanager:CreateSecret', resource: SECRET, context: { 'aws:RequestTag/neptune:managed-by': 'someone-else' } },
      { action: 'secretsmanager:TagResource', resource: SECRET, context: { 'aws:RequestTag/neptune:project': 'abc' } },
      { action: 'secretsmanager:PutSecretValue', resource: SECRET },
    ];

    for (const functionKey of ['createSecrets', 'setValue']) {
      const roleId = functionRoleLogicalId(template.Resources[functionLogicalId(functionKey)], functionKey);
      const policies = rolePolicies(template, evaluator, roleId);
      for (const request of untagged) {
        // Act
        const result = await evaluate(policies, `arn:aws:iam::${ACCOUNT_ID}:role/${roleId}`, request);

        // Assess
        expect(result, `${functionKey}: ${request.action} ${JSON.stringify(request.context ?? {})}`).not.toBe('Allowed');
      }
    }
  });
});

describe('state machine role', () => {
  let policies: PolicyDocument[];
  const principal = `arn:aws:iam::${ACCOUNT_ID}:role/ProvisionStateMachineRole`;
  const functionArn = (key: string) => `arn:aws:lambda:${ARN_PREFIX}:function:${STAGE_PREFIX}-${key}`;

  beforeAll(async () => {
    const template = await packagedTemplate();
    policies = rolePolicies(template, new IntrinsicEvaluator(template), 'ProvisionStateMachineRole');
  }, 180_000);

  it('invokes the workflow steps', async () => {
    for (const key of ['loadManifest', 'createSecrets', 'attachPolicy', 'writeStatus', 'recordFailure']) {
      // Act
      const result = await evaluate(policies, principal, { action: 'lambda:InvokeFunction', resource: functionArn(key) });

      // Assess
      expect(result, key).toBe('Allowed');
    }
  });

  it('invokes no other function', async () => {
    const others = [
      ...['trigger', 'setValue', 'markRedeployed'].map(functionArn),
      `arn:aws:lambda:${ARN_PREFIX}:function:${OTHER_STAGE_PREFIX}-createSecrets`,
    ];

    for (const resource of others) {
      // Act
      const result = await evaluate(policies, principal, { action: 'lambda:InvokeFunction', resource });

      // Assess
      expect(result, resource).not.toBe('Allowed');
    }
  });
});

describe('service role boundary', () => {
  let boundary: PolicyDocument;
  const principal = SERVICE_ROLE;
  /** A service role's identity policy as broad as possible, to show what the boundary alone allows. */
  const everything: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  const keyArn = `arn:aws:kms:${ARN_PREFIX}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

  beforeAll(async () => {
    const template = await packagedTemplate();
    const resource = template.Resources.NeptuneServiceRoleBoundary;
    boundary = new IntrinsicEvaluator(template).evaluate(resource?.Properties?.PolicyDocument) as PolicyDocument;
  }, 180_000);

  it('allows reading neptune- secrets', async () => {
    const requests: AwsRequest[] = [
      { action: 'secretsmanager:GetSecretValue', resource: SECRET },
      { action: 'secretsmanager:DescribeSecret', resource: SECRET },
      { action: 'kms:Decrypt', resource: keyArn, context: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
    ];

    for (const request of requests) {
      // Act
      const result = await evaluate([everything], principal, request, boundary);

      // Assess
      expect(result, request.action).toBe('Allowed');
    }
  });

  it('denies everything else', async () => {
    const requests: AwsRequest[] = [
      { action: 'secretsmanager:GetSecretValue', resource: SECRET_OUTSIDE_NAMESPACE },
      { action: 'secretsmanager:PutSecretValue', resource: SECRET },
      { action: 'secretsmanager:DeleteSecret', resource: SECRET },
      { action: 'kms:Decrypt', resource: keyArn },
      { action: 'kms:Decrypt', resource: keyArn, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
      { action: 'iam:PutRolePolicy', resource: SERVICE_ROLE },
      { action: 'iam:CreateRole', resource: `arn:aws:iam::${ACCOUNT_ID}:role/neptune/neptune-other` },
      { action: 's3:GetObject', resource: `${BUCKET}/abc/neptune.json` },
      { action: 'dynamodb:Query', resource: TABLE },
    ];

    for (const request of requests) {
      // Act
      const result = await evaluate([everything], principal, request, boundary);

      // Assess
      expect(result, `${request.action} on ${request.resource}`).not.toBe('Allowed');
    }
  });
});
