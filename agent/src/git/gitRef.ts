import { hasControlCharacter } from './gitUrl.js';

/**
 * What the agent checks out: a branch (follows its tip, force-pushes included), a tag (follows a
 * re-tag too) or one pinned commit. Names are checked here, before git sees them, because they
 * are interpolated into a refspec: a `:` or `*` would change what git fetches.
 */
export type GitRef = { kind: 'branch' | 'tag' | 'commit'; name: string };

/** Where every fetch stores the target, so the work tree never depends on a remote's layout. */
export const TARGET_REF = 'refs/cronfleet/target';

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The ref in canonical form (a `refs/heads/` or `refs/tags/` prefix removed, a SHA lower-cased),
 * or an Error saying what is wrong with it. Follows `git check-ref-format` for branch and tag
 * names.
 */
export function normalizeGitRef(ref: GitRef): GitRef {
  if (ref.kind === 'commit') {
    const sha = ref.name.toLowerCase();
    if (!FULL_SHA.test(sha)) {
      throw new Error(
        /^[0-9a-f]{4,39}$/.test(sha)
          ? `commit ${JSON.stringify(ref.name)} is abbreviated; give the full 40-character SHA (servers only serve full object names)`
          : `commit ${JSON.stringify(ref.name)} is not a commit SHA; give the full 40-character hexadecimal SHA`,
      );
    }
    return { kind: 'commit', name: sha };
  }
  const prefix = ref.kind === 'branch' ? 'refs/heads/' : 'refs/tags/';
  const name = ref.name.startsWith(prefix) ? ref.name.slice(prefix.length) : ref.name;
  const problem = refNameProblem(name);
  if (problem !== undefined) {
    throw new Error(`${ref.kind} name ${JSON.stringify(ref.name)} is invalid: ${problem}`);
  }
  return { kind: ref.kind, name };
}

function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 255) return 'it is longer than 255 characters';
  if (hasControlCharacter(name) || /[ ~^:?*[\\]/.test(name)) {
    return 'it contains a space, a control character or one of ~ ^ : ? * [ \\';
  }
  if (name.startsWith('-')) return 'it starts with "-"';
  if (name === '@') return 'it is "@"';
  if (name.includes('..') || name.includes('@{') || name.includes('//')) {
    return 'it contains "..", "@{" or "//"';
  }
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) {
    return 'it starts or ends with "/" or ends with "."';
  }
  for (const part of name.split('/')) {
    if (part.startsWith('.') || part.endsWith('.lock')) {
      return 'a path component starts with "." or ends with ".lock"';
    }
  }
  return undefined;
}

/** `branch "main"`, for messages. */
export function describeGitRef(ref: GitRef): string {
  return `${ref.kind} ${JSON.stringify(ref.name)}`;
}

/** A stable key (`branch:main`) stored with a checkout to notice a changed configuration. */
export function gitRefKey(ref: GitRef): string {
  return `${ref.kind}:${ref.name}`;
}

/**
 * The refspec that fetches the ref into TARGET_REF. The leading `+` lets the fetch follow a
 * force-push or a moved tag instead of refusing a non-fast-forward update.
 */
export function targetRefspec(ref: GitRef): string {
  switch (ref.kind) {
    case 'branch':
      return `+refs/heads/${ref.name}:${TARGET_REF}`;
    case 'tag':
      return `+refs/tags/${ref.name}:${TARGET_REF}`;
    case 'commit':
      return `+${ref.name}:${TARGET_REF}`;
  }
}
