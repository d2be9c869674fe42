import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

import { mapWithConcurrency } from './concurrency.ts';
import { LeaseLostError, ProjectBusyError, TransientAwsError } from './errors.ts';
import { PROJECT_SORT_KEY, statusSortKey } from './naming.ts';

/**
 * The status table: one partition per project, holding one record for the project and one per
 * secret, so a project's whole status is one Query. Field names are snake_case because users
 * read them directly (`aws dynamodb query`), as in the docs' `aws_id`.
 *
 * Provisioning writes only its own fields (see SecretStatusUpdate), so the value and redeploy
 * fields that set-value writes are never erased by a provisioning run.
 */

export type SecretStatus = 'Provisioning' | 'Available' | 'Failed' | 'PendingDeletion';
export type ProjectStatus = 'Provisioning' | 'Available' | 'Failed' | 'Invalid';

export interface SecretRecord {
  project_id: string;
  record_key: string;
  kind: 'Secret';
  name: string;
  status: SecretStatus;
  aws_id: string;
  arn?: string;
  error_code?: string;
  error_message?: string;
  deletion_date?: string;
  execution?: string;
  created_at?: string;
  updated_at?: string;
  value_set_at?: string;
  value_version?: string;
  redeploy_required?: boolean;
  [field: string]: unknown;
}

export interface ProjectError {
  name?: string;
  path?: string;
  code: string;
  message: string;
}

export interface ProjectRecord {
  project_id: string;
  record_key: string;
  kind: 'Service';
  name?: string;
  status: ProjectStatus;
  manifest_version?: string;
  manifest_etag?: string;
  secret_count?: number;
  errors?: ProjectError[];
  /** The newest upload that was rejected, if it came after the applied manifest. */
  last_rejection?: { version: string; at: string; errors: ProjectError[] };
  execution?: string;
  lease_owner?: string;
  lease_expires_at?: number;
  updated_at?: string;
  [field: string]: unknown;
}

export interface ProjectStatusView {
  project?: ProjectRecord;
  secrets: SecretRecord[];
}

/** The provisioning fields of one secret's record. Undefined optional fields are removed. */
export interface SecretStatusUpdate {
  name: string;
  status: SecretStatus;
  awsId: string;
  arn?: string;
  errorCode?: string;
  errorMessage?: string;
  deletionDate?: string;
  /** Deletes the record instead: the name is no longer declared and no secret of ours has it. */
  forget?: boolean;
}

/** How long an execution may go without renewing its lease before another may take over.
 * Every step renews it, and no step runs longer than its 330-second task timeout. */
export const LEASE_DURATION_MS = 15 * 60 * 1000;

/** Status writes in flight per step: well below a table's on-demand burst, and fast on moto. */
const STATUS_WRITES_IN_FLIGHT = 16;

/** BatchWriteItem takes at most 25 items per call. */
const BATCH_WRITE_MAX_ITEMS = 25;
const BATCH_WRITE_MAX_RESENDS = 8;

export class StatusStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Reads a project's whole status: one Query, paged by DynamoDB at 1 MB. */
  async readProject(projectId: string): Promise<ProjectStatusView> {
    const view: ProjectStatusView = { secrets: [] };
    const pages = paginateQuery(
      { client: this.dynamo },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'project_id = :projectId',
        ExpressionAttributeValues: { ':projectId': projectId },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (item.record_key === PROJECT_SORT_KEY) view.project = item as ProjectRecord;
        else view.secrets.push(item as SecretRecord);
      }
    }
    return view;
  }

  /**
   * Takes the project's lease for an execution, or renews it if the execution holds it. Only one
   * execution per project changes secrets, grants and status at a time. The others wait, so the
   * last one to run reads the newest manifest.
   */
  async acquireLease(projectId: string, execution: string, now = Date.now()): Promise<ProjectRecord> {
    try {
      const response = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { project_id: projectId, record_key: PROJECT_SORT_KEY },
          UpdateExpression:
            'SET lease_owner = :execution, lease_expires_at = :expires, kind = if_not_exists(kind, :kind), #status = if_not_exists(#status, :provisioning)',
          ReturnValues: 'ALL_NEW',
          ConditionExpression: 'attribute_not_exists(lease_owner) OR lease_owner = :execution OR lease_expires_at < :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':execution': execution,
            ':expires': now + LEASE_DURATION_MS,
            ':now': now,
            ':kind': 'Service',
            ':provisioning': 'Provisioning',
          },
        }),
      );
      return response.Attributes as ProjectRecord;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ProjectBusyError(`project ${projectId} is being provisioned by another execution`, { cause: error });
      }
      throw error;
    }
  }

  /** Extends the lease that the execution already holds; throws LeaseLostError if it lost it. */
  async renewLease(projectId: string, execution: string, now = Date.now()): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { project_id: projectId, record_key: PROJECT_SORT_KEY },
          UpdateExpression: 'SET lease_expires_at = :expires',
          ConditionExpression: 'lease_owner = :execution',
          ExpressionAttributeValues: { ':execution': execution, ':expires': now + LEASE_DURATION_MS },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw leaseLost(projectId, execution, error);
      throw error;
    }
  }

  /**
   * Writes the provisioning fields of many secrets. `current` is the project's records as the
   * caller read them at the start of its step.
   *
   * Most records are written in batches of 25 whole items, which costs one call per 25 secrets:
   * new records, and records that are not Available. No other writer changes those while the
   * step runs, because set-value only writes to an Available secret, so a whole item built from
   * the record read earlier loses nothing. An Available record is updated field by field
   * instead, because set-value may be writing its value fields at the same time.
   *
   * Callers renew the execution's lease first (see renewLease). A step runs for at most its task
   * timeout, far less than LEASE_DURATION_MS, so the lease cannot pass to a newer execution while
   * these writes run.
   */
  async writeSecrets(
    projectId: string,
    execution: string,
    updates: SecretStatusUpdate[],
    current: SecretRecord[],
    now = new Date(),
  ): Promise<void> {
    const currentByName = new Map(current.map((record) => [record.name, record]));
    const batched: Array<Record<string, unknown>> = [];
    const fieldByField: SecretStatusUpdate[] = [];

    for (const update of updates) {
      const record = currentByName.get(update.name);
      const key = { project_id: projectId, record_key: statusSortKey(update.name) };
      if (update.forget) {
        batched.push({ DeleteRequest: { Key: key } });
      } else if (record?.status === 'Available') {
        fieldByField.push(update);
      } else {
        batched.push({ PutRequest: { Item: this.secretItem(projectId, execution, update, record, now) } });
      }
    }

    const batches = [];
    for (let start = 0; start < batched.length; start += BATCH_WRITE_MAX_ITEMS) {
      batches.push(batched.slice(start, start + BATCH_WRITE_MAX_ITEMS));
    }
    await Promise.all([
      mapWithConcurrency(batches, STATUS_WRITES_IN_FLIGHT, (batch) => this.batchWrite(batch)),
      mapWithConcurrency(fieldByField, STATUS_WRITES_IN_FLIGHT, (update) =>
        this.dynamo.send(new UpdateCommand(this.secretUpdate(projectId, execution, update, now))),
      ),
    ]);
  }

  /** Writes one batch, resending what DynamoDB left unprocessed (it does so when throttled). */
  private async batchWrite(requests: Array<Record<string, unknown>>): Promise<void> {
    let pending = requests;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > BATCH_WRITE_MAX_RESENDS) {
          throw new TransientAwsError(`DynamoDB left ${pending.length} status writes unprocessed after ${BATCH_WRITE_MAX_RESENDS} resends`);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** attempt));
      }
      const response = await this.dynamo.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
      pending = (response.UnprocessedItems?.[this.tableName] ?? []) as Array<Record<string, unknown>>;
    }
  }

  /** Builds a whole secret item: the record as read, with the provisioning fields replaced. */
  private secretItem(
    projectId: string,
    execution: string,
    update: SecretStatusUpdate,
    record: SecretRecord | undefined,
    now: Date,
  ): Record<string, unknown> {
    const { arn: _arn, error_code: _errorCode, error_message: _errorMessage, deletion_date: _deletionDate, ...kept } = record ?? {};
    const item: Record<string, unknown> = {
      ...kept,
      project_id: projectId,
      record_key: statusSortKey(update.name),
      kind: 'Secret',
      name: update.name,
      status: update.status,
      aws_id: update.awsId,
      execution,
      created_at: record?.created_at ?? now.toISOString(),
      updated_at: now.toISOString(),
      arn: update.arn,
      error_code: update.errorCode,
      error_message: update.errorMessage,
      deletion_date: update.deletionDate,
    };
    return item;
  }

  /**
   * Writes the project record's outcome fields (null removes a field) and, with `release`, gives
   * up the lease, both only if the execution still holds the lease.
   */
  async writeProject(
    projectId: string,
    execution: string,
    fields: {
      [Field in 'name' | 'status' | 'manifest_version' | 'manifest_etag' | 'secret_count' | 'errors' | 'last_rejection']?:
        | ProjectRecord[Field]
        | null;
    },
    options: { release: boolean; now?: Date },
  ): Promise<void> {
    const values: Record<string, unknown> = {
      ':execution': execution,
      ':updatedAt': (options.now ?? new Date()).toISOString(),
    };
    const names: Record<string, string> = {};
    const assignments = ['execution = :execution', 'updated_at = :updatedAt'];
    const removed = options.release ? ['lease_owner', 'lease_expires_at'] : [];
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      if (value === null) {
        removed.push(`#${field}`);
        continue;
      }
      values[`:${field}`] = value;
      assignments.push(`#${field} = :${field}`);
    }
    const removals = removed.length > 0 ? ` REMOVE ${removed.join(', ')}` : '';

    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { project_id: projectId, record_key: PROJECT_SORT_KEY },
          UpdateExpression: `SET ${assignments.join(', ')}${removals}`,
          ConditionExpression: 'lease_owner = :execution',
          ExpressionAttributeNames: Object.keys(names).length > 0 ? names : undefined,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw leaseLost(projectId, execution, error);
      throw error;
    }
  }

  private secretUpdate(projectId: string, execution: string, update: SecretStatusUpdate, now: Date) {
    const timestamp = now.toISOString();
    const values: Record<string, unknown> = {
      ':kind': 'Secret',
      ':name': update.name,
      ':status': update.status,
      ':awsId': update.awsId,
      ':execution': execution,
      ':now': timestamp,
    };
    // `name` and `status` are DynamoDB reserved words, hence the attribute names.
    const assignments = [
      'kind = :kind',
      '#name = :name',
      '#status = :status',
      'aws_id = :awsId',
      'execution = :execution',
      'updated_at = :now',
      'created_at = if_not_exists(created_at, :now)',
    ];
    const removals: string[] = [];
    const optional: Array<[string, string, string | undefined]> = [
      ['arn', ':arn', update.arn],
      ['error_code', ':errorCode', update.errorCode],
      ['error_message', ':errorMessage', update.errorMessage],
      ['deletion_date', ':deletionDate', update.deletionDate],
    ];
    for (const [field, placeholder, value] of optional) {
      if (value === undefined) {
        removals.push(field);
      } else {
        assignments.push(`${field} = ${placeholder}`);
        values[placeholder] = value;
      }
    }

    return {
      TableName: this.tableName,
      Key: { project_id: projectId, record_key: statusSortKey(update.name) },
      UpdateExpression: `SET ${assignments.join(', ')}${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
      ExpressionAttributeNames: { '#name': 'name', '#status': 'status' },
      ExpressionAttributeValues: values,
    };
  }
  /**
   * Takes a secret's value lock for one set-value request, only if the secret is Available with
   * an ARN and the lock is free, expired or already held by the same request (a retry after a crash).
   * Returns the locked record, or undefined when the condition failed; the caller then reads the
   * project to tell why.
   */
  async lockSecretValue(
    projectId: string,
    logicalName: string,
    owner: string,
    expiresAt: number,
    now = Date.now(),
  ): Promise<SecretRecord | undefined> {
    try {
      const response = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { project_id: projectId, record_key: statusSortKey(logicalName) },
          UpdateExpression: 'SET value_lock_owner = :owner, value_lock_expires_at = :expires',
          ConditionExpression:
            '#status = :available AND attribute_exists(arn) AND (attribute_not_exists(value_lock_owner) OR value_lock_owner = :owner OR value_lock_expires_at < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':owner': owner, ':expires': expiresAt, ':now': now, ':available': 'Available' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return response.Attributes as SecretRecord;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * Records a value that set-value wrote and flags the secret and its project for a redeploy, in
   * one transaction that also releases the lock. The write happens only while the request still
   * holds the lock and the secret is still Available; returns false otherwise.
   */
  async recordSecretValue(
    projectId: string,
    logicalName: string,
    owner: string,
    value: { versionId: string; setAt: Date },
  ): Promise<boolean> {
    const setAt = value.setAt.toISOString();
    try {
      await this.dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { project_id: projectId, record_key: statusSortKey(logicalName) },
                UpdateExpression:
                  'SET value_version = :version, value_set_at = :setAt, redeploy_required = :true REMOVE value_lock_owner, value_lock_expires_at',
                ConditionExpression: 'value_lock_owner = :owner AND #status = :available',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':version': value.versionId,
                  ':setAt': setAt,
                  ':true': true,
                  ':owner': owner,
                  ':available': 'Available',
                },
              },
            },
            {
              // value_set_count changes with every recorded value, so that mark-redeployed can
              // tell by a condition whether a value was set after it read the project.
              Update: {
                TableName: this.tableName,
                Key: { project_id: projectId, record_key: PROJECT_SORT_KEY },
                UpdateExpression: 'SET redeploy_required = :true, value_set_at = :setAt ADD value_set_count :one',
                ConditionExpression: 'attribute_exists(project_id)',
                ExpressionAttributeValues: { ':true': true, ':setAt': setAt, ':one': 1 },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.some((reason) => reason.Code === 'ConditionalCheckFailed')) {
        return false;
      }
      throw error;
    }
  }

  /** Releases a secret's value lock if the request still holds it. */
  async releaseSecretValueLock(projectId: string, logicalName: string, owner: string): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { project_id: projectId, record_key: statusSortKey(logicalName) },
          UpdateExpression: 'REMOVE value_lock_owner, value_lock_expires_at',
          ConditionExpression: 'value_lock_owner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Clears a secret's redeploy flag after a deploy, only if its value is still the one that was
   * read (same version and time), so that a value set in between keeps its flag. Returns false
   * when a newer value was set.
   */
  async clearSecretRedeploy(
    projectId: string,
    secret: { name: string; valueVersion: string; valueSetAt: string },
    now = new Date(),
  ): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { project_id: projectId, record_key: statusSortKey(secret.name) },
          UpdateExpression: 'SET redeploy_required = :false, deployed_version = :version, deployed_at = :now',
          ConditionExpression: 'value_version = :version AND value_set_at = :setAt AND redeploy_required = :true',
          ExpressionAttributeValues: {
            ':false': false,
            ':true': true,
            ':version': secret.valueVersion,
            ':setAt': secret.valueSetAt,
            ':now': now.toISOString(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Writes a project's redeploy outcome, only if no value was set in the project since it was
   * read (`value_set_count` unchanged). Returns false when one was, so the caller reads again.
   */
  async writeProjectRedeploy(
    projectId: string,
    outcome: { redeployRequired: boolean; deployStartedAt: Date; valueSetCount: number | undefined },
    now = new Date(),
  ): Promise<boolean> {
    const values: Record<string, unknown> = {
      ':required': outcome.redeployRequired,
      ':startedAt': outcome.deployStartedAt.toISOString(),
      ':now': now.toISOString(),
    };
    let condition = 'attribute_exists(project_id) AND attribute_not_exists(value_set_count)';
    if (outcome.valueSetCount !== undefined) {
      condition = 'value_set_count = :count';
      values[':count'] = outcome.valueSetCount;
    }

    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { project_id: projectId, record_key: PROJECT_SORT_KEY },
          UpdateExpression: 'SET redeploy_required = :required, last_deployed_at = :now, last_deploy_started_at = :startedAt',
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

}

function leaseLost(projectId: string, execution: string, cause: unknown): LeaseLostError {
  return new LeaseLostError(
    `execution ${execution} no longer holds the lease of project ${projectId}; a newer execution took over`,
    { cause },
  );
}
