import { z } from 'zod';

import { ConfigurationError } from './errors.ts';

/**
 * The deployment's settings, read from the environment so that the same code runs on AWS and
 * on the local stack. Every variable is checked once, at the first use, and a bad value stops
 * the function with a message that names the variable.
 */
const DEFAULT_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: ['lambda.amazonaws.com', 'ecs-tasks.amazonaws.com'] },
      Action: 'sts:AssumeRole',
    },
  ],
});

const booleanFlag = z.enum(['true', 'false']).transform((value) => value === 'true');

const environmentSchema = z.object({
  NEPTUNE_TABLE: z.string().min(1),
  NEPTUNE_STATE_MACHINE_ARN: z.string().min(1).optional(),
  NEPTUNE_ROLE_NAME_TEMPLATE: z
    .string()
    .refine((template) => template.split('{projectId}').length === 2, 'must contain {projectId} exactly once')
    .default('neptune-{projectId}'),
  NEPTUNE_ROLE_PATH: z
    .string()
    .regex(/^\/([\w+=,.@-]+\/)*$/, 'must start and end with "/"')
    .default('/neptune/'),
  NEPTUNE_CREATE_ROLES: booleanFlag.default(true),
  NEPTUNE_ROLE_TRUST_POLICY: z.string().default(DEFAULT_TRUST_POLICY),
  NEPTUNE_ROLE_PERMISSIONS_BOUNDARY: z.string().startsWith('arn:').optional(),
  // A key ARN, because the role's policy must name the key exactly.
  NEPTUNE_KMS_KEY_ID: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/.+$/, 'must be the ARN of a KMS key').optional(),
  NEPTUNE_RECOVERY_WINDOW_DAYS: z.coerce.number().int().min(7).max(30).default(30),
  AWS_REGION: z.string().min(1).default('us-east-1'),
});

export type NeptuneConfig = z.output<typeof environmentSchema>;

let cached: NeptuneConfig | undefined;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): NeptuneConfig {
  if (environment === process.env && cached) return cached;

  const parsed = environmentSchema.safeParse(stripEmpty(environment));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigurationError(`invalid environment: ${problems.join('; ')}`);
  }
  try {
    JSON.parse(parsed.data.NEPTUNE_ROLE_TRUST_POLICY);
  } catch {
    throw new ConfigurationError('invalid environment: NEPTUNE_ROLE_TRUST_POLICY is not valid JSON');
  }

  if (environment === process.env) cached = parsed.data;
  return parsed.data;
}

/** Treats an empty variable as unset, because deploy tools often write `VAR=` for "none". */
function stripEmpty(environment: NodeJS.ProcessEnv): Record<string, string> {
  const entries = Object.entries(environment).filter(([, value]) => value !== undefined && value !== '');
  return Object.fromEntries(entries) as Record<string, string>;
}
