/**
 * The fault-injection seam of the local gateway. Its rules make chosen AWS calls fail as AWS
 * fails under load (throttling, server errors, calls without a response), so retry and failure
 * paths can be tested against the real stack. Injection is off until rules are set.
 */
import type { AwsErrorSpec, RequestIdentity } from './aws-protocol.ts';

export const FAULT_KINDS = ['throttle', 'server-error', 'timeout', 'crash'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRule {
  /** Signing name of the service (`secretsmanager`, `s3`, ...) or `*` for every service. */
  service: string;
  /** Operation name (`ListSecrets`, `PutObject`, ...); `*` or absent for every operation. */
  operation?: string;
  /** Probability from 0 to 1 that a matching request fails. */
  rate: number;
  fault: FaultKind;
  /** Maximum number of requests this rule fails; absent for no limit. */
  count?: number;
  /** Only requests whose body contains this text, such as one secret's name. */
  target?: string;
  /**
   * For `crash` (service `lambda`, operation = a function's key in serverless.yml): the number of
   * AWS calls the invocation makes before it dies, as a process that crashes midway would.
   */
  afterCalls?: number;
}

export interface FaultRuleState extends FaultRule {
  /** Requests this rule has failed since the rules were set. */
  injected: number;
}

export class InvalidFaultRulesError extends Error {
  override name = 'InvalidFaultRulesError';
}

const RULE_KEYS = new Set(['service', 'operation', 'rate', 'fault', 'count', 'target', 'afterCalls']);

export class FaultInjector {
  private readonly seed: number;
  private random: () => number;
  private rules: FaultRuleState[] = [];

  constructor(seed: number) {
    this.seed = seed;
    this.random = mulberry32(seed);
  }

  /**
   * Replaces all rules; an empty list turns injection off. The random sequence restarts from the
   * seed, so the same rules and the same requests fail the same requests on every run.
   */
  setRules(input: unknown): FaultRuleState[] {
    this.rules = parseFaultRules(input).map((rule) => ({ ...rule, injected: 0 }));
    this.random = mulberry32(this.seed);
    return this.listRules();
  }

  listRules(): FaultRuleState[] {
    return this.rules.map((rule) => ({ ...rule }));
  }

  /** True when a rule matches on request bodies, so the gateway must read them. */
  needsBodies(): boolean {
    return this.rules.some((rule) => rule.target !== undefined);
  }

  /** Returns the fault to inject for this request, or undefined to serve it normally. */
  pick(identity: RequestIdentity, body?: Buffer): Exclude<FaultKind, 'crash'> | undefined {
    for (const rule of this.rules) {
      if (rule.fault === 'crash') continue;
      if (rule.service !== '*' && rule.service !== identity.service) continue;
      if (rule.operation !== undefined && rule.operation !== '*' && rule.operation !== identity.operation) continue;
      if (rule.target !== undefined && !body?.includes(rule.target)) continue;
      if (rule.count !== undefined && rule.injected >= rule.count) continue;
      if (this.random() >= rule.rate) continue;

      rule.injected++;
      return rule.fault;
    }
    return undefined;
  }

  /** Returns after how many AWS calls this invocation of a function must crash, if at all. */
  pickCrash(functionKey: string): number | undefined {
    for (const rule of this.rules) {
      if (rule.fault !== 'crash' || (rule.operation !== undefined && rule.operation !== '*' && rule.operation !== functionKey)) continue;
      if (rule.count !== undefined && rule.injected >= rule.count) continue;
      if (this.random() >= rule.rate) continue;

      rule.injected++;
      return rule.afterCalls ?? 0;
    }
    return undefined;
  }
}

export function parseFaultRules(input: unknown): FaultRule[] {
  if (!Array.isArray(input)) {
    throw new InvalidFaultRulesError('fault rules must be a JSON array; send [] to remove all rules');
  }

  return input.map((value, index) => {
    const where = `fault rule ${index}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidFaultRulesError(`${where} must be an object`);
    }

    const rule = value as Record<string, unknown>;
    const unknownKeys = Object.keys(rule).filter((key) => !RULE_KEYS.has(key));
    if (unknownKeys.length > 0) {
      throw new InvalidFaultRulesError(`${where} has unknown fields ${unknownKeys.join(', ')}; allowed: ${[...RULE_KEYS].join(', ')}`);
    }
    if (typeof rule.service !== 'string' || rule.service === '') {
      throw new InvalidFaultRulesError(`${where}: service must be a service signing name such as "secretsmanager", or "*"`);
    }
    if (rule.operation !== undefined && (typeof rule.operation !== 'string' || rule.operation === '')) {
      throw new InvalidFaultRulesError(`${where}: operation must be an operation name such as "ListSecrets", "*", or absent`);
    }
    if (typeof rule.rate !== 'number' || !(rule.rate >= 0 && rule.rate <= 1)) {
      throw new InvalidFaultRulesError(`${where}: rate must be a number from 0 to 1, got ${JSON.stringify(rule.rate)}`);
    }
    if (!FAULT_KINDS.includes(rule.fault as FaultKind)) {
      throw new InvalidFaultRulesError(`${where}: fault must be one of ${FAULT_KINDS.join(', ')}, got ${JSON.stringify(rule.fault)}`);
    }
    if (rule.count !== undefined && (!Number.isInteger(rule.count) || (rule.count as number) < 1)) {
      throw new InvalidFaultRulesError(`${where}: count must be a positive integer or absent`);
    }
    if (rule.target !== undefined && (typeof rule.target !== 'string' || rule.target === '')) {
      throw new InvalidFaultRulesError(`${where}: target must be a non-empty string or absent`);
    }
    if (rule.fault === 'crash' && rule.service !== 'lambda') {
      throw new InvalidFaultRulesError(`${where}: a crash applies to a function, so service must be "lambda" and operation a function's key`);
    }
    if (rule.afterCalls !== undefined && (rule.fault !== 'crash' || !Number.isInteger(rule.afterCalls) || (rule.afterCalls as number) < 0)) {
      throw new InvalidFaultRulesError(`${where}: afterCalls must be a non-negative integer, and only with fault "crash"`);
    }

    return {
      service: rule.service,
      ...(rule.operation === undefined ? {} : { operation: rule.operation as string }),
      rate: rule.rate,
      fault: rule.fault as FaultKind,
      ...(rule.count === undefined ? {} : { count: rule.count as number }),
      ...(rule.target === undefined ? {} : { target: rule.target as string }),
      ...(rule.afterCalls === undefined ? {} : { afterCalls: rule.afterCalls as number }),
    };
  });
}

/**
 * The error AWS returns for a throttled or failed call of this service. S3 and Lambda throttle
 * with their own codes (SlowDown, TooManyRequestsException); the SDKs treat both as throttling.
 */
export function faultError(kind: 'throttle' | 'server-error', identity: RequestIdentity): AwsErrorSpec {
  if (kind === 'throttle') {
    if (identity.protocol === 'rest-xml') return { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' };
    if (identity.protocol === 'rest-json') return { status: 429, code: 'TooManyRequestsException', message: 'Rate exceeded' };
    if (identity.protocol === 'query') return { status: 400, code: 'Throttling', message: 'Rate exceeded' };
    return { status: 400, code: 'ThrottlingException', message: 'Rate exceeded' };
  }

  if (identity.protocol === 'rest-xml') return { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' };
  if (identity.protocol === 'rest-json') return { status: 500, code: 'ServiceException', message: 'An internal error occurred.' };
  if (identity.service === 'dynamodb') return { status: 500, code: 'InternalServerError', message: 'Internal server error' };
  return { status: 500, code: 'InternalFailure', message: 'The request processing has failed because of an unknown error.' };
}

/** Creates a small seeded PRNG (mulberry32): the same seed yields the same sequence in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
