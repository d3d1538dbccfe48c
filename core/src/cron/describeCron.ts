/**
 * Human descriptions of cron schedules, in English, with Vixie/cronie day semantics.
 *
 * Written here rather than taken from cronstrue: cronstrue describes `0 0 *\/2 * 1` as "every 2
 * days in a month, and on Monday", but cronie runs it only on odd days that are Mondays (a field
 * starting with `*` makes the two day fields combine with AND).
 */

import { parseCron } from './cronExpression.js';
import type { CronSchedule } from './cronExpression.js';

const MONTHS = [
  '',
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (value: number): string => String(value).padStart(2, '0');

function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words[0] ?? '';
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** Groups sorted values into runs: [1,2,3,5] → [[1,3],[5,5]]. */
function runs(values: readonly number[]): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  for (const value of values) {
    const last = result[result.length - 1];
    if (last && value === last[1] + 1) last[1] = value;
    else result.push([value, value]);
  }
  return result;
}

/** "1, 3 and 5-9" or, with names, "Monday through Friday and Sunday". */
function listValues(values: readonly number[], name: (value: number) => string): string {
  return joinWords(
    runs(values).map(([low, high]) => {
      if (low === high) return name(low);
      if (high === low + 1) return `${name(low)}, ${name(high)}`;
      return `${name(low)} through ${name(high)}`;
    }),
  );
}

function stepOf(text: string): number | null {
  const match = /^\*\/(\d+)$/.exec(text);
  return match ? Number(match[1]) : null;
}

function ordinal(value: number): string {
  const tens = value % 100;
  if (tens >= 11 && tens <= 13) return `${value}th`;
  const suffix = ['th', 'st', 'nd', 'rd'][value % 10] ?? 'th';
  return `${value}${suffix}`;
}

function describeTime(
  minuteText: string,
  hourText: string,
  minutes: readonly number[],
  hours: readonly number[],
): string {
  const minuteStar = minuteText.startsWith('*');
  const hourStar = hourText.startsWith('*');
  if (!minuteStar && !hourStar && minutes.length * hours.length <= 6) {
    const times = hours.flatMap((hour) => minutes.map((minute) => `${pad(hour)}:${pad(minute)}`));
    return `At ${joinWords(times)}`;
  }
  let minutePart: string;
  const minuteStep = stepOf(minuteText);
  if (minuteText === '*') minutePart = 'Every minute';
  else if (minuteStep !== null) minutePart = `Every ${minuteStep} minutes`;
  else if (minutes.length === 1) minutePart = `At minute ${minutes[0]}`;
  else minutePart = `At minutes ${listValues(minutes, String)}`;

  let hourPart: string;
  const hourStep = stepOf(hourText);
  if (hourText === '*')
    hourPart = minutes.length === 1 && minuteText !== '*' ? ' past every hour' : '';
  else if (hourStep !== null) hourPart = ` past every ${ordinal(hourStep)} hour`;
  else {
    const ranges = runs(hours);
    hourPart =
      ranges.length === 1 && ranges[0] && ranges[0][0] !== ranges[0][1]
        ? `, between ${pad(ranges[0][0])}:00 and ${pad(ranges[0][1])}:59`
        : ` past hour${hours.length === 1 ? '' : 's'} ${listValues(hours, pad)}`;
  }
  return minutePart + hourPart;
}

function describeDays(
  domText: string,
  dowText: string,
  days: readonly number[],
  weekdays: readonly number[],
  daily: boolean,
): string {
  const domAll = days.length === 31;
  const dowAll = weekdays.length === 7;
  const domStep = stepOf(domText);
  const domPhrase =
    domStep !== null
      ? `every ${ordinal(domStep)} day of the month (the ${days.slice(0, 3).map(ordinal).join(', ')}${days.length > 3 ? ', …' : ''})`
      : `day ${listValues(days, String)} of the month`;
  const dowPhrase = listValues(weekdays, (value) => WEEKDAYS[value] ?? String(value));
  const domStar = domText.startsWith('*');
  const dowStar = dowText.startsWith('*');
  if (!domStar && !dowStar) {
    // Vixie/cronie: both restricted → either one.
    return ` on ${domPhrase}, and on every ${dowPhrase}`;
  }
  if (domAll && dowAll) return daily ? ' every day' : '';
  if (domAll) return ` on ${dowPhrase}`;
  if (dowAll) return ` on ${domPhrase}`;
  const anyOf = runs(weekdays).length > 1 ? ' or ' : ' ';
  const dowChoice = dowPhrase.replace(/ and (?=[A-Z][a-z]+$)/, anyOf === ' or ' ? ' or ' : ' and ');
  return ` on ${domPhrase}, only if it is a ${dowChoice}`;
}

function describeMonths(monthText: string, months: readonly number[]): string {
  if (months.length === 12) return '';
  const step = stepOf(monthText);
  const named = listValues(months, (value) => MONTHS[value] ?? String(value));
  return step !== null ? `, every ${ordinal(step)} month (${named})` : `, in ${named}`;
}

/**
 * A human description of a schedule, e.g. "At 02:00 every day", "Every 15 minutes, between
 * 09:00 and 17:59 on Monday through Friday"; for @reboot "Once, when the scheduler starts
 * (@reboot)". Times are wall-clock times in the schedule's time zone.
 */
export function describeCron(schedule: string | CronSchedule): string {
  const parsed =
    typeof schedule === 'string' ? parseCron(schedule) : parseCron(schedule.expression);
  if (parsed.isReboot || parsed.fields === null || parsed.fieldTexts === null) {
    return 'Once, when the scheduler starts (@reboot)';
  }
  const { fields, fieldTexts } = parsed;
  const time = describeTime(fieldTexts.minute, fieldTexts.hour, fields.minute, fields.hour);
  return (
    time +
    describeDays(
      fieldTexts.dayOfMonth,
      fieldTexts.dayOfWeek,
      fields.dayOfMonth,
      fields.dayOfWeek,
      /^At \d\d:\d\d/.test(time),
    ) +
    describeMonths(fieldTexts.month, fields.month)
  );
}
