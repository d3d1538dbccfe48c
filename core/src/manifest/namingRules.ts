/**
 * The naming rules of job names, namespaces and labels. Manifests and the API contract share
 * them, so a name valid in Git is valid on the wire. No imports: safe in the browser bundle.
 */

/** Kubernetes-style DNS label: the rule for job names and namespaces. */
export const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsLabelHelp =
  'a DNS label: at most 63 characters, lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. nightly-db-backup)';

/** Label keys: an optional DNS-subdomain prefix and "/", then a name. */
export const labelKeyPattern =
  /^(?:(?=.{1,253}\/)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
export const labelKeyHelp =
  'a label key: an optional DNS-subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit (e.g. team, example.com/tier)';

/** Label values: empty, or up to 63 characters of the label-name charset. */
export const labelValuePattern = /^(?:(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
export const labelValueHelp =
  'a label value: empty, or at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit';

/**
 * Notification channel names (`monitoring.notify`, the organization's channels): the DNS-label
 * rule, so a name is safe in a URL, a log line and a YAML list without quoting.
 */
export const notificationChannelNamePattern = dnsLabelPattern;
export const notificationChannelNameHelp =
  'a notification channel name: 1 to 63 characters, lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. ops-pager)';
