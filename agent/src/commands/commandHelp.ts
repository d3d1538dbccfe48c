/**
 * Every word of help that `cronfleet-agent` prints: the overview (`cronfleet-agent --help`), each
 * command's own page (`cronfleet-agent COMMAND --help`, `cronfleet-agent help COMMAND`), and the
 * usage errors that point at them. The pages also say which command-specific options a command
 * takes, so main refuses `status --once` with the same list the help shows.
 */

export const commandNames = [
  'sync',
  'plan',
  'status',
  'uninstall',
  'run',
  'enroll',
  'adopt',
] as const;

export type CommandName = (typeof commandNames)[number];

export function isCommandName(name: string): name is CommandName {
  return (commandNames as readonly string[]).includes(name);
}

interface OptionHelp {
  /** The long option's name, without `--`. */
  name: string;
  /** What follows the option (`FILE`, `URL`…); none for a switch. */
  value?: string;
  text: string;
}

interface CommandHelp {
  /** The usage line after `cronfleet-agent `. */
  usage: string;
  /** One line, for the overview. */
  summary: string;
  /** A few lines: what it does, what it prints, its exit codes. */
  description: string[];
  /** The options only this command (or a few) takes, beyond the configuration options. */
  options: OptionHelp[];
  /** Configuration options that matter to this command (every command accepts all of them). */
  settings: string[];
  examples: string[];
}

/**
 * The configuration options: every command accepts them (as it accepts the same keys in a
 * `--config` file), and each command's page lists those that matter to it.
 */
const configurationOptions: OptionHelp[] = [
  { name: 'config', value: 'FILE', text: 'YAML configuration file (also CRONFLEET_CONFIG)' },
  {
    name: 'state-dir',
    value: 'DIR',
    text: 'state directory (default /var/lib/cronfleet as root, else ~/.local/state/cronfleet)',
  },
  {
    name: 'repo',
    value: 'URL',
    text: 'job repository (plan: a local folder is read as it is)',
  },
  { name: 'branch', value: 'REF', text: 'branch to follow (default main)' },
  { name: 'tag', value: 'TAG', text: 'tag to check out instead of a branch' },
  { name: 'commit', value: 'SHA', text: 'commit to pin instead of a branch' },
  { name: 'path', value: 'DIR', text: 'folder of the repository that holds the manifests' },
  { name: 'scheduler', value: 'NAME', text: 'crontab (default), cron.d or embedded' },
  {
    name: 'label',
    value: 'KEY=VALUE',
    text: "this agent's label, matched by the jobs' spec.targets (repeatable)",
  },
  { name: 'backend', value: 'URL', text: 'the Cronfleet control plane (absent: offline)' },
  { name: 'allow-empty', text: 'let an emptied repository remove every installed job' },
  {
    name: 'log-level',
    value: 'LEVEL',
    text: 'fatal, error, warn, info, debug, trace or silent (one-shot commands: warn)',
  },
];

const json = (what: string): OptionHelp => ({ name: 'json', text: what });

const pages: Record<CommandName, CommandHelp> = {
  sync: {
    usage: 'sync [--once] [--json] [options]',
    summary: 'reconcile the job repository into the scheduler (--once: one tick)',
    description: [
      'Fetches the job repository, keeps the jobs targeted at this agent and installs them into',
      'the scheduler. With --once: one tick, then exits (0 applied or up to date, 1 stalled,',
      '2 error). Without: the daemon, a tick every poll interval until SIGTERM or SIGINT; it',
      'logs JSON lines to standard error.',
    ],
    options: [
      { name: 'once', text: 'one tick, then exit' },
      json('print the result as JSON (sync --once)'),
    ],
    settings: [
      'repo',
      'branch',
      'tag',
      'commit',
      'path',
      'label',
      'scheduler',
      'state-dir',
      'backend',
      'allow-empty',
      'config',
      'log-level',
    ],
    examples: [
      'cronfleet-agent sync --once --repo https://git.example.com/ops/jobs.git --label role=db',
      'cronfleet-agent sync --config /etc/cronfleet/agent.yaml',
    ],
  },
  plan: {
    usage: 'plan [--repo URL|DIR] [--json] [options]',
    summary: 'show what sync would change, with the rendered entries',
    description: [
      'What a sync would add, change and remove, with the native entries before and after, the',
      'jobs kept at their last applied version, the manifest errors, and why the other jobs are',
      'not for this agent. Changes nothing. --repo DIR reads a local folder as it is.',
      'Exit 0 nothing would change, 1 something would (or is refused, or a manifest is broken),',
      '2 error.',
    ],
    options: [json('print the plan as JSON, with every job that is not targeted')],
    settings: ['repo', 'path', 'label', 'scheduler', 'state-dir', 'allow-empty', 'config'],
    examples: [
      'cronfleet-agent plan --repo manifests-example --label role=db --state-dir /tmp/cronfleet-try',
      'cronfleet-agent plan --json',
    ],
  },
  status: {
    usage: 'status [--json] [options]',
    summary: 'show the installed jobs, the revision and the conditions',
    description: [
      'The installed jobs, the applied and attempted revisions, the conditions (Ready,',
      'Reconciling, Stalled) and the errors of the last tick. Reads the state directory only:',
      'it works while the daemon runs and without a backend. Exit 0.',
    ],
    options: [json('print the status as JSON')],
    settings: ['state-dir', 'config'],
    examples: ['cronfleet-agent status', 'cronfleet-agent status --state-dir /tmp/cronfleet-try'],
  },
  uninstall: {
    usage: 'uninstall [--json] [options]',
    summary: 'remove every entry this agent created, and nothing else',
    description: [
      'Removes every entry this agent created (its inventory, its marked crontab block or its',
      'cron.d files) and nothing else, then forgets the inventory. Give the same --scheduler and',
      '--state-dir as the agent that installed them. Exit 0, 2 error.',
    ],
    options: [json('print what was removed as JSON')],
    settings: ['scheduler', 'state-dir', 'config'],
    examples: ['cronfleet-agent uninstall --scheduler cron.d'],
  },
  run: {
    usage: 'run NAMESPACE/NAME [--now] [options]',
    summary: 'run a job through the wrapper (what the scheduler starts)',
    description: [
      'Runs an installed job as the scheduler does: its run spec as applied, the concurrency',
      "lock, retries and timeout, with check-ins to the spool. Exits with the job's own exit",
      'code; 2 when the job is not installed.',
    ],
    options: [
      { name: 'now', text: 'a manual run: no time-zone skip rule, even when suspended' },
      {
        name: 'run-id',
        value: 'UUID',
        text: "the run's id (the daemon passes a run-now request's id)",
      },
      {
        name: 'scheduled-at',
        value: 'ISO',
        text: 'the fire time (set by the embedded scheduler, which applied the skip rule)',
      },
    ],
    settings: ['state-dir', 'config'],
    examples: ['cronfleet-agent run --now production/db-backup'],
  },
  enroll: {
    usage: 'enroll --backend URL (--enrollment-token-file FILE | --token TOKEN) [options]',
    summary: "exchange an enrollment token for this agent's token",
    description: [
      "Exchanges an enrollment token for this agent's own token, stored with mode 0600 in the",
      'state directory, so a later sync finds the backend without --backend. The token may also',
      'come from CRONFLEET_ENROLLMENT_TOKEN. Each state directory is its own agent: a second',
      'agent on this host (another --state-dir) never takes over the first. Exit 0 enrolled, 1',
      'refused or unreachable, 2 usage.',
    ],
    options: [
      {
        name: 'enrollment-token-file',
        value: 'FILE',
        text: 'a file holding the enrollment token',
      },
      {
        name: 'token',
        value: 'TOKEN',
        text: 'the enrollment token (visible in the process list: prefer the file)',
      },
      { name: 'name', value: 'NAME', text: "the agent's name (default: the host name)" },
      {
        name: 'force',
        text: 'enroll this state directory again as the same agent (sends the stored token as proof)',
      },
      {
        name: 'new',
        text: 'enroll this state directory as a new agent, forgetting the stored identity',
      },
      json('print the enrollment as JSON'),
    ],
    settings: ['backend', 'label', 'state-dir', 'config'],
    examples: [
      'cronfleet-agent enroll --backend https://cronfleet.example.com --enrollment-token-file /root/cfe.txt',
    ],
  },
  adopt: {
    usage: 'adopt "CRONTAB LINE" [--namespace NS] [--name NAME] [--json]',
    summary: 'print the manifest equivalent to one crontab entry',
    description: [
      "Prints the manifest that replaces one line of a crontab: its schedule, the cron daemon's",
      'time zone and the command as cron runs it. Quote the line so the shell leaves "*" alone.',
      'Exit 0; 2 when it is not a crontab entry, or has a "%" that cron would turn into stdin.',
    ],
    options: [
      { name: 'namespace', value: 'NS', text: 'the job\'s namespace (default "default")' },
      { name: 'name', value: 'NAME', text: "the job's name (default: from the command)" },
      json('print the manifest and its fields as JSON'),
    ],
    settings: [],
    examples: ["cronfleet-agent adopt '0 2 * * * /opt/backup.sh --full' --namespace production"],
  },
};

function optionLines(options: readonly OptionHelp[], extra: [string, string][] = []): string[] {
  const rows: [string, string][] = [
    ...options.map((option): [string, string] => [
      option.value === undefined ? `--${option.name}` : `--${option.name} ${option.value}`,
      option.text,
    ]),
    ...extra,
  ];
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, text]) => `  ${left.padEnd(width)}${text}`);
}

/** `cronfleet-agent --help`: the commands, the configuration options, where to read more. */
export function overviewHelp(): string {
  const width = Math.max(...commandNames.map((name) => name.length)) + 2;
  return [
    'Usage: cronfleet-agent COMMAND [options]',
    '',
    'Commands:',
    ...commandNames.map((name) => `  ${name.padEnd(width)}${pages[name].summary}`),
    '',
    'Options every command accepts (also as keys of a --config file, or CRONFLEET_* variables):',
    ...optionLines(configurationOptions, [
      ['-h, --help', "this help (COMMAND --help: that command's own)"],
      ['-V, --version', "the agent's version"],
    ]),
    '',
    'Run "cronfleet-agent COMMAND --help" (or "cronfleet-agent help COMMAND") for a command\'s own',
    'options and an example. Docs: docs/agent.md',
    '',
  ].join('\n');
}

/** `cronfleet-agent COMMAND --help`: the usage line, what it does, its options, examples. */
export function commandHelp(name: CommandName): string {
  const page = pages[name];
  const settings = configurationOptions.filter((option) => page.settings.includes(option.name));
  return [
    `Usage: cronfleet-agent ${page.usage}`,
    '',
    ...page.description,
    ...(page.options.length === 0 ? [] : ['', 'Options:', ...optionLines(page.options)]),
    ...(settings.length === 0
      ? []
      : ['', 'Configuration (also from --config FILE or CRONFLEET_*):', ...optionLines(settings)]),
    '',
    page.examples.length === 1 ? 'Example:' : 'Examples:',
    ...page.examples.map((example) => `  ${example}`),
    '',
    'Docs: docs/agent.md',
    '',
  ].join('\n');
}

/** The options a command takes besides the configuration options. */
export function commandOptionNames(name: CommandName): ReadonlySet<string> {
  return new Set(pages[name].options.map((option) => option.name));
}

/** Every command-specific option of any command (the ones main checks per command). */
export function allCommandOptionNames(): ReadonlySet<string> {
  return new Set(commandNames.flatMap((name) => [...commandOptionNames(name)]));
}

/** The hint that ends every usage error: where to read the right usage. */
export function helpHint(name: CommandName | undefined): string {
  return name === undefined
    ? 'Run "cronfleet-agent --help" for the commands.'
    : `Run "cronfleet-agent ${name} --help" for its usage and options.`;
}
