import { defineRoute } from './apiRouteDefinition.js';
import {
  AddUserRequest,
  AddUserResponse,
  ApiTokenPathParams,
  ApiTokenSummary,
  BootstrapRequest,
  ChangeUserRoleRequest,
  CreateApiTokenRequest,
  CreateApiTokenResponse,
  ListApiTokensQuery,
  ListApiTokensResponse,
  ListUsersResponse,
  LoginRequest,
  LogoutResponse,
  MeResponse,
  OrganizationUser,
  RemoveUserResponse,
  SessionResponse,
  UserPathParams,
} from './authContract.js';

/**
 * Routes of API v1: sign-in, sessions, personal API tokens and organization users. Merged into
 * apiRoutes.
 *
 * Permissions: bootstrap and login need no credentials (both are rate limited); a viewer may
 * read who they are, sign out, and create, list and revoke their own tokens (with at most the
 * scopes they have: that changes no state of the organization). Managing users, and other
 * people's tokens, needs admin.
 */
export const authRoutes = {
  bootstrap: defineRoute({
    name: 'bootstrap',
    method: 'POST',
    path: '/api/v1/auth/bootstrap',
    auth: 'none',
    // Succeeds once per installation; a resend would answer 409.
    idempotent: false,
    summary:
      'First run only (no user exists yet): create the first organization and its admin, and sign in.',
    successStatus: 201,
    body: BootstrapRequest,
    response: SessionResponse,
  }),
  login: defineRoute({
    name: 'login',
    method: 'POST',
    path: '/api/v1/auth/login',
    auth: 'none',
    // Each call starts a new session.
    idempotent: false,
    summary: 'Sign in with e-mail and password; sets the cronfleet_session cookie.',
    successStatus: 200,
    body: LoginRequest,
    response: SessionResponse,
  }),
  logout: defineRoute({
    name: 'logout',
    method: 'POST',
    path: '/api/v1/auth/logout',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'Sign out: end the session and clear its cookie.',
    successStatus: 200,
    response: LogoutResponse,
  }),
  me: defineRoute({
    name: 'me',
    method: 'GET',
    path: '/api/v1/auth/me',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'Who the caller is: user, organization, role, permissions and how they signed in.',
    successStatus: 200,
    response: MeResponse,
  }),
  createApiToken: defineRoute({
    name: 'createApiToken',
    method: 'POST',
    path: '/api/v1/tokens',
    auth: 'user',
    // A viewer may create a read-scoped token for themselves; scopes never exceed the caller's.
    permission: 'read',
    // Each call mints a new token: never resent automatically.
    idempotent: false,
    summary: 'Create a personal API token for the caller; the token is in this answer only.',
    successStatus: 201,
    body: CreateApiTokenRequest,
    response: CreateApiTokenResponse,
  }),
  listApiTokens: defineRoute({
    name: 'listApiTokens',
    method: 'GET',
    path: '/api/v1/tokens',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary:
      "List the caller's personal API tokens (admins: ?userId= or ?all=true); never the token itself.",
    successStatus: 200,
    query: ListApiTokensQuery,
    response: ListApiTokensResponse,
  }),
  revokeApiToken: defineRoute({
    name: 'revokeApiToken',
    method: 'DELETE',
    path: '/api/v1/tokens/:tokenId',
    auth: 'user',
    // Own tokens; other people's need admin (checked in the handler).
    permission: 'read',
    // Revoking a revoked token changes nothing.
    idempotent: true,
    summary: "Revoke a personal API token (your own; admins: anyone's in the organization).",
    successStatus: 200,
    params: ApiTokenPathParams,
    response: ApiTokenSummary,
  }),
  listUsers: defineRoute({
    name: 'listUsers',
    method: 'GET',
    path: '/api/v1/users',
    auth: 'user',
    permission: 'admin',
    idempotent: true,
    summary: 'List the members of the organization with their roles.',
    successStatus: 200,
    response: ListUsersResponse,
  }),
  addUser: defineRoute({
    name: 'addUser',
    method: 'POST',
    path: '/api/v1/users',
    auth: 'user',
    permission: 'admin',
    // A resend would answer 409 (already a member).
    idempotent: false,
    summary:
      'Add a user to the organization with a role (creating the account for a new e-mail address).',
    successStatus: 201,
    body: AddUserRequest,
    response: AddUserResponse,
  }),
  changeUserRole: defineRoute({
    name: 'changeUserRole',
    method: 'PATCH',
    path: '/api/v1/users/:userId',
    auth: 'user',
    permission: 'admin',
    idempotent: true,
    summary: "Change a member's role (the last admin cannot be demoted).",
    successStatus: 200,
    params: UserPathParams,
    body: ChangeUserRoleRequest,
    response: OrganizationUser,
  }),
  removeUser: defineRoute({
    name: 'removeUser',
    method: 'DELETE',
    path: '/api/v1/users/:userId',
    auth: 'user',
    permission: 'admin',
    // Removing a removed member answers 404 and changes nothing.
    idempotent: true,
    summary:
      'Remove a member from the organization with their sessions and tokens here (never the last admin).',
    successStatus: 200,
    params: UserPathParams,
    response: RemoveUserResponse,
  }),
} as const;
