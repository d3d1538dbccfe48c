import type { UnmanagedEntry } from '@cronfleet/core/api';
import { readCrontab, type CrontabProgram } from '../scheduler/crontabProcess.js';
import { parseCrontabLine } from './crontabLine.js';

/**
 * Discovery: the entries of a user's crontab that Cronfleet does not manage, so that the
 * dashboard can show what still runs outside Git and `adopt` can bring it in. Everything inside a
 * cronfleet-agent block (any agent's: several may share one crontab) is managed; comments,
 * environment settings and blank lines are not entries; `@reboot` entries are, with the schedule
 * "@reboot".
 */

/** A marker line of any agent's block, and the owner id it names. */
const blockMarker = /^[ \t]*#[ \t]*(BEGIN|END)[ \t]+cronfleet-agent[ \t]+([^\s:]+)/i;

/** The longest command the contract carries; longer ones are cut with a marker. */
const maxCommandLength = 8192;
const cutMarker = ' …[cut]';

export interface IgnoredCrontabLine {
  /** 1-based. */
  line: number;
  reason: string;
}

export interface UnmanagedCrontabEntries {
  entries: UnmanagedEntry[];
  /** Lines outside the blocks that cron would not run (not entries, not comments, not settings). */
  ignored: IgnoredCrontabLine[];
}

/**
 * The unmanaged entries of a crontab's text, in file order. Commands are reported as they stand
 * in the crontab (cron's `%` rule not applied), so `schedule + " " + command` is the line again.
 * Pure. A begin marker without its end hides everything after it: when in doubt, a line is
 * treated as managed rather than offered for adoption twice.
 */
export function findUnmanagedCrontabEntries(content: Buffer | string): UnmanagedCrontabEntries {
  const text = typeof content === 'string' ? content : content.toString('utf8');
  const entries: UnmanagedEntry[] = [];
  const ignored: IgnoredCrontabLine[] = [];
  let openBlock: string | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const marker = blockMarker.exec(line);
    if (marker !== null) {
      const [, which = '', owner = ''] = marker;
      if (which.toUpperCase() === 'BEGIN' && openBlock === undefined) openBlock = owner;
      else if (which.toUpperCase() === 'END' && openBlock === owner) openBlock = undefined;
      return;
    }
    if (openBlock !== undefined) return;
    const parsed = parseCrontabLine(line);
    if (parsed.kind === 'entry') {
      const command =
        parsed.command.length > maxCommandLength
          ? `${parsed.command.slice(0, maxCommandLength - cutMarker.length)}${cutMarker}`
          : parsed.command;
      entries.push({ schedule: parsed.schedule, command });
    } else if (parsed.kind === 'invalid') {
      ignored.push({ line: index + 1, reason: parsed.reason });
    }
  });
  return { entries, ignored };
}

export interface CrontabDiscoveryOptions {
  /** `crontab -u USER` (root only); undefined: the agent's own crontab. */
  user?: string | undefined;
  /** The crontab binary; default `crontab` through PATH. */
  crontabPath?: string | undefined;
  timeoutMs?: number | undefined;
}

/**
 * Reads the crontab with `crontab -l` and returns its unmanaged entries. A user without a
 * crontab, or a system without the crontab program (containers running the embedded scheduler),
 * has none. Any other failure throws: the caller reports the inventory without them.
 */
export async function discoverUnmanagedCrontabEntries(
  options: CrontabDiscoveryOptions = {},
): Promise<UnmanagedCrontabEntries> {
  const program: CrontabProgram = {
    path: options.crontabPath ?? 'crontab',
    user: options.user,
    timeoutMs: options.timeoutMs ?? 30_000,
    owner: options.user,
    spoolDirectories: [],
  };
  let content: Buffer | null;
  try {
    content = await readCrontab(program);
  } catch (error) {
    if ((error as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') {
      return { entries: [], ignored: [] };
    }
    throw error;
  }
  return content === null ? { entries: [], ignored: [] } : findUnmanagedCrontabEntries(content);
}
