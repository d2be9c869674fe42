import { createHash } from 'node:crypto';

import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';

import { stepFunctionsClient } from '../../shared/clients.ts';
import { ConfigurationError, TransientAwsError } from '../../shared/errors.ts';
import { createHandler } from '../../shared/handler.ts';
import { projectIdFromKey } from '../../shared/naming.ts';
import type { ExecutionInput } from '../../shared/workflow.ts';

/**
 * Starts one provisioning execution per uploaded manifest. S3 delivers events at least once, so
 * the execution name is derived from the upload itself. A second delivery of the same event gets
 * the same name, and Step Functions does not start it again. A new upload gets a new name.
 */

const recordSchema = z.object({
  eventName: z.string(),
  eventTime: z.string().optional(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.number().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});

// S3 sends a test message with no Records when a notification is configured.
const eventSchema = z.object({ Records: z.array(recordSchema).default([]), Event: z.string().optional() });

export type S3Record = z.output<typeof recordSchema>;

/** S3 event keys are URL-encoded with spaces as "+". */
export function decodeKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/**
 * Names the execution for one upload: `<projectId>-<40 hex digits>`, at most 73 characters of
 * [a-z0-9-]. The upload is identified by its version id on a versioned bucket, else by the
 * sequencer S3 gives each change of a key, else (moto sends neither) by ETag and event time.
 */
export function executionName(projectId: string, bucket: string, key: string, record: S3Record): string {
  const object = record.s3.object;
  const upload = object.versionId ?? object.sequencer ?? `${object.eTag ?? ''}@${record.eventTime ?? ''}`;
  const digest = createHash('sha256').update([bucket, key, upload].join('\u0000')).digest('hex');
  return `${projectId}-${digest.slice(0, 40)}`;
}

export const handler = createHandler('trigger', eventSchema, async (event, { logger }) => {
  const stateMachineArn = process.env.NEPTUNE_STATE_MACHINE_ARN;
  if (!stateMachineArn) throw new ConfigurationError('invalid environment: NEPTUNE_STATE_MACHINE_ARN is not set');

  const started: string[] = [];
  let failures = 0;

  for (const record of event.Records) {
    const key = decodeKey(record.s3.object.key);
    const bucket = record.s3.bucket.name;
    const projectId = projectIdFromKey(key);
    if (!record.eventName.startsWith('ObjectCreated:') || projectId === undefined) {
      logger.info('ignored event', { eventName: record.eventName, key });
      continue;
    }

    const name = executionName(projectId, bucket, key, record);
    const input: ExecutionInput = {
      projectId,
      bucket,
      key,
      versionId: record.s3.object.versionId ?? null,
      sequencer: record.s3.object.sequencer ?? null,
      eventTime: record.eventTime ?? null,
    };

    try {
      await stepFunctionsClient().send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      started.push(name);
      logger.info('started execution', { projectId, execution: name, key });
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
        logger.info('duplicate event; execution already started', { projectId, execution: name });
        continue;
      }
      // Go on with the other records, then fail the invocation so that the event is retried.
      // The retry cannot start a record twice, because its execution name is the same.
      failures++;
      logger.error('could not start execution', { projectId, execution: name, errorName: (error as Error).name });
    }
  }

  if (failures > 0) {
    throw new TransientAwsError(`could not start ${failures} of ${event.Records.length} executions; the event will be retried`);
  }
  return { started };
});
