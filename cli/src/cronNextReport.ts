import {
  NoFireTimeError,
  describeCron,
  isValidTimeZone,
  nextFireTimes,
  validateCron,
} from '@cronfleet/core/cron';
import { z } from 'zod';
import { messages } from './messages.js';
import type { TerminalStyle } from './terminalStyle.js';
import { UsageError } from './usageError.js';
import { formatZonedDateTime, toZonedDateTime } from './zonedDateTime.js';

/** The result of `cronfleet cron next`: exactly what --json prints. */
export const CronNextResult = z.strictObject({
  expression: z.string(),
  timezone: z.string(),
  description: z.string(),
  /** Fire times strictly after --from, as ISO 8601 instants in UTC ("…Z"); [] for @reboot. */
  next: z.array(z.iso.datetime()),
});
export type CronNextResult = z.infer<typeof CronNextResult>;

export const minFireTimeCount = 1;
export const maxFireTimeCount = 1000;

export interface CronNextRequest {
  expression: string;
  timezone: string;
  from: Date;
  count: number;
}

export interface CronNextOutcome {
  result: CronNextResult;
  /**
   * Why `next` holds fewer than `count` fire times (@reboot has none; `0 0 30 2 *` never fires
   * within the evaluator's 100-year search), or null when it holds them all.
   */
  note: string | null;
}

const isoInstant = z.iso.datetime({ offset: true });

/** An ISO 8601 date-time with Z or an offset (a real calendar date), else null. */
export function parseIsoInstant(text: string): Date | null {
  if (!isoInstant.safeParse(text).success) return null;
  const instant = new Date(text);
  return Number.isNaN(instant.getTime()) ? null : instant;
}

function isReboot(expression: string): boolean {
  return expression.trim().toLowerCase() === '@reboot';
}

/**
 * Evaluates a `cron next` request with the reference evaluator. Throws a UsageError, whose
 * message says how to fix it, for a count out of range, an unknown zone or an invalid expression.
 */
export function computeCronNext(request: CronNextRequest): CronNextOutcome {
  const { expression, timezone, from, count } = request;
  if (!Number.isInteger(count) || count < minFireTimeCount || count > maxFireTimeCount) {
    throw new UsageError(messages.cronNext.countOutOfRange(count));
  }
  if (!isValidTimeZone(timezone)) {
    throw new UsageError(messages.cronNext.unknownTimeZone(timezone));
  }
  const validation = validateCron(expression);
  if (!validation.valid) {
    throw new UsageError(messages.cronNext.invalidExpression(expression, validation.message));
  }
  const { schedule } = validation;
  const description = describeCron(schedule);
  try {
    const next = nextFireTimes(schedule, { after: from, count, timezone }).map((instant) =>
      instant.toISOString(),
    );
    const note = next.length < count ? messages.cronNext.fewerFireTimes(next.length, count) : null;
    return { result: { expression, timezone, description, next }, note };
  } catch (error) {
    if (!(error instanceof NoFireTimeError)) throw error;
    const note = isReboot(expression)
      ? messages.cronNext.rebootNoFireTime
      : messages.cronNext.noFireTime(error.message);
    return { result: { expression, timezone, description, next: [] }, note };
  }
}

/**
 * Human output: the description, the time zone, then one line per fire time with the local time
 * in the zone (offset and abbreviation) and the UTC instant.
 */
export function renderCronNext(outcome: CronNextOutcome, style: TerminalStyle): string {
  const { result, note } = outcome;
  const lines = [style.bold(result.description), messages.cronNext.timeZoneLine(result.timezone)];
  if (result.next.length > 0) lines.push('', ...renderFireTimes(result, style));
  if (note !== null) lines.push(style.yellow(note));
  return lines.join('\n');
}

function renderFireTimes(result: CronNextResult, style: TerminalStyle): string[] {
  const rows = result.next.map((iso) => ({
    local: formatZonedDateTime(toZonedDateTime(new Date(iso), result.timezone)),
    utc: iso,
  }));
  const header = messages.cronNext.headerLocal(result.timezone);
  const localWidth = Math.max(header.length, ...rows.map((row) => row.local.length));
  return [
    style.dim(`${header.padEnd(localWidth)}  ${messages.cronNext.headerUtc}`),
    ...rows.map((row) => `${row.local.padEnd(localWidth)}  ${style.dim(row.utc)}`),
  ];
}
