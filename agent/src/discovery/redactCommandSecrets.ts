/**
 * What the agent reports of an unmanaged crontab entry's command: the command with the values that
 * look like secrets replaced by `[redacted]`. A crontab line often carries a password or token
 * (`PGPASSWORD=… pg_dump`, `curl -H "Authorization: Bearer …"`, `https://user:pass@host/…`), and
 * the backend has no business holding it: the dashboard needs to recognise the entry, not to run
 * it. `adopt` reads the crontab itself, so it still prints the whole command on the host.
 *
 * Redacted (case-insensitive):
 * - the password of a URL (`scheme://user:[redacted]@host`), and the user name of an http(s) URL,
 *   which is usually a token (`https://[redacted]@host`);
 * - the value of an option whose name says secret: `--password=…`, `--db-password …`,
 *   `--token …`, `--api-key=…`, `--secret …`, `--auth …`, `--credentials …`;
 * - the value of an assignment whose name says secret: `TOKEN=…`, `PGPASSWORD=…`,
 *   `AWS_SECRET_ACCESS_KEY=…`, `export API_KEY=…`;
 * - `user:password` after curl's `-u`/`--user`;
 * - the value of an `Authorization`, `Cookie` or `X-Api-Key` header, and any `Bearer …`;
 * - tokens with a well-known prefix (Cronfleet's `cf?_`, GitHub's `ghp_`/`github_pat_`, Slack's
 *   `xox?-`, AWS access key ids `AKIA…`, Stripe's `sk_live_`).
 *
 * It is a heuristic: a secret in another form (`mysql -psecret`, a positional argument) is sent
 * as it stands. Keep secrets out of command lines (a file readable by the job's user, or the
 * manifest's env from a secret store).
 */

export const redactedMarker = '[redacted]';

/** A shell word as a value: a double-quoted or single-quoted string, or a bare word. */
const value = String.raw`(?:"[^"]*"|'[^']*'|[^\s;&|'"]+)`;

/**
 * Names that say "secret" in an option or a variable: a secret word, after anything (PGPASSWORD,
 * AWS_SECRET…) and followed by nothing or by `-`/`_` and more (…_ACCESS_KEY, --token-file). So
 * `--passive` or `--author` are not secrets.
 */
const secretName = String.raw`[A-Za-z0-9_-]*?(?:password|passwd|passphrase|pass|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|auth|credentials?)(?:[-_][A-Za-z0-9_-]*)?`;

const rules: { pattern: RegExp; replace: (...groups: string[]) => string }[] = [
  {
    // scheme://user:password@ → password redacted; https://token@ → user redacted.
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:'"]*)(:[^\s/@'"]*)?@/gi,
    replace: (_match, scheme = '', user = '', password) => {
      if (password !== undefined && password !== '') return `${scheme}${user}:${redactedMarker}@`;
      if (/^https?:\/\/$/i.test(scheme) && user !== '') return `${scheme}${redactedMarker}@`;
      return `${scheme}${user}${password ?? ''}@`;
    },
  },
  {
    // Authorization: Bearer x, Cookie: a=b, X-Api-Key: k (up to the closing quote or the line end).
    pattern:
      /\b(authorization|proxy-authorization|cookie|x-api-key|x-auth-token)(\s*:\s*)[^'"\n]+/gi,
    replace: (_match, header = '', separator = '') => `${header}${separator}${redactedMarker}`,
  },
  {
    pattern: /\b(bearer\s+)[A-Za-z0-9._~+/-]+=*/gi,
    replace: (_match, bearer = '') => `${bearer}${redactedMarker}`,
  },
  {
    // curl -u user:password, --user user:password, --user=user:password
    pattern: /(\s(?:-u\s*|--user[=\s]\s*))(["']?)([^\s:'"]+):([^\s'"]+)\2/g,
    replace: (_match, flag = '', quote = '', user = '') =>
      `${flag}${quote}${user}:${redactedMarker}${quote}`,
  },
  {
    // --password=x, --password x, --db-token "x"
    pattern: new RegExp(String.raw`(^|\s)(--?${secretName})(=|\s+)${value}`, 'gi'),
    replace: (_match, before = '', option = '', separator = '') =>
      `${before}${option}${separator}${redactedMarker}`,
  },
  {
    // TOKEN=x, export PGPASSWORD='x', AWS_SECRET_ACCESS_KEY=x
    pattern: new RegExp(String.raw`(^|[\s;&|(])(${secretName})=${value}`, 'gi'),
    replace: (_match, before = '', name = '') => `${before}${name}=${redactedMarker}`,
  },
  {
    pattern:
      /\b(?:cf[eaps]_[A-Za-z0-9_-]{16,}|ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|sk_live_[A-Za-z0-9]{16,})/g,
    replace: () => redactedMarker,
  },
];

/** `command` with every value that looks like a secret replaced by `[redacted]` (see above). */
export function redactCommandSecrets(command: string): string {
  let redacted = command;
  for (const rule of rules) {
    redacted = redacted.replace(rule.pattern, (...args: unknown[]) =>
      rule.replace(...(args.slice(0, -2) as string[])),
    );
  }
  return redacted;
}
