import { stat } from 'node:fs/promises';
import path from 'node:path';
import { JobRepositoryError, loadJobRepository } from '@cronfleet/core/manifest';
import { Args } from '@oclif/core';
import { CronfleetCommand } from '../cronfleetCommand.js';
import { ExitCode } from '../exitCode.js';
import { messages } from '../messages.js';
import { UsageError } from '../usageError.js';
import {
  buildValidateResult,
  renderValidateReport,
  type ValidateResult,
} from '../validateReport.js';

export default class Validate extends CronfleetCommand {
  static override summary = messages.validate.summary;
  static override description = messages.validate.description;
  static override examples = messages.validate.examples.map((example) => ({ ...example }));
  static override enableJsonFlag = true;
  static override args = {
    dir: Args.string({ description: messages.validate.dirArgument, default: '.' }),
  };

  public async run(): Promise<ValidateResult> {
    const { args } = await this.parse(Validate);
    const rootDir = path.resolve(args.dir);
    await assertDirectory(rootDir, args.dir);

    let outcome: Awaited<ReturnType<typeof loadJobRepository>>;
    try {
      outcome = await loadJobRepository(rootDir);
    } catch (error) {
      if (!(error instanceof JobRepositoryError)) throw error;
      throw new UsageError(messages.validate.repositoryUnreadable(error.message), { cause: error });
    }

    const result = buildValidateResult(outcome, { rootDir, cwd: process.cwd() });
    if (result.jobs.length === 0 && result.errors.length === 0) {
      this.warn(messages.validate.emptyRepository(args.dir));
    }
    this.log(renderValidateReport(result, this.stdoutStyle()));
    // Not this.exit(1): that would throw and lose the --json report. The process ends with it.
    if (result.errors.length > 0) process.exitCode = ExitCode.failure;
    return result;
  }
}

async function assertDirectory(absolute: string, shown: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(absolute)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(messages.validate.dirNotFound(shown), { cause: error });
    }
    throw new UsageError(messages.validate.unreadableDirectory(shown, reasonOf(error)), {
      cause: error,
    });
  }
  if (!isDirectory) throw new UsageError(messages.validate.notADirectory(shown));
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
