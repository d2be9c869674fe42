import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { packagedTemplate, packagedFunctions, SERVICE_DIR, type CloudFormationTemplate } from './packaged-template.ts';

/**
 * The state machine and serverless.yml's functions must match both ways: every Task names a
 * function that exists, and every function is either a workflow step or an entry point that
 * something outside the workflow invokes.
 */

/** Functions invoked from outside the workflow, and what invokes them. */
const ENTRY_POINTS: Record<string, string> = {
  trigger: 'the manifest bucket notification',
  setValue: 'users, by the function name in the stack outputs',
  markRedeployed: 'users, by the function name in the stack outputs',
};

interface TaskReference {
  definition: string;
  state: string;
  functionKey: string;
}

/** Collects every Task's `{"Fn::GetAtt": [function, "Arn"]}`, including those nested in Map and Parallel states. */
function taskReferences(definition: string, states: Record<string, unknown>): TaskReference[] {
  const references: TaskReference[] = [];
  for (const [name, raw] of Object.entries(states)) {
    const state = raw as { Type?: string; Resource?: unknown; Branches?: Array<{ States: Record<string, unknown> }>; Iterator?: { States: Record<string, unknown> }; ItemProcessor?: { States: Record<string, unknown> } };
    if (state.Type === 'Task') {
      const getAtt = (state.Resource as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
      if (!getAtt) throw new Error(`${definition} state ${name}: Resource is not {"Fn::GetAtt": [function, "Arn"]}`);
      references.push({ definition, state: name, functionKey: getAtt[0] });
    }
    const nested = [...(state.Branches ?? []), state.Iterator, state.ItemProcessor].filter((machine) => machine !== undefined);
    for (const machine of nested) references.push(...taskReferences(definition, machine.States));
  }
  return references;
}

function definitionReferences(): TaskReference[] {
  const directory = path.join(SERVICE_DIR, 'statemachines');
  return readdirSync(directory)
    .filter((file) => file.endsWith('.asl.json'))
    .flatMap((file) => {
      const definition = JSON.parse(readFileSync(path.join(directory, file), 'utf8')) as { States: Record<string, unknown> };
      return taskReferences(`statemachines/${file}`, definition.States);
    });
}

describe('state machine and functions', () => {
  let template: CloudFormationTemplate;
  let functionKeys: string[];
  let references: TaskReference[];

  beforeAll(async () => {
    template = await packagedTemplate();
    functionKeys = Object.keys(packagedFunctions());
    references = definitionReferences();
  }, 180_000);

  it('references only functions that exist', () => {
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) {
      // Assess
      expect(functionKeys, `${reference.definition} state ${reference.state}`).toContain(reference.functionKey);
    }
  });

  it('resolves every task to a function in the template', () => {
    // Arrange
    const stateMachines = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::StepFunctions::StateMachine');
    const substitutions = stateMachines.flatMap((resource) => {
      const definition = resource.Properties?.DefinitionString as { 'Fn::Sub'?: [string, Record<string, unknown>] };
      return Object.values(definition['Fn::Sub']?.[1] ?? {});
    });

    // Assess
    expect(stateMachines).toHaveLength(1);
    expect(substitutions).toHaveLength(new Set(references.map((reference) => reference.functionKey)).size);
    for (const substitution of substitutions) {
      const target = (substitution as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0] ?? '';
      expect(template.Resources[target]?.Type, JSON.stringify(substitution)).toBe('AWS::Lambda::Function');
    }
  });

  it('uses every function as a step or an entry point', () => {
    // Act
    const steps = new Set(references.map((reference) => reference.functionKey));
    const unused = functionKeys.filter((key) => !steps.has(key) && !(key in ENTRY_POINTS));

    // Assess
    expect(unused).toEqual([]);
  });

  it('keeps entry points out of the workflow', () => {
    // Act
    const steps = new Set(references.map((reference) => reference.functionKey));

    // Assess
    for (const key of Object.keys(ENTRY_POINTS)) expect(steps.has(key), `${key} is invoked by ${ENTRY_POINTS[key]}`).toBe(false);
  });

  it('connects each entry point to its caller', () => {
    // Arrange
    const bucket = template.Resources.ManifestBucket?.Properties as {
      NotificationConfiguration?: { LambdaConfigurations?: Array<{ Function: { 'Fn::GetAtt': [string, string] } }> };
    };
    const notified = (bucket.NotificationConfiguration?.LambdaConfigurations ?? []).map((target) => target.Function['Fn::GetAtt'][0]);
    const outputs = Object.values(template.Outputs ?? {}).map((output) => (output.Value as { Ref?: string }).Ref);

    // Assess
    expect(notified).toEqual(['TriggerLambdaFunction']);
    expect(outputs).toContain('SetValueLambdaFunction');
    expect(outputs).toContain('MarkRedeployedLambdaFunction');
  });
});
