import { z } from 'zod';

/**
 * The CLI's settings from the environment, parsed once when a command starts (never at import).
 * Only terminal presentation is configurable this way; everything else is a flag.
 *
 * - NO_COLOR (https://no-color.org): present and not empty disables colours, always.
 * - FORCE_COLOR: present and not "0"/"false" enables colours even when stdout is not a TTY
 *   (CI logs that render ANSI). NO_COLOR wins over FORCE_COLOR.
 * - TERM=dumb disables colours unless FORCE_COLOR is set.
 */
export const CliEnvironment = z
  .object({
    NO_COLOR: z.string().optional(),
    FORCE_COLOR: z.string().optional(),
    TERM: z.string().optional(),
  })
  .transform((env) => ({
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
    forceColor:
      env.FORCE_COLOR !== undefined && !['0', 'false'].includes(env.FORCE_COLOR.toLowerCase()),
    dumbTerminal: env.TERM === 'dumb',
  }));
export type CliEnvironment = z.output<typeof CliEnvironment>;

export function parseCliEnvironment(env: Record<string, string | undefined>): CliEnvironment {
  return CliEnvironment.parse(env);
}

/** Reads the process environment; call once per command run. */
export function readCliEnvironment(): CliEnvironment {
  return parseCliEnvironment(process.env);
}
