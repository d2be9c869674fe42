import { dynamoClient, s3Client } from '../../shared/clients.ts';
import { loadConfig } from '../../shared/config.ts';
import { ManifestInvalidError, ManifestNotFoundError, ManifestTooLargeError, type NeptuneError } from '../../shared/errors.ts';
import { createHandler } from '../../shared/handler.ts';
import { parseManifest } from '../../shared/manifest/parse.ts';
import { MAX_MANIFEST_BYTES } from '../../shared/manifest/schema.ts';
import { readManifestObject } from '../../shared/manifest-source.ts';
import { StatusStore, type ProjectError } from '../../shared/status-store.ts';
import { loadStepSchema, type LoadResult } from '../../shared/workflow.ts';

/**
 * The workflow's first step: take the project's lease, then read and validate the newest
 * manifest. Reading the newest version, not the one named in the event, is what makes
 * out-of-order events converge: whichever execution runs last applies the latest upload.
 *
 * An invalid manifest is recorded on the project record and changes nothing else: no secret, no
 * grant, and no secret's status.
 */
export const handler = createHandler(
  'load-manifest',
  loadStepSchema,
  async (input, { logger }) => {
    const config = loadConfig();
    const s3 = s3Client();
    const dynamo = dynamoClient();
    const store = new StatusStore(dynamo, config.NEPTUNE_TABLE);

    const project = await store.acquireLease(input.projectId, input.execution);

    let object;
    try {
      object = await readManifestObject(s3, { bucket: input.bucket, key: input.key });
    } catch (error) {
      if (error instanceof ManifestNotFoundError) {
        return reject(store, input, error, [{ code: error.code, message: error.message }], null, '');
      }
      throw error;
    }
    const versionId = object.versionId;
    if (object.tooLarge) {
      const error = new ManifestTooLargeError(
        `neptune.json is ${object.tooLarge.size} bytes; the maximum is ${MAX_MANIFEST_BYTES} bytes`,
      );
      return reject(store, input, error, [{ code: error.code, message: error.message }], versionId, object.etag);
    }

    let manifest;
    try {
      manifest = parseManifest(object.bytes);
    } catch (error) {
      if (error instanceof ManifestInvalidError) {
        const problems = error.problems.map((problem) => ({
          code: error.code,
          path: problem.path,
          message: problem.line === undefined ? problem.message : `${problem.message} (line ${problem.line}, column ${problem.column})`,
        }));
        return reject(store, input, error, problems, versionId, object.etag);
      }
      if (error instanceof ManifestTooLargeError) {
        return reject(store, input, error, [{ code: error.code, message: error.message }], versionId, object.etag);
      }
      throw error;
    }

    logger.info('manifest loaded', { versionId, secretCount: manifest.resources.length });
    const result: LoadResult = {
      valid: true,
      versionId,
      etag: object.etag,
      secretCount: manifest.resources.length,
      serviceName: manifest.name,
    };
    return result;

    async function reject(
      statusStore: StatusStore,
      step: typeof input,
      error: NeptuneError,
      errors: ProjectError[],
      rejectedVersion: string | null,
      etag: string,
    ): Promise<LoadResult> {
      // The project keeps the status of the manifest it last applied, and the rejection is
      // recorded beside it. A project that never had a valid manifest is Invalid. The lease is
      // given back in the same write.
      const neverApplied = project.manifest_version === undefined && project.manifest_etag === undefined;
      const rejection = { version: rejectedVersion ?? etag, at: new Date().toISOString(), errors };
      await statusStore.writeProject(
        step.projectId,
        step.execution,
        neverApplied ? { status: 'Invalid', errors, last_rejection: rejection } : { last_rejection: rejection },
        { release: true },
      );
      logger.warn('manifest rejected', { errorCode: error.code, errorCount: errors.length });
      return { valid: false, versionId: rejectedVersion, etag, secretCount: 0, serviceName: '', errorCode: error.code };
    }
  },
  { logKeys: (input) => ({ projectId: input.projectId, execution: input.execution }) },
);
