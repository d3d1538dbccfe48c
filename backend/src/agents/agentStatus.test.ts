import { describe, expect, it } from 'vitest';
import { agentStatus, onlineWindowMs } from './agentStatus.js';

const now = new Date('2030-01-01T00:10:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

describe('agentStatus', () => {
  it('is online while the last heartbeat is younger than 2 × interval + 10 s', () => {
    expect(onlineWindowMs(30)).toBe(70_000);
    const agent = { revokedAt: null, heartbeatIntervalSeconds: 30 };
    expect(agentStatus({ ...agent, lastHeartbeatAt: ago(69_999) }, now)).toBe('online');
    expect(agentStatus({ ...agent, lastHeartbeatAt: ago(70_000) }, now)).toBe('offline');
    // A heartbeat from a clock slightly ahead counts as fresh.
    expect(agentStatus({ ...agent, lastHeartbeatAt: ago(-5_000) }, now)).toBe('online');
  });

  it('is offline before the first heartbeat and revoked whatever the heartbeat', () => {
    expect(
      agentStatus({ revokedAt: null, lastHeartbeatAt: null, heartbeatIntervalSeconds: 30 }, now),
    ).toBe('offline');
    expect(
      agentStatus(
        { revokedAt: ago(1), lastHeartbeatAt: ago(1), heartbeatIntervalSeconds: 30 },
        now,
      ),
    ).toBe('revoked');
  });
});
