import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultStateDir, loadAgentConfig } from './agentConfig.js';

const directory = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-agent-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const file = path.join(directory, name);
  writeFileSync(file, text);
  return file;
}

const root = { isRoot: true, hostname: 'db-1.internal' };

function errorOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadAgentConfig', () => {
  it('has defaults for everything but the repository', () => {
    const config = loadAgentConfig({}, {}, root);
    expect(config).toEqual({
      stateDir: '/var/lib/cronfleet',
      tokenFile: '/var/lib/cronfleet/agent-token',
      repository: { path: '.', branch: 'main' },
      pollInterval: 30_000,
      pollJitter: 0.1,
      labels: {},
      hostname: 'db-1.internal',
      scheduler: 'crontab',
      cronDDirectory: '/etc/cron.d',
      allowEmpty: false,
      logLevel: 'info',
    });
  });

  it('puts a non-root agent under the XDG state home', () => {
    expect(defaultStateDir({ XDG_STATE_HOME: '/home/ops/.state' }, false)).toBe(
      '/home/ops/.state/cronfleet',
    );
    expect(defaultStateDir({}, false)).toBe(
      path.join(os.homedir(), '.local', 'state', 'cronfleet'),
    );
    expect(loadAgentConfig({}, { XDG_STATE_HOME: '/srv/state' }, { isRoot: false }).stateDir).toBe(
      '/srv/state/cronfleet',
    );
  });

  it('takes flags over the environment over the file', () => {
    const file = configFile(
      'precedence.yaml',
      [
        'backendUrl: https://file.example.com',
        'repository:',
        '  url: https://git.example.com/jobs.git',
        '  tag: v1',
        '  path: jobs',
        'labels: { role: db, zone: a }',
        'pollInterval: 2m',
        'scheduler: cron.d',
      ].join('\n'),
    );
    const config = loadAgentConfig(
      { config: file, branch: 'release', label: ['zone=b', 'tier=gold'], stateDir: 'rel/state' },
      { CRONFLEET_BACKEND_URL: 'https://env.example.com', CRONFLEET_SCHEDULER: 'embedded' },
      root,
    );
    expect(config.backendUrl).toBe('https://env.example.com');
    expect(config.repository).toEqual({
      url: 'https://git.example.com/jobs.git',
      branch: 'release',
      path: 'jobs',
    });
    expect(config.labels).toEqual({ role: 'db', zone: 'b', tier: 'gold' });
    expect(config.pollInterval).toBe(120_000);
    expect(config.scheduler).toBe('embedded');
    expect(config.stateDir).toBe(path.resolve('rel/state'));
    expect(config.tokenFile).toBe(path.join(path.resolve('rel/state'), 'agent-token'));
  });

  it('reads labels and booleans from the environment', () => {
    const config = loadAgentConfig(
      {},
      { CRONFLEET_LABELS: 'role=db, env=prod', CRONFLEET_ALLOW_EMPTY: 'yes' },
      root,
    );
    expect(config.labels).toEqual({ role: 'db', env: 'prod' });
    expect(config.allowEmpty).toBe(true);
    expect(errorOf(() => loadAgentConfig({}, { CRONFLEET_ALLOW_EMPTY: 'maybe' }, root))).toBe(
      'CRONFLEET_ALLOW_EMPTY: must be true or false',
    );
  });

  it('says which flag, variable or file line is wrong and what is allowed', () => {
    expect(errorOf(() => loadAgentConfig({ scheduler: 'anacron' }, {}, root))).toBe(
      'invalid agent configuration:\n  --scheduler: must be one of crontab, cron.d, embedded',
    );
    expect(errorOf(() => loadAgentConfig({ label: ['role'] }, {}, root))).toBe(
      '--label: "role" must be key=value, for example role=db',
    );
    expect(errorOf(() => loadAgentConfig({}, { CRONFLEET_POLL_INTERVAL: 'often' }, root))).toBe(
      'invalid agent configuration:\n  CRONFLEET_POLL_INTERVAL: pollInterval must be a duration such as 30s, 5m or 1h',
    );
    const file = configFile(
      'wrong.yaml',
      'repository:\n  url: x\n  brnch: main\n  commit: zz\nbackendUrl: ftp://x\n',
    );
    expect(errorOf(() => loadAgentConfig({ config: file }, {}, root)).split('\n')).toEqual([
      'invalid agent configuration:',
      `  ${file}: backendUrl: must be an http:// or https:// URL`,
      `  ${file}: repository.commit: must be a commit id (hexadecimal, at least 7 characters)`,
      `  ${file}: repository: unknown setting "brnch"; see docs/agent.md for the settings`,
    ]);
  });

  it('rejects two refs at once and paths outside the repository', () => {
    expect(
      errorOf(() =>
        loadAgentConfig({}, { CRONFLEET_REPO_TAG: 'v1', CRONFLEET_REPO_BRANCH: 'main' }, root),
      ),
    ).toBe(
      'invalid agent configuration:\n  repository: give at most one of branch, tag and commit',
    );
    expect(errorOf(() => loadAgentConfig({ path: '../elsewhere' }, {}, root))).toBe(
      'invalid agent configuration:\n  --path: must be a folder inside the repository, such as "." or "jobs/production"',
    );
  });

  it('reports an unreadable or malformed file with its location', () => {
    expect(
      errorOf(() => loadAgentConfig({ config: path.join(directory, 'none.yaml') }, {}, root)),
    ).toBe(
      `cannot read the config file ${path.join(directory, 'none.yaml')}: ENOENT; check --config`,
    );
    const broken = configFile('broken.yaml', 'scheduler: crontab\nlabels: [unclosed\n');
    expect(errorOf(() => loadAgentConfig({ config: broken }, {}, root))).toMatch(
      new RegExp(`^${broken.replaceAll('.', '\\.')}:3:1: `),
    );
    const list = configFile('list.yaml', '- a\n- b\n');
    expect(errorOf(() => loadAgentConfig({ config: list }, {}, root))).toBe(
      `${list}: must be a mapping of settings, such as "scheduler: crontab"`,
    );
  });

  it('accepts repository credentials of each kind and rejects unknown kinds', () => {
    const file = configFile(
      'credentials.yaml',
      'repository:\n  url: https://git.example.com/jobs.git\n  credentials: { kind: token, tokenFile: /etc/cronfleet/git-token }\n',
    );
    expect(loadAgentConfig({ config: file }, {}, root).repository.credentials).toEqual({
      kind: 'token',
      tokenFile: '/etc/cronfleet/git-token',
    });
    const wrong = configFile(
      'credentials-wrong.yaml',
      'repository:\n  credentials: { kind: password, password: hunter2 }\n',
    );
    const message = errorOf(() => loadAgentConfig({ config: wrong }, {}, root));
    expect(message).toContain(`${wrong}: repository.credentials (repository.credentials.kind)`);
    expect(message).not.toContain('hunter2');
  });
});
