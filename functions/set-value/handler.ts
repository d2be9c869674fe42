import { randomInt } from 'node:crypto';

import type { Context } from 'aws-lambda';

import { dynamoClient, secretsManagerClient } from '../../shared/clients.ts';
import { loadConfig } from '../../shared/config.ts';
import {
  isTransientAwsError,
  NeptuneError,
  SecretValueBusyError,
  SecretValueNotRecordedError,
  SecretValueWriteError,
} from '../../shared/errors.ts';
import { createLogger } from '../../shared/logger.ts';
import { physicalName } from '../../shared/naming.ts';
import { clientRequestToken, notSettableError, parseRequest, setValueRequestSchema } from '../../shared/secret-value.ts';
import { putSecretValue } from '../../shared/secret-value-writer.ts';
import { StatusStore, type SecretRecord } from '../../shared/status-store.ts';

/**
 * Sets the value of one provisioned secret: take the secret's value lock, write the value with
 * PutSecretValue, then record the version and flag the secret and its project for a redeploy.
 * Uncontended, that is three AWS calls.
 *
 * The event carries the secret value, so this handler never logs the event, never passes an AWS
 * error's message on, and builds every message from ids, field names and sizes. It does not use
 * createHandler or Powertools' injectLambdaContext, so POWERTOOLS_LOGGER_LOG_EVENT cannot turn
 * event logging on for it.
 */

/** How long a request waits for another request of the same secret to release its lock. */
const LOCK_WAIT_MS = 10_000;
const LOCK_RETRY_BASE_MS = 50;
const LOCK_RETRY_MAX_MS = 1_000;

/**
 * Added to the invocation's remaining time to get the lock's expiry. The lock then outlives any
 * run of the holder, so a slow holder cannot lose its lock between its put and its record, and a
 * crashed holder blocks the secret for at most one function timeout.
 */
const LOCK_MARGIN_MS = 5_000;

/** The lock's lifetime when the context gives no remaining time; the function timeout is 30 s. */
const DEFAULT_LOCK_MS = 35_000;

export interface SetValueResult {
  project: string;
  name: string;
  aws_id: string;
  version_id: string;
  redeploy_required: boolean;
  /** Present and true only when a retried request's version was since replaced by a newer value. */
  superseded?: true;
}

const logger = createLogger('set-value');

export async function handler(event: unknown, context: Context): Promise<SetValueResult> {
  logger.addContext(context);
  logger.resetKeys();

  try {
    return await setValue(event, context);
  } catch (error) {
    throw toSafeError(error);
  }
}

async function setValue(event: unknown, context: Context): Promise<SetValueResult> {
  const request = parseRequest(setValueRequestSchema, event);
  const { project, name } = request;
  logger.appendKeys({ projectId: project, name });

  const config = loadConfig();
  const dynamo = dynamoClient();
  const secretsManager = secretsManagerClient();
  const store = new StatusStore(dynamo, config.NEPTUNE_TABLE);

  // Lambda keeps awsRequestId across its own retries of one invocation. A caller that retries by
  // invoking again passes its own request_id to get the same token.
  const requestId = request.request_id ?? context.awsRequestId;
  const token = clientRequestToken(project, name, requestId);
  const lockOwner = token;

  const record = await lockSecret(store, project, name, lockOwner, context);
  const secret = { arn: record.arn as string, physicalName: record.aws_id ?? physicalName(project, name), logicalName: name };

  let written;
  try {
    written = await putSecretValue(secretsManager, secret, request.value, token);
  } catch (error) {
    await releaseQuietly(store, project, name, lockOwner);
    throw error;
  }

  // A retried request whose value was already recorded, or whose version a newer value replaced,
  // changes no status: recording it again would re-flag a redeploy or name a version that is no
  // longer AWSCURRENT.
  if (!written.current || record.value_version === written.versionId) {
    await store.releaseSecretValueLock(project, name, lockOwner);
    logger.info('value already set by an earlier attempt', { versionId: written.versionId, current: written.current });
    return {
      project,
      name,
      aws_id: secret.physicalName,
      version_id: written.versionId,
      redeploy_required: record.redeploy_required === true,
      ...(written.current ? {} : { superseded: true as const }),
    };
  }

  // The time is taken after the put returned, so that a deploy that began before the value was
  // stored always finds value_set_at later than its own start and keeps the redeploy flag.
  let recorded;
  try {
    recorded = await store.recordSecretValue(project, name, lockOwner, { versionId: written.versionId, setAt: new Date() });
  } catch (error) {
    // The value is AWSCURRENT but unrecorded; a retry with the same request id records it.
    await releaseQuietly(store, project, name, lockOwner);
    throw error;
  }
  if (!recorded) {
    await releaseQuietly(store, project, name, lockOwner);
    throw new SecretValueNotRecordedError(
      `the value of ${name} was stored in ${secret.physicalName} as version ${written.versionId}, but its status was not recorded ` +
        `because the secret stopped being Available or the request lost its lock; check the status of project ${project} and set the value again`,
    );
  }

  logger.info('value set', { versionId: written.versionId });
  return { project, name, aws_id: secret.physicalName, version_id: written.versionId, redeploy_required: true };
}

/**
 * Takes the secret's value lock. While another request has it, waits with jittered backoff,
 * for at most LOCK_WAIT_MS, so that two racing requests both succeed, one after the other. Any
 * other reason the lock cannot be taken is reported as an error that names the next step.
 */
async function lockSecret(store: StatusStore, project: string, name: string, owner: string, context: Context): Promise<SecretRecord> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    const now = Date.now();
    const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : DEFAULT_LOCK_MS;
    const locked = await store.lockSecretValue(project, name, owner, now + remaining + LOCK_MARGIN_MS, now);
    if (locked) return locked;

    const view = await store.readProject(project);
    const secret = view.secrets.find((candidate) => candidate.name === name);
    if (secret?.status !== 'Available' || !secret.arn || !view.project) {
      throw notSettableError(project, name, secret, view.project);
    }

    if (Date.now() >= deadline) {
      throw new SecretValueBusyError(
        `another request is setting the value of ${name} in project ${project} and held its lock for more than ${LOCK_WAIT_MS / 1000} s; try again in a minute`,
      );
    }
    const ceiling = Math.min(LOCK_RETRY_MAX_MS, LOCK_RETRY_BASE_MS * 2 ** attempt);
    logger.info('waiting for the value lock', { attempt: attempt + 1 });
    await new Promise((resolve) => setTimeout(resolve, randomInt(1, ceiling + 1)));
  }
}

/** Releases the lock after a failed step; a failure to release only delays the next request. */
async function releaseQuietly(store: StatusStore, project: string, name: string, owner: string): Promise<void> {
  try {
    await store.releaseSecretValueLock(project, name, owner);
  } catch (error) {
    logger.warn('could not release the value lock; it expires on its own', { errorName: errorName(error) });
  }
}

/**
 * Logs the failure in one line and returns an error that is safe to show: a NeptuneError as it
 * is, anything else as a new error that names only the error type. The original is not attached
 * as `cause`, so that no part of the request can leave through it.
 */
function toSafeError(error: unknown): NeptuneError {
  if (error instanceof NeptuneError) {
    logger.warn('value not set', { errorCode: error.code, errorMessage: error.message });
    return error;
  }

  const name = errorName(error);
  logger.error('value not set', { errorName: name, transient: isTransientAwsError(error) });
  return new SecretValueWriteError(`setting the value failed with ${name}; the value may or may not be stored, so set it again`);
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
