import { ExitCode } from './exitCode.js';

/**
 * An input the user can fix (a bad argument, flag value or path). The command prints the message,
 * which says what was wrong and how to fix it, and exits with code 2.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = ExitCode.usage;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
