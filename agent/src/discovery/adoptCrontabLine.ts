import path from 'node:path';
import { JobName, Namespace } from '@cronfleet/core/contract';
import {
  manifestApiVersion,
  manifestKind,
  parseManifestFile,
  type JobManifestInput,
} from '@cronfleet/core/manifest';
import { Document, isMap, isScalar, Scalar } from 'yaml';
import { decodeCronCommand, parseCrontabLine } from './crontabLine.js';

/**
 * `adopt`: the manifest equivalent to one crontab line, so that a job found by discovery can be
 * moved into Git without changing what runs or when. Pure. The manifest it returns has been
 * loaded back with core's parser: what it prints always loads, with the same schedule and the
 * same command.
 */

/** A line that cannot be adopted as it is; the message says why and what to do. */
export class AdoptError extends Error {
  override readonly name = 'AdoptError';
}

export interface AdoptOptions {
  /** Default "default". */
  namespace?: string | undefined;
  /** Default: derived from the command's program name. */
  name?: string | undefined;
  /** The zone cron evaluates the line in (the cron daemon's). */
  timezone: string;
}

export interface AdoptedJob {
  namespace: string;
  name: string;
  schedule: string;
  timezone: string;
  /** The command as cron runs it (`\%` already turned into `%`). */
  command: string;
  /** The manifest as written, comments included. */
  yaml: string;
  manifest: JobManifestInput;
}

/** Words that start a command without being the program it is about. */
const wrapperWords = new Set([
  'env',
  'nice',
  'ionice',
  'nohup',
  'sudo',
  'timeout',
  'chronic',
  'time',
  'exec',
  'sh',
  'bash',
  'test',
  '[',
  'run-parts',
]);

/**
 * A job name from the command: the program of its first simple command that is not `cd`,
 * skipping assignments, options, wrappers (nice, timeout, flock and its lock file…), as a DNS
 * label from its base name without extension. Only a suggestion: `--name` overrides it.
 */
export function jobNameFromCommand(command: string): string {
  for (const segment of command.split(/&&|\|\||[;|&()]/)) {
    let skipOperand = false;
    for (const raw of segment.trim().split(/\s+/)) {
      const word = raw.replace(/^['"]|['"]$/g, '');
      if (word === '' || word.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue;
      if (/^\d+[smhd]?$/.test(word) || word.startsWith('$')) continue;
      if (skipOperand) {
        skipOperand = false;
        continue;
      }
      const base = path.posix.basename(word).replace(/\.[A-Za-z0-9]{1,4}$/, '');
      if (base === 'cd') break;
      if (base === 'flock') {
        skipOperand = true;
        continue;
      }
      if (wrapperWords.has(base)) continue;
      const label = base
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 63)
        .replace(/-+$/, '');
      if (label !== '') return label;
    }
  }
  return 'adopted-job';
}

function checkedLabel(
  value: string,
  what: 'namespace' | 'name',
  schema: typeof Namespace | typeof JobName,
): string {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AdoptError(
      `--${what} ${JSON.stringify(value)} ${result.error.issues[0]?.message ?? 'is not valid'}`,
    );
  }
  return value;
}

function refusal(line: string): never {
  const parsed = parseCrontabLine(line);
  switch (parsed.kind) {
    case 'blank':
      throw new AdoptError(
        'the line is empty: give one crontab entry, such as "0 2 * * * /opt/backup.sh"',
      );
    case 'comment':
      throw new AdoptError(
        'the line is a comment, not a crontab entry; remove the "#" to adopt the entry it disables',
      );
    case 'environment':
      throw new AdoptError(
        `the line sets the environment variable ${parsed.name}, it is not a crontab entry; give the entry line, and put the variables its command needs under spec.env of the manifest`,
      );
    case 'invalid':
      throw new AdoptError(`the line is not a crontab entry: ${parsed.reason}`);
    default:
      throw new AdoptError('the line is not a crontab entry');
  }
}

/**
 * The manifest of one crontab line (user crontab format: no user field). Throws AdoptError for a
 * line that is not an entry, and for a command with an unescaped `%`: cron would feed the text
 * after it to the command's standard input, which a Cronfleet job does not have.
 */
export function adoptCrontabLine(line: string, options: AdoptOptions): AdoptedJob {
  const text = line.replace(/\r?\n$/, '');
  if (text.includes('\n')) {
    throw new AdoptError(
      'give one crontab line (it holds a newline); adopt the entries one by one',
    );
  }
  const parsed = parseCrontabLine(text);
  if (parsed.kind !== 'entry') refusal(text);
  const { schedule } = parsed;
  const decoded = decodeCronCommand(parsed.command);
  if (decoded.stdin !== null) {
    throw new AdoptError(
      `the command contains an unescaped "%": cron ends the command there and writes the rest (${JSON.stringify(decoded.stdin)}, each further "%" a newline) to its standard input, which a Cronfleet job does not have. If a literal percent sign was meant (as in date +%Y), escape it as "\\%" in the line; to feed input, pipe it explicitly (printf '...' | command) and adopt that line`,
    );
  }
  const command = decoded.command;
  const namespace = checkedLabel(options.namespace ?? 'default', 'namespace', Namespace);
  const name = checkedLabel(options.name ?? jobNameFromCommand(command), 'name', JobName);

  const manifest: JobManifestInput = {
    apiVersion: manifestApiVersion,
    kind: manifestKind,
    metadata: { name, namespace },
    spec: { schedule, timezone: options.timezone, command },
  };
  const document = new Document(manifest);
  const notes = [
    ` Adopted from a crontab entry by cronfleet-agent adopt (${schedule}).`,
    ` cron ran it with /bin/sh as the crontab's owner, in the cron daemon's time zone (${options.timezone}).`,
    ' Environment settings of the crontab (PATH, SHELL, MAILTO, ...) are not part of the line:',
    ' add those the command needs under spec.env. Remove the crontab line once this job is applied.',
  ];
  if (parsed.command !== command) {
    notes.push(' The command is written as cron runs it: each "\\%" of the line is a "%" here.');
  }
  if (options.name === undefined) {
    notes.push(` The name was derived from the command; choose another with --name.`);
  }
  document.commentBefore = notes.join('\n');
  const spec = document.get('spec', true);
  if (isMap(spec)) {
    const scheduleNode = spec.get('schedule', true);
    if (isScalar(scheduleNode)) scheduleNode.type = Scalar.QUOTE_SINGLE;
  }
  const yaml = document.toString({ lineWidth: 0 });

  // What is printed must load, and describe this very job.
  const loaded = parseManifestFile(`${namespace}/${name}.yaml`, yaml);
  const job = loaded.jobs[0];
  if (
    loaded.errors.length > 0 ||
    loaded.jobs.length !== 1 ||
    job === undefined ||
    job.id !== `${namespace}/${name}` ||
    job.manifest.spec.schedule !== schedule ||
    job.manifest.spec.command !== command ||
    job.manifest.spec.timezone !== options.timezone
  ) {
    const problem = loaded.errors[0]?.message ?? 'it loads as a different job';
    throw new Error(`the adopted manifest does not load back as the same job: ${problem}`);
  }
  return { namespace, name, schedule, timezone: options.timezone, command, yaml, manifest };
}
