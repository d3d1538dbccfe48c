import { defineRoute } from './apiRouteDefinition.js';
import { ListAuditQuery, ListAuditResponse } from './auditContract.js';
import { SessionResponse } from './authContract.js';
import {
  CreateOrganizationRequest,
  ListOrganizationsResponse,
  OrganizationMembership,
  OrganizationPathParams,
  RenameOrganizationRequest,
  SwitchOrganizationRequest,
} from './organizationContract.js';

/**
 * Routes of API v1: organizations (list, create, rename), the session's active organization, and
 * the audit log. Merged into apiRoutes.
 *
 * Who may create an organization is an installation setting (CRONFLEET_ORGANIZATION_CREATORS:
 * the bootstrap admin only, or any signed-in user; with an API token, also the `admin` scope),
 * checked in the handler. Renaming needs admin in that organization, and it must be the one the
 * caller acts in. Switching is for sessions only: an API token belongs to one organization.
 */
export const organizationRoutes = {
  listOrganizations: defineRoute({
    name: 'listOrganizations',
    method: 'GET',
    path: '/api/v1/organizations',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'List the organizations the caller belongs to, with their role and the active one.',
    successStatus: 200,
    response: ListOrganizationsResponse,
  }),
  createOrganization: defineRoute({
    name: 'createOrganization',
    method: 'POST',
    path: '/api/v1/organizations',
    auth: 'user',
    // Who may is the installation's setting, checked in the handler.
    permission: 'read',
    // Each call creates an organization: never resent automatically.
    idempotent: false,
    summary:
      'Create an organization; the caller becomes its admin (who may: CRONFLEET_ORGANIZATION_CREATORS).',
    successStatus: 201,
    body: CreateOrganizationRequest,
    response: OrganizationMembership,
  }),
  renameOrganization: defineRoute({
    name: 'renameOrganization',
    method: 'PATCH',
    path: '/api/v1/organizations/:organizationId',
    auth: 'user',
    permission: 'admin',
    idempotent: true,
    summary: 'Rename the organization the caller acts in (admins).',
    successStatus: 200,
    params: OrganizationPathParams,
    body: RenameOrganizationRequest,
    response: OrganizationMembership,
  }),
  switchOrganization: defineRoute({
    name: 'switchOrganization',
    method: 'PUT',
    path: '/api/v1/auth/session/organization',
    auth: 'user',
    permission: 'read',
    // Sets the active organization to the one sent.
    idempotent: true,
    summary:
      "Switch the session's active organization to another of the user's (sessions only; an API token belongs to one organization).",
    successStatus: 200,
    body: SwitchOrganizationRequest,
    response: SessionResponse,
  }),
  listAudit: defineRoute({
    name: 'listAudit',
    method: 'GET',
    path: '/api/v1/audit',
    auth: 'user',
    permission: 'admin',
    idempotent: true,
    summary:
      "The organization's audit log, newest first, filtered by actor, action, target and time.",
    successStatus: 200,
    query: ListAuditQuery,
    response: ListAuditResponse,
  }),
} as const;
