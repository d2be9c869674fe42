import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';

import { ManifestNotFoundError, ManifestTooLargeError } from './errors.ts';
import { MAX_MANIFEST_BYTES } from './manifest/schema.ts';

export type ManifestObject = {
  /** Null when the bucket is not versioned. */
  versionId: string | null;
  etag: string;
} & ({ bytes: Uint8Array; tooLarge?: undefined } | { bytes?: undefined; tooLarge: { size: number } });

/**
 * Reads one version of a manifest, or the newest when `versionId` is omitted. The size is checked
 * before the body is read, so a file of several megabytes is reported as `tooLarge` without
 * loading it.
 */
export async function readManifestObject(
  s3: S3Client,
  location: { bucket: string; key: string; versionId?: string | null; etag?: string },
): Promise<ManifestObject> {
  let response;
  try {
    response = await s3.send(
      new GetObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        VersionId: location.versionId ?? undefined,
        // Without versions, only the same content may be read back by a later step.
        IfMatch: location.versionId ? undefined : location.etag,
      }),
    );
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') {
      throw new ManifestNotFoundError(`s3://${location.bucket}/${location.key} does not exist; upload neptune.json again`, {
        cause: error,
      });
    }
    throw error;
  }

  // S3 reports "null" as the version id of an object in a bucket that never had versioning.
  const versionId = response.VersionId && response.VersionId !== 'null' ? response.VersionId : null;
  const etag = response.ETag ?? '';
  const size = response.ContentLength ?? 0;
  if (size > MAX_MANIFEST_BYTES) {
    response.Body?.transformToWebStream().cancel().catch(() => undefined);
    return { tooLarge: { size }, versionId, etag };
  }

  const bytes = response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
  return { bytes, versionId, etag };
}

/** Reads a manifest that an earlier step already accepted, so it cannot be too large. */
export async function readAcceptedManifest(
  s3: S3Client,
  location: { bucket: string; key: string; versionId: string | null; etag: string },
): Promise<Uint8Array> {
  const object = await readManifestObject(s3, location);
  if (object.tooLarge) {
    throw new ManifestTooLargeError(`neptune.json is ${object.tooLarge.size} bytes; the maximum is ${MAX_MANIFEST_BYTES} bytes`);
  }
  return object.bytes;
}
