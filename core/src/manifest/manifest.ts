// Public entry point of @cronfleet/core/manifest: manifest v1 schema, durations and the loader.
export {
  jobManifestSchema,
  jobSpecSchema,
  metadataSchema,
  retriesSchema,
  targetsSchema,
  monitoringSchema,
  outputSchema,
  manifestApiVersion,
  manifestKind,
  concurrencyPolicies,
  retryBackoffs,
  targetPlatforms,
  dnsLabelPattern,
  type JobManifest,
  type JobManifestInput,
} from './manifestSchema.js';
export {
  durationSchema,
  parseDuration,
  DurationError,
  maxDurationMilliseconds,
} from './duration.js';
export { formatManifestError, type ManifestError } from './manifestErrors.js';
export {
  parseManifestFile,
  namespaceFromPath,
  defaultMaxFileBytes,
  type LoadedJob,
  type LoadResult,
} from './parseManifestFile.js';
export {
  loadJobRepository,
  JobRepositoryError,
  defaultMaxFiles,
  type LoadOptions,
} from './loadJobRepository.js';
export { buildManifestJsonSchema, manifestJsonSchemaId } from './manifestJsonSchema.js';
