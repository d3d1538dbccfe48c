import { describe, expect, it } from 'vitest';
import {
  commandHelp,
  commandNames,
  commandOptionNames,
  helpHint,
  overviewHelp,
} from './commandHelp.js';

describe('the help of cronfleet-agent', () => {
  it("lists every command in the overview and says how to get a command's help", () => {
    const overview = overviewHelp();
    for (const name of commandNames) expect(overview).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(overview).toContain('cronfleet-agent COMMAND --help');
  });

  it.each(commandNames)('gives %s a page: usage line, its options, an example', (name) => {
    const page = commandHelp(name);
    expect(page.startsWith(`Usage: cronfleet-agent ${name}`)).toBe(true);
    expect(page).toMatch(/\nExamples?:\n {2}cronfleet-agent /);
    for (const option of commandOptionNames(name)) expect(page).toContain(`--${option}`);
    // Another command's page is not this one.
    for (const other of commandNames.filter((candidate) => candidate !== name)) {
      expect(page).not.toContain(`Usage: cronfleet-agent ${other}`);
    }
    expect(helpHint(name)).toBe(`Run "cronfleet-agent ${name} --help" for its usage and options.`);
  });

  it('keeps command-specific options with the commands that take them', () => {
    expect([...commandOptionNames('sync')].sort()).toEqual(['json', 'once']);
    expect([...commandOptionNames('run')].sort()).toEqual(['now', 'run-id', 'scheduled-at']);
    expect(commandOptionNames('status').has('once')).toBe(false);
  });
});
