import { zoneOffsets } from './zonedTime.js';

/**
 * A fire time's daylight-saving note, for people reading a list of next fire times: set when the
 * fire falls on a day whose clocks change in its zone, in words that say what happens to it (the
 * evaluator's policy is cronie's: a fixed time in a spring-forward gap runs once, right after the
 * gap; a fixed time in a repeated fall-back hour runs once). Null on any other day.
 *
 * Examples, in America/New_York:
 * - `clocks go forward 1 h in America/New_York at 02:00 EST: 02:00–02:59 does not exist, a job due then runs at 03:00 EDT`
 *   (the fire right after the gap)
 * - `clocks go back 1 h in America/New_York at 02:00 EDT: 01:00–01:59 happens twice; a fixed-time job runs once`
 *   (a fire in the repeated hour)
 * - `clocks go forward 1 h in America/New_York at 02:00 EST, on this day` (another fire that day)
 */
export function daylightSavingNote(fire: Date, timezone: string): string | null {
  const zone = zoneOffsets(timezone);
  const fireMinute = Math.floor(fire.getTime() / 60_000);
  const offset = zone.offsetAt(fireMinute);
  // The local day of the fire, in UTC minutes: [dayStart, dayEnd).
  const localMinute = fireMinute + offset;
  const localDayStart = localMinute - (((localMinute % 1440) + 1440) % 1440);
  const dayStart = localDayStart - zone.offsetAt(localDayStart - offset);
  const dayEnd = dayStart + 1440 + 180;
  let minute = dayStart - 180;
  while (minute < dayEnd) {
    const segment = zone.segmentAt(minute);
    const transition = segment.end;
    if (transition >= dayEnd) break;
    const before = segment.offset;
    const after = zone.offsetAt(transition);
    minute = transition;
    if (before === after) continue;
    // The transition's local day (in the time before it) must be the fire's.
    const wallBefore = transition + before;
    const transitionDay = wallBefore - (((wallBefore % 1440) + 1440) % 1440);
    if (transitionDay !== localDayStart) continue;
    return describeTransition(timezone, fireMinute, transition, before, after);
  }
  return null;
}

function describeTransition(
  timezone: string,
  fireMinute: number,
  transition: number,
  before: number,
  after: number,
): string {
  const shift = Math.abs(after - before);
  const amount = shift % 60 === 0 ? `${shift / 60} h` : `${shift} min`;
  const at = `${wallClock(transition + before)} ${abbreviation(timezone, transition - 1)}`;
  if (after > before) {
    const head = `clocks go forward ${amount} in ${timezone} at ${at}`;
    if (fireMinute === transition) {
      const gapEnd = wallClock(transition + after - 1);
      return `${head}: ${wallClock(transition + before)}–${gapEnd} does not exist, a job due then runs at ${wallClock(transition + after)} ${abbreviation(timezone, transition)}`;
    }
    return `${head}, on this day`;
  }
  const head = `clocks go back ${amount} in ${timezone} at ${at}`;
  const repeatedFrom = transition + after;
  const repeatedTo = transition + before;
  const wall = fireMinute + (fireMinute < transition ? before : after);
  if (wall >= repeatedFrom && wall < repeatedTo) {
    return `${head}: ${wallClock(repeatedFrom)}–${wallClock(repeatedTo - 1)} happens twice; a fixed-time job runs once`;
  }
  return `${head}, on this day`;
}

/** `HH:MM` of a wall-clock minute count. */
function wallClock(wallMinute: number): string {
  const inDay = ((wallMinute % 1440) + 1440) % 1440;
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(Math.floor(inDay / 60))}:${pad(inDay % 60)}`;
}

/** The zone's short name at a UTC minute (EST, CEST, or GMT+1 where Intl has no name). */
function abbreviation(timezone: string, minute: number): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    timeZoneName: 'short',
  }).formatToParts(new Date(minute * 60_000));
  return parts.find((part) => part.type === 'timeZoneName')?.value ?? timezone;
}
