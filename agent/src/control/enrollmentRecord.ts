import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AgentToken } from '@cronfleet/core/contract';
import { z } from 'zod';
import { writeFileAtomically } from '../state/atomicFile.js';

/**
 * What enrollment leaves on disk: the agent token (its own file, mode 0600, the only secret) and
 * `enrollment.json` in the state directory (the backend's agent id, where and when the agent
 * enrolled). The agent id is kept apart from `agent-id`, which holds the installation's owner id
 * that the crontab markers carry and must never change.
 */

export const EnrollmentRecord = z.object({
  version: z.literal(1),
  /** The agent's id at the backend (a UUID). */
  agentId: z.string().min(1),
  /** The backend the token belongs to. */
  backendUrl: z.string().min(1),
  name: z.string().min(1),
  enrolledAt: z.string(),
});
export type EnrollmentRecord = z.infer<typeof EnrollmentRecord>;

/** The agent token's file: `tokenFile` of the configuration, default <stateDir>/agent-token. */
export function agentTokenFile(config: {
  stateDir: string;
  tokenFile?: string | undefined;
}): string {
  return config.tokenFile ?? path.join(config.stateDir, 'agent-token');
}

export function enrollmentRecordFile(stateDir: string): string {
  return path.join(stateDir, 'enrollment.json');
}

/** The record, or undefined when the agent never enrolled or the file does not parse. */
export async function readEnrollmentRecord(
  stateDir: string,
): Promise<EnrollmentRecord | undefined> {
  let text: string;
  try {
    text = await readFile(enrollmentRecordFile(stateDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = EnrollmentRecord.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeEnrollmentRecord(
  stateDir: string,
  record: EnrollmentRecord,
): Promise<void> {
  await writeFileAtomically(
    enrollmentRecordFile(stateDir),
    `${JSON.stringify(record, null, 2)}\n`,
    0o644,
  );
}

/** What the token file holds. */
export type StoredAgentToken =
  | { kind: 'missing' }
  /** The file exists but does not hold an agent token (`cfa_…`). */
  | { kind: 'invalid'; reason: string }
  | { kind: 'valid'; token: string };

/** Reads the agent token file; never throws for a missing or malformed file. */
export async function readAgentToken(tokenFile: string): Promise<StoredAgentToken> {
  let text: string;
  try {
    text = await readFile(tokenFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'invalid', reason: `it cannot be read (${code ?? String(error)})` };
  }
  const token = text.trim();
  // The reason never quotes the file: it may hold some other secret.
  if (!AgentToken.safeParse(token).success) {
    return { kind: 'invalid', reason: 'it does not hold an agent token (cfa_…)' };
  }
  return { kind: 'valid', token };
}

/** Writes the agent token atomically, readable by the agent's user only (0600). */
export async function writeAgentToken(tokenFile: string, token: string): Promise<void> {
  await writeFileAtomically(tokenFile, `${token}\n`, 0o600);
}
