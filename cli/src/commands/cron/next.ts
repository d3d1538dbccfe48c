import { systemTimeZone } from '@cronfleet/core/cron';
import { Args, Flags } from '@oclif/core';
import { CronfleetCommand } from '../../cronfleetCommand.js';
import {
  computeCronNext,
  parseIsoInstant,
  renderCronNext,
  type CronNextResult,
} from '../../cronNextReport.js';
import { messages } from '../../messages.js';
import { UsageError } from '../../usageError.js';

export default class CronNext extends CronfleetCommand {
  static override summary = messages.cronNext.summary;
  static override description = messages.cronNext.description;
  static override examples = messages.cronNext.examples.map((example) => ({ ...example }));
  static override enableJsonFlag = true;
  // Not strict, so that an unquoted expression (five arguments) gets a "quote it" hint instead of
  // oclif's "Unexpected arguments"; run() rejects every extra argument itself. Unknown flags are
  // still rejected by oclif's parser.
  static override strict = false;
  static override usage = messages.cronNext.usage;
  static override args = {
    expr: Args.string({ description: messages.cronNext.expressionArgument, required: true }),
  };
  static override flags = {
    tz: Flags.string({ description: messages.cronNext.tzFlag, helpValue: 'ZONE' }),
    from: Flags.string({ description: messages.cronNext.fromFlag, helpValue: 'ISO-INSTANT' }),
    count: Flags.integer({
      char: 'n',
      description: messages.cronNext.countFlag,
      default: 5,
      helpValue: 'N',
    }),
  };

  public async run(): Promise<CronNextResult> {
    const { args, argv, flags } = await this.parse(CronNext);
    if (argv.length > 1)
      throw new UsageError(messages.cronNext.unquotedExpression(argv.map(String)));

    let from = new Date();
    if (flags.from !== undefined) {
      const parsed = parseIsoInstant(flags.from);
      if (parsed === null) throw new UsageError(messages.cronNext.invalidFrom(flags.from));
      from = parsed;
    }
    const outcome = computeCronNext({
      expression: args.expr,
      timezone: flags.tz ?? systemTimeZone(),
      from,
      count: flags.count,
    });
    this.log(renderCronNext(outcome, this.stdoutStyle()));
    return outcome.result;
  }
}
