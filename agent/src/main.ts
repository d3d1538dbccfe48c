import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino, type Logger } from 'pino';
import { ConfigError, loadAgentConfig, type ConfigFlags } from './config/agentConfig.js';
import { isDirectory, type CommandContext } from './commands/commandContext.js';
import { stateDirectoryRefusal } from './state/stateDirectory.js';

/**
 * `cronfleet-agent`: the node agent. Exit codes mean something: 0 done (or nothing to change),
 * 1 a failure or a diff the caller asked about, 2 a usage or configuration error.
 */

export const usage = `Usage: cronfleet-agent <command> [options]

Commands:
  sync [--once]          reconcile the job repository into the scheduler (--once: one tick)
  plan [--repo DIR]      show what sync would change, with the rendered entries
  status                 show the installed jobs, the revision and the conditions
  uninstall              remove every entry this agent created, and nothing else
  run NAMESPACE/NAME     run a job through the wrapper (what the scheduler starts)
  enroll                 exchange an enrollment token for this agent's token (--backend, --token)
  adopt "CRONTAB LINE"   print the manifest equivalent to one crontab entry

Options:
  --config FILE          YAML configuration file (also CRONFLEET_CONFIG)
  --repo URL             job repository (plan: a local folder is read as it is)
  --branch REF | --tag TAG | --commit SHA   what to check out (default: main)
  --path DIR             folder of the repository that holds the manifests
  --state-dir DIR        state directory (default /var/lib/cronfleet as root)
  --scheduler NAME       crontab (default), cron.d or embedded
  --label KEY=VALUE      agent label used by job targets (repeatable)
  --backend URL          the Cronfleet control plane (absent: offline)
  --allow-empty          let an emptied repository remove every installed job
  --log-level LEVEL      fatal, error, warn, info, debug, trace or silent
  --json                 machine-readable output (plan, status, sync --once)
  --now                  run: a manual run (no skip rule, even when suspended)
  --token TOKEN          enroll: the enrollment token (or --enrollment-token-file FILE,
                         or CRONFLEET_ENROLLMENT_TOKEN)
  --name NAME            enroll: the agent's name; adopt: the job's name
  --force                enroll: replace an agent token already stored
  --namespace NS         adopt: the job's namespace (default "default")
  -h, --help             this help

Docs: docs/agent.md`;

const options = {
  config: { type: 'string' },
  backend: { type: 'string' },
  repo: { type: 'string' },
  branch: { type: 'string' },
  tag: { type: 'string' },
  commit: { type: 'string' },
  path: { type: 'string' },
  'state-dir': { type: 'string' },
  scheduler: { type: 'string' },
  label: { type: 'string', multiple: true },
  'allow-empty': { type: 'boolean' },
  'log-level': { type: 'string' },
  once: { type: 'boolean' },
  json: { type: 'boolean' },
  now: { type: 'boolean' },
  'scheduled-at': { type: 'string' },
  'run-id': { type: 'string' },
  token: { type: 'string' },
  'enrollment-token-file': { type: 'string' },
  force: { type: 'boolean' },
  name: { type: 'string' },
  namespace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values'];

/** Each command's module is loaded only when it runs: `run` and `status` stay light. */
const commands: Record<string, (context: CommandContext, values: Values) => Promise<number>> = {
  sync: async (context) => (await import('./commands/syncCommand.js')).syncCommand(context),
  plan: async (context) => (await import('./commands/planCommand.js')).planCommand(context),
  status: async (context) => (await import('./commands/statusCommand.js')).statusCommand(context),
  uninstall: async (context) =>
    (await import('./commands/uninstallCommand.js')).uninstallCommand(context),
  run: async (context) => (await import('./commands/runCommand.js')).runCommand(context),
  enroll: async (context, values) =>
    (await import('./commands/enrollCommand.js')).enrollCommand(context, {
      token: values.token,
      tokenFile: values['enrollment-token-file'],
      name: values.name,
      force: values.force,
    }),
  adopt: async (context, values) =>
    (await import('./commands/adoptCommand.js')).adoptCommand(context, {
      namespace: values.namespace,
      name: values.name,
    }),
};

export interface MainIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  environment: Readonly<Record<string, string | undefined>>;
}

export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help === true || name === 'help') {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  if (name === undefined || !Object.hasOwn(commands, name)) {
    io.stderr.write(
      `${name === undefined ? 'Missing command' : `Unknown command "${name}"`}\n\n${usage}\n`,
    );
    return 2;
  }
  const flags: ConfigFlags = {
    config: values.config,
    backend: values.backend,
    repo: values.repo,
    branch: values.branch,
    tag: values.tag,
    commit: values.commit,
    path: values.path,
    stateDir: values['state-dir'],
    scheduler: values.scheduler,
    label: values.label,
    allowEmpty: values['allow-empty'],
    logLevel: values['log-level'],
  };
  let config;
  try {
    // `plan --repo DIR` reads a local folder: it is not the configured repository URL.
    const localFolder = name === 'plan' && (await isDirectory(values.repo));
    config = loadAgentConfig(localFolder ? { ...flags, repo: undefined } : flags, io.environment);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`cronfleet-agent: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  // One-shot commands log warnings only, unless asked; the daemon logs at the configured level.
  const daemon = name === 'sync' && values.once !== true;
  const level = values['log-level'] ?? (daemon ? config.logLevel : 'warn');
  const logger: Logger = pino(
    { level, base: { component: 'cronfleet-agent' } },
    pino.destination({ fd: 2, sync: true }),
  );
  const context: CommandContext = {
    config,
    logger,
    io,
    positionals: rest,
    json: values.json === true,
    once: values.once === true,
    manual: values.now === true,
    scheduledAt: values['scheduled-at'],
    runId: values['run-id'],
    repoFlag: values.repo,
  };
  const refusal = stateDirectoryRefusal(name, config.stateDir, (text) => logger.warn(text));
  if (refusal !== undefined) {
    io.stderr.write(`cronfleet-agent ${name}: ${refusal}\n`);
    return 2;
  }
  try {
    return await commands[name]!(context, values);
  } catch (error) {
    logger.debug({ err: error }, 'command failed');
    io.stderr.write(`cronfleet-agent ${name}: ${(error as Error).message}\n`);
    return 2;
  }
}
