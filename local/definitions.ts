/**
 * Reads serverless.yml (and the state machine file it references) into what the local stack
 * runs: the functions, the tables, bucket and queues to create, and the state machines.
 * Everything comes from serverless.yml, so a function or variable the local stack cannot match
 * fails here, at start, instead of drifting silently from the deployed stack.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { parse as parseYaml } from 'yaml';

import { cloudFormationTags, evaluateIntrinsics, type IntrinsicContext, type ResourceReference } from './cloudformation.ts';
import { DefinitionError } from './errors.ts';
import { isPlainObject, VariableResolver } from './serverless-variables.ts';

export const LOCAL_STAGE = 'local';
export const DEFAULT_REGION = 'us-east-1';
/** moto's account id unless MOTO_ACCOUNT_ID sets another. */
export const DEFAULT_ACCOUNT_ID = '123456789012';

/** Serverless Framework v3 defaults when neither the provider nor the function sets a value. */
const DEFAULT_TIMEOUT_SECONDS = 6;
const DEFAULT_MEMORY_SIZE_MB = 1024;

export interface FunctionDefinition {
  /** Key under `functions:` in serverless.yml, e.g. `loadManifest`. */
  key: string;
  /** Deployed name, `<service>-<stage>-<key>` unless the function sets `name`. */
  name: string;
  arn: string;
  /** The `handler` value as written, e.g. `functions/trigger/handler.handler`. */
  handler: string;
  /** Absolute path of the TypeScript module that exports the handler. */
  handlerFile: string;
  exportName: string;
  timeoutSeconds: number;
  memorySizeMb: number;
  runtime: string;
  /** Provider environment merged with the function's own, every value resolved. */
  environment: Record<string, string>;
  asyncInvoke: AsyncInvokeConfig;
}

export interface TableDefinition {
  logicalId: string;
  name: string;
  /** The resource's CloudFormation properties, resolved. */
  properties: Record<string, unknown>;
}

export interface BucketDefinition {
  /** Undefined when serverless.yml declares no bucket and the local default name is used. */
  logicalId: string | undefined;
  name: string;
  /** The events and key filter of the bucket's notification to the trigger function. */
  triggerNotification: { events: string[]; filterRules: Array<{ Name: string; Value: string }> };
}

/** Lambda's handling of a function's failed asynchronous invocations (AWS::Lambda::EventInvokeConfig). */
export interface AsyncInvokeConfig {
  /** Retries after the first attempt; Lambda's default is 2. */
  maximumRetryAttempts: number;
  /** ARN of the SQS queue that receives events that failed every attempt. */
  onFailureQueueArn: string | undefined;
}

export interface ManagedPolicyDefinition {
  logicalId: string;
  name: string;
  path: string;
  description: string | undefined;
  document: unknown;
}

export interface QueueDefinition {
  logicalId: string;
  name: string;
  properties: Record<string, unknown>;
}

export interface StateMachineInfo {
  key: string;
  name: string;
  arn: string;
  /** The Amazon States Language definition with every function reference replaced by its ARN. */
  definition: Record<string, unknown>;
}

export interface StackDefinitions {
  service: string;
  stage: string;
  region: string;
  accountId: string;
  functions: FunctionDefinition[];
  tables: TableDefinition[];
  /** The bucket that receives `<projectId>/neptune.json` uploads. */
  manifestBucket: BucketDefinition;
  queues: QueueDefinition[];
  managedPolicies: ManagedPolicyDefinition[];
  stateMachines: StateMachineInfo[];
}

export interface LoadOptions {
  /** Directory that contains serverless.yml. */
  serviceDir: string;
  stage?: string;
  region?: string;
  accountId?: string;
}

export function loadDefinitions(options: LoadOptions): StackDefinitions {
  const stage = options.stage ?? LOCAL_STAGE;
  const region = options.region ?? DEFAULT_REGION;
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;

  const config = readServerlessYml(options.serviceDir);
  const resolver = new VariableResolver({ config, serviceDir: options.serviceDir, stage, region, accountId });

  const service = requireString(resolver.resolvePath('service'), 'service');
  const stackName = `${service}-${stage}`;
  const resources = asRecord(resolver.resolvePath('resources.Resources') ?? {}, 'resources.Resources');
  const provider = asRecord(resolver.resolvePath('provider') ?? {}, 'provider');
  const rawFunctions = asRecord(resolver.resolvePath('functions') ?? {}, 'functions');
  const rawStateMachines = asRecord(resolver.resolvePath('stepFunctions.stateMachines') ?? {}, 'stepFunctions.stateMachines');

  const intrinsics: IntrinsicContext = { region, accountId, stackName, resources: new Map() };
  const functionNames = new Map<string, string>();
  for (const [key, raw] of Object.entries(rawFunctions)) {
    const declaredName = asRecord(raw, `functions.${key}`).name;
    const name = typeof declaredName === 'string' ? declaredName : `${stackName}-${key}`;
    functionNames.set(key, name);
    intrinsics.resources.set(functionLogicalId(key), {
      ref: name,
      attributes: { Arn: lambdaArn(region, accountId, name) },
    });
  }
  registerResources(resources, intrinsics);
  const stateMachineNames = registerStateMachines(rawStateMachines, stackName, intrinsics);

  const functions = [...functionNames].map(([key, name]) => {
    const fn = buildFunction(key, name, asRecord(rawFunctions[key], `functions.${key}`), provider, intrinsics, options.serviceDir);
    return { ...fn, asyncInvoke: findAsyncInvokeConfig(fn, resources, intrinsics) };
  });

  const stateMachines = Object.entries(rawStateMachines).map(([key, raw]) =>
    buildStateMachine(key, stateMachineNames.get(key) ?? key, asRecord(raw, key), functions, intrinsics),
  );

  return {
    service,
    stage,
    region,
    accountId,
    functions,
    tables: resourcesOfType(resources, 'AWS::DynamoDB::Table', intrinsics).map(({ logicalId, properties }) => ({
      logicalId,
      name: intrinsics.resources.get(logicalId)?.ref ?? logicalId,
      properties,
    })),
    manifestBucket: findManifestBucket(resources, stackName, intrinsics, functions),
    queues: resourcesOfType(resources, 'AWS::SQS::Queue', intrinsics).map(({ logicalId, properties }) => ({
      logicalId,
      name: intrinsics.resources.get(logicalId)?.attributes.QueueName ?? logicalId,
      properties,
    })),
    managedPolicies: resourcesOfType(resources, 'AWS::IAM::ManagedPolicy', intrinsics).map(({ logicalId, properties }) => ({
      logicalId,
      name: String(properties.ManagedPolicyName ?? `${stackName}-${logicalId}`),
      path: String(properties.Path ?? '/'),
      description: properties.Description === undefined ? undefined : String(properties.Description),
      document: properties.PolicyDocument,
    })),
    stateMachines,
  };
}

function readServerlessYml(serviceDir: string): Record<string, unknown> {
  const file = path.join(serviceDir, 'serverless.yml');
  const parsed: unknown = parseYaml(readFileSync(file, 'utf8'), { customTags: cloudFormationTags() });
  return asRecord(parsed, file);
}

/** Returns the logical id that the Serverless Framework gives a function's `AWS::Lambda::Function`. */
export function functionLogicalId(key: string): string {
  const normalized = key.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return `${normalized.charAt(0).toUpperCase()}${normalized.slice(1)}LambdaFunction`;
}

export function lambdaArn(region: string, accountId: string, functionName: string): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${functionName}`;
}

export function stateMachineArn(region: string, accountId: string, name: string): string {
  return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
}

/**
 * Records what `Ref` and `Fn::GetAtt` return for each resource the local stack can create or
 * name. A name property that is itself an intrinsic is evaluated against the resources so far.
 */
function registerResources(resources: Record<string, unknown>, intrinsics: IntrinsicContext): void {
  const { region, accountId, stackName } = intrinsics;

  for (const [logicalId, raw] of Object.entries(resources)) {
    const resource = asRecord(raw, `resources.Resources.${logicalId}`);
    const properties = asRecord(resource.Properties ?? {}, `resources.Resources.${logicalId}.Properties`);
    const nameOf = (property: string, fallback: string): string => {
      const value = properties[property];
      if (value === undefined) return fallback;
      return String(evaluateIntrinsics(value, intrinsics, `resources.Resources.${logicalId}.Properties.${property}`));
    };

    let reference: ResourceReference | undefined;
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table': {
        const name = nameOf('TableName', `${stackName}-${logicalId}`);
        reference = { ref: name, attributes: { Arn: `arn:aws:dynamodb:${region}:${accountId}:table/${name}` } };
        break;
      }
      case 'AWS::S3::Bucket': {
        const name = nameOf('BucketName', `${stackName}-${logicalId}`.toLowerCase());
        reference = {
          ref: name,
          attributes: {
            Arn: `arn:aws:s3:::${name}`,
            DomainName: `${name}.s3.amazonaws.com`,
            RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
          },
        };
        break;
      }
      case 'AWS::SQS::Queue': {
        const name = nameOf('QueueName', `${stackName}-${logicalId}`);
        const url = `https://sqs.${region}.amazonaws.com/${accountId}/${name}`;
        reference = {
          ref: url,
          attributes: { Arn: `arn:aws:sqs:${region}:${accountId}:${name}`, QueueName: name, QueueUrl: url },
        };
        break;
      }
      case 'AWS::SNS::Topic': {
        const name = nameOf('TopicName', `${stackName}-${logicalId}`);
        const arn = `arn:aws:sns:${region}:${accountId}:${name}`;
        reference = { ref: arn, attributes: { TopicArn: arn, TopicName: name } };
        break;
      }
      case 'AWS::IAM::Role': {
        const name = nameOf('RoleName', `${stackName}-${logicalId}`);
        const rolePath = nameOf('Path', '/');
        reference = { ref: name, attributes: { Arn: `arn:aws:iam::${accountId}:role${rolePath}${name}`, RoleId: name } };
        break;
      }
      case 'AWS::IAM::ManagedPolicy': {
        const name = nameOf('ManagedPolicyName', `${stackName}-${logicalId}`);
        const policyPath = nameOf('Path', '/');
        const arn = `arn:aws:iam::${accountId}:policy${policyPath}${name}`;
        reference = { ref: arn, attributes: { PolicyArn: arn } };
        break;
      }
    }

    // Other types (policies, alarms, ...) have no local counterpart; a reference to one fails
    // when it is evaluated, with the logical id in the message.
    if (reference) intrinsics.resources.set(logicalId, reference);
  }
}

/** serverless-step-functions names a state machine's logical id after its key unless `id` is set. */
function registerStateMachines(
  rawStateMachines: Record<string, unknown>,
  stackName: string,
  intrinsics: IntrinsicContext,
): Map<string, string> {
  const names = new Map<string, string>();

  for (const [key, raw] of Object.entries(rawStateMachines)) {
    const stateMachine = asRecord(raw, `stepFunctions.stateMachines.${key}`);
    const name = typeof stateMachine.name === 'string' ? stateMachine.name : `${stackName}-${key}`;
    const arn = stateMachineArn(intrinsics.region, intrinsics.accountId, name);
    const alphanumericKey = key.replace(/[^A-Za-z0-9]/g, '');
    const logicalId =
      typeof stateMachine.id === 'string'
        ? stateMachine.id
        : `${alphanumericKey.charAt(0).toUpperCase()}${alphanumericKey.slice(1)}StepFunctionsStateMachine`;

    names.set(key, name);
    intrinsics.resources.set(logicalId, { ref: arn, attributes: { Arn: arn, Name: name } });
  }

  return names;
}

function buildFunction(
  key: string,
  name: string,
  raw: Record<string, unknown>,
  provider: Record<string, unknown>,
  intrinsics: IntrinsicContext,
  serviceDir: string,
): Omit<FunctionDefinition, 'asyncInvoke'> {
  const location = `functions.${key}`;
  const handler = requireString(raw.handler, `${location}.handler`);
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) {
    throw new DefinitionError(`serverless.yml ${location}.handler "${handler}" must be "<file path>.<export name>"`);
  }

  const modulePath = handler.slice(0, dot);
  const environment = {
    ...asRecord(provider.environment ?? {}, 'provider.environment'),
    ...asRecord(raw.environment ?? {}, `${location}.environment`),
  };

  return {
    key,
    name,
    arn: lambdaArn(intrinsics.region, intrinsics.accountId, name),
    handler,
    handlerFile: findHandlerFile(serviceDir, modulePath),
    exportName: handler.slice(dot + 1),
    timeoutSeconds: Number(raw.timeout ?? provider.timeout ?? DEFAULT_TIMEOUT_SECONDS),
    memorySizeMb: Number(raw.memorySize ?? provider.memorySize ?? DEFAULT_MEMORY_SIZE_MB),
    runtime: String(raw.runtime ?? provider.runtime ?? 'nodejs'),
    environment: resolveEnvironment(environment, intrinsics, `${location}.environment`),
  };
}

/** serverless-esbuild builds `<path>.handler` from `<path>.ts`; the local runtime imports that file under tsx. */
function findHandlerFile(serviceDir: string, modulePath: string): string {
  for (const extension of ['.ts', '.mts', '.js', '.mjs']) {
    const candidate = path.join(serviceDir, `${modulePath}${extension}`);
    if (existsSync(candidate)) return candidate;
  }

  // The handler may not be written yet: the runtime reports the missing file on the first invoke.
  return path.join(serviceDir, `${modulePath}.ts`);
}

function resolveEnvironment(
  environment: Record<string, unknown>,
  intrinsics: IntrinsicContext,
  location: string,
): Record<string, string> {
  const resolved: Record<string, string> = {};

  for (const [name, value] of Object.entries(environment)) {
    const evaluated = evaluateIntrinsics(value, intrinsics, `serverless.yml ${location}.${name}`);
    if (typeof evaluated === 'object' && evaluated !== null) {
      throw new DefinitionError(`serverless.yml ${location}.${name} evaluates to an object; Lambda environment values are strings`);
    }
    resolved[name] = String(evaluated);
  }

  return resolved;
}

function buildStateMachine(
  key: string,
  name: string,
  raw: Record<string, unknown>,
  functions: FunctionDefinition[],
  intrinsics: IntrinsicContext,
): StateMachineInfo {
  const location = `stepFunctions.stateMachines.${key}.definition`;
  if (!isPlainObject(raw.definition)) {
    throw new DefinitionError(`serverless.yml ${location} must be an object or \${file(...)} of a JSON definition`);
  }

  const withFunctionArns = replaceFunctionReferences(raw.definition, functions, location);
  const definition = evaluateIntrinsics(withFunctionArns, intrinsics, location) as Record<string, unknown>;

  return { key, name, arn: stateMachineArn(intrinsics.region, intrinsics.accountId, name), definition };
}

/**
 * Replaces `{"Fn::GetAtt": [functionKey, "Arn"]}` with the function's ARN, as
 * serverless-step-functions does; a key that names no function throws.
 */
function replaceFunctionReferences(value: unknown, functions: FunctionDefinition[], location: string): unknown {
  if (Array.isArray(value)) return value.map((item, index) => replaceFunctionReferences(item, functions, `${location}[${index}]`));
  if (!isPlainObject(value)) return value;

  const getAtt = value['Fn::GetAtt'];
  if (Object.keys(value).length === 1 && Array.isArray(getAtt) && getAtt[1] === 'Arn') {
    const target = String(getAtt[0]);
    const fn = functions.find((candidate) => candidate.key === target || functionLogicalId(candidate.key) === target);
    if (fn) return fn.arn;

    if (!target.endsWith('StepFunctionsStateMachine')) {
      throw new DefinitionError(
        `${location}: Fn::GetAtt [${target}, Arn] names no function in serverless.yml; ` +
          `the functions are ${functions.map((candidate) => candidate.key).join(', ')}`,
      );
    }
  }

  const replaced: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    replaced[key] = replaceFunctionReferences(item, functions, `${location}.${key}`);
  }
  return replaced;
}

function resourcesOfType(
  resources: Record<string, unknown>,
  type: string,
  intrinsics: IntrinsicContext,
): Array<{ logicalId: string; properties: Record<string, unknown> }> {
  return Object.entries(resources)
    .filter(([, raw]) => isPlainObject(raw) && raw.Type === type)
    .map(([logicalId, raw]) => {
      const location = `resources.Resources.${logicalId}.Properties`;
      const properties = evaluateIntrinsics((raw as Record<string, unknown>).Properties ?? {}, intrinsics, location);
      return { logicalId, properties: asRecord(properties, location) };
    });
}

/**
 * Finds the manifest bucket: the one `AWS::S3::Bucket` in serverless.yml, or
 * `<service>-<stage>-manifests` while serverless.yml declares none.
 */
function findManifestBucket(
  resources: Record<string, unknown>,
  stackName: string,
  intrinsics: IntrinsicContext,
  functions: FunctionDefinition[],
): BucketDefinition {
  const buckets = Object.entries(resources).filter(([, raw]) => isPlainObject(raw) && raw.Type === 'AWS::S3::Bucket');
  if (buckets.length === 0) {
    return { logicalId: undefined, name: `${stackName}-manifests`, triggerNotification: DEFAULT_TRIGGER_NOTIFICATION };
  }

  const chosen = buckets.length === 1 ? buckets[0] : buckets.find(([logicalId]) => /manifest/i.test(logicalId));
  if (!chosen) {
    throw new DefinitionError(
      `serverless.yml declares ${buckets.length} buckets (${buckets.map(([id]) => id).join(', ')}); ` +
        'the local stack takes the manifest bucket from the one whose logical id contains "Manifest"',
    );
  }

  const [logicalId, raw] = chosen;
  return {
    logicalId,
    name: intrinsics.resources.get(logicalId)?.ref ?? logicalId,
    triggerNotification: findTriggerNotification(logicalId, raw as Record<string, unknown>, intrinsics, functions),
  };
}

const TRIGGER_FUNCTION_KEY = 'trigger';
const DEFAULT_TRIGGER_NOTIFICATION = {
  events: ['s3:ObjectCreated:*'],
  filterRules: [{ Name: 'suffix', Value: 'neptune.json' }],
};

/** Reads the bucket's `LambdaConfigurations` entry that invokes the trigger function, if there is one. */
function findTriggerNotification(
  logicalId: string,
  bucket: Record<string, unknown>,
  intrinsics: IntrinsicContext,
  functions: FunctionDefinition[],
): BucketDefinition['triggerNotification'] {
  const location = `resources.Resources.${logicalId}.Properties.NotificationConfiguration`;
  const properties = asRecord(bucket.Properties ?? {}, `resources.Resources.${logicalId}.Properties`);
  const notification = evaluateIntrinsics(properties.NotificationConfiguration ?? {}, intrinsics, location) as Record<string, unknown>;
  const trigger = functions.find((fn) => fn.key === TRIGGER_FUNCTION_KEY);

  const configurations = (notification.LambdaConfigurations ?? []) as Array<Record<string, unknown>>;
  const matching = configurations.filter((configuration) => configuration.Function === trigger?.arn);
  if (matching.length === 0) return DEFAULT_TRIGGER_NOTIFICATION;

  const filterRules = matching.flatMap((configuration) => {
    const filter = configuration.Filter as { S3Key?: { Rules?: Array<{ Name: string; Value: string }> } } | undefined;
    return filter?.S3Key?.Rules ?? [];
  });
  return { events: matching.map((configuration) => String(configuration.Event)), filterRules };
}

/** Lambda retries a failed asynchronous invocation twice unless an EventInvokeConfig sets another count. */
const DEFAULT_ASYNC_RETRY_ATTEMPTS = 2;

function findAsyncInvokeConfig(
  fn: Omit<FunctionDefinition, 'asyncInvoke'>,
  resources: Record<string, unknown>,
  intrinsics: IntrinsicContext,
): AsyncInvokeConfig {
  for (const { logicalId, properties } of resourcesOfType(resources, 'AWS::Lambda::EventInvokeConfig', intrinsics)) {
    if (properties.FunctionName !== fn.name && properties.FunctionName !== fn.arn) continue;

    const destination = (properties.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)?.OnFailure?.Destination;
    if (destination !== undefined && !destination.startsWith('arn:aws:sqs:')) {
      throw new DefinitionError(
        `serverless.yml ${logicalId}: the local stack delivers failed events only to SQS queues, not to ${destination}`,
      );
    }
    return {
      maximumRetryAttempts: Number(properties.MaximumRetryAttempts ?? DEFAULT_ASYNC_RETRY_ATTEMPTS),
      onFailureQueueArn: destination,
    };
  }

  return { maximumRetryAttempts: DEFAULT_ASYNC_RETRY_ATTEMPTS, onFailureQueueArn: undefined };
}

function asRecord(value: unknown, location: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new DefinitionError(`serverless.yml ${location} must be a map`);
  return value;
}

function requireString(value: unknown, location: string): string {
  if (typeof value !== 'string' || value === '') throw new DefinitionError(`serverless.yml ${location} must be a non-empty string`);
  return value;
}
