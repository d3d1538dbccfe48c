import { z } from 'zod';
import { OrganizationName, Role } from './authContract.js';
import { IsoDateTime, Uuid } from './fieldContract.js';

/**
 * Organizations: a user may belong to several, each with its own role. An API token belongs to
 * exactly one (the one it was created in); a session has one active organization, which the user
 * may switch. Every other route acts in that one organization.
 */

/** An organization the caller belongs to, with the caller's role in it. */
export const OrganizationMembership = z.object({
  id: Uuid,
  name: z.string(),
  /** The caller's role in this organization. */
  role: Role,
  createdAt: IsoDateTime,
  /** True for the organization the caller acts in: the session's active one, or the API token's. */
  active: z.boolean(),
});
export type OrganizationMembership = z.infer<typeof OrganizationMembership>;

/** `GET /api/v1/organizations`: the caller's organizations, oldest membership first. */
export const ListOrganizationsResponse = z.object({
  items: z.array(OrganizationMembership),
  /**
   * Whether `POST /api/v1/organizations` would let the caller create one (the installation's
   * CRONFLEET_ORGANIZATION_CREATORS setting, and for an API token the `admin` scope).
   */
  canCreate: z.boolean(),
});
export type ListOrganizationsResponse = z.infer<typeof ListOrganizationsResponse>;

/** `POST /api/v1/organizations`: a new organization; the caller becomes its admin. */
export const CreateOrganizationRequest = z.object({ name: OrganizationName });
export type CreateOrganizationRequest = z.infer<typeof CreateOrganizationRequest>;

/** `PATCH /api/v1/organizations/:organizationId`: rename. */
export const RenameOrganizationRequest = z.object({ name: OrganizationName });
export type RenameOrganizationRequest = z.infer<typeof RenameOrganizationRequest>;

export const OrganizationPathParams = z.object({ organizationId: Uuid });
export type OrganizationPathParams = z.infer<typeof OrganizationPathParams>;

/** `PUT /api/v1/auth/session/organization`: the organization the session acts in from now on. */
export const SwitchOrganizationRequest = z.object({ organizationId: Uuid });
export type SwitchOrganizationRequest = z.infer<typeof SwitchOrganizationRequest>;
