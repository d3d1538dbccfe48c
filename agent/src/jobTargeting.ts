/**
 * Which jobs a given agent runs. A manifest's `spec.targets` narrows the agents a job is
 * installed on; absent targets mean every agent. Every criterion that is given must hold:
 * - labels: every listed label must be present on the agent with exactly that value;
 * - hostnames: the agent's hostname is one of them (case-insensitive; a short name such as
 *   `db-1` also matches the agent `db-1.internal`);
 * - platforms: the agent's platform is one of them.
 */
export type AgentPlatform = 'linux' | 'darwin' | 'windows';

export interface JobTargets {
  labels?: Record<string, string> | undefined;
  hostnames?: readonly string[] | undefined;
  platforms?: readonly AgentPlatform[] | undefined;
}

export interface AgentIdentity {
  hostname: string;
  platform: AgentPlatform;
  labels: Readonly<Record<string, string>>;
}

export type TargetVerdict = { targeted: true } | { targeted: false; reason: string };

function shortHostname(hostname: string): string {
  const dot = hostname.indexOf('.');
  return dot === -1 ? hostname : hostname.slice(0, dot);
}

function hostnameMatches(wanted: string, agentHostname: string): boolean {
  const want = wanted.toLowerCase();
  const have = agentHostname.toLowerCase();
  return want === have || (!want.includes('.') && want === shortHostname(have));
}

export function targetVerdict(
  targets: JobTargets | undefined,
  agent: AgentIdentity,
): TargetVerdict {
  if (targets === undefined) return { targeted: true };
  for (const [key, value] of Object.entries(targets.labels ?? {})) {
    const actual = agent.labels[key];
    if (actual !== value) {
      return {
        targeted: false,
        reason:
          actual === undefined
            ? `label ${key}=${value} required; the agent has no label ${key}`
            : `label ${key}=${value} required; the agent has ${key}=${actual}`,
      };
    }
  }
  if (targets.hostnames !== undefined && targets.hostnames.length > 0) {
    if (!targets.hostnames.some((wanted) => hostnameMatches(wanted, agent.hostname))) {
      return {
        targeted: false,
        reason: `hostname ${agent.hostname} is not one of ${targets.hostnames.join(', ')}`,
      };
    }
  }
  if (targets.platforms !== undefined && targets.platforms.length > 0) {
    if (!targets.platforms.includes(agent.platform)) {
      return {
        targeted: false,
        reason: `platform ${agent.platform} is not one of ${targets.platforms.join(', ')}`,
      };
    }
  }
  return { targeted: true };
}

export function isTargeted(targets: JobTargets | undefined, agent: AgentIdentity): boolean {
  return targetVerdict(targets, agent).targeted;
}
