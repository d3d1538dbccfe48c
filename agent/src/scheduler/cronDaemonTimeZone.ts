import { readFileSync, readlinkSync } from 'node:fs';
import { isValidTimeZone, systemTimeZone } from '@cronfleet/core/cron';

/**
 * The zone the cron daemon runs in: the system zone of /etc/localtime (or /etc/timezone), not
 * the TZ of the agent's own environment, which cron does not see.
 */
export function cronDaemonTimeZone(): string {
  try {
    const target = readlinkSync('/etc/localtime');
    const match = /zoneinfo\/(.+)$/.exec(target);
    if (match?.[1] !== undefined && isValidTimeZone(match[1])) return match[1];
  } catch {
    // Not a symbolic link: try /etc/timezone.
  }
  try {
    const name = readFileSync('/etc/timezone', 'utf8').trim();
    if (isValidTimeZone(name)) return name;
  } catch {
    // No /etc/timezone either.
  }
  return systemTimeZone();
}
