import type { z } from 'zod';

/**
 * A benchmark's settings from its command line (`--skip-build`, `--only=a,b`, `--help`) and the
 * environment values given, checked by `schema`: the backend's and the agent's benches share it.
 * `--help` prints `usage` and exits; a wrong argument or value throws an error that ends in it.
 */
export function parseBenchSettings<Schema extends z.ZodType>(
  schema: Schema,
  usage: string,
  environmentValues: Record<string, string | undefined>,
  argv: readonly string[],
): z.infer<Schema> {
  let skipBuild = false;
  let only: string[] | undefined;
  for (const argument of argv) {
    if (argument === '--skip-build') skipBuild = true;
    else if (argument.startsWith('--only=')) only = argument.slice('--only='.length).split(',');
    else if (argument === '--help' || argument === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument "${argument}"\n${usage}`);
  }
  // An empty variable counts as unset.
  const given = Object.fromEntries(
    Object.entries(environmentValues).map(([key, value]) => [
      key,
      value === '' ? undefined : value,
    ]),
  );
  const result = schema.safeParse({ ...given, skipBuild, only });
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid benchmark settings:\n${lines.join('\n')}\n${usage}`);
  }
  return result.data;
}
