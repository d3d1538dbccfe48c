import { describe, expect, it } from 'vitest';
import {
  AgentToken,
  Conditions,
  EnrollmentToken,
  EnrollRequest,
  findCredentialsInRepositoryUrl,
  HeartbeatRequest,
  HeartbeatResponse,
  ListAgentsQuery,
  RepositoryRef,
} from './agentContract.js';
import { apiExamples } from './apiExamples.js';
import { toValidationIssues } from './errorContract.js';

function issuesOf(result: { success: boolean; error?: unknown }) {
  expect(result.success).toBe(false);
  return toValidationIssues(result.error as never);
}

describe('EnrollRequest', () => {
  it('requires a hashed machine id and a known platform', () => {
    const issues = issuesOf(
      EnrollRequest.safeParse({
        ...apiExamples.enrollRequest,
        machineId: 'raw-machine-id',
        platform: 'freebsd',
      }),
    );
    expect(issues.map((issue) => issue.path)).toEqual(['machineId', 'platform']);
    expect(issues[0]?.message).toContain('SHA-256');
  });

  it('validates label keys and values', () => {
    expect(
      EnrollRequest.safeParse({
        ...apiExamples.enrollRequest,
        labels: { 'example.com/tier': 'gold' },
      }).success,
    ).toBe(true);
    expect(
      EnrollRequest.safeParse({ ...apiExamples.enrollRequest, labels: { 'bad key': 'x' } }).success,
    ).toBe(false);
    expect(
      EnrollRequest.safeParse({ ...apiExamples.enrollRequest, labels: { team: 'has space' } })
        .success,
    ).toBe(false);
    expect(
      EnrollRequest.safeParse({ ...apiExamples.enrollRequest, labels: { team: '' } }).success,
    ).toBe(true);
  });
});

describe('tokens', () => {
  it('tells enrollment and agent tokens apart by prefix', () => {
    const body = 'A'.repeat(22);
    expect(EnrollmentToken.safeParse(`cfe_${body}`).success).toBe(true);
    expect(EnrollmentToken.safeParse(`cfa_${body}`).success).toBe(false);
    expect(AgentToken.safeParse(`cfa_${body}`).success).toBe(true);
    expect(AgentToken.safeParse('cfa_short').success).toBe(false);
  });
});

describe('repository URLs', () => {
  it('accepts URLs without credentials', () => {
    for (const url of [
      'https://git.example.com/ops/cron-jobs.git',
      'ssh://git@git.example.com:2222/ops/cron-jobs.git',
      'git@github.com:ops/cron-jobs.git',
      'file:///srv/git/cron-jobs',
    ]) {
      expect(findCredentialsInRepositoryUrl(url), url).toBeNull();
      expect(RepositoryRef.safeParse({ url, branch: 'main' }).success, url).toBe(true);
    }
  });

  it('rejects URLs that carry credentials and says what to do', () => {
    for (const url of [
      'https://user:hunter2@git.example.com/ops/jobs.git',
      'https://ghp_token123@github.com/ops/jobs.git',
      'https://git.example.com/ops/jobs.git?access_token=abc',
      'ssh://git:hunter2@git.example.com/ops/jobs.git',
      'user:hunter2@git.example.com:ops/jobs.git',
    ]) {
      expect(findCredentialsInRepositoryUrl(url), url).not.toBeNull();
      const issues = issuesOf(RepositoryRef.safeParse({ url, branch: 'main' }));
      expect(issues[0]?.path).toBe('url');
      expect(issues[0]?.message).toContain('credentials settings');
      expect(issues[0]?.message).not.toContain('hunter2');
    }
  });

  it('rejects bad branch names', () => {
    for (const branch of ['', 'a..b', '-x', 'has space', 'x.lock', 'line\nbreak']) {
      expect(RepositoryRef.safeParse({ url: 'https://g/x.git', branch }).success, branch).toBe(
        false,
      );
    }
    expect(
      RepositoryRef.safeParse({ url: 'https://g/x.git', branch: 'release/2024-05' }).success,
    ).toBe(true);
  });
});

describe('HeartbeatRequest', () => {
  it('allows null revisions before the first apply', () => {
    const first = {
      ...apiExamples.heartbeatRequest,
      lastAppliedRevision: null,
      lastAttemptedRevision: null,
      errors: [],
    };
    expect(HeartbeatRequest.parse(first)).toEqual(first);
  });

  it('allows no repository while the agent has none configured', () => {
    const unconfigured = { ...apiExamples.heartbeatRequest, repository: null };
    expect(HeartbeatRequest.parse(unconfigured)).toEqual(unconfigured);
  });

  it('takes the running run ids and whether commands are accepted, both optional', () => {
    const {
      runningRunIds: _runningRunIds,
      acceptsCommands: _acceptsCommands,
      ...older
    } = apiExamples.heartbeatRequest;
    expect(HeartbeatRequest.parse(older)).toEqual(older);
    const none = { ...apiExamples.heartbeatRequest, runningRunIds: [], acceptsCommands: false };
    expect(HeartbeatRequest.parse(none)).toEqual(none);
    const notUuid = issuesOf(
      HeartbeatRequest.safeParse({ ...apiExamples.heartbeatRequest, runningRunIds: ['run-1'] }),
    );
    expect(notUuid[0]?.path).toBe('runningRunIds[0]');
    const runId = apiExamples.heartbeatRequest.runningRunIds?.[0];
    const tooMany = issuesOf(
      HeartbeatRequest.safeParse({
        ...apiExamples.heartbeatRequest,
        runningRunIds: Array.from({ length: 10_001 }, () => runId),
      }),
    );
    expect(tooMany[0]?.path).toBe('runningRunIds');
  });

  it('rejects a short or symbolic revision', () => {
    for (const revision of ['4b825dc', 'main', '4B825DC642CB6EB9A060E54BF8D69288FBEE4904']) {
      const issues = issuesOf(
        HeartbeatRequest.safeParse({
          ...apiExamples.heartbeatRequest,
          lastAppliedRevision: revision,
        }),
      );
      expect(issues[0]?.path).toBe('lastAppliedRevision');
    }
  });

  it('rejects a timestamp without offset and duplicate condition types', () => {
    const [ready] = apiExamples.heartbeatRequest.conditions;
    const issues = issuesOf(
      Conditions.safeParse([
        ready,
        { ...ready, type: 'Stalled', lastTransitionTime: '2024-05-01T02:00:00' },
      ]),
    );
    expect(issues.map((issue) => issue.path)).toEqual(['[1].lastTransitionTime']);
    const duplicate = issuesOf(Conditions.safeParse([ready, ready]));
    expect(duplicate).toEqual([
      { path: '[1].type', message: expect.stringContaining('more than once') },
    ]);
  });

  it('rejects a manifest error with a line 0', () => {
    const [located] = apiExamples.heartbeatRequest.errors;
    const issues = issuesOf(
      HeartbeatRequest.safeParse({
        ...apiExamples.heartbeatRequest,
        errors: [{ ...located, line: 0 }],
      }),
    );
    expect(issues[0]?.path).toBe('errors[0].line');
  });
});

describe('HeartbeatResponse', () => {
  it('parses reconcile and run commands and rejects unknown ones', () => {
    expect(HeartbeatResponse.parse(apiExamples.heartbeatResponse).commands).toHaveLength(2);
    expect(
      HeartbeatResponse.safeParse({ heartbeatIntervalSeconds: 30, commands: [{ type: 'upgrade' }] })
        .success,
    ).toBe(false);
    expect(HeartbeatResponse.safeParse({ heartbeatIntervalSeconds: 1, commands: [] }).success).toBe(
      false,
    );
  });
});

describe('ListAgentsQuery', () => {
  it('coerces query strings and defaults the limit', () => {
    expect(ListAgentsQuery.parse({})).toEqual({ limit: 50 });
    expect(ListAgentsQuery.parse({ status: 'revoked', label: 'role=db', limit: '200' })).toEqual({
      status: 'revoked',
      label: ['role=db'],
      limit: 200,
    });
  });

  it('rejects bad limits and label filters', () => {
    for (const limit of ['0', '201', 'ten', '1.5', '']) {
      expect(ListAgentsQuery.safeParse({ limit }).success, limit).toBe(false);
    }
    for (const label of ['role', '=db', 'role=has space']) {
      expect(issuesOf(ListAgentsQuery.safeParse({ label }))[0]?.path, label).toBe('label');
    }
  });
});
