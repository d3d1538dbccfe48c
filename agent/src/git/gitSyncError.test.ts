import { describe, expect, it } from 'vitest';

import { classifyGitOutput } from './gitSyncError.js';

// Real messages of git 2.39 (LC_ALL=C), OpenSSH 9 and libcurl.
describe('classifyGitOutput', () => {
  it.each([
    ["fatal: couldn't find remote ref refs/heads/nope", 'stalled', 'unknown-ref'],
    [
      'error: Server does not allow request for unadvertised object 3035beb',
      'stalled',
      'unknown-ref',
    ],
    ['fatal: remote error: upload-pack: not our ref ffffffff', 'stalled', 'unknown-ref'],
    ["fatal: Authentication failed for 'https://example.com/r.git/'", 'stalled', 'auth-refused'],
    [
      "fatal: could not read Username for 'https://example.com': terminal prompts disabled",
      'stalled',
      'auth-refused',
    ],
    [
      "fatal: unable to access 'https://x/r.git/': The requested URL returned error: 403",
      'stalled',
      'auth-refused',
    ],
    ['git@example.com: Permission denied (publickey).', 'stalled', 'auth-refused'],
    ['Host key verification failed.', 'stalled', 'host-key'],
    [
      'No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.',
      'stalled',
      'host-key',
    ],
    [
      "fatal: unable to access 'https://x/': server certificate verification failed. CAfile: none CRLfile: none",
      'stalled',
      'tls',
    ],
    ['fatal: unable to access: SSL certificate problem: self-signed certificate', 'stalled', 'tls'],
    ["fatal: repository 'https://x/r.git/' not found", 'stalled', 'repository-not-found'],
    [
      "fatal: '/srv/r.git' does not appear to be a git repository",
      'stalled',
      'repository-not-found',
    ],
    ["fatal: unable to access 'https://x/': Could not resolve host: x", 'transient', 'network'],
    [
      "fatal: unable to access 'http://127.0.0.1:1/r.git/': Failed to connect to 127.0.0.1 port 1",
      'transient',
      'network',
    ],
    [
      "fatal: unable to access 'https://x/': The requested URL returned error: 502",
      'transient',
      'network',
    ],
    ['ssh: connect to host example.com port 22: Connection refused', 'transient', 'network'],
    ['fatal: early EOF', 'transient', 'network'],
    [
      "fatal: Unable to create '/s/repository/.git/index.lock': File exists.",
      'transient',
      'local-repository',
    ],
    ['error: object file .git/objects/ab/cdef is empty', 'transient', 'local-repository'],
    ['something nobody has seen before', 'transient', 'unknown'],
  ] as const)('%s → %s/%s', (output, kind, reason) => {
    expect(classifyGitOutput(output)).toMatchObject({ kind, reason });
  });
});
