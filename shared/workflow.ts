import { z } from 'zod';

import { isProjectId } from './naming.ts';

/**
 * The data that passes between the workflow's states. It contains ids and counts only, never a
 * list of secrets, so its size does not grow with the manifest.
 */

export const executionInputSchema = z.object({
  projectId: z.string().refine(isProjectId, 'invalid project id'),
  bucket: z.string().min(1),
  key: z.string().min(1),
  versionId: z.string().nullable().default(null),
  sequencer: z.string().nullable().default(null),
  eventTime: z.string().nullable().default(null),
});
export type ExecutionInput = z.output<typeof executionInputSchema>;

export const loadResultSchema = z.object({
  valid: z.boolean(),
  /** S3 version id of the manifest that this execution applies, or null in an unversioned bucket. */
  versionId: z.string().nullable(),
  etag: z.string(),
  secretCount: z.number().int(),
  serviceName: z.string(),
  errorCode: z.string().optional(),
});
export type LoadResult = z.output<typeof loadResultSchema>;

const stepBase = {
  projectId: z.string().refine(isProjectId, 'invalid project id'),
  bucket: z.string().min(1),
  key: z.string().min(1),
  execution: z.string().min(1),
};

export const loadStepSchema = z.object({ ...stepBase, versionId: z.string().nullable().optional() });
export const manifestStepSchema = z.object({ ...stepBase, manifest: loadResultSchema });

export const policyResultSchema = z.object({
  roleName: z.string(),
  changed: z.boolean(),
  granted: z.number().int(),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
});
export type PolicyResult = z.output<typeof policyResultSchema>;

export const writeStatusStepSchema = z.object({ ...stepBase, manifest: loadResultSchema, policy: policyResultSchema });

export const recordFailureStepSchema = z.object({
  ...stepBase,
  failure: z.object({ Error: z.string(), Cause: z.string().optional() }),
});
