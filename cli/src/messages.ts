/**
 * Every user-facing text of the `cronfleet` CLI: help, errors (each says how to fix it) and the
 * lines of human output. Commands and report builders take their words from here only.
 */

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

export const messages = {
  validate: {
    summary: 'Validate a job repository: load every manifest and report each error with its fix.',
    description: [
      'Loads every job manifest under DIR the way an agent does and prints each error as "file:line:column  job  path  message", followed by a summary. Paths are relative to the current directory.',
      'Exit codes: 0 the repository is valid; 1 it has errors; 2 usage error (unknown flag, DIR missing or not a directory) or the repository could not be read.',
      'With --json, prints {"jobs":[{"namespace","name","file","schedule","timezone"}],"errors":[{"file","line","column","job","path","message"}]} with the same exit codes. A job without spec.timezone has "timezone": null (it runs in the agent\'s zone); an error that belongs to no job (e.g. a YAML syntax error) has "job": null.',
    ].join('\n\n'),
    examples: [
      {
        description: 'Validate the job repository in the current directory.',
        command: '<%= config.bin %> <%= command.id %>',
      },
      {
        description: 'Validate a folder and print a machine-readable report.',
        command: '<%= config.bin %> <%= command.id %> manifests --json',
      },
    ],
    dirArgument: 'Folder of the job repository to validate.',
    dirNotFound: (dir: string) =>
      `Directory not found: ${dir}. Pass the folder of a job repository, e.g. "cronfleet validate manifests".`,
    notADirectory: (dir: string) =>
      `Not a directory: ${dir}. Pass the folder that holds the manifests, not a single file.`,
    unreadableDirectory: (dir: string, reason: string) =>
      `Cannot read ${dir}: ${reason}. Check the path and its permissions.`,
    repositoryUnreadable: (reason: string) =>
      `${reason.charAt(0).toUpperCase()}${reason.slice(1)}. Check the path and its permissions.`,
    emptyRepository: (dir: string) =>
      `No job manifests found under ${dir}. Check the path: manifests are .yaml or .yml files.`,
    validSummary: (jobs: number, namespaces: number) =>
      `${plural(jobs, 'job')} in ${plural(namespaces, 'namespace')}, 0 errors`,
    invalidSummary: (errors: number, files: number) =>
      `${plural(errors, 'error')} in ${plural(files, 'file')}`,
    noJob: '-',
    noPath: '-',
  },

  cronNext: {
    summary: 'Describe a cron expression and print its next fire times.',
    description: [
      "Evaluates EXPR with Cronfleet's reference cron evaluator (the one agents and the backend use): 5 fields (minute hour day-of-month month day-of-week) or @yearly, @monthly, @weekly, @daily, @hourly, @reboot. Quote the expression.",
      'Prints the description, the time zone, then one line per fire time: the local time in the zone (with its UTC offset and abbreviation where one exists) and the UTC instant. Fire times are strictly after --from.',
      '@reboot has no fire time: it runs once each time the agent\'s host starts. For @reboot the command prints the description, says so, and exits 0 ("next": [] with --json).',
      'Exit codes: 0 ok; 2 usage error (invalid EXPR, unknown --tz, bad --from, -n outside 1..1000, unknown flag).',
      'With --json, prints {"expression","timezone","description","next":[ISO 8601 instants in UTC]}.',
    ].join('\n\n'),
    examples: [
      {
        description: 'The next 5 runs of a nightly job, in the system time zone.',
        command: `<%= config.bin %> <%= command.id %> '0 2 * * *'`,
      },
      {
        description: 'Three runs across a daylight-saving change in Berlin, from a fixed instant.',
        command: `<%= config.bin %> <%= command.id %> '30 2 * * *' --tz Europe/Berlin --from 2025-03-29T00:00:00Z -n 3`,
      },
      {
        description: 'Machine-readable output.',
        command: `<%= config.bin %> <%= command.id %> '@hourly' --tz UTC --json`,
      },
    ],
    usage: '<%= command.id %> EXPR [--tz ZONE] [--from ISO-INSTANT] [-n N] [--json]',
    expressionArgument: `Cron expression, quoted: 5 fields or @yearly @monthly @weekly @daily @hourly @reboot.`,
    tzFlag: 'IANA time zone to evaluate in, e.g. Europe/Berlin or UTC (default: the system zone).',
    fromFlag:
      'ISO 8601 instant with Z or an offset to start after, e.g. 2025-03-29T00:00:00Z (default: now).',
    countFlag: 'How many fire times to print, 1 to 1000.',
    invalidExpression: (expression: string, reason: string) =>
      `Invalid cron expression "${expression}": ${reason}`,
    unquotedExpression: (words: readonly string[]) =>
      `EXPR must be one argument, but got ${words.length}: ${words.join(' ')}. Quote the expression, e.g. cronfleet cron next '0 2 * * *'.`,
    unknownTimeZone: (zone: string) =>
      `Unknown time zone "${zone}". Use an IANA name such as Europe/Berlin, America/New_York or UTC.`,
    invalidFrom: (value: string) =>
      `--from "${value}" is not an ISO 8601 instant. Give a date, time and Z or an offset, e.g. 2025-03-29T00:00:00Z or 2025-03-29T01:00:00+01:00.`,
    countOutOfRange: (count: number) =>
      `-n ${count} is out of range. Ask for 1 to 1000 fire times.`,
    timeZoneLine: (zone: string) => `Time zone: ${zone}`,
    headerLocal: (zone: string) => `Local time (${zone})`,
    headerUtc: 'UTC',
    noFireTime: (reason: string) => `No fire times: ${reason}`,
    fewerFireTimes: (found: number, asked: number) =>
      `Only ${found} of ${asked} fire times within the next 100 years: the schedule matches rarely or never (e.g. day 30 in February).`,
    rebootNoFireTime: "@reboot has no fire time: it runs once each time the agent's host starts.",
  },
} as const;
