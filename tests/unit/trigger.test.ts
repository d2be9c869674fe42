import { describe, expect, it } from 'vitest';

import { decodeKey, executionName, type S3Record } from '../../functions/trigger/handler.ts';
import { PROJECT_ID_MAX_LENGTH } from '../../shared/naming.ts';

const BUCKET = 'neptune-manifests';
const KEY = 'abc123/neptune.json';

/** Step Functions' rule for execution names: 1 to 80 of these characters. */
const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

function upload(object: Partial<S3Record['s3']['object']>, eventTime?: string): S3Record {
  return {
    eventName: 'ObjectCreated:Put',
    ...(eventTime === undefined ? {} : { eventTime }),
    s3: { bucket: { name: BUCKET }, object: { key: KEY, ...object } },
  };
}

describe('decodeKey', () => {
  it.each([
    ['a plain key', 'abc123/neptune.json', 'abc123/neptune.json'],
    ['+ as a space', 'my+folder/neptune.json', 'my folder/neptune.json'],
    ['%2F as a slash', 'abc123%2Fneptune.json', 'abc123/neptune.json'],
    ['%C3%A9 as é', 'caf%C3%A9/neptune.json', 'café/neptune.json'],
    ['%2B as a plus', 'a%2Bb/neptune.json', 'a+b/neptune.json'],
    ['%25 as a percent sign', '100%25/neptune.json', '100%/neptune.json'],
  ])('decodes %s', (_case, key, expected) => {
    // Act
    const decoded = decodeKey(key);

    // Assess
    expect(decoded).toBe(expected);
  });
});

describe('executionName', () => {
  it('fits the Step Functions name rules', () => {
    // Prepare
    const record = upload({ versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' });

    // Act
    const name = executionName('abc123', BUCKET, KEY, record);

    // Assess
    expect(name).toMatch(EXECUTION_NAME_PATTERN);
    expect(name.startsWith('abc123-')).toBe(true);
  });

  it('fits the rules for the longest project id', () => {
    // Prepare
    const projectId = 'a'.repeat(PROJECT_ID_MAX_LENGTH);
    const key = `${projectId}/neptune.json`;

    // Act
    const name = executionName(projectId, BUCKET, key, upload({ key, sequencer: '0055AED6DCD90281E5' }));

    // Assess
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(EXECUTION_NAME_PATTERN);
  });

  it.each([
    ['a version id', upload({ versionId: 'v1', sequencer: '0055AED6DCD90281E5' })],
    ['a sequencer', upload({ sequencer: '0055AED6DCD90281E5' })],
    ['only an ETag and event time', upload({ eTag: 'd41d8cd98f00b204e9800998ecf8427e' }, '2025-01-15T10:00:00.000Z')],
    ['no identifying fields', upload({})],
  ])('repeats the name for a duplicate delivery with %s', (_case, record) => {
    // Prepare
    const redelivered = structuredClone(record);

    // Act
    const first = executionName('abc123', BUCKET, KEY, record);
    const second = executionName('abc123', BUCKET, KEY, redelivered);

    // Assess
    expect(second).toBe(first);
  });

  it('changes the name for a new version id', () => {
    // Act
    const first = executionName('abc123', BUCKET, KEY, upload({ versionId: 'v1', sequencer: '0055AED6DCD90281E5' }));
    const second = executionName('abc123', BUCKET, KEY, upload({ versionId: 'v2', sequencer: '0055AED6DCD90281E5' }));

    // Assess
    expect(second).not.toBe(first);
  });

  it('changes the name for a new sequencer', () => {
    // Act
    const first = executionName('abc123', BUCKET, KEY, upload({ sequencer: '0055AED6DCD90281E5' }));
    const second = executionName('abc123', BUCKET, KEY, upload({ sequencer: '0055AED6DCD90281E6' }));

    // Assess
    expect(second).not.toBe(first);
  });

  it('changes the name for a new event time without version or sequencer', () => {
    // Prepare
    const eTag = 'd41d8cd98f00b204e9800998ecf8427e';

    // Act
    const first = executionName('abc123', BUCKET, KEY, upload({ eTag }, '2025-01-15T10:00:00.000Z'));
    const second = executionName('abc123', BUCKET, KEY, upload({ eTag }, '2025-01-15T10:00:01.000Z'));

    // Assess
    expect(second).not.toBe(first);
  });

  it('ignores the event time when a version id is present', () => {
    // Act
    const first = executionName('abc123', BUCKET, KEY, upload({ versionId: 'v1' }, '2025-01-15T10:00:00.000Z'));
    const second = executionName('abc123', BUCKET, KEY, upload({ versionId: 'v1' }, '2025-01-15T10:05:00.000Z'));

    // Assess
    expect(second).toBe(first);
  });

  it('changes the name for another bucket', () => {
    // Prepare
    const record = upload({ sequencer: '0055AED6DCD90281E5' });

    // Act
    const first = executionName('abc123', BUCKET, KEY, record);
    const second = executionName('abc123', 'other-bucket', KEY, record);

    // Assess
    expect(second).not.toBe(first);
  });

  it('changes the name for another project with the same upload', () => {
    // Prepare
    const record = upload({ versionId: 'v1' });

    // Act
    const first = executionName('abc123', BUCKET, 'abc123/neptune.json', record);
    const second = executionName('abc12', BUCKET, 'abc12/neptune.json', record);

    // Assess
    expect(second).not.toBe(first);
  });
});
