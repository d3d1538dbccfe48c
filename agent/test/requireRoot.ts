import { existsSync } from 'node:fs';
import { describe, it, type TestContext } from 'vitest';

/**
 * The one rule for tests that need root and system tools (crontab -u and throwaway users, a cron
 * daemon, sshd, a tmpfs): they run where their preconditions hold. On CI (`CI` set, as every CI
 * service sets it) a missing precondition FAILS the test: CI runs as root with cron and
 * openssh-server installed (.ci/run), so a skip there would only hide tests that never ran. On a
 * developer's machine they skip, and say why on stderr.
 */

/** Something a test needs, and how to say it is missing. */
export interface Precondition {
  holds: boolean;
  /** What is missing, as "needs …" would end: "root", "/usr/sbin/sshd (openssh-server)". */
  missing: string;
}

const ciVariable = (process.env.CI ?? '').trim().toLowerCase();
export const onCi = !['', '0', 'false'].includes(ciVariable);

export const runningAsRoot: Precondition = {
  holds: process.getuid?.() === 0,
  missing: 'root',
};

export const onLinux: Precondition = { holds: process.platform === 'linux', missing: 'Linux' };

/** An executable at `file`, from Debian's package `debianPackage`. */
export function executable(file: string, debianPackage: string): Precondition {
  return { holds: existsSync(file), missing: `${file} (apt-get install ${debianPackage})` };
}

/** A precondition whose check gave a reason it does not hold (undefined: it holds). */
export function preconditionFrom(reason: string | undefined): Precondition {
  return { holds: reason === undefined, missing: reason ?? '' };
}

/** Why these preconditions do not all hold ("needs root and …"), or undefined when they do. */
export function unmetPreconditions(preconditions: readonly Precondition[]): string | undefined {
  const missing = preconditions.filter((precondition) => !precondition.holds);
  return missing.length === 0
    ? undefined
    : `needs ${missing.map((precondition) => precondition.missing).join(' and ')}`;
}

function ciFailure(name: string, why: string): Error {
  return new Error(
    `"${name}" ${why}. On CI (CI=${process.env.CI}) root-only tests must run, not skip: run the suite as root through .ci/run, which installs cron and openssh-server.`,
  );
}

function announceSkip(name: string, why: string): void {
  process.stderr.write(`skipped "${name}": it ${why} (on CI this fails instead)\n`);
}

/** `describe`, for a suite that needs `preconditions`: fails on CI without them, else skips. */
export function describeNeeding(
  preconditions: readonly Precondition[],
  name: string,
  body: () => void,
  options: { timeout?: number } = {},
): void {
  const why = unmetPreconditions(preconditions);
  if (why === undefined) {
    describe(name, options, body);
  } else if (onCi) {
    describe(name, () => {
      it('has what it needs to run', () => {
        throw ciFailure(name, why);
      });
    });
  } else {
    announceSkip(name, why);
    describe.skip(`${name} (skipped: ${why})`, body);
  }
}

/** `it`, for one test that needs `preconditions`: fails on CI without them, else skips. */
export function itNeeding(
  preconditions: readonly Precondition[],
  name: string,
  test: (context: TestContext) => Promise<void> | void,
): void {
  const why = unmetPreconditions(preconditions);
  if (why === undefined) {
    it(name, test);
  } else if (onCi) {
    it(name, () => {
      throw ciFailure(name, why);
    });
  } else {
    announceSkip(name, why);
    it.skip(`${name} (skipped: ${why})`, test);
  }
}

/**
 * For a precondition found only while a test runs (a tmpfs that cannot be mounted): fails the
 * test on CI, skips it elsewhere, with `reason` either way.
 */
export function skipOrFail(context: TestContext, reason: string): void {
  if (onCi) throw ciFailure(context.task.name, reason);
  context.skip(reason);
}
