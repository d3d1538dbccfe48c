import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino, type Logger } from 'pino';
import { ConfigError, loadAgentConfig, type ConfigFlags } from './config/agentConfig.js';
import {
  allCommandOptionNames,
  commandHelp,
  commandNames,
  commandOptionNames,
  helpHint,
  isCommandName,
  overviewHelp,
  type CommandName,
} from './commands/commandHelp.js';
import { isDirectory, type CommandContext } from './commands/commandContext.js';
import { stateDirectoryRefusal } from './state/stateDirectory.js';
import { readableLogDestination } from './commands/readableLogLine.js';

/**
 * `cronfleet-agent`: the node agent. Exit codes mean something: 0 done (or nothing to change),
 * 1 a failure or a diff the caller asked about, 2 a usage or configuration error. The words of
 * its help and usage errors live in commands/commandHelp.ts.
 */

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
  // Internal: the daemon's planning tick in a process of its own (syncCommand.ts). Not in help.
  'daemon-tick': { type: 'boolean' },
  json: { type: 'boolean' },
  now: { type: 'boolean' },
  'scheduled-at': { type: 'string' },
  'run-id': { type: 'string' },
  spec: { type: 'string' },
  token: { type: 'string' },
  'enrollment-token-file': { type: 'string' },
  force: { type: 'boolean' },
  new: { type: 'boolean' },
  name: { type: 'string' },
  namespace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} satisfies ParseArgsConfig['options'];

type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values'];

/** Each command's module is loaded only when it runs: `run` and `status` stay light. */
const commands: Record<CommandName, (context: CommandContext, values: Values) => Promise<number>> =
  {
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
        new: values.new,
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

/** The command named in `argv` (the first word that is one), for errors before parsing worked. */
function commandIn(argv: readonly string[]): CommandName | undefined {
  return argv.find((word): word is CommandName => isCommandName(word));
}

function usageError(io: MainIo, name: CommandName | undefined, problem: string): number {
  io.stderr.write(
    `cronfleet-agent${name === undefined ? '' : ` ${name}`}: ${problem}\n${helpHint(name)}\n`,
  );
  return 2;
}

/** A parseArgs error's first sentence ("Unknown option '--frob'"), without Node's advice on "--". */
function parseProblem(error: unknown): string {
  const message = (error as Error).message;
  const first = (message.split(/\.\s/)[0] ?? message).replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/**
 * Answers `--help`, `help [COMMAND]` and `COMMAND --help` on stdout (exit 0), or undefined when
 * no help was asked for.
 */
function help(io: MainIo, asked: boolean, name: string | undefined, topic: string | undefined) {
  if (name === 'help') {
    if (topic === undefined) io.stdout.write(overviewHelp());
    else if (isCommandName(topic)) io.stdout.write(commandHelp(topic));
    else return unknownCommand(io, topic);
    return 0;
  }
  if (!asked) return undefined;
  if (name === undefined) io.stdout.write(overviewHelp());
  else if (isCommandName(name)) io.stdout.write(commandHelp(name));
  else return unknownCommand(io, name);
  return 0;
}

function unknownCommand(io: MainIo, name: string): number {
  return usageError(
    io,
    undefined,
    `unknown command "${name}"; the commands are ${commandNames.join(', ')}`,
  );
}

export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    const name = commandIn(argv);
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout.write(name === undefined ? overviewHelp() : commandHelp(name));
      return 0;
    }
    return usageError(io, name, parseProblem(error));
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.version === true) {
    const { agentVersion } = await import('./control/agentVersion.js');
    io.stdout.write(`cronfleet-agent ${agentVersion()}\n`);
    return 0;
  }
  const answered = help(io, values.help === true, name, rest[0]);
  if (answered !== undefined) return answered;
  if (name === undefined) {
    io.stderr.write(`cronfleet-agent: missing command\n\n${overviewHelp()}`);
    return 2;
  }
  if (!isCommandName(name)) return unknownCommand(io, name);
  // An option of another command is a mistake worth saying (status --once, sync --now…).
  const own = commandOptionNames(name);
  for (const option of allCommandOptionNames()) {
    if (!own.has(option) && values[option as keyof Values] !== undefined) {
      return usageError(io, name, `--${option} does not apply to ${name}`);
    }
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
  // One-shot commands log warnings only, unless asked, as sentences on stderr (a person reads
  // them); the daemon and --json keep JSON lines for log collectors.
  const daemonTick = values['daemon-tick'] === true;
  if (daemonTick && (name !== 'sync' || values.once !== true)) {
    return usageError(io, name, '--daemon-tick is internal to "cronfleet-agent sync" (the daemon)');
  }
  const daemon = name === 'sync' && (values.once !== true || daemonTick);
  const level = values['log-level'] ?? (daemon ? config.logLevel : 'warn');
  const logOptions = {
    level,
    base: { component: 'cronfleet-agent' },
    // Errors logged under either key keep their message and causes (pino knows only `err`).
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  const logger: Logger =
    daemon || values.json === true
      ? pino(logOptions, pino.destination({ fd: 2, sync: true }))
      : pino(logOptions, readableLogDestination(io.stderr));
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
    specKey: values.spec,
    repoFlag: values.repo,
    argv,
    daemonTick,
  };
  const refusal = stateDirectoryRefusal(name, config.stateDir, (text) => logger.warn(text));
  if (refusal !== undefined) {
    io.stderr.write(`cronfleet-agent ${name}: ${refusal}\n`);
    return 2;
  }
  try {
    return await commands[name](context, values);
  } catch (error) {
    logger.debug({ err: error }, 'command failed');
    io.stderr.write(`cronfleet-agent ${name}: ${(error as Error).message}\n`);
    return 2;
  }
}
