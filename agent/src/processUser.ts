import os from 'node:os';

/** The name of the user this process runs as, or undefined when the system cannot say. */
export function currentUserName(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}
