import { Command, Errors } from '@oclif/core';
import { z } from 'zod';
import { readCliEnvironment } from './env.js';
import { ExitCode } from './exitCode.js';
import { createTerminalStyle, shouldUseColour, type TerminalStyle } from './terminalStyle.js';
import { UsageError } from './usageError.js';

/** What every command prints with --json when it fails: {"error":{"name","message","exitCode"}}. */
export const CommandErrorJson = z.object({
  error: z.object({
    name: z.string(),
    message: z.string(),
    exitCode: z.number().int(),
  }),
});
export type CommandErrorJson = z.infer<typeof CommandErrorJson>;

interface OclifExit {
  oclif?: { exit?: number };
}

/** The exit code an error means: a UsageError or an oclif error's own code, otherwise 2. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return error.exitCode;
  const oclifExit = (error as OclifExit | null)?.oclif?.exit;
  return typeof oclifExit === 'number' ? oclifExit : ExitCode.usage;
}

/**
 * The base of every `cronfleet` command. It keeps the exit codes meaningful in both output modes:
 * oclif's own --json error path would exit 1 for a usage error, which means "check failed" here.
 */
export abstract class CronfleetCommand extends Command {
  /** Colours for stdout, decided from the environment and whether stdout is a TTY. */
  protected stdoutStyle(): TerminalStyle {
    return createTerminalStyle(shouldUseColour(process.stdout, readCliEnvironment()));
  }

  protected override async catch(error: Error & OclifExit): Promise<unknown> {
    if (error instanceof Errors.ExitError) return super.catch(error);
    const exitCode = exitCodeOf(error);
    if (this.jsonEnabled()) {
      process.exitCode = exitCode;
      this.logJson(this.toErrorJson(error));
      return undefined;
    }
    if (error instanceof UsageError) {
      throw new Errors.CLIError(error.message, { exit: exitCode });
    }
    // Anything else keeps its message and stack (shown with DEBUG=*) and exits 2, never 1.
    error.oclif = { ...error.oclif, exit: exitCode };
    throw error;
  }

  protected override toErrorJson(error: unknown): CommandErrorJson {
    const isError = error instanceof Error;
    return {
      error: {
        name: isError ? error.name : 'Error',
        message: isError ? error.message : String(error),
        exitCode: exitCodeOf(error),
      },
    };
  }
}
