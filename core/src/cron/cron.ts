/**
 * @cronfleet/core/cron — the one reference cron evaluator (DESIGN.md, "Cron semantics").
 * This entry point re-exports the public API of the folder.
 */

export { CronSyntaxError, parseCron, validateCron } from './cronExpression.js';
export type {
  CronFieldName,
  CronFields,
  CronFieldTexts,
  CronMacro,
  CronSchedule,
  CronValidation,
} from './cronExpression.js';
export {
  NoFireTimeError,
  fireMinutesBetween,
  matches,
  nextFireTime,
  nextFireTimes,
  previousFireTime,
} from './cronSchedule.js';
export type { NextFireOptions } from './cronSchedule.js';
export {
  InvalidTimeZoneError,
  isValidTimeZone,
  systemTimeZone,
  zoneOffsets,
  type OffsetSegment,
  type ZoneOffsets,
} from './zonedTime.js';
export { daylightSavingNote } from './daylightSavingNote.js';
export { describeCron } from './describeCron.js';
