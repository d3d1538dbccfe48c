import type { IncidentFacts } from './incidentLifecycle.js';
import type { InstanceFacts, RunOutcome, Transition } from './instanceVerdict.js';

/**
 * What an incident says it expected and what happened, in one sentence each: the words of the
 * timeline, the API and every notification. Times are shown in the job's own zone, with UTC.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `2026-03-08 02:30 EST (07:30 UTC)`. */
export function zonedTime(instant: Date, timezone: string): string {
  let formatter = formatters.get(timezone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timezone, formatter);
  }
  const local = formatter.format(instant).replace(',', '');
  const utc = instant.toISOString().slice(11, 16);
  return timezone === 'UTC' ? local : `${local} (${utc} UTC)`;
}

/** `3h`, `90m`, `45s`: as the manifest writes durations. */
export function durationText(milliseconds: number): string {
  const seconds = Math.round(milliseconds / 1000);
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function howItEnded(run: RunOutcome): string {
  switch (run.status) {
    case 'timed_out':
      return 'timed out';
    case 'lost':
      return `was lost${run.reason === null ? '' : ` (${run.reason})`}`;
    case 'failed':
      return run.exitCode === null
        ? `failed${run.reason === null ? '' : ` (${run.reason})`}`
        : `exited with code ${run.exitCode}`;
    case 'succeeded':
      return 'succeeded';
  }
}

/** `before`: fires already missed in this incident (an update counts them all). */
function missed(fires: Date[], facts: InstanceFacts, before: number): IncidentFacts {
  const last = fires.at(-1)!;
  const total = before + fires.length;
  return {
    expected: `a run to start within ${durationText(facts.graceMs)} of each fire time of "${facts.schedule}" (${facts.timezone})`,
    happened:
      total === 1
        ? `no run started for the fire at ${zonedTime(last, facts.timezone)}`
        : `no run started for ${total} fires in a row, the last at ${zonedTime(last, facts.timezone)}`,
    occurrences: total,
  };
}

function failing(streak: RunOutcome[], facts: InstanceFacts): IncidentFacts {
  const last = streak[0]!;
  return {
    expected:
      facts.alertAfter === 1
        ? 'runs that succeed (an incident opens at the first failed run)'
        : `runs that succeed (an incident opens after ${facts.alertAfter} failed runs in a row)`,
    happened: `${streak.length === 1 ? 'the last run' : `${streak.length} runs in a row failed; the last`} ${howItEnded(last)} at ${zonedTime(last.finishedAt, facts.timezone)}`,
    occurrences: streak.length,
    outputTail: last.outputTail,
  };
}

function overrun(since: Date, facts: InstanceFacts): IncidentFacts {
  return {
    expected: `every run to finish within maxRuntime ${durationText(facts.maxRuntimeMs ?? 0)}`,
    happened: `a run that started at ${zonedTime(since, facts.timezone)} is still running`,
    occurrences: 1,
  };
}

/** A transition that opens or updates an incident (what a resolve says is its `because`). */
export type RaisingTransition = Extract<Transition, { change: 'open' | 'update' }>;

export const describeFacts = {
  /** `occurrencesSoFar`: what the open incident counted already (0 when it opens). */
  forTransition(
    transition: RaisingTransition,
    facts: InstanceFacts,
    occurrencesSoFar = 0,
  ): IncidentFacts {
    switch (transition.kind) {
      case 'missed':
        return missed(transition.fires, facts, occurrencesSoFar);
      case 'failing':
        return failing(transition.streak, facts);
      case 'overrun':
        return overrun(transition.since, facts);
    }
  },

  agentOffline(intervalSeconds: number, lastHeartbeat: Date | null): IncidentFacts {
    return {
      expected: `a heartbeat every ${durationText(intervalSeconds * 1000)}`,
      happened:
        lastHeartbeat === null
          ? 'no heartbeat since it enrolled'
          : `no heartbeat since ${zonedTime(lastHeartbeat, 'UTC')}`,
      occurrences: 1,
    };
  },
};
