import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';

import { buildSecretsPolicy, type PolicyDocument } from '../../shared/iam-policy.ts';
import {
  isLogicalName,
  isProjectId,
  LOGICAL_NAME_MAX_LENGTH,
  logicalNameProblem,
  manifestKey,
  parsePhysicalName,
  physicalName,
  PROJECT_ID_MAX_LENGTH,
  projectIdFromKey,
  projectIdProblem,
} from '../../shared/naming.ts';

const ACCOUNT_ID = '123456789012';
const REGION = 'us-east-1';

/** Marsaglia's xorshift32 with a fixed seed, so that a failing property run can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const LETTERS = `${LOWER}${LOWER.toUpperCase()}`;
const PROJECT_ID_CHARACTERS = `${LOWER}${DIGITS}`;
const LOGICAL_NAME_CHARACTERS = `${LETTERS}${DIGITS}_`;
const SUFFIX_CHARACTERS = `${LETTERS}${DIGITS}`;

class Generator {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick(characters: string): string {
    return characters[this.integer(0, characters.length - 1)] ?? '';
  }

  text(characters: string, length: number): string {
    let result = '';
    for (let i = 0; i < length; i++) result += this.pick(characters);
    return result;
  }

  /** Mostly short ids, so that prefixes are shared often, and sometimes the longest allowed. */
  projectId(): string {
    const length = this.next() < 0.8 ? this.integer(1, 4) : this.integer(1, PROJECT_ID_MAX_LENGTH);
    return this.text(PROJECT_ID_CHARACTERS, length);
  }

  logicalName(): string {
    const length = this.next() < 0.8 ? this.integer(1, 4) : this.integer(1, LOGICAL_NAME_MAX_LENGTH);
    return this.pick(LETTERS) + this.text(LOGICAL_NAME_CHARACTERS, length - 1);
  }

  /** Generates a suffix like the six random characters that Secrets Manager appends to an ARN. */
  arnSuffix(): string {
    return this.text(SUFFIX_CHARACTERS, 6);
  }
}

function secretArn(name: string, suffix: string): string {
  return `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${name}-${suffix}`;
}

/** Pairs that move characters across the separator or extend either part by one character. */
function adversarialPairs(projectId: string, logicalName: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [[projectId, logicalName]];
  for (const extra of ['a', '1']) {
    pairs.push([`${projectId}${extra}`, logicalName]);
    pairs.push([projectId, `${logicalName}${extra}`]);
  }
  if (projectId.length > 1) pairs.push([projectId.slice(0, -1), logicalName]);
  // Moving the first character of a lowercase name into the id keeps both parts valid.
  const head = logicalName[0] ?? '';
  if (/[a-z]/.test(head) && logicalName.length > 1 && /[A-Za-z]/.test(logicalName[1] ?? '')) {
    pairs.push([`${projectId}${head}`, logicalName.slice(1)]);
  }
  return pairs.filter(([id, name]) => isProjectId(id) && isLogicalName(name));
}

async function evaluate(policy: PolicyDocument | undefined, action: string, resource: string): Promise<string> {
  const simulation: Simulation = {
    identityPolicies: policy ? [{ name: 'neptune-secrets', policy }] : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      action,
      principal: `arn:aws:iam::${ACCOUNT_ID}:role/neptune-service`,
      resource: { accountId: ACCOUNT_ID, resource },
      contextVariables: {},
    },
  };
  const response = await runSimulation(simulation, {});
  // A rejected simulation must fail the test, never count as a denial.
  if (response.resultType === 'error') throw new Error(`simulation rejected: ${JSON.stringify(response.errors)}`);
  return response.overallResult;
}

describe('physicalName', () => {
  it('joins prefix, project id and logical name with hyphens', () => {
    // Act
    const name = physicalName('abc123', 'STRIPE_API_KEY');

    // Assess
    expect(name).toBe('neptune-abc123-STRIPE_API_KEY');
  });

  it('maps distinct random and adversarial pairs to distinct names', () => {
    // Prepare
    const random = new Generator(20_240_601);
    const ownerByName = new Map<string, string>();
    let checked = 0;

    // Act
    for (let i = 0; i < 3_000; i++) {
      for (const [projectId, logicalName] of adversarialPairs(random.projectId(), random.logicalName())) {
        const name = physicalName(projectId, logicalName);
        const pair = `${projectId} ${logicalName}`;
        const owner = ownerByName.get(name);

        // Assess
        if (owner !== undefined) expect(owner, `collision on ${name}`).toBe(pair);
        ownerByName.set(name, pair);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('maps every pair over a small alphabet to a distinct name', () => {
    // Prepare
    const words = (first: string, rest: string, maxLength: number): string[] => {
      let level = [...first];
      const all = [...level];
      for (let length = 2; length <= maxLength; length++) {
        level = level.flatMap((word) => [...rest].map((character) => `${word}${character}`));
        all.push(...level);
      }
      return all;
    };
    const projectIds = words('ab1', 'ab1', 3);
    const logicalNames = words('Ab', 'Ab_1', 4);
    const ownerByName = new Map<string, string>();

    // Act
    for (const projectId of projectIds) {
      for (const logicalName of logicalNames) {
        const name = physicalName(projectId, logicalName);
        const pair = `${projectId} ${logicalName}`;

        // Assess
        expect(ownerByName.get(name), `collision on ${name}`).toBeUndefined();
        ownerByName.set(name, pair);
      }
    }
    expect(ownerByName.size).toBe(projectIds.length * logicalNames.length);
    expect(ownerByName.size).toBe(39 * 170);
  });
});

describe('parsePhysicalName', () => {
  it('returns the parts of a physical name', () => {
    // Act
    const parts = parsePhysicalName('neptune-abc123-STRIPE_API_KEY');

    // Assess
    expect(parts).toEqual({ projectId: 'abc123', logicalName: 'STRIPE_API_KEY' });
  });

  it('round-trips random valid pairs', () => {
    // Prepare
    const random = new Generator(7);

    for (let i = 0; i < 2_000; i++) {
      const projectId = random.projectId();
      const logicalName = random.logicalName();

      // Act
      const parts = parsePhysicalName(physicalName(projectId, logicalName));

      // Assess
      expect(parts).toEqual({ projectId, logicalName });
    }
  });

  it.each([
    ['another prefix', 'other-abc-KEY'],
    ['no separator', 'neptune-abcKEY'],
    ['an uppercase project id', 'neptune-ABC-KEY'],
    ['a hyphen in the logical name', 'neptune-abc-MY-KEY'],
    ['an empty project id', 'neptune--KEY'],
    ['an empty logical name', 'neptune-abc-'],
    ['a logical name starting with a digit', 'neptune-abc-1KEY'],
    ['a logical name that is too long', `neptune-abc-${'K'.repeat(LOGICAL_NAME_MAX_LENGTH + 1)}`],
  ])('rejects %s', (_case, name) => {
    // Act
    const parts = parsePhysicalName(name);

    // Assess
    expect(parts).toBeUndefined();
  });
});

describe('projectIdFromKey', () => {
  it('reads the id from <projectId>/neptune.json', () => {
    // Act
    const projectId = projectIdFromKey('abc123/neptune.json');

    // Assess
    expect(projectId).toBe('abc123');
  });

  it('reads an id of the maximum length', () => {
    // Prepare
    const longest = 'a'.repeat(PROJECT_ID_MAX_LENGTH);

    // Act
    const projectId = projectIdFromKey(manifestKey(longest));

    // Assess
    expect(projectId).toBe(longest);
  });

  it.each([
    ['a folder placeholder', 'abc123/'],
    ['a nested key', 'abc123/sub/neptune.json'],
    ['a key below a prefix', 'uploads/abc123/neptune.json'],
    ['a key without a folder', 'neptune.json'],
    ['an empty id', '/neptune.json'],
    ['an uppercase id', 'ABC123/neptune.json'],
    ['an id with a hyphen', 'my-app/neptune.json'],
    ['an id that is too long', `${'a'.repeat(PROJECT_ID_MAX_LENGTH + 1)}/neptune.json`],
    ['another file name', 'abc123/neptune.yaml'],
    ['a file name in another case', 'abc123/Neptune.json'],
    ['a leading slash', '/abc123/neptune.json'],
  ])('rejects %s', (_case, key) => {
    // Act
    const projectId = projectIdFromKey(key);

    // Assess
    expect(projectId).toBeUndefined();
  });
});

describe('projectIdProblem', () => {
  it('accepts a valid id', () => {
    // Act
    const problem = projectIdProblem('abc123');

    // Assess
    expect(problem).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['a'.repeat(33), 'the maximum is 32'],
    ['My-App', 'lowercase letters a-z and digits 0-9'],
  ])('describes the problem with %j', (projectId, expected) => {
    // Act
    const problem = projectIdProblem(projectId);

    // Assess
    expect(problem).toContain(expected);
  });
});

describe('logicalNameProblem', () => {
  it('accepts a valid name', () => {
    // Act
    const problem = logicalNameProblem('STRIPE_API_KEY');

    // Assess
    expect(problem).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['K'.repeat(129), 'the maximum is 128'],
    ['MY-KEY', 'must start with a letter'],
    ['_KEY', 'must start with a letter'],
  ])('describes the problem with %j', (logicalName, expected) => {
    // Act
    const problem = logicalNameProblem(logicalName);

    // Assess
    expect(problem).toContain(expected);
  });
});

describe('secret grant isolation', () => {
  it('denies every secret of another project', async () => {
    // Prepare
    const random = new Generator(424_242);
    let deniedChecks = 0;

    for (let trial = 0; trial < 40; trial++) {
      const ownProject = random.projectId();
      // Alternate between ids that extend ours, ids that ours extends, and unrelated ids.
      const candidates = [`${ownProject}${random.pick(PROJECT_ID_CHARACTERS)}`, ownProject.slice(0, -1), random.projectId()].filter(
        (id) => isProjectId(id) && id !== ownProject,
      );
      const otherProject = candidates[trial % candidates.length] ?? '';
      const names = [random.logicalName(), random.logicalName(), random.logicalName()];
      const ownArns = names.map((name) => secretArn(physicalName(ownProject, name), random.arnSuffix()));
      // The other project declares the same names, the closest a name can come to ours.
      const otherArns = names.map((name) => secretArn(physicalName(otherProject, name), random.arnSuffix()));

      // Act
      const policy = buildSecretsPolicy(ownArns, { region: REGION });

      // Assess
      for (const arn of ownArns) {
        expect(await evaluate(policy, 'secretsmanager:GetSecretValue', arn), arn).toBe('Allowed');
      }
      for (const arn of otherArns) {
        expect(await evaluate(policy, 'secretsmanager:GetSecretValue', arn), `${ownProject} read ${arn}`).not.toBe('Allowed');
        deniedChecks++;
      }
    }
    expect(deniedChecks).toBe(120);
  });

  it.each(['ab', 'abcd', 'abc0', 'a', 'bc'])('denies neptune-abc-X to project %s', async (projectId) => {
    // Prepare
    const foreignArn = secretArn('neptune-abc-X', 'Ab12Cd');
    const ownArns = ['X', 'cX', 'X_', 'XY'].map((name) => secretArn(physicalName(projectId, name), 'Ab12Cd'));
    const policy = buildSecretsPolicy(ownArns, { region: REGION });

    // Act
    const result = await evaluate(policy, 'secretsmanager:GetSecretValue', foreignArn);

    // Assess
    expect(result).not.toBe('Allowed');
  });

  it('denies a removed secret of the same project', async () => {
    // Prepare
    const keptArn = secretArn(physicalName('abc', 'KEPT'), 'Ab12Cd');
    const removedArn = secretArn(physicalName('abc', 'REMOVED'), 'Xy34Zw');
    const policy = buildSecretsPolicy([keptArn], { region: REGION });

    // Act
    const keptAccess = await evaluate(policy, 'secretsmanager:GetSecretValue', keptArn);
    const removedAccess = await evaluate(policy, 'secretsmanager:GetSecretValue', removedArn);

    // Assess
    expect(keptAccess).toBe('Allowed');
    expect(removedAccess).not.toBe('Allowed');
  });

  it('denies a recreated secret with a new suffix', async () => {
    // Prepare
    const name = physicalName('abc', 'X');
    const policy = buildSecretsPolicy([secretArn(name, 'Ab12Cd')], { region: REGION });

    // Act
    const result = await evaluate(policy, 'secretsmanager:GetSecretValue', secretArn(name, 'Ef56Gh'));

    // Assess
    expect(result).not.toBe('Allowed');
  });
});
