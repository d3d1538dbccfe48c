/**
 * The cron expression parser: Vixie cron / cronie syntax, 5 fields or a macro.
 *
 * What it accepts: numbers, month and weekday names (case-insensitive), `*`, ranges `a-b`,
 * steps `*\/n` and `a-b/n`, lists `a,b-c,*\/n`, Sunday as 0 or 7, and the macros @yearly
 * @annually @monthly @weekly @daily @midnight @hourly @reboot. What it rejects, each with a
 * message that names the field and says how to fix it: seconds or year fields, Quartz extensions
 * (L, W, #, ?), cronie's random `~`, out-of-range values, reversed ranges, steps of 0, steps on a
 * single value (`5/10`), empty list items and unknown macros.
 *
 * The parsed form keeps what the evaluator needs to follow cronie exactly: whether day-of-month and
 * day-of-week are ORed (both fields restricted, i.e. neither starts with `*`) and whether the job
 * is a "wildcard" job for the daylight-saving policy (its minute or hour field starts with `*`).
 */

export type CronFieldName = 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

export type CronMacro =
  '@yearly' | '@annually' | '@monthly' | '@weekly' | '@daily' | '@midnight' | '@hourly' | '@reboot';

/** The values each field allows, sorted ascending. Day-of-week uses 0-6 with Sunday = 0. */
export interface CronFields {
  readonly minute: readonly number[];
  readonly hour: readonly number[];
  readonly dayOfMonth: readonly number[];
  readonly month: readonly number[];
  readonly dayOfWeek: readonly number[];
}

/** The text of each of the five fields, as written (macros are expanded to their 5-field form). */
export interface CronFieldTexts {
  readonly minute: string;
  readonly hour: string;
  readonly dayOfMonth: string;
  readonly month: string;
  readonly dayOfWeek: string;
}

/**
 * A parsed cron expression. Build it with `parseCron` (or `validateCron`); the evaluator accepts
 * either this or the expression text.
 */
export interface CronSchedule {
  /** The expression as given, without surrounding whitespace. */
  readonly expression: string;
  /** True for `@reboot`, which runs once when the scheduler starts and has no fire times. */
  readonly isReboot: boolean;
  /** The macro used, if any. */
  readonly macro: CronMacro | null;
  /** The 5-field form (`0 0 * * *` for @daily; `@reboot` for @reboot), single-spaced. */
  readonly normalized: string;
  /** The five field texts, or null for @reboot. */
  readonly fieldTexts: CronFieldTexts | null;
  /** The allowed values of each field, or null for @reboot. */
  readonly fields: CronFields | null;
  /**
   * How day-of-month and day-of-week combine (Vixie/cronie): 'either' (OR) when both fields are
   * restricted, i.e. neither starts with `*`; otherwise 'both' (AND).
   */
  readonly dayMatching: 'either' | 'both';
  /**
   * The daylight-saving class (cronie): 'wildcard' when the minute or the hour field starts with
   * `*` (follows real elapsed time), otherwise 'fixed-time' (runs once after a spring-forward gap,
   * once in a repeated fall-back hour).
   */
  readonly timing: 'fixed-time' | 'wildcard';
}

export type CronValidation =
  { valid: true; schedule: CronSchedule } | { valid: false; message: string };

/** A cron expression that cannot be parsed. `field` names the offending field, when there is one. */
export class CronSyntaxError extends Error {
  override readonly name = 'CronSyntaxError';
  readonly expression: string;
  readonly field?: CronFieldName;

  constructor(expression: string, message: string, field?: CronFieldName) {
    super(message);
    this.expression = expression;
    if (field !== undefined) this.field = field;
  }
}

const FIVE_FIELDS = 'minute hour day-of-month month day-of-week';

const MACROS: Readonly<Record<CronMacro, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
  '@reboot': '@reboot',
};

const MONTH_NAMES = [
  'JAN',
  'FEB',
  'MAR',
  'APR',
  'MAY',
  'JUN',
  'JUL',
  'AUG',
  'SEP',
  'OCT',
  'NOV',
  'DEC',
] as const;
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

interface FieldSpec {
  readonly name: CronFieldName;
  readonly min: number;
  readonly max: number;
  /** Names for the values min, min+1, ... (month: JAN=1; day-of-week: SUN=0). */
  readonly names?: readonly string[];
}

const FIELD_SPECS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day-of-week', min: 0, max: 7, names: WEEKDAY_NAMES },
];

function isMacro(text: string): text is CronMacro {
  return Object.hasOwn(MACROS, text);
}

function isName(token: string): boolean {
  const upper = token.toUpperCase();
  return (
    (MONTH_NAMES as readonly string[]).includes(upper) ||
    (WEEKDAY_NAMES as readonly string[]).includes(upper)
  );
}

const QUARTZ_HINTS: Readonly<Record<string, string>> = {
  L: 'list the days explicitly, or run daily and test the date in the command',
  W: 'list the days explicitly',
  '#': 'run on that weekday and test the date in the command (e.g. [ "$(date +%d)" -le 07 ])',
  '?': 'use * instead',
};

/** Parses one field; throws CronSyntaxError naming the field. Returns sorted values. */
function parseField(expression: string, text: string, spec: FieldSpec): number[] {
  const fail = (problem: string): never => {
    throw new CronSyntaxError(expression, `${spec.name} field "${text}": ${problem}`, spec.name);
  };
  const quartz = (symbol: string): never =>
    fail(
      `Quartz extension '${symbol}' is not supported: Cronfleet uses Vixie/cronie 5-field cron; ${QUARTZ_HINTS[symbol] ?? ''}`,
    );
  for (const symbol of ['?', '#']) if (text.includes(symbol)) quartz(symbol);
  if (text.includes('~')) {
    fail("cronie's random range '~' is not supported: write the value you want");
  }

  const rangeText = `${spec.min}-${spec.max}${spec.name === 'day-of-week' ? ' (0 and 7 are Sunday)' : ''}`;
  const readValue = (token: string): number => {
    if (/^\d+$/.test(token)) {
      const value = Number(token);
      if (value < spec.min || value > spec.max) fail(`${token} is out of range ${rangeText}`);
      return value;
    }
    if (token === '') fail(`a range or step is missing a number; write e.g. 1-5 or */10`);
    const upper = token.toUpperCase();
    const index = spec.names?.indexOf(upper) ?? -1;
    if (index >= 0) return spec.min === 1 ? index + 1 : index;
    if (isName(token)) {
      fail(
        spec.names
          ? `"${token}" is not a ${spec.name} name; use ${spec.names.join(', ')} or numbers ${rangeText}`
          : `names are allowed only in the month and day-of-week fields; use a number ${rangeText}`,
      );
    }
    if (/^(?:\d+|[a-z]{3})?L(?:-\d+)?$|^LW$/i.test(token)) quartz('L');
    if (/^\d+W$/i.test(token)) quartz('W');
    if (token === '*') fail(`'*' cannot be part of a range; write * or a-b`);
    return fail(
      `"${token}" is not a number${spec.names ? ' or a name' : ''}; allowed: ${rangeText}${
        spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : ''
      }`,
    );
  };

  // The two commonest fields, a number and `*`, without the general path's sets and sorting.
  if (text === '*') return starValues(spec);
  if (/^\d+$/.test(text)) {
    const value = readValue(text);
    return [spec.name === 'day-of-week' && value === 7 ? 0 : value];
  }

  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') fail('empty list item; remove the extra comma');
    const slashParts = item.split('/');
    if (slashParts.length > 2) fail(`"${item}" has more than one '/'; write e.g. */15 or 5-59/10`);
    const [base = '', stepText] = slashParts;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) fail(`step "${stepText}" is not a number; write e.g. */15`);
      step = Number(stepText);
      if (step === 0) fail('step 0 is invalid: a step must be 1 or more');
      if (step > spec.max) {
        fail(
          `step ${step} is larger than the field's maximum ${spec.max}; use a step of 1-${spec.max}`,
        );
      }
    }
    let low: number;
    let high: number;
    if (base === '*') {
      low = spec.min;
      high = spec.max;
    } else if (base.includes('-')) {
      const bounds = base.split('-');
      if (bounds.length !== 2) fail(`"${base}" is not a range; write a-b, e.g. 1-5`);
      low = readValue(bounds[0] ?? '');
      high = readValue(bounds[1] ?? '');
      // cronie reads a day-of-week range that ends at Sunday written as 0 (FRI-SUN) as ending at 7.
      if (low > high && high === 0 && spec.name === 'day-of-week') high = 7;
      if (low > high) {
        fail(
          `range ${base} is reversed; write ${bounds[1]}-${bounds[0]} (cron ranges do not wrap around)`,
        );
      }
    } else {
      low = readValue(base);
      high = low;
      if (stepText !== undefined) {
        fail(`a step needs a range or *: write ${base}-${spec.max}/${step} or */${step}`);
      }
    }
    for (let value = low; value <= high; value += step) {
      values.add(spec.name === 'day-of-week' && value === 7 ? 0 : value);
    }
  }
  return [...values].sort((a, b) => a - b);
}

/** The values of `*`: the whole range (day-of-week without 7, which is 0 again). */
function starValues(spec: FieldSpec): number[] {
  const values: number[] = [];
  const max = spec.name === 'day-of-week' ? 6 : spec.max;
  for (let value = spec.min; value <= max; value += 1) values.push(value);
  return values;
}

/**
 * Expressions parsed before, by their text: a host's jobs share a few schedules, and an agent
 * with thousands of jobs parses each several times (translation, rendering, verification). A
 * CronSchedule is read-only, so one object serves every caller. Bounded: cleared when full.
 */
const parsedSchedules = new Map<string, CronSchedule>();
const PARSED_SCHEDULES_LIMIT = 4096;

/** Parses a cron expression; throws CronSyntaxError with a message that says where and how to fix. */
export function parseCron(expression: string): CronSchedule {
  const known = typeof expression === 'string' ? parsedSchedules.get(expression) : undefined;
  if (known !== undefined) return known;
  const parsed = parseCronText(expression);
  if (parsedSchedules.size >= PARSED_SCHEDULES_LIMIT) parsedSchedules.clear();
  parsedSchedules.set(expression, parsed);
  return parsed;
}

function parseCronText(expression: string): CronSchedule {
  if (typeof expression !== 'string') {
    throw new CronSyntaxError(String(expression), 'a cron expression must be a string');
  }
  const trimmed = expression.trim();
  if (trimmed === '') {
    throw new CronSyntaxError(
      expression,
      `cron expression is empty: write 5 fields (${FIVE_FIELDS}) or a macro such as @daily`,
    );
  }
  const parts = trimmed.split(/\s+/);

  if (trimmed.startsWith('@')) {
    const [name = ''] = parts;
    if (!isMacro(name)) {
      const lower = name.toLowerCase();
      throw new CronSyntaxError(
        trimmed,
        isMacro(lower)
          ? `unknown macro "${name}": macros are lowercase; write ${lower}`
          : `unknown macro "${name}": use one of ${Object.keys(MACROS).join(', ')}, or 5 fields (${FIVE_FIELDS})`,
      );
    }
    if (parts.length > 1) {
      throw new CronSyntaxError(
        trimmed,
        `macro ${name} takes no fields: remove "${parts.slice(1).join(' ')}"`,
      );
    }
    if (name === '@reboot') {
      return Object.freeze({
        expression: trimmed,
        isReboot: true,
        macro: name,
        normalized: '@reboot',
        fieldTexts: null,
        fields: null,
        dayMatching: 'both',
        timing: 'fixed-time',
      });
    }
    return buildSchedule(trimmed, MACROS[name].split(' '), name);
  }

  if (parts.length === 6 || parts.length === 7) {
    throw new CronSyntaxError(
      trimmed,
      `cron expression has ${parts.length} fields: seconds field / year field not supported: ` +
        `Cronfleet uses 5-field cron (${FIVE_FIELDS}); remove the ${
          parts.length === 6 ? 'seconds (first) or year (last) field' : 'seconds and year fields'
        }`,
    );
  }
  if (parts.length !== 5) {
    throw new CronSyntaxError(
      trimmed,
      `cron expression has ${parts.length} field${parts.length === 1 ? '' : 's'}; ` +
        `Cronfleet uses 5-field cron (${FIVE_FIELDS}) or a macro such as @daily`,
    );
  }
  return buildSchedule(trimmed, parts, null);
}

function buildSchedule(expression: string, parts: string[], macro: CronMacro | null): CronSchedule {
  const [minuteText = '', hourText = '', domText = '', monthText = '', dowText = ''] = parts;
  const texts = [minuteText, hourText, domText, monthText, dowText];
  const values = FIELD_SPECS.map((spec, index) => parseField(expression, texts[index] ?? '', spec));
  const [minute = [], hour = [], dayOfMonth = [], month = [], dayOfWeek = []] = values;
  const domStar = domText.startsWith('*');
  const dowStar = dowText.startsWith('*');
  return Object.freeze({
    expression,
    isReboot: false,
    macro,
    normalized: texts.join(' '),
    fieldTexts: Object.freeze({
      minute: minuteText,
      hour: hourText,
      dayOfMonth: domText,
      month: monthText,
      dayOfWeek: dowText,
    }),
    fields: Object.freeze({
      minute: Object.freeze(minute),
      hour: Object.freeze(hour),
      dayOfMonth: Object.freeze(dayOfMonth),
      month: Object.freeze(month),
      dayOfWeek: Object.freeze(dayOfWeek),
    }),
    dayMatching: domStar || dowStar ? 'both' : 'either',
    timing: minuteText.startsWith('*') || hourText.startsWith('*') ? 'wildcard' : 'fixed-time',
  });
}

/** Validates a cron expression without throwing. */
export function validateCron(expression: string): CronValidation {
  try {
    return { valid: true, schedule: parseCron(expression) };
  } catch (error) {
    if (error instanceof CronSyntaxError) return { valid: false, message: error.message };
    throw error;
  }
}
