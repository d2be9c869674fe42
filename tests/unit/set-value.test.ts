import { describe, expect, it } from 'vitest';

import { NotProvisionedError, RequestInvalidError } from '../../shared/errors.ts';
import {
  clientRequestToken,
  deployState,
  markRedeployedRequestSchema,
  MAX_SECRET_VALUE_BYTES,
  notSettableError,
  parseRequest,
  planRedeployClears,
  setValueRequestSchema,
} from '../../shared/secret-value.ts';
import type { ProjectRecord, SecretRecord } from '../../shared/status-store.ts';

const CANARY = 'canary-4f1c2d9e-unit';

/** Runs the set-value schema and returns the RequestInvalidError it throws. */
function rejectionOf(event: unknown): RequestInvalidError {
  try {
    parseRequest(setValueRequestSchema, event);
  } catch (error) {
    expect(error).toBeInstanceOf(RequestInvalidError);
    return error as RequestInvalidError;
  }
  throw new Error('the request was accepted');
}

function secretRecord(fields: Partial<SecretRecord>): SecretRecord {
  return {
    project_id: 'abc123',
    record_key: 'secret#API_KEY',
    kind: 'Secret',
    name: 'API_KEY',
    status: 'Available',
    aws_id: 'neptune-abc123-API_KEY',
    ...fields,
  };
}

const project: ProjectRecord = { project_id: 'abc123', record_key: 'project', kind: 'Service', status: 'Available' };

describe('set-value request', () => {
  it('accepts a value of exactly 65,536 bytes', () => {
    const value = 'a'.repeat(MAX_SECRET_VALUE_BYTES);

    const request = parseRequest(setValueRequestSchema, { project: 'abc123', name: 'API_KEY', value });

    expect(request.value).toBe(value);
  });

  it('accepts a value that looks like a number or JSON unchanged', () => {
    for (const value of ['497017065025001729471', '{"a": 1}', '[1,2]', 'null', 'true', ' padded ']) {
      const request = parseRequest(setValueRequestSchema, { project: 'abc123', name: 'API_KEY', value });

      expect(request.value).toBe(value);
    }
  });

  it('accepts an optional request_id', () => {
    const request = parseRequest(setValueRequestSchema, {
      project: 'abc123',
      name: 'API_KEY',
      value: CANARY,
      request_id: '8a6e0804-2bd0-4672-b79d-d97027f5071a',
    });

    expect(request.request_id).toBe('8a6e0804-2bd0-4672-b79d-d97027f5071a');
  });

  it('rejects a value of 65,537 ASCII bytes', () => {
    const error = rejectionOf({ project: 'abc123', name: 'API_KEY', value: 'a'.repeat(MAX_SECRET_VALUE_BYTES + 1) });

    expect(error.message).toContain('"value" is 65537 bytes in UTF-8; the maximum is 65536 bytes');
  });

  it('counts bytes, not characters, for 21,846 euro signs', () => {
    const value = '€'.repeat(21_846);

    const error = rejectionOf({ project: 'abc123', name: 'API_KEY', value });

    expect(value.length).toBe(21_846);
    expect(error.message).toContain('is 65538 bytes in UTF-8');
  });

  it('rejects values that are not strings without converting them', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'not null'],
      [12345678901234567890, 'not a number'],
      [{ secret: CANARY }, 'not an object'],
      [[CANARY], 'not an array'],
      [true, 'not a boolean'],
    ];
    for (const [value, expected] of cases) {
      const error = rejectionOf({ project: 'abc123', name: 'API_KEY', value });

      expect(error.message).toContain(`"value" must be a JSON string, ${expected}`);
      expect(error.message).not.toContain(CANARY);
      expect(error.message).not.toContain('1234567890');
    }
  });

  it('rejects an empty string', () => {
    const error = rejectionOf({ project: 'abc123', name: 'API_KEY', value: '' });

    expect(error.message).toContain('"value" must not be an empty string');
  });

  it('rejects missing fields by name', () => {
    const error = rejectionOf({});

    expect(error.message).toContain('"project" is required');
    expect(error.message).toContain('"name" is required');
    expect(error.message).toContain('"value" is required');
  });

  it('rejects a misspelled field by name', () => {
    const error = rejectionOf({ project: 'abc123', name: 'API_KEY', valeu: CANARY });

    expect(error.message).toContain('unknown field "valeu"');
    expect(error.message).toContain('"value" is required');
    expect(error.message).not.toContain(CANARY);
  });

  it('hides unknown field names that do not look like field names', () => {
    const error = rejectionOf({ project: 'abc123', name: 'API_KEY', value: 'x', [CANARY]: 1 });

    expect(error.message).toContain('1 field(s) with unusual names');
    expect(error.message).not.toContain(CANARY);
  });

  it('applies the manifest rules to the project id and the name', () => {
    const error = rejectionOf({ project: 'ABC-123', name: '9_LIVES', value: CANARY });

    expect(error.message).toContain('"project" may contain only lowercase letters a-z and digits 0-9');
    expect(error.message).toContain('"name" must start with a letter');
  });

  it('rejects a payload that is not an object', () => {
    for (const event of [null, CANARY, [CANARY], 42]) {
      const error = rejectionOf(event);

      expect(error.message).toContain('request must be a JSON object');
      expect(error.message).not.toContain(CANARY);
    }
  });

  it('never quotes the value in any rejection', () => {
    const oversized = `${CANARY}${'x'.repeat(MAX_SECRET_VALUE_BYTES)}`;
    const events: unknown[] = [
      { project: 'abc123', name: 'API_KEY', value: oversized },
      { project: 'abc123', name: 'API_KEY', value: oversized, extra: true },
      { project: 'BAD', name: 'API_KEY', value: CANARY },
      { project: 'abc123', name: 'bad-name', value: CANARY },
      { project: 'abc123', name: 'API_KEY', value: CANARY, request_id: '' },
    ];
    for (const event of events) {
      const error = rejectionOf(event);

      expect(error.message).not.toContain(CANARY);
      expect(error.stack ?? '').not.toContain(CANARY);
    }
  });
});

describe('clientRequestToken', () => {
  it('derives 64 hex digits from the request id', () => {
    const first = clientRequestToken('abc123', 'API_KEY', 'request-1');
    const again = clientRequestToken('abc123', 'API_KEY', 'request-1');
    const other = clientRequestToken('abc123', 'API_KEY', 'request-2');

    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it('differs between secrets for the same request id', () => {
    const first = clientRequestToken('abc123', 'A_KEY', 'request-1');
    const second = clientRequestToken('abc123', 'B_KEY', 'request-1');

    expect(second).not.toBe(first);
  });
});

describe('notSettableError', () => {
  it('asks for the manifest of an unknown project', () => {
    const error = notSettableError('abc123', 'API_KEY', undefined, undefined);

    expect(error).toBeInstanceOf(NotProvisionedError);
    expect(error.message).toBe('project abc123 is unknown; upload abc123/neptune.json that declares API_KEY first');
  });

  it('asks to add a name that the manifest does not declare', () => {
    const error = notSettableError('abc123', 'API_KEY', undefined, project);

    expect(error.message).toContain('add {"kind": "Secret", "name": "API_KEY"} to its resources and upload it');
  });

  it('asks to wait while the secret is provisioned', () => {
    const error = notSettableError('abc123', 'API_KEY', secretRecord({ status: 'Provisioning' }), project);

    expect(error.message).toContain('wait for the running provisioning to finish');
  });

  it('names the error code of a failed secret', () => {
    const secret = secretRecord({ status: 'Failed', error_code: 'SecretConflict', error_message: 'a secret exists' });

    const error = notSettableError('abc123', 'API_KEY', secret, project);

    expect(error.message).toContain('failed to provision with SecretConflict (a secret exists)');
    expect(error.message).toContain('fix the cause and upload abc123/neptune.json again');
  });

  it('gives the deletion date of a removed secret', () => {
    const secret = secretRecord({ status: 'PendingDeletion', deletion_date: '2030-02-01T00:00:00.000Z' });

    const error = notSettableError('abc123', 'API_KEY', secret, project);

    expect(error.message).toContain('scheduled for deletion on 2030-02-01T00:00:00.000Z');
    expect(error.message).toContain('add it back and upload abc123/neptune.json to restore it');
  });
});

describe('planRedeployClears', () => {
  const started = new Date('2030-01-01T12:00:00.000Z');

  it('clears values set up to the deploy start and keeps later ones', () => {
    const secrets = [
      secretRecord({ name: 'BEFORE', redeploy_required: true, value_version: 'v1', value_set_at: '2030-01-01T11:59:59.999Z' }),
      secretRecord({ name: 'AT_START', redeploy_required: true, value_version: 'v2', value_set_at: '2030-01-01T12:00:00.000Z' }),
      secretRecord({ name: 'AFTER', redeploy_required: true, value_version: 'v3', value_set_at: '2030-01-01T12:00:00.001Z' }),
      secretRecord({ name: 'UNFLAGGED', redeploy_required: false, value_version: 'v4', value_set_at: '2030-01-01T11:00:00.000Z' }),
      secretRecord({ name: 'NO_VALUE' }),
    ];

    const plan = planRedeployClears(secrets, started);

    expect(plan.clear.map((secret) => secret.name)).toEqual(['BEFORE', 'AT_START']);
    expect(plan.clear[0]).toEqual({ name: 'BEFORE', valueVersion: 'v1', valueSetAt: '2030-01-01T11:59:59.999Z' });
    expect(plan.keep).toEqual(['AFTER']);
  });

  it('keeps a flagged secret whose set time is unreadable', () => {
    const secrets = [secretRecord({ name: 'BROKEN', redeploy_required: true, value_version: 'v1', value_set_at: 'yesterday' })];

    const plan = planRedeployClears(secrets, started);

    expect(plan.clear).toEqual([]);
    expect(plan.keep).toEqual(['BROKEN']);
  });
});

describe('deployState', () => {
  it('tells whether the running service has the current value', () => {
    expect(deployState({})).toBe('NoValue');
    expect(deployState({ value_version: 'v1', redeploy_required: true })).toBe('RedeployRequired');
    expect(deployState({ value_version: 'v2', redeploy_required: false, deployed_version: 'v2' })).toBe('Deployed');
    expect(deployState({ value_version: 'v2', redeploy_required: false, deployed_version: 'v1' })).toBe('RedeployRequired');
  });
});

describe('mark-redeployed request', () => {
  it('accepts a time with an offset and rejects one without', () => {
    const request = markRedeployedRequestSchema.parse({ project: 'abc123', deploy_started_at: '2030-01-01T13:00:00+01:00' });
    const local = markRedeployedRequestSchema.safeParse({ project: 'abc123', deploy_started_at: '2030-01-01T12:00:00' });

    expect(request.deploy_started_at.toISOString()).toBe('2030-01-01T12:00:00.000Z');
    expect(local.success).toBe(false);
  });

  it('rejects a missing start time and unknown fields', () => {
    const parsed = markRedeployedRequestSchema.safeParse({ project: 'abc123', versions: {} });

    const messages = parsed.error?.issues.map((issue) => issue.message) ?? [];
    expect(messages).toContain('is required');
    expect(messages.join(' ')).toContain('unknown field "versions"');
  });
});
