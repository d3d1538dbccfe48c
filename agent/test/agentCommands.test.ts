import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { makeTempDir, ServedRepository } from './git/gitFixtures.js';

/**
 * The agent's commands end to end, in-process: a real Git repository served over file://, the
 * reconcile pipeline, and the /etc/cron.d backend writing into a temporary directory.
 */

const job = (name: string, schedule: string, extra = '') => `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: ${name}
spec:
  schedule: '${schedule}'
  command: /bin/true ${name}
${extra}`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
  };
}

const agentBin = fileURLToPath(new URL('../bin/cronfleet-agent.js', import.meta.url));
let root: string;
let served: ServedRepository;

beforeAll(async () => {
  root = await makeTempDir('agent-commands');
  served = await ServedRepository.create(path.join(root, 'served'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

class Agent {
  readonly stateDir: string;
  readonly cronDir: string;
  constructor(readonly name: string) {
    this.stateDir = path.join(root, name, 'state');
    this.cronDir = path.join(root, name, 'cron.d');
  }

  async run(...args: string[]): Promise<Ran> {
    const out = sink();
    const err = sink();
    const code = await main([...args, '--state-dir', this.stateDir], {
      stdout: out.stream,
      stderr: err.stream,
      environment: {
        PATH: process.env.PATH,
        CRONFLEET_SCHEDULER: 'cron.d',
        CRONFLEET_CRON_D_DIRECTORY: this.cronDir,
        CRONFLEET_REPO_URL: served.fileUrl,
        CRONFLEET_LABELS: 'role=db',
      },
    });
    return { code, stdout: out.text(), stderr: err.text() };
  }

  async files(): Promise<string[]> {
    return (await readdir(this.cronDir)).filter((name) => !name.startsWith('.')).sort();
  }

  async json(...args: string[]) {
    const ran = await this.run(...args, '--json');
    return { ...ran, body: JSON.parse(ran.stdout) as Record<string, unknown> };
  }
}

async function prepare(agent: Agent): Promise<void> {
  await rm(path.join(root, agent.name), { recursive: true, force: true });
  await mkdir(agent.cronDir, { recursive: true });
}

describe('cronfleet-agent sync --once, plan, status, uninstall', () => {
  it('applies, does nothing when nothing changed, follows a change, and uninstalls', async () => {
    const agent = new Agent('lifecycle');
    await prepare(agent);
    const first = await served.commit({
      'production/jobs.yaml': `${job('backup', '0 2 * * *')}---\n${job('report', '30 6 * * 1-5')}`,
      'staging/other.yaml': job('only-web', '* * * * *', '  targets: { labels: { role: web } }'),
    });

    const plan = await agent.json('plan');
    expect(plan.code).toBe(1);
    expect(plan.body).toMatchObject({
      revision: first,
      scheduler: 'cron.d',
      summary: { add: 2, change: 0, remove: 0, unchanged: 0, retain: 0 },
      errors: [],
      notTargeted: [
        { id: 'staging/only-web', reason: 'label role=web required; the agent has role=db' },
      ],
    });

    // The human plan says why a job is not for this agent.
    const humanPlan = await agent.run('plan');
    expect(humanPlan.stdout).toContain(
      '1 job not for this agent:\n  label role=web required; the agent has role=db: staging/only-web\n',
    );

    const applied = await agent.run('sync', '--once');
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^Applied [0-9a-f]{12} \(cron\.d\): 2 to add/);
    const files = await agent.files();
    expect(files).toHaveLength(2);
    expect(
      files.every((name) => /^cronfleet_[0-9a-f]{8}_production_(backup|report)$/.test(name)),
    ).toBe(true);
    const backupFile = path.join(agent.cronDir, files[0]!);
    const backupText = await readFile(backupFile, 'utf8');
    const specKey = new RegExp(`--spec (${first}_[0-9a-f]{12}) `).exec(backupText)?.[1];
    expect(backupText).toContain(
      `0 2 * * * root ${process.execPath} ${agentBin} run --state-dir ${agent.stateDir} --spec ${specKey} production/backup\n`,
    );
    // Both new specs of the namespace are packed into one file, which the entry names.
    const specs = await readdir(path.join(agent.stateDir, 'specs', 'production'));
    expect(specs).toEqual([`${specKey}.json`]);

    // Nothing changed: nothing is written, in the state directory or in cron.d.
    const before = await stat(backupFile);
    const modified = async () => {
      const times: string[] = [];
      for (const folder of [agent.stateDir, agent.cronDir]) {
        const entries = await readdir(folder, { recursive: true, withFileTypes: true });
        for (const entry of entries) {
          if (!entry.isFile() || entry.parentPath.includes(`${path.sep}repository`)) continue;
          const file = path.join(entry.parentPath, entry.name);
          times.push(`${file} ${(await stat(file)).mtimeMs}`);
        }
      }
      return times.sort();
    };
    const stateBefore = await modified();
    const again = await agent.run('sync', '--once');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`Up to date at ${first.slice(0, 12)}.\n`);
    expect((await stat(backupFile)).mtimeMs).toBe(before.mtimeMs);
    expect(await modified()).toEqual(stateBefore);
    expect((await agent.json('plan')).code).toBe(0);

    // A change of schedule and a removal.
    const second = await served.commit({
      'production/jobs.yaml': job('backup', '0 3 * * *'),
    });
    const changed = await agent.json('sync', '--once');
    expect(changed.code).toBe(0);
    expect(changed.body).toMatchObject({
      result: 'applied',
      revision: second,
      plan: { summary: { add: 0, change: 1, remove: 1, unchanged: 0 } },
    });
    expect(await agent.files()).toEqual([files[0]]);
    expect(await readFile(backupFile, 'utf8')).toContain('0 3 * * * root ');

    const status = await agent.json('status');
    expect(status.body).toMatchObject({
      scheduler: 'cron.d',
      lastAppliedRevision: second,
      lastAttemptedRevision: second,
      jobs: [
        { id: 'production/backup', schedule: '0 3 * * *', suspended: false, revision: second },
      ],
    });
    expect(status.body.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'true' }),
    );

    // A foreign file in the directory is never touched.
    await writeFile(path.join(agent.cronDir, 'someone-else'), '0 1 * * * root /bin/true\n');
    const uninstalled = await agent.run('uninstall');
    expect(uninstalled.code).toBe(0);
    expect(uninstalled.stdout).toBe('Removed 1 job from cron.d:\n  production/backup\n');
    expect(await agent.files()).toEqual(['someone-else']);
    expect((await agent.json('status')).body).toMatchObject({ scheduler: null, jobs: [] });
  });

  it('keeps the last applied version of a broken job, applies the rest, and reports Stalled', async () => {
    const agent = new Agent('broken');
    await prepare(agent);
    await served.commit({
      'production/jobs.yaml': `${job('backup', '0 2 * * *')}---\n${job('report', '30 6 * * *')}`,
      'staging/other.yaml': null,
    });
    expect((await agent.run('sync', '--once')).code).toBe(0);
    const broken = await served.commit({
      'production/jobs.yaml': `${job('backup', '0 25 * * *')}---\n${job('report', '45 6 * * *')}`,
    });
    const stalled = await agent.json('sync', '--once');
    expect(stalled.code).toBe(1);
    expect(stalled.body).toMatchObject({
      result: 'stalled',
      revision: broken,
      plan: { summary: { change: 1, retain: 1 } },
    });
    const message = stalled.body.message as string;
    expect(message).toContain('1 manifest error; the other jobs are applied');
    expect(message).toMatch(
      /production\/jobs\.yaml:\d+:\d+ \[production\/backup\] spec\.schedule: /,
    );

    const status = await agent.json('status');
    expect(status.body).toMatchObject({
      lastAttemptedRevision: broken,
      jobs: [
        { id: 'production/backup', schedule: '0 2 * * *' },
        { id: 'production/report', schedule: '45 6 * * *', revision: broken },
      ],
    });
    expect(status.body.conditions).toContainEqual(
      expect.objectContaining({ type: 'Stalled', status: 'true', reason: 'ManifestInvalid' }),
    );
    expect((status.body.errors as { path: string }[])[0]?.path).toBe('spec.schedule');
    // The human status shows the whole message, the located error included, once.
    const human = await agent.run('status');
    expect(human.stdout).toMatch(
      /Ready=false \(ManifestInvalid\): 1 manifest error; the other jobs are applied:\n {6}production\/jobs\.yaml:\d+:\d+ \[production\/backup\] spec\.schedule: hour field "25": 25 is out of range 0-23\n/,
    );
    expect(human.stdout).toContain('Stalled=true (ManifestInvalid): the message of Ready\n');
    expect(human.stdout.match(/\[production\/backup\] spec\.schedule/g)).toHaveLength(1);

    // The fix applies.
    await served.commit({
      'production/jobs.yaml': `${job('backup', '0 4 * * *')}---\n${job('report', '45 6 * * *')}`,
    });
    expect((await agent.run('sync', '--once')).code).toBe(0);
    const fixed = await agent.json('status');
    expect(fixed.body.errors).toEqual([]);
    expect((fixed.body.jobs as { schedule: string }[]).map((entry) => entry.schedule)).toEqual([
      '0 4 * * *',
      '45 6 * * *',
    ]);
  });

  it('refuses to remove every job unless allowEmpty', async () => {
    const agent = new Agent('empty');
    await prepare(agent);
    await served.commit({ 'production/jobs.yaml': job('backup', '0 2 * * *') });
    expect((await agent.run('sync', '--once')).code).toBe(0);
    await served.commit({ 'production/jobs.yaml': null, 'README.md': 'no jobs\n' });
    const refused = await agent.run('sync', '--once');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      'Refused: no job in the repository targets this agent any more, which would remove all 1 installed job',
    );
    expect(await agent.files()).toHaveLength(1);
    const allowed = await agent.run('sync', '--once', '--allow-empty');
    expect(allowed.code).toBe(0);
    expect(await agent.files()).toEqual([]);
  });

  it('reinstalls an entry removed behind its back', async () => {
    const agent = new Agent('drift');
    await prepare(agent);
    await served.commit({ 'production/jobs.yaml': job('backup', '0 2 * * *') });
    expect((await agent.run('sync', '--once')).code).toBe(0);
    const [file] = await agent.files();
    await rm(path.join(agent.cronDir, file!));
    const plan = await agent.json('plan');
    expect(plan.body.changes).toEqual([
      expect.objectContaining({ action: 'change', id: 'production/backup', reasons: ['drift'] }),
    ]);
    expect((await agent.run('sync', '--once')).code).toBe(0);
    expect(await agent.files()).toEqual([file]);
  });

  it('plans a local folder as it is with plan --repo DIR', async () => {
    const agent = new Agent('local');
    await prepare(agent);
    const folder = path.join(root, 'local-folder');
    await mkdir(path.join(folder, 'ops'), { recursive: true });
    await writeFile(path.join(folder, 'ops', 'a.yaml'), job('tidy', '@daily'));
    const plan = await agent.json('plan', '--repo', folder);
    expect(plan.code).toBe(1);
    expect(plan.body).toMatchObject({
      revision: 'working-tree',
      changes: [{ action: 'add', id: 'ops/tidy' }],
    });
    expect((plan.body.changes as { after: string }[])[0]?.after).toContain('0 0 * * * root ');
    // Nothing was installed.
    expect(await agent.files()).toEqual([]);
  });

  it('answers bad usage and bad configuration with exit 2 and a message', async () => {
    const agent = new Agent('usage');
    expect(await agent.run('frobnicate')).toMatchObject({
      code: 2,
      stderr:
        'cronfleet-agent: unknown command "frobnicate"; the commands are sync, plan, status, uninstall, run, enroll, adopt\nRun "cronfleet-agent --help" for the commands.\n',
    });
    expect(await agent.run('status', '--once')).toMatchObject({
      code: 2,
      stderr:
        'cronfleet-agent status: --once does not apply to status\nRun "cronfleet-agent status --help" for its usage and options.\n',
    });
    expect(await agent.run('plan', '--frobnicate')).toMatchObject({
      code: 2,
      stderr:
        'cronfleet-agent plan: unknown option \'--frobnicate\'\nRun "cronfleet-agent plan --help" for its usage and options.\n',
    });
    const wrong = await agent.run('sync', '--once', '--scheduler', 'anacron');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe(
      'cronfleet-agent: invalid agent configuration:\n  --scheduler: must be one of crontab, cron.d, embedded\n',
    );
    const notInstalled = await agent.run('run', 'production/none');
    expect(notInstalled.code).toBe(2);
    // Nothing was ever synced there: the state directory is missing, and the wrapper says so.
    expect(notInstalled.stderr).toContain(`the state directory ${agent.stateDir} does not exist`);
  });
});

describe('what a newcomer meets', () => {
  it.each(['sync', 'plan', 'status', 'uninstall', 'run', 'enroll', 'adopt'])(
    "%s --help, -h and help COMMAND show that command's help",
    async (name) => {
      const agent = new Agent('help');
      const asked = await agent.run(name, '--help');
      expect(asked.code).toBe(0);
      expect(asked.stderr).toBe('');
      expect(asked.stdout).toMatch(new RegExp(`^Usage: cronfleet-agent ${name} `));
      expect(asked.stdout).toMatch(/\nExamples?:\n {2}cronfleet-agent /);
      expect(asked.stdout).not.toContain('Commands:');
      expect(await agent.run('help', name)).toEqual(asked);
      expect(await agent.run(name, '-h')).toEqual(asked);
    },
  );

  it('shows the overview for --help, help, and a missing command (exit 2)', async () => {
    const agent = new Agent('help');
    const overview = await agent.run('--help');
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(/^Usage: cronfleet-agent COMMAND/);
    expect(overview.stdout).toContain('cronfleet-agent COMMAND --help');
    expect((await agent.run('help')).stdout).toBe(overview.stdout);
    const missing = await agent.run();
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`cronfleet-agent: missing command\n\n${overview.stdout}`);
  });

  it('prints its version for --version and -V, with any command or none', async () => {
    const agent = new Agent('version');
    const { version } = JSON.parse(
      await readFile(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    for (const argv of [['--version'], ['-V'], ['status', '--version']]) {
      expect(await agent.run(...argv)).toMatchObject({
        code: 0,
        stdout: `cronfleet-agent ${version}\n`,
        stderr: '',
      });
    }
  });

  it('prints warnings of one-shot commands as sentences, not JSON log lines', async () => {
    const agent = new Agent('sentences');
    await prepare(agent);
    await served.commit({ 'production/jobs.yaml': job('backup', '0 2 * * *') });
    // A backend but no agent token: sync --once says so, and applies all the same.
    const synced = await agent.run('sync', '--once', '--backend', 'http://127.0.0.1:9');
    expect(synced.code).toBe(0);
    expect(synced.stderr).toMatch(
      /^warning: not enrolled \(no agent token in \S+\): nothing is reported to the backend; run cronfleet-agent enroll --backend URL --enrollment-token-file FILE \(backend: http:\/\/127\.0\.0\.1:9, tokenFile: \S+\)\n$/,
    );
    expect(synced.stderr).not.toContain('{');
  });
});
