import { describe, expect, it } from 'vitest';
import { notTargetedText } from './planReport.js';

describe('notTargetedText', () => {
  it('says nothing when every job is for this agent', () => {
    expect(notTargetedText([])).toEqual([]);
  });

  it('groups the jobs by reason, the largest group first', () => {
    expect(
      notTargetedText([
        { id: 'web/a', reason: 'label role=web required; the agent has role=db' },
        { id: 'win/b', reason: 'platform linux is not one of windows' },
        { id: 'web/c', reason: 'label role=web required; the agent has role=db' },
      ]),
    ).toEqual([
      '3 jobs not for this agent:',
      '  label role=web required; the agent has role=db: web/a, web/c',
      '  platform linux is not one of windows: win/b',
    ]);
  });

  it('stays short for a repository of many untargeted jobs and points at --json', () => {
    const many = [
      ...Array.from({ length: 500 }, (_unused, n) => ({
        id: `web/job-${n}`,
        reason: 'label role=web required; the agent has role=db',
      })),
      ...Array.from({ length: 12 }, (_unused, n) => ({
        id: `host/job-${n}`,
        reason: `hostname db-1 is not one of app-${n}`,
      })),
    ];
    const lines = notTargetedText(many);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines[0]).toBe('512 jobs not for this agent:');
    expect(lines[1]).toBe(
      '  label role=web required; the agent has role=db: web/job-0, web/job-1, web/job-2, web/job-3, web/job-4 and 495 more',
    );
    expect(lines).toContain('  and 5 jobs for 5 other reasons');
    expect(lines.at(-1)).toBe('  (plan --json lists every job and its reason)');
  });
});
