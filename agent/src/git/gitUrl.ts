/**
 * Repository URLs as the agent accepts them. The URL comes from configuration, so it is checked
 * before it reaches git: only transports whose authentication the agent controls are allowed
 * (remote-helper syntax such as `ext::` could run arbitrary commands), and credentials embedded
 * in an http(s) URL are refused, because git would copy them into `.git/config`, process
 * arguments and error messages (DESIGN.md, Security).
 */

/** The transports the agent speaks; each maps to one GIT_ALLOW_PROTOCOL list. */
export type GitTransport = 'https' | 'http' | 'ssh' | 'git' | 'file';

export interface ParsedGitUrl {
  transport: GitTransport;
  /** The URL exactly as git receives it. */
  url: string;
  /** The same URL without anything secret, for messages and logs. */
  redacted: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const SCP_LIKE = /^(?:[^@/:\s]+@)?(?:\[[^\]/]+\]|[^/:\s]+):/;
const SCHEME_TRANSPORTS: Readonly<Record<string, GitTransport>> = {
  https: 'https',
  http: 'http',
  ssh: 'ssh',
  'git+ssh': 'ssh',
  'ssh+git': 'ssh',
  git: 'git',
  file: 'file',
};

/** Whether `text` contains a C0 control character or DEL (a newline, a NUL, an escape…). */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Checks a repository URL and tells which transport it uses. Throws an Error whose message says
 * what is wrong and how to write the URL instead; the message never repeats a credential.
 */
export function parseGitUrl(url: string): ParsedGitUrl {
  if (url.length === 0) throw new Error('the repository URL is empty');
  if (hasControlCharacter(url) || url.trim() !== url) {
    throw new Error(
      `the repository URL ${JSON.stringify(redactUrl(url))} contains whitespace or control characters`,
    );
  }
  if (url.startsWith('-')) {
    throw new Error(`the repository URL ${redactUrl(url)} must not start with "-"`);
  }
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    const transport = SCHEME_TRANSPORTS[scheme];
    if (transport === undefined) {
      throw new Error(
        `the repository URL ${redactUrl(url)} uses the unsupported scheme "${scheme}"; use https://, http://, ssh://, git:// or file://`,
      );
    }
    if (transport !== 'file') {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new Error(`the repository URL ${redactUrl(url)} is not a valid URL`);
      }
      if (parsed.hostname === '') {
        throw new Error(`the repository URL ${redactUrl(url)} has no host`);
      }
      if (parsed.password !== '' || (parsed.username !== '' && transport !== 'ssh')) {
        throw new Error(
          `the repository URL ${redactUrl(url)} carries credentials; remove them from the URL and configure a token or basic credentials file instead (git would copy them into .git/config and error messages)`,
        );
      }
    }
    return { transport, url, redacted: redactUrl(url) };
  }
  if (/^[A-Za-z0-9+.-]+::/.test(url)) {
    throw new Error(
      `the repository URL ${redactUrl(url)} uses remote-helper syntax ("transport::address"), which the agent does not allow`,
    );
  }
  if (url.startsWith('/')) return { transport: 'file', url, redacted: url };
  const firstColon = url.indexOf(':');
  const firstSlash = url.indexOf('/');
  if (firstColon > 0 && (firstSlash === -1 || firstColon < firstSlash) && SCP_LIKE.test(url)) {
    return { transport: 'ssh', url, redacted: url };
  }
  throw new Error(
    `the repository URL ${JSON.stringify(url)} is neither a URL nor an absolute path; use https://host/path, ssh://host/path, git@host:path, file:///path or /path`,
  );
}

/**
 * The URL with its secrets removed: userinfo (except the ssh user name, which is no secret and
 * says which account the key belongs to), any password, and the query string, which some hosts
 * use for access tokens. Strings that are not URLs come back unchanged.
 */
export function redactUrl(url: string): string {
  const scheme = SCHEME.exec(url);
  if (scheme === null) return url;
  const name = (scheme[1] ?? '').toLowerCase();
  const rest = url.slice(scheme[0].length);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  let path = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  let host = authority;
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    host = authority.slice(at + 1);
    if (SCHEME_TRANSPORTS[name] === 'ssh') {
      const user = userinfo.split(':', 1)[0] ?? '';
      host = `${user}@${host}`;
    }
  }
  const query = path.search(/[?#]/);
  if (query !== -1) path = `${path.slice(0, query)}?[redacted]`;
  return `${scheme[0]}${host}${path}`;
}

/**
 * Removes URL credentials from free text (git's stderr) and replaces every occurrence of the
 * configured URL by its redacted form, so an error message or a log line can quote git safely.
 */
export function redactText(text: string, url?: string): string {
  let out = text;
  if (url !== undefined && url.length > 0) out = out.split(url).join(redactUrl(url));
  return out.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/@'"]*@/g, (_match, prefix: string) => {
    return prefix;
  });
}
