import { describe, expect, it } from 'vitest';

import { parseGitUrl, redactText, redactUrl } from './gitUrl.js';

describe('parseGitUrl', () => {
  it.each([
    ['https://example.com/org/repo.git', 'https'],
    ['http://127.0.0.1:8080/repo.git', 'http'],
    ['ssh://git@example.com:2222/org/repo.git', 'ssh'],
    ['git+ssh://git@example.com/org/repo.git', 'ssh'],
    ['git@example.com:org/repo.git', 'ssh'],
    ['example.com:org/repo.git', 'ssh'],
    ['git@[::1]:org/repo.git', 'ssh'],
    ['git://example.com/repo.git', 'git'],
    ['file:///srv/git/repo.git', 'file'],
    ['/srv/git/repo.git', 'file'],
  ] as const)('accepts %s as %s', (url, transport) => {
    expect(parseGitUrl(url)).toEqual({ transport, url, redacted: redactUrl(url) });
  });

  it.each([
    ['', 'the repository URL is empty'],
    [' https://example.com/r.git', 'contains whitespace or control characters'],
    ['https://example.com/r.git\nfoo', 'contains whitespace or control characters'],
    ['--upload-pack=touch /tmp/x', 'must not start with "-"'],
    ['ext::sh -c touch% /tmp/pwned', 'uses remote-helper syntax'],
    ['fd::17', 'uses remote-helper syntax'],
    ['ftp://example.com/r.git', 'uses the unsupported scheme "ftp"'],
    ['https://ghp_secret@github.com/org/r.git', 'carries credentials'],
    ['https://user:pa55@github.com/org/r.git', 'carries credentials'],
    ['ssh://git:pa55@example.com/r.git', 'carries credentials'],
    ['repo.git', 'is neither a URL nor an absolute path'],
    ['./repo', 'is neither a URL nor an absolute path'],
  ])('rejects %j', (url, message) => {
    expect(() => parseGitUrl(url)).toThrow(message);
    try {
      parseGitUrl(url);
    } catch (error) {
      expect((error as Error).message).not.toMatch(/ghp_secret|pa55/);
    }
  });
});

describe('redactUrl', () => {
  it.each([
    ['https://user:pa55@example.com/r.git', 'https://example.com/r.git'],
    ['https://ghp_token@example.com:8443/r.git', 'https://example.com:8443/r.git'],
    ['https://example.com/r.git?access_token=abc#x', 'https://example.com/r.git?[redacted]'],
    ['ssh://git:pa55@example.com/r.git', 'ssh://git@example.com/r.git'],
    ['ssh://git@example.com/r.git', 'ssh://git@example.com/r.git'],
    ['git@example.com:org/r.git', 'git@example.com:org/r.git'],
    ['/srv/git/r.git', '/srv/git/r.git'],
    ['https://example.com', 'https://example.com'],
  ])('%s → %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });
});

describe('redactText', () => {
  it('removes userinfo from every URL in git output and redacts the configured URL', () => {
    const url = 'https://example.com/r.git?token=abc';
    expect(
      redactText(`fatal: unable to access 'https://u:p@example.com/r.git/': 403\nfrom ${url}`, url),
    ).toBe(
      "fatal: unable to access 'https://example.com/r.git/': 403\nfrom https://example.com/r.git?[redacted]",
    );
  });
});
