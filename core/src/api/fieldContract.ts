import { z } from 'zod';
import {
  dnsLabelHelp,
  dnsLabelPattern,
  labelKeyHelp,
  labelKeyPattern,
  labelValueHelp,
  labelValuePattern,
  notificationChannelNameHelp,
  notificationChannelNamePattern,
} from '../manifest/namingRules.js';

/**
 * Field-level schemas that several API contracts share (timestamps, identifiers, revisions,
 * labels). Request and response schemas are built from these so that every route spells a
 * field the same way on the wire.
 */

/** The path prefix of every route of API v1. */
export const API_BASE_PATH = '/api/v1';

/** An ISO 8601 date-time with an explicit offset (`Z` or `±hh:mm`), as produced by `toISOString()`. */
export const IsoDateTime = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 date-time with a time zone offset, e.g. 2024-05-01T02:00:00Z',
});
export type IsoDateTime = z.infer<typeof IsoDateTime>;

/**
 * A time a list is filtered by (`from`, `to`): an {@link IsoDateTime} whose UTC year is 1970 to
 * 9999. Every stored time lies in that range, and PostgreSQL refuses some times outside it (year
 * 0, beyond 294276), so a query never sends one.
 */
export const TimeFilter = IsoDateTime.refine(
  (time) => {
    const year = new Date(time).getUTCFullYear();
    return year >= 1970 && year <= 9999;
  },
  { error: 'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z' },
);
export type TimeFilter = z.infer<typeof TimeFilter>;

/** A UUID (run ids are chosen by the agent, agent ids by the backend). */
export const Uuid = z.uuid({ error: 'must be a UUID, e.g. 3f1c2a9e-8d4b-4f0e-9a61-2b7c5d8e9f10' });
export type Uuid = z.infer<typeof Uuid>;

const dnsLabelMessage = `must be ${dnsLabelHelp}`;

/** A job namespace (DNS label, as in manifest v1). */
export const Namespace = z
  .string()
  .max(63, dnsLabelMessage)
  .regex(dnsLabelPattern, dnsLabelMessage);
export type Namespace = z.infer<typeof Namespace>;

/** A job name (DNS label, unique within its namespace, as in manifest v1). */
export const JobName = z.string().max(63, dnsLabelMessage).regex(dnsLabelPattern, dnsLabelMessage);
export type JobName = z.infer<typeof JobName>;

/** dnsLabelPattern without its anchors, twice, around a slash. */
const dnsLabelBody = dnsLabelPattern.source.replace(/^\^|\$$/g, '');
const jobRefPattern = new RegExp(`^${dnsLabelBody}/${dnsLabelBody}$`);

/** A job's identity written as `namespace/name`, e.g. `production/nightly-db-backup`. */
export const JobRef = z
  .string()
  .max(127)
  .regex(jobRefPattern, 'must be "namespace/name", e.g. production/nightly-db-backup');
export type JobRef = z.infer<typeof JobRef>;

/** A full Git commit id: 40 hex digits (SHA-1 repositories) or 64 (SHA-256 repositories). */
export const Revision = z
  .string()
  .regex(
    /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/,
    'must be a full lowercase Git commit id (40 or 64 hex digits), not a branch name or short id',
  );
export type Revision = z.infer<typeof Revision>;

/** A SHA-256 digest written as 64 lowercase hex digits. */
export const Sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest written as 64 lowercase hex digits');
export type Sha256Hex = z.infer<typeof Sha256Hex>;

/** A label key: an optional DNS-subdomain prefix and `/`, then a name of 1-63 characters. */
export const LabelKey = z.string().max(317).regex(labelKeyPattern, `must be ${labelKeyHelp}`);
export type LabelKey = z.infer<typeof LabelKey>;

/** A label value: empty, or 1-63 letters, digits, "-", "_" or "." starting and ending with a letter or digit. */
export const LabelValue = z.string().regex(labelValuePattern, `must be ${labelValueHelp}`);
export type LabelValue = z.infer<typeof LabelValue>;

/** Labels, e.g. `{ team: "platform", role: "db" }`. */
export const Labels = z.record(LabelKey, LabelValue);
export type Labels = z.infer<typeof Labels>;

/**
 * A notification channel's name, e.g. `ops-pager`: how a manifest's `monitoring.notify` names the
 * channels of its organization (the same rule as a DNS label).
 */
export const NotificationChannelName = z
  .string()
  .max(63, `must be ${notificationChannelNameHelp}`)
  .regex(notificationChannelNamePattern, `must be ${notificationChannelNameHelp}`);
export type NotificationChannelName = z.infer<typeof NotificationChannelName>;

/** A label filter written `key=value`, e.g. `role=db`. */
export const LabelSelector = z
  .string()
  .max(381)
  .refine(
    (selector) => {
      const at = selector.indexOf('=');
      if (at <= 0) return false;
      return (
        LabelKey.safeParse(selector.slice(0, at)).success &&
        LabelValue.safeParse(selector.slice(at + 1)).success
      );
    },
    { error: 'must be a label filter written "key=value", e.g. role=db' },
  );
export type LabelSelector = z.infer<typeof LabelSelector>;

/** A semantic version, e.g. `1.4.0` or `1.5.0-rc.1+build.7`. */
export const SemVer = z
  .string()
  .max(64)
  .regex(
    /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/,
    'must be a semantic version, e.g. 1.4.0',
  );
export type SemVer = z.infer<typeof SemVer>;

/** Single-line text without control characters (names, reasons, branch names). */
export function singleLineText(maxLength: number) {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(maxLength, `must be at most ${maxLength} characters`)
    .regex(/^[^\p{Cc}]*$/u, 'must be a single line without control characters');
}
