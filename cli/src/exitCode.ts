/**
 * What a `cronfleet` exit code means, for every command:
 * 0 ok; 1 the check failed (e.g. an invalid job repository); 2 usage error or any other error.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
