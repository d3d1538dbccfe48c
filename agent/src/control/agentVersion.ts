import { readFileSync } from 'node:fs';
import { agentPackageFile } from '../agentPackage.js';

let cached: string | undefined;

/**
 * The agent's version, from its package.json. Read once, on first use: the backend shows it per agent and the heartbeat carries
 * it, so an operator can see which hosts still run an old agent after an upgrade.
 */
export function agentVersion(): string {
  if (cached !== undefined) return cached;
  const text = readFileSync(agentPackageFile('package.json'), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== 'string') throw new Error('the agent package.json has no version');
  cached = version;
  return version;
}
