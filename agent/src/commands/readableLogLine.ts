import type { DestinationStream } from 'pino';

/**
 * Where the log records of one-shot commands (`sync --once`, `plan`, `status`, `run`, `enroll`,
 * `uninstall`, `adopt`) go: one sentence each on standard error,
 *
 *   warning: inventory not reported: no answer from https://cronfleet.example.com (ECONNREFUSED)
 *
 * instead of the JSON lines that the daemon and `--json` keep for log collectors. pino hands a
 * destination each record already serialised (errors through its `err` serializer, which keeps
 * the message and its causes), so this reads the line back and words it: a one-shot command logs
 * a handful of records, so parsing them again costs nothing that matters, and the agent needs no
 * pretty-printer package (see docs/development.md).
 */

/** Fields that pino or main puts on every record: they tell a reader nothing. */
const hiddenFields = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', 'v']);

/** Fields whose value completes the sentence ("…: <reason>") rather than qualifying it. */
const sentenceFields = ['reason', 'err', 'error'];

function levelPrefix(level: unknown): string {
  if (typeof level !== 'number') return '';
  if (level >= 50) return 'error: ';
  if (level >= 40) return 'warning: ';
  if (level >= 30) return '';
  return 'debug: ';
}

/** An error as pino serialised it (type, message, stack…): its message, never the dump. */
function errorText(value: Record<string, unknown>): string | undefined {
  return typeof value.message === 'string' ? value.message : undefined;
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(valueText).join(', ');
  if (typeof value === 'object') {
    return errorText(value as Record<string, unknown>) ?? JSON.stringify(value);
  }
  return String(value);
}

/** One record as one readable line (continuation lines of a long message are indented). */
export function readableLogLine(record: Record<string, unknown>): string {
  const job = typeof record.job === 'string' ? `${record.job}: ` : '';
  let sentence = typeof record.msg === 'string' ? record.msg : '';
  for (const field of sentenceFields) {
    if (record[field] === undefined) continue;
    const text = valueText(record[field]);
    sentence = sentence === '' ? text : `${sentence}: ${text}`;
  }
  const details = Object.entries(record)
    .filter(
      ([key, value]) =>
        !hiddenFields.has(key) &&
        !sentenceFields.includes(key) &&
        key !== 'job' &&
        value !== undefined,
    )
    .map(([key, value]) => `${key}: ${valueText(value)}`);
  const line = `${levelPrefix(record.level)}${job}${sentence}${details.length === 0 ? '' : ` (${details.join(', ')})`}`;
  return `${line.trimEnd().split('\n').join('\n  ')}\n`;
}

/** A pino destination that writes each record to `stream` as a readable line. */
export function readableLogDestination(stream: NodeJS.WritableStream): DestinationStream {
  return {
    write(serialised: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(serialised) as Record<string, unknown>;
      } catch {
        stream.write(serialised);
        return;
      }
      stream.write(readableLogLine(record));
    },
  };
}
