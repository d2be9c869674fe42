/**
 * Evaluates the CloudFormation intrinsic functions that serverless.yml uses (`Ref`, `Fn::GetAtt`,
 * `Fn::Sub`, `Fn::Join`) against the resources the local stack creates, and reads the YAML short
 * forms (`!Sub`, `!Ref`, ...) as those functions.
 */
import type { ScalarTag, CollectionTag } from 'yaml';

import { DefinitionError } from './errors.ts';
import { isPlainObject } from './serverless-variables.ts';

const SHORT_FORM_FUNCTIONS = [
  'Base64', 'Cidr', 'Condition', 'Equals', 'FindInMap', 'GetAtt', 'GetAZs', 'If', 'ImportValue',
  'Join', 'Not', 'And', 'Or', 'Ref', 'Select', 'Split', 'Sub', 'Transform',
];

/** YAML tags that turn `!Sub x` into `{"Fn::Sub": "x"}`, for scalars, lists and maps alike. */
export function cloudFormationTags(): Array<ScalarTag | CollectionTag> {
  const tags: Array<ScalarTag | CollectionTag> = [];

  for (const name of SHORT_FORM_FUNCTIONS) {
    const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
    const wrap = (value: unknown) => ({
      [key]: name === 'GetAtt' && typeof value === 'string' ? splitGetAtt(value) : value,
    });

    tags.push({ tag: `!${name}`, resolve: (value: string) => wrap(value) });
    tags.push({ tag: `!${name}`, collection: 'seq', resolve: (value) => wrap(value.toJSON()) });
    tags.push({ tag: `!${name}`, collection: 'map', resolve: (value) => wrap(value.toJSON()) });
  }

  return tags;
}

/** `!GetAtt Table.StreamArn` means `["Table", "StreamArn"]`; only the first dot separates. */
function splitGetAtt(value: string): [string, string] {
  const dot = value.indexOf('.');
  return dot < 0 ? [value, ''] : [value.slice(0, dot), value.slice(dot + 1)];
}

/** The values of `Ref` and `Fn::GetAtt` for one logical id. */
export interface ResourceReference {
  ref: string;
  attributes: Record<string, string>;
}

export interface IntrinsicContext {
  region: string;
  accountId: string;
  stackName: string;
  /** Logical id → its `Ref` value and attributes. */
  resources: Map<string, ResourceReference>;
}

/** Replaces every intrinsic function in `value` with its result; unknown references throw. */
export function evaluateIntrinsics(value: unknown, context: IntrinsicContext, location: string): unknown {
  if (Array.isArray(value)) return value.map((item, index) => evaluateIntrinsics(item, context, `${location}[${index}]`));
  if (!isPlainObject(value)) return value;

  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [name] = keys as [string];
    const argument = value[name];

    switch (name) {
      case 'Ref':
        return evaluateRef(String(argument), context, location);
      case 'Fn::GetAtt':
        return evaluateGetAtt(argument, context, location);
      case 'Fn::Sub':
        return evaluateSub(argument, context, location);
      case 'Fn::Join':
        return evaluateJoin(argument, context, location);
      default:
        if (name.startsWith('Fn::')) {
          throw new DefinitionError(`${location}: the local stack does not evaluate ${name}; use Ref, Fn::GetAtt, Fn::Sub or Fn::Join`);
        }
    }
  }

  const evaluated: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    evaluated[key] = evaluateIntrinsics(item, context, `${location}.${key}`);
  }
  return evaluated;
}

function pseudoParameter(name: string, context: IntrinsicContext): string | undefined {
  switch (name) {
    case 'AWS::Region':
      return context.region;
    case 'AWS::AccountId':
      return context.accountId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return context.stackName;
    default:
      return undefined;
  }
}

function evaluateRef(logicalId: string, context: IntrinsicContext, location: string): string {
  const pseudo = pseudoParameter(logicalId, context);
  if (pseudo !== undefined) return pseudo;

  const resource = context.resources.get(logicalId);
  if (resource) return resource.ref;

  throw new DefinitionError(
    `${location}: Ref "${logicalId}" names no resource in serverless.yml (resources, functions or state machines) ` +
      'and no supported pseudo parameter',
  );
}

function evaluateGetAtt(argument: unknown, context: IntrinsicContext, location: string): string {
  const [logicalId, attribute] = Array.isArray(argument) ? argument.map(String) : splitGetAtt(String(argument));
  if (logicalId === undefined || attribute === undefined) {
    throw new DefinitionError(`${location}: Fn::GetAtt needs [logicalId, attribute], got ${JSON.stringify(argument)}`);
  }

  const resource = context.resources.get(logicalId);
  if (!resource) {
    throw new DefinitionError(`${location}: Fn::GetAtt "${logicalId}.${attribute}" names no resource in serverless.yml`);
  }

  const value = resource.attributes[attribute];
  if (value === undefined) {
    throw new DefinitionError(
      `${location}: Fn::GetAtt "${logicalId}.${attribute}": the local stack knows only ${Object.keys(resource.attributes).join(', ')}`,
    );
  }
  return value;
}

function evaluateSub(argument: unknown, context: IntrinsicContext, location: string): string {
  const [template, variables] = Array.isArray(argument) ? argument : [argument, {}];
  if (typeof template !== 'string' || !isPlainObject(variables)) {
    throw new DefinitionError(`${location}: Fn::Sub needs a string or [string, {variables}], got ${JSON.stringify(argument)}`);
  }

  const evaluatedVariables = evaluateIntrinsics(variables, context, `${location}.Fn::Sub`) as Record<string, unknown>;

  return template.replace(/\$\{([^}]*)\}/g, (match, name: string) => {
    // `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;

    if (name in evaluatedVariables) return String(evaluatedVariables[name]);

    const pseudo = pseudoParameter(name, context);
    if (pseudo !== undefined) return pseudo;

    const dot = name.indexOf('.');
    if (dot >= 0) return evaluateGetAtt([name.slice(0, dot), name.slice(dot + 1)], context, location);
    return evaluateRef(name, context, location);
  });
}

function evaluateJoin(argument: unknown, context: IntrinsicContext, location: string): string {
  if (!Array.isArray(argument) || argument.length !== 2 || typeof argument[0] !== 'string') {
    throw new DefinitionError(`${location}: Fn::Join needs [delimiter, [values]], got ${JSON.stringify(argument)}`);
  }

  const values = evaluateIntrinsics(argument[1], context, `${location}.Fn::Join`);
  if (!Array.isArray(values)) {
    throw new DefinitionError(`${location}: the second element of Fn::Join must be a list`);
  }
  return values.map(String).join(argument[0]);
}
