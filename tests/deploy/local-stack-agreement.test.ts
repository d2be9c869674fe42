import { beforeAll, describe, expect, it } from 'vitest';

import { loadDefinitions, type StackDefinitions } from '../../local/definitions.ts';
import {
  ACCOUNT_ID,
  IntrinsicEvaluator,
  PACKAGE_STAGE,
  packagedTemplate,
  REGION,
  SERVICE_DIR,
  type CloudFormationTemplate,
} from './packaged-template.ts';

/**
 * The local stack reads serverless.yml itself (local/definitions.ts) instead of the packaged
 * template. Both are read here for the same stage, region and account, and must agree on the
 * functions, their handlers and environment, and the names of the table and bucket.
 */

interface DeployedFunction {
  name: string;
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memorySizeMb: number;
  environment: Record<string, string>;
}

function deployedFunctions(template: CloudFormationTemplate): DeployedFunction[] {
  const evaluator = new IntrinsicEvaluator(template, REGION, ACCOUNT_ID);
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) => {
      const properties = resource.Properties ?? {};
      const variables = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      return {
        name: evaluator.evaluateString(properties.FunctionName),
        handler: String(properties.Handler),
        runtime: String(properties.Runtime),
        timeoutSeconds: Number(properties.Timeout),
        memorySizeMb: Number(properties.MemorySize),
        environment: Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, evaluator.evaluateString(value)])),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function namesOfType(template: CloudFormationTemplate, type: string, property: string): string[] {
  const evaluator = new IntrinsicEvaluator(template, REGION, ACCOUNT_ID);
  return (
    Object.entries(template.Resources)
      // osls's own bucket for the packaged code has no counterpart in the local stack.
      .filter(([logicalId, resource]) => resource.Type === type && logicalId !== 'ServerlessDeploymentBucket')
      .map(([, resource]) => evaluator.evaluateString(resource.Properties?.[property]))
  );
}

describe('local stack and packaged template', () => {
  let template: CloudFormationTemplate;
  let local: StackDefinitions;

  beforeAll(async () => {
    template = await packagedTemplate();
    local = loadDefinitions({ serviceDir: SERVICE_DIR, stage: PACKAGE_STAGE, region: REGION, accountId: ACCOUNT_ID });
  }, 180_000);

  it('defines the same functions', () => {
    // Act
    const deployed = deployedFunctions(template).map((fn) => fn.name);
    const localNames = local.functions.map((fn) => fn.name).sort();

    // Assess
    expect(localNames).toEqual(deployed);
  });

  it('gives each function the same handler and settings', () => {
    for (const deployed of deployedFunctions(template)) {
      // Act
      const localFunction = local.functions.find((fn) => fn.name === deployed.name);

      // Assess
      expect(localFunction?.handler, deployed.name).toBe(deployed.handler);
      expect(localFunction?.runtime, deployed.name).toBe(deployed.runtime);
      expect(localFunction?.timeoutSeconds, deployed.name).toBe(deployed.timeoutSeconds);
      expect(localFunction?.memorySizeMb, deployed.name).toBe(deployed.memorySizeMb);
    }
  });

  it('gives each function the same environment', () => {
    for (const deployed of deployedFunctions(template)) {
      // Act
      const localFunction = local.functions.find((fn) => fn.name === deployed.name);

      // Assess
      expect(localFunction?.environment, deployed.name).toEqual(deployed.environment);
    }
  });

  it('names the table and bucket alike', () => {
    // Act
    const tables = namesOfType(template, 'AWS::DynamoDB::Table', 'TableName');
    const buckets = namesOfType(template, 'AWS::S3::Bucket', 'BucketName');

    // Assess
    expect(local.tables.map((table) => table.name)).toEqual(tables);
    expect([local.manifestBucket.name]).toEqual(buckets);
  });

  it('names the state machine alike', () => {
    // Act
    const names = namesOfType(template, 'AWS::StepFunctions::StateMachine', 'StateMachineName');

    // Assess
    expect(local.stateMachines.map((stateMachine) => stateMachine.name)).toEqual(names);
  });
});
