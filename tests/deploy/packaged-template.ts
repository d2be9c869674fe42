/**
 * The CloudFormation template that `serverless package --stage ci` writes to .serverless/, and
 * an evaluator of the intrinsic functions in it for one region and account, so that tests can
 * read the deployed roles' policies and the functions' environment as plain strings.
 *
 * The template is reused while it is newer than serverless.yml, package.json and the state
 * machine definitions. Otherwise it is packaged again, once, under a lock, because parallel test
 * files must not run two packagings into the same folders.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const SERVICE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PACKAGE_STAGE = 'ci';
export const REGION = 'us-east-1';
export const ACCOUNT_ID = '123456789012';

const TEMPLATE_FILE = path.join(SERVICE_DIR, '.serverless/cloudformation-template-update-stack.json');
const STATE_FILE = path.join(SERVICE_DIR, '.serverless/serverless-state.json');
const LOCK_DIR = path.join(os.tmpdir(), `neptune-package-${Buffer.from(SERVICE_DIR).toString('hex').slice(-32)}.lock`);
/** A lock older than this belongs to a packaging that crashed, because one run takes about 10 seconds. */
const STALE_LOCK_MS = 5 * 60 * 1000;
const PACKAGE_TIMEOUT_MS = 180_000;

export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Record<string, unknown>;
}

export interface CloudFormationTemplate {
  Resources: Record<string, CloudFormationResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

/** Returns the packaged template, packaging the stack first if the template is missing or stale. */
export async function packagedTemplate(): Promise<CloudFormationTemplate> {
  if (!isFresh()) await packageUnderLock();
  return JSON.parse(readFileSync(TEMPLATE_FILE, 'utf8')) as CloudFormationTemplate;
}

function isFresh(): boolean {
  let templateTime: number;
  let stage: unknown;
  try {
    templateTime = statSync(TEMPLATE_FILE).mtimeMs;
    stage = (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { service?: { provider?: { stage?: unknown } } }).service?.provider?.stage;
  } catch {
    return false;
  }
  if (stage !== PACKAGE_STAGE) return false;

  const definitions = readdirSync(path.join(SERVICE_DIR, 'statemachines')).map((name) => path.join('statemachines', name));
  const inputs = ['serverless.yml', 'package.json', ...definitions];
  return inputs.every((input) => statSync(path.join(SERVICE_DIR, input)).mtimeMs <= templateTime);
}

async function packageUnderLock(): Promise<void> {
  const deadline = Date.now() + PACKAGE_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() - statSync(LOCK_DIR).mtimeMs > STALE_LOCK_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_DIR}; remove it if no packaging is running`);
      await sleep(250);
    }
  }

  try {
    // Another test file may have packaged while this one waited for the lock.
    if (isFresh()) return;
    execFileSync(path.join(SERVICE_DIR, 'node_modules/.bin/serverless'), ['package', '--stage', PACKAGE_STAGE], {
      cwd: SERVICE_DIR,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', AWS_EC2_METADATA_DISABLED: 'true' },
      stdio: 'pipe',
      timeout: PACKAGE_TIMEOUT_MS,
    });
  } catch (error) {
    const output = (error as { stdout?: Buffer; stderr?: Buffer }).stdout?.toString() ?? '';
    throw new Error(`serverless package --stage ${PACKAGE_STAGE} failed:\n${output}`, { cause: error });
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/**
 * Evaluates Ref, Fn::GetAtt, Fn::Sub and Fn::Join against the template's resources, with the
 * names and ARNs that CloudFormation gives them in partition `aws`. Written apart from the local
 * stack's evaluator, so that a test comparing the two is not comparing one evaluator with itself.
 */
export class IntrinsicEvaluator {
  constructor(
    private readonly template: CloudFormationTemplate,
    private readonly region = REGION,
    private readonly accountId = ACCOUNT_ID,
  ) {}

  evaluate(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.evaluate(item));
    if (value === null || typeof value !== 'object') return value;

    const entries = Object.entries(value as Record<string, unknown>);
    const [first] = entries;
    if (entries.length === 1 && first) {
      const [name, argument] = first;
      if (name === 'Ref') return this.ref(String(argument));
      if (name === 'Fn::GetAtt') return this.getAtt(argument as [string, string]);
      if (name === 'Fn::Sub') return this.sub(argument);
      if (name === 'Fn::Join') return this.join(argument as [string, unknown[]]);
      if (name.startsWith('Fn::')) throw new Error(`the test evaluator does not support ${name}`);
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.evaluate(item)]));
  }

  /** Evaluates a value that must come out as a string, such as an ARN or a variable. */
  evaluateString(value: unknown): string {
    const evaluated = this.evaluate(value);
    if (typeof evaluated !== 'string') throw new Error(`expected a string, got ${JSON.stringify(evaluated)}`);
    return evaluated;
  }

  private ref(logicalId: string): string {
    switch (logicalId) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
    }

    const resource = this.resource(logicalId);
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.amazonaws.com/${this.accountId}/${this.nameOf(logicalId)}`;
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::StepFunctions::StateMachine':
        return this.arnOf(logicalId);
      default:
        return this.nameOf(logicalId);
    }
  }

  private getAtt([logicalId, attribute]: [string, string]): string {
    if (attribute === 'Arn') return this.arnOf(logicalId);
    if (attribute === 'QueueName') return this.nameOf(logicalId);
    throw new Error(`the test evaluator does not support Fn::GetAtt ${logicalId}.${attribute}`);
  }

  private sub(argument: unknown): string {
    const [text, variables] = Array.isArray(argument) ? (argument as [string, Record<string, unknown>]) : [String(argument), {}];
    return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in variables) return this.evaluateString(variables[name]);
      const dot = name.indexOf('.');
      return dot < 0 || name.startsWith('AWS::') ? this.ref(name) : this.getAtt([name.slice(0, dot), name.slice(dot + 1)]);
    });
  }

  private join([delimiter, values]: [string, unknown[]]): string {
    return values.map((value) => this.evaluateString(value)).join(delimiter);
  }

  private resource(logicalId: string): CloudFormationResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`the template has no resource ${logicalId}`);
    return resource;
  }

  /** Reads the physical name from the resource's explicit name property. */
  private nameOf(logicalId: string): string {
    const resource = this.resource(logicalId);
    const property = NAME_PROPERTIES[resource.Type];
    const name = property ? resource.Properties?.[property] : undefined;
    if (name === undefined) throw new Error(`${logicalId} (${resource.Type}) has no explicit name the test evaluator can use`);
    return this.evaluateString(name);
  }

  private arnOf(logicalId: string): string {
    const { region, accountId } = this;
    const resource = this.resource(logicalId);
    const name = this.nameOf(logicalId);
    switch (resource.Type) {
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${accountId}:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${region}:${accountId}:log-group:${name}:*`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
      case 'AWS::IAM::ManagedPolicy': {
        const policyPath = resource.Properties?.Path === undefined ? '/' : this.evaluateString(resource.Properties.Path);
        return `arn:aws:iam::${accountId}:policy${policyPath}${name}`;
      }
      default:
        throw new Error(`the test evaluator cannot build the ARN of ${logicalId} (${resource.Type})`);
    }
  }
}

const NAME_PROPERTIES: Record<string, string> = {
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
};

/** A function as osls resolved it from serverless.yml. */
export interface PackagedFunction {
  handler: string;
  name: string;
  timeout?: number;
  memory?: number;
  runtime?: string;
  role?: string;
}

/**
 * Returns serverless.yml's functions as osls resolved them when it packaged the template, keyed
 * as in serverless.yml. Call packagedTemplate() first, so that they are fresh.
 */
export function packagedFunctions(): Record<string, PackagedFunction> {
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { service: { functions: Record<string, PackagedFunction> } };
  return state.service.functions;
}
