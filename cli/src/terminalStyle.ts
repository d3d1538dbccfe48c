import type { CliEnvironment } from './env.js';

/** Colours for human output; every function is the identity when colours are off. */
export interface TerminalStyle {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** Colours only on a TTY, never with NO_COLOR, and on any stream with FORCE_COLOR. */
export function shouldUseColour(stream: { isTTY?: boolean }, env: CliEnvironment): boolean {
  if (env.noColor) return false;
  if (env.forceColor) return true;
  return stream.isTTY === true && !env.dumbTerminal;
}

export function createTerminalStyle(enabled: boolean): TerminalStyle {
  // SGR codes (open, close); written out because node:util styleText decides on its own whether
  // to colour (it checks process.stdout), which would defeat FORCE_COLOR and NO_COLOR handling.
  const paint =
    (open: number, close: number) =>
    (text: string): string =>
      enabled && text !== '' ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    enabled,
    bold: paint(1, 22),
    dim: paint(2, 22),
    red: paint(31, 39),
    green: paint(32, 39),
    yellow: paint(33, 39),
    cyan: paint(36, 39),
  };
}
