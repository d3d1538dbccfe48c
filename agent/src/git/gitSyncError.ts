/**
 * Why a sync failed, in the two kinds the reconcile loop acts on (STYLE.md, Flux's shape):
 * `stalled` needs a human (an unknown ref, refused credentials, an unpinned host key, a bad URL)
 * and is reported rather than retried; `transient` (network, timeouts, a busy lock) is retried
 * with backoff. `reason` is finer, so the loop can tell "failed the same way" from a new failure.
 */
export type GitSyncErrorKind = 'transient' | 'stalled';

export type GitSyncFailureReason =
  | 'invalid-options'
  | 'unknown-ref'
  | 'auth-refused'
  | 'host-key'
  | 'tls'
  | 'repository-not-found'
  | 'checkout-not-owned'
  | 'network'
  | 'stall-timeout'
  | 'deadline'
  | 'aborted'
  | 'lock-timeout'
  | 'local-repository'
  | 'unknown';

export class GitSyncError extends Error {
  readonly kind: GitSyncErrorKind;
  readonly reason: GitSyncFailureReason;

  constructor(
    message: string,
    options: { kind: GitSyncErrorKind; reason: GitSyncFailureReason; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GitSyncError';
    this.kind = options.kind;
    this.reason = options.reason;
  }
}

export interface GitFailureClass {
  kind: GitSyncErrorKind;
  reason: GitSyncFailureReason;
  /** What the operator can do about it, one sentence. */
  hint: string;
}

/** A damaged checkout (broken objects, a stale lock file): repaired by cloning again. */
export const LOCAL_REPOSITORY_FAILURE: GitFailureClass = {
  kind: 'transient',
  reason: 'local-repository',
  hint: 'the local checkout is damaged; the agent clones it again',
};

interface Rule extends GitFailureClass {
  pattern: RegExp;
}

// Order matters: the first match wins. git runs with LC_ALL=C, so its messages are English.
const RULES: readonly Rule[] = [
  {
    pattern:
      /couldn't find remote ref|Remote branch .* not found|not our ref|unadvertised object|no such remote ref/i,
    kind: 'stalled',
    reason: 'unknown-ref',
    hint: 'check that the ref exists on the server (git ls-remote <url>) or fix the configured branch, tag or commit',
  },
  {
    pattern:
      /Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]|Permission denied \(|Access denied|HTTP Basic: Access denied/i,
    kind: 'stalled',
    reason: 'auth-refused',
    hint: 'check the configured credentials (token, password or SSH key file) and that they grant read access to this repository',
  },
  {
    pattern:
      /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key .* (not known|mismatch)|No \S+ host key is known/i,
    kind: 'stalled',
    reason: 'host-key',
    hint: "add the server's host key, verified out of band, to the pinned known_hosts file",
  },
  {
    pattern:
      /SSL certificate problem|server certificate verification failed|certificate verify failed|unable to get local issuer certificate|self[- ]signed certificate|SSL: no alternative certificate subject name|CAfile/i,
    kind: 'stalled',
    reason: 'tls',
    hint: "set caFile to the CA bundle that signed the server's certificate, or fix the server's certificate",
  },
  {
    pattern:
      /repository '.*' not found|Repository not found|does not appear to be a git repository|returned error: 404|not a git repository|No such file or directory/i,
    kind: 'stalled',
    reason: 'repository-not-found',
    hint: 'check the repository URL; the repository may have been deleted, renamed or made private',
  },
  {
    pattern:
      /index\.lock|shallow\.lock|Unable to create '.*\.lock'|bad object|is corrupt|object file .* is empty|unable to read tree|bad config|loose object|index file corrupt|did not send all necessary objects|packfile .* cannot be accessed|fatal: (bad|broken|invalid) (index|pack)|HEAD is not a symbolic ref|reference broken/i,
    ...LOCAL_REPOSITORY_FAILURE,
  },
  {
    pattern:
      /Could not resolve host|Temporary failure in name resolution|Connection refused|Connection timed out|Connection reset|Failed to connect|Could not connect|Network is unreachable|No route to host|Operation timed out|early EOF|remote end hung up|transfer closed|RPC failed|returned error: 5\d\d|ssh: connect to host|Broken pipe|unexpected disconnect|Empty reply from server|Recv failure|Send failure|SSL_ERROR_SYSCALL|gnutls_handshake/i,
    kind: 'transient',
    reason: 'network',
    hint: 'the agent retries with backoff; check network connectivity and proxy settings towards the server',
  },
];

/** Sorts git's error output into a kind, a reason and a fix. */
export function classifyGitOutput(output: string): GitFailureClass {
  for (const rule of RULES) {
    if (rule.pattern.test(output)) {
      return { kind: rule.kind, reason: rule.reason, hint: rule.hint };
    }
  }
  return {
    kind: 'transient',
    reason: 'unknown',
    hint: 'the agent retries with backoff; if it persists, run the same git command by hand to see why',
  };
}
