import type { BootstrapRequest } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import type { Request } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { memberships, organizations, users } from '../db/schema.js';
import { conflict } from '../http/apiError.js';
import { rolePermissions } from '../http/authenticate.js';
import { hashPassword } from './passwordHash.js';

/**
 * The advisory lock key that serialises first-run bootstraps across replicas
 * (`cronfleet:bootstrap`, fixed here so every version agrees).
 */
const bootstrapLockKey = 7_261_830_145_922n;

export const alreadyBootstrappedMessage =
  'this installation is already set up: sign in with your account, or ask an admin of your organization to add you';

export interface BootstrappedInstallation {
  organization: { id: string; name: string };
  user: { id: string; email: string; name: string };
}

/** Whether any user exists (the first-run bootstrap is allowed only while none does). */
export async function installationHasUsers(db: Database): Promise<boolean> {
  const rows = await db.select({ id: users.id }).from(users).limit(1);
  return rows.length > 0;
}

/**
 * First run: creates the first organization, its admin user (the installation's admin, who may
 * create more organizations) and the membership, and records it
 * in the audit log, all in one transaction. Allowed only while no user exists: the transaction
 * takes an advisory lock and checks again, so of any number of concurrent bootstraps (on any
 * replica) exactly one succeeds and the others get a 409 conflict. Used by
 * POST /api/v1/auth/bootstrap and by `cronfleet-backend bootstrap`.
 */
export async function bootstrapInstallation(
  db: Database,
  input: BootstrapRequest,
  origin: { via: 'api' | 'cli'; request?: Request },
): Promise<BootstrappedInstallation> {
  // Fail fast without the (deliberately slow) hash when the installation is already set up.
  if (await installationHasUsers(db)) throw conflict(alreadyBootstrappedMessage);
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${bootstrapLockKey})`);
    if (await installationHasUsers(tx)) throw conflict(alreadyBootstrappedMessage);
    const [organization] = await tx
      .insert(organizations)
      .values({ name: input.organizationName })
      .returning({ id: organizations.id, name: organizations.name });
    const [user] = await tx
      .insert(users)
      .values({
        email: input.email,
        name: input.name ?? '',
        passwordHash,
        installationAdmin: true,
      })
      .returning({ id: users.id, email: users.email, name: users.name });
    if (organization === undefined || user === undefined) {
      throw new Error('bootstrap inserted no organization or user');
    }
    await tx
      .insert(memberships)
      .values({ organizationId: organization.id, userId: user.id, role: 'admin' });
    await recordAudit(
      tx,
      {
        principal:
          origin.via === 'api'
            ? {
                kind: 'user',
                organizationId: organization.id,
                userId: user.id,
                role: 'admin',
                permissions: new Set(rolePermissions.admin),
                via: 'session',
                credentialId: user.id,
              }
            : undefined,
        organizationId: organization.id,
        ...(origin.request === undefined ? {} : { request: origin.request }),
      },
      {
        action: 'installation.bootstrap',
        targetType: 'organization',
        targetId: organization.id,
        details: {
          organizationName: organization.name,
          adminEmail: user.email,
          adminUserId: user.id,
          via: origin.via,
        },
      },
    );
    return { organization, user };
  });
}
