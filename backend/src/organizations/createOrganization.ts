import type { Request } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { memberships, organizations } from '../db/schema.js';
import type { UserPrincipal } from '../http/authenticate.js';

export interface CreatedOrganization {
  id: string;
  name: string;
  createdAt: Date;
}

/**
 * Creates an organization with `adminUserId` as its admin, and records it in the new
 * organization's audit log, in `tx` (the caller's transaction). Used by
 * POST /api/v1/organizations (the caller becomes the admin) and by `cronfleet-backend org create`.
 */
export async function createOrganization(
  tx: Database,
  input: { name: string; adminUserId: string; adminEmail: string },
  origin: { via: 'api' | 'cli'; principal?: UserPrincipal; request?: Request },
): Promise<CreatedOrganization> {
  const [organization] = await tx.insert(organizations).values({ name: input.name }).returning({
    id: organizations.id,
    name: organizations.name,
    createdAt: organizations.createdAt,
  });
  if (organization === undefined) throw new Error('the organization was not stored');
  await tx
    .insert(memberships)
    .values({ organizationId: organization.id, userId: input.adminUserId, role: 'admin' });
  await recordAudit(
    tx,
    {
      principal: origin.principal,
      organizationId: organization.id,
      ...(origin.request === undefined ? {} : { request: origin.request }),
    },
    {
      action: 'organization.create',
      targetType: 'organization',
      targetId: organization.id,
      details: {
        name: organization.name,
        adminUserId: input.adminUserId,
        adminEmail: input.adminEmail,
        via: origin.via,
        ...(origin.principal === undefined
          ? {}
          : { fromOrganizationId: origin.principal.organizationId }),
      },
    },
  );
  return organization;
}
