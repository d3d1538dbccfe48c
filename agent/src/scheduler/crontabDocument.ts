import { parseJobIdComment } from './cronEntryText.js';
import { SchedulerError } from './schedulerBackend.js';

/**
 * A user's crontab as the agent sees it: foreign bytes that it never changes, and at most one
 * block of its own between a begin and an end marker that carry its owner id. Pure: parsing and
 * splicing only, so the byte-preservation rules are tested without a crontab binary.
 *
 * The crontab is handled as a latin1 string (one character per byte), so that foreign content in
 * any encoding, CRLF line endings and a missing final newline come back byte for byte; the
 * agent's own lines are UTF-8.
 */

export interface CrontabMarkers {
  begin: string;
  end: string;
}

/** The marker lines of `ownerId`'s block. They say who wrote the block and not to edit it. */
export function crontabMarkers(ownerId: string): CrontabMarkers {
  return {
    begin: `# BEGIN cronfleet-agent ${ownerId}: managed by cronfleet-agent, do not edit`,
    end: `# END cronfleet-agent ${ownerId}`,
  };
}

/** One job inside the block: its id comment line and its cron line. */
export interface CrontabBlockEntry {
  id: string;
  /** The two lines joined by `\n`, UTF-8 decoded: what `render` produced when nothing drifted. */
  text: string;
  /** The same two lines as installed, one character per byte: kept as is when left alone. */
  bytes: string;
}

export interface CrontabBlock {
  /** Offset of the begin marker line. */
  start: number;
  /** Offset just after the end marker line (after its newline, when it has one). */
  end: number;
  entries: readonly CrontabBlockEntry[];
}

export interface CrontabDocument {
  /** The whole crontab, one character per byte. */
  source: string;
  /** This owner's block; undefined when the crontab has none. */
  block: CrontabBlock | undefined;
}

interface SourceLine {
  text: string;
  start: number;
  end: number;
  number: number;
}

/** Any line that looks like a cronfleet-agent marker, well-formed or not, and the owner it names. */
const markerLike = /^[ \t]*#[ \t]*(?:BEGIN|END)[ \t]+cronfleet-agent[ \t]+([^\s:]+)/i;

function splitLines(source: string): SourceLine[] {
  const lines: SourceLine[] = [];
  let offset = 0;
  let number = 1;
  while (offset < source.length) {
    const newline = source.indexOf('\n', offset);
    const stop = newline === -1 ? source.length : newline;
    const end = newline === -1 ? stop : newline + 1;
    lines.push({ text: source.slice(offset, stop), start: offset, end, number });
    offset = end;
    number += 1;
  }
  return lines;
}

function utf8(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/**
 * Parses `content` (the output of `crontab -l`) and finds `ownerId`'s block. Throws a stalled
 * SchedulerError, so that nothing gets written, when the block's structure is not exactly what
 * the agent writes: a marker missing, duplicated, out of order or altered; a line in the block
 * that is not an id comment followed by its cron line; the same job twice. Blocks and markers of
 * other owners are foreign bytes like any other.
 */
export function parseCrontab(content: Buffer, ownerId: string, where: string): CrontabDocument {
  const source = content.toString('latin1');
  const markers = crontabMarkers(ownerId);
  const lines = splitLines(source);
  const fix =
    'Fix the crontab by hand (crontab -e): restore the marker line, or delete the whole damaged block; the agent reinstalls its jobs on the next sync.';
  const begins: SourceLine[] = [];
  const ends: SourceLine[] = [];
  for (const line of lines) {
    const match = markerLike.exec(line.text);
    if (match === null || match[1] !== ownerId) continue;
    if (line.text === markers.begin) begins.push(line);
    else if (line.text === markers.end) ends.push(line);
    else {
      throw new SchedulerError(
        `${where}, line ${line.number}: ${JSON.stringify(utf8(line.text))} looks like a marker of cronfleet-agent ${ownerId} but is not exactly ${JSON.stringify(markers.begin)} or ${JSON.stringify(markers.end)}. ${fix}`,
        'stalled',
      );
    }
  }
  if (begins.length > 1 || ends.length > 1) {
    const duplicated = begins.length > 1 ? begins : ends;
    throw new SchedulerError(
      `${where}: the ${begins.length > 1 ? 'begin' : 'end'} marker of cronfleet-agent ${ownerId} appears ${duplicated.length} times (lines ${duplicated.map((line) => line.number).join(', ')}); a crontab holds at most one block per agent. ${fix}`,
      'stalled',
    );
  }
  const begin = begins[0];
  const end = ends[0];
  if (begin === undefined && end === undefined) return { source, block: undefined };
  if (begin === undefined || end === undefined) {
    const present = (begin ?? end) as SourceLine;
    throw new SchedulerError(
      `${where}, line ${present.number}: the ${begin === undefined ? 'end' : 'begin'} marker of cronfleet-agent ${ownerId} has no ${begin === undefined ? 'begin' : 'end'} marker (${JSON.stringify(begin === undefined ? markers.begin : markers.end)}). ${fix}`,
      'stalled',
    );
  }
  if (end.number < begin.number) {
    throw new SchedulerError(
      `${where}: the end marker of cronfleet-agent ${ownerId} (line ${end.number}) comes before its begin marker (line ${begin.number}). ${fix}`,
      'stalled',
    );
  }

  const inside = lines.slice(begin.number, end.number - 1);
  const entries: CrontabBlockEntry[] = [];
  const seen = new Map<string, number>();
  const editedByHand = `The block between the cronfleet-agent markers was edited by hand; restore it or delete the whole block (markers included) and let the agent reinstall its jobs.`;
  for (let index = 0; index < inside.length; index += 2) {
    const idLine = inside[index] as SourceLine;
    const id = parseJobIdComment(idLine.text);
    if (id === undefined) {
      throw new SchedulerError(
        `${where}, line ${idLine.number}: ${JSON.stringify(utf8(idLine.text))} is not a job id comment ("# cronfleet-job: namespace/name"). ${editedByHand}`,
        'stalled',
      );
    }
    const cronLine = inside[index + 1];
    if (
      cronLine === undefined ||
      cronLine.text.trim() === '' ||
      parseJobIdComment(cronLine.text) !== undefined ||
      markerLike.test(cronLine.text)
    ) {
      throw new SchedulerError(
        `${where}, line ${idLine.number}: job ${id} has no cron line after its id comment. ${editedByHand}`,
        'stalled',
      );
    }
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      throw new SchedulerError(
        `${where}: job ${id} appears twice in the block (lines ${earlier} and ${idLine.number}). ${editedByHand}`,
        'stalled',
      );
    }
    seen.set(id, idLine.number);
    const bytes = `${idLine.text}\n${cronLine.text}`;
    entries.push({ id, text: utf8(bytes), bytes });
  }
  return { source, block: { start: begin.start, end: end.end, entries } };
}

/**
 * `crontab` (Vixie, cronie, Debian) refuses a file whose last byte is not a newline ("missing
 * newline before EOF"), so a crontab whose foreign part lacks one can only be rewritten with one
 * added. It is the one byte outside its block the agent may add, and only when it writes.
 */
function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** An entry to install: its id and its two lines, one character per byte (see {@link latin1Of}). */
export interface CrontabEntryBytes {
  id: string;
  bytes: string;
}

/** UTF-8 text as one character per byte, the form the document splices. */
export function latin1Of(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * The crontab with `ownerId`'s block holding exactly `entries` (in the order given), every other
 * byte as it was. The block replaces the old one in place, or is appended at the end; with no
 * entries the block is removed entirely, and a crontab without a block is returned unchanged.
 */
export function spliceCrontab(
  document: CrontabDocument,
  ownerId: string,
  entries: readonly CrontabEntryBytes[],
): Buffer {
  const { source, block } = document;
  if (entries.length === 0 && block === undefined) return Buffer.from(source, 'latin1');
  const markers = crontabMarkers(ownerId);
  const blockText =
    entries.length === 0
      ? ''
      : `${markers.begin}\n${entries.map((entry) => `${entry.bytes}\n`).join('')}${markers.end}\n`;
  let text: string;
  if (block !== undefined) {
    text = source.slice(0, block.start) + blockText + source.slice(block.end);
  } else {
    text = withFinalNewline(source) + blockText;
  }
  return Buffer.from(withFinalNewline(text), 'latin1');
}
