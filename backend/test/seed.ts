import type { Permission } from '@cronfleet/core/api';
import type { DatabaseHandle } from '../src/db/database.js';
import {
  agents,
  apiTokens,
  enrollmentTokens,
  memberships,
  organizations,
  users,
} from '../src/db/schema.js';
import { rolePermissions, type Role } from '../src/http/authenticate.js';
import { displayPrefix, generateToken, hashToken } from '../src/http/credentials.js';

/** Rows for tests, written straight to the database (the API that creates them is tested apart). */

export async function seedOrganization(database: DatabaseHandle, name = 'Acme'): Promise<string> {
  const [row] = await database.db.insert(organizations).values({ name }).returning();
  if (row === undefined) throw new Error('no organization inserted');
  return row.id;
}

let userCounter = 0;

export interface SeededUser {
  userId: string;
  email: string;
  /** A personal API token with every scope the role allows. */
  token: string;
}

export async function seedUser(
  database: DatabaseHandle,
  organizationId: string,
  role: Role,
  options: { scopes?: Permission[]; expiresAt?: Date } = {},
): Promise<SeededUser> {
  userCounter += 1;
  const email = `${role}-${userCounter}-${organizationId.slice(0, 8)}@example.com`;
  const [user] = await database.db
    .insert(users)
    .values({ email, name: `${role} ${userCounter}`, passwordHash: 'unusable' })
    .returning();
  if (user === undefined) throw new Error('no user inserted');
  await database.db.insert(memberships).values({ organizationId, userId: user.id, role });
  const token = generateToken('personal');
  await database.db.insert(apiTokens).values({
    organizationId,
    userId: user.id,
    name: 'test',
    tokenHash: hashToken(token),
    tokenPrefix: displayPrefix(token),
    scopes: options.scopes ?? [...rolePermissions[role]],
    expiresAt: options.expiresAt ?? null,
  });
  return { userId: user.id, email, token };
}

let agentCounter = 0;

export async function seedAgent(
  database: DatabaseHandle,
  organizationId: string,
  options: { name?: string; labels?: Record<string, string>; revokedReason?: string } = {},
): Promise<{ agentId: string; token: string }> {
  agentCounter += 1;
  const token = generateToken('agent');
  const [agent] = await database.db
    .insert(agents)
    .values({
      organizationId,
      name: options.name ?? `agent-${agentCounter}`,
      hostname: `host-${agentCounter}.internal`,
      machineId: hashToken(`machine-${agentCounter}-${organizationId}`),
      platform: 'linux',
      arch: 'x64',
      version: '0.1.0',
      labels: options.labels ?? {},
      tokenHash: hashToken(token),
      ...(options.revokedReason === undefined
        ? {}
        : { revokedAt: new Date(), revokedReason: options.revokedReason }),
    })
    .returning();
  if (agent === undefined) throw new Error('no agent inserted');
  return { agentId: agent.id, token };
}

export async function seedEnrollmentToken(
  database: DatabaseHandle,
  organizationId: string,
  options: { labels?: Record<string, string>; maxUses?: number; expiresAt?: Date } = {},
): Promise<{ enrollmentTokenId: string; token: string }> {
  const token = generateToken('enrollment');
  const [row] = await database.db
    .insert(enrollmentTokens)
    .values({
      organizationId,
      tokenHash: hashToken(token),
      tokenPrefix: displayPrefix(token),
      labels: options.labels ?? {},
      maxUses: options.maxUses ?? null,
      expiresAt: options.expiresAt ?? null,
    })
    .returning();
  if (row === undefined) throw new Error('no enrollment token inserted');
  return { enrollmentTokenId: row.id, token };
}
