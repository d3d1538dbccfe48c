import { z } from 'zod';
import { IsoDateTime, singleLineText, Uuid } from './fieldContract.js';

/**
 * Sign-in (first-run bootstrap, login, logout, me), personal API tokens and the users of an
 * organization. A dashboard signs in with a session cookie (`cronfleet_session`); the CLI and
 * automation send a personal API token (`cfp_…`) as their bearer token.
 */

/** The role of a user in an organization. */
export const Role = z.enum(['admin', 'operator', 'viewer']);
export type Role = z.infer<typeof Role>;

/** What a caller may do: `read` (viewer and up), `write` (operator and up), `admin` (admin). */
export const PermissionName = z.enum(['read', 'write', 'admin']);
export type PermissionName = z.infer<typeof PermissionName>;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

/** A new password: 12 to 1024 characters (a passphrase is welcome). */
export const NewPassword = z
  .string()
  .min(
    MIN_PASSWORD_LENGTH,
    `must be at least ${MIN_PASSWORD_LENGTH} characters; a passphrase of a few words is easiest to remember`,
  )
  .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
export type NewPassword = z.infer<typeof NewPassword>;

/** An e-mail address; compared and stored lower-cased, surrounding spaces removed. */
export const EmailAddress = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email({ error: 'must be an e-mail address, e.g. ada@example.com' }));
export type EmailAddress = z.infer<typeof EmailAddress>;

/** A person's display name (may be empty). */
export const PersonName = z
  .string()
  .trim()
  .max(200, 'must be at most 200 characters')
  .regex(/^[^\p{Cc}]*$/u, 'must be a single line without control characters');

export const OrganizationName = singleLineText(200);

export const UserSummary = z.object({
  id: Uuid,
  email: z.string(),
  name: z.string(),
});
export type UserSummary = z.infer<typeof UserSummary>;

export const OrganizationSummary = z.object({
  id: Uuid,
  name: z.string(),
});
export type OrganizationSummary = z.infer<typeof OrganizationSummary>;

/** `POST /api/v1/auth/bootstrap`: the first organization and its admin, while no user exists. */
export const BootstrapRequest = z.object({
  organizationName: OrganizationName,
  email: EmailAddress,
  password: NewPassword,
  name: PersonName.optional(),
});
export type BootstrapRequest = z.infer<typeof BootstrapRequest>;

/** `POST /api/v1/auth/login`. */
export const LoginRequest = z.object({
  email: EmailAddress,
  /** Not checked against the rules for new passwords, only against the stored hash. */
  password: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`),
  /** The organization to sign in to; default: the first the user joined. */
  organizationId: Uuid.optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

/** The answer of bootstrap and login; the session itself travels in the `cronfleet_session` cookie. */
export const SessionResponse = z.object({
  user: UserSummary,
  organization: OrganizationSummary,
  role: Role,
  /** When the session cookie expires. */
  expiresAt: IsoDateTime,
});
export type SessionResponse = z.infer<typeof SessionResponse>;

/** `POST /api/v1/auth/logout`. */
export const LogoutResponse = z.object({
  /** True when a session was ended (false when the caller used an API token). */
  signedOut: z.boolean(),
});
export type LogoutResponse = z.infer<typeof LogoutResponse>;

/** `GET /api/v1/auth/me`: who the caller is, where, and what they may do. */
export const MeResponse = z.object({
  user: UserSummary,
  organization: OrganizationSummary,
  role: Role,
  /** The role's permissions, intersected with the token's scopes when `via` is `api_token`. */
  permissions: z.array(PermissionName),
  via: z.enum(['session', 'api_token']),
  /**
   * Every organization the user belongs to. A session switches with
   * `PUT /api/v1/auth/session/organization`; an API token acts in its own organization only.
   */
  organizations: z.array(OrganizationSummary.extend({ role: Role })),
});
export type MeResponse = z.infer<typeof MeResponse>;

/** `POST /api/v1/tokens`: a personal API token for the caller. */
export const CreateApiTokenRequest = z.object({
  /** What the token is for, e.g. `ci-deploy` or `laptop cli`. */
  name: singleLineText(100),
  /**
   * What the token may do; each scope must be one the caller has (a viewer may create a
   * read-scoped token for themselves). The token acts with these scopes intersected with its
   * owner's role at the time of each call.
   */
  scopes: z
    .array(PermissionName)
    .min(1, 'give at least one scope: read, write or admin')
    .refine((scopes) => new Set(scopes).size === scopes.length, {
      error: 'list each scope once',
    }),
  /**
   * Days until the token expires, 1 to 3650; absent: it never expires (revoke it when done).
   * A token created with an API token expires no later than that token, whatever is asked.
   */
  expiresInDays: z
    .number()
    .int('must be a whole number of days')
    .min(1, 'must be at least 1 day')
    .max(3650, 'must be at most 3650 days')
    .optional(),
});
export type CreateApiTokenRequest = z.infer<typeof CreateApiTokenRequest>;

/** A personal API token as lists show it: never the token itself nor its hash. */
export const ApiTokenSummary = z.object({
  id: Uuid,
  name: z.string(),
  userId: Uuid,
  userEmail: z.string(),
  /** The token's first characters (`cfp_` and 6 more), to recognise it. */
  tokenPrefix: z.string(),
  scopes: z.array(PermissionName),
  createdAt: IsoDateTime,
  expiresAt: IsoDateTime.nullable(),
  lastUsedAt: IsoDateTime.nullable(),
  revokedAt: IsoDateTime.nullable(),
  /**
   * The API token that created this one; null when it was created with a session. A token
   * created by a token expires no later than its parent and is revoked with it.
   */
  parentTokenId: Uuid.nullable(),
});
export type ApiTokenSummary = z.infer<typeof ApiTokenSummary>;

/** A personal API token (`cfp_…`): what the CLI and automation send as their bearer token. */
export const PersonalApiToken = z
  .string()
  .regex(
    /^cfp_[A-Za-z0-9_-]{22,256}$/,
    'must be a personal API token: "cfp_" followed by at least 22 URL-safe characters',
  );
export type PersonalApiToken = z.infer<typeof PersonalApiToken>;

export const CreateApiTokenResponse = z.object({
  /** Shown once: store it now; the backend keeps only its hash. */
  token: PersonalApiToken,
  apiToken: ApiTokenSummary,
});
export type CreateApiTokenResponse = z.infer<typeof CreateApiTokenResponse>;

/** `GET /api/v1/tokens`: the caller's tokens; admins may ask for a user's or everyone's. */
export const ListApiTokensQuery = z.object({
  /** Another member's tokens (admins only). */
  userId: Uuid.optional(),
  /** `true`: every token of the organization (admins only). */
  all: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  /** `true`: include revoked tokens. */
  includeRevoked: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});
export type ListApiTokensQuery = z.infer<typeof ListApiTokensQuery>;

export const ListApiTokensResponse = z.object({ items: z.array(ApiTokenSummary) });
export type ListApiTokensResponse = z.infer<typeof ListApiTokensResponse>;

export const ApiTokenPathParams = z.object({ tokenId: Uuid });
export type ApiTokenPathParams = z.infer<typeof ApiTokenPathParams>;

/** A member of the organization. */
export const OrganizationUser = z.object({
  id: Uuid,
  email: z.string(),
  name: z.string(),
  role: Role,
  /** When the user joined this organization. */
  joinedAt: IsoDateTime,
});
export type OrganizationUser = z.infer<typeof OrganizationUser>;

export const ListUsersResponse = z.object({ items: z.array(OrganizationUser) });
export type ListUsersResponse = z.infer<typeof ListUsersResponse>;

/**
 * `POST /api/v1/users`: add a member. A new e-mail address creates the account with `password`
 * (and `name`); an address that already has an account (in another organization) is added as it
 * is: leave `password` out, that user keeps signing in with their own, and their name is kept.
 */
export const AddUserRequest = z.object({
  email: EmailAddress,
  name: PersonName.optional(),
  role: Role,
  password: NewPassword.optional(),
});
export type AddUserRequest = z.infer<typeof AddUserRequest>;

export const AddUserResponse = OrganizationUser.extend({
  /** True when the account was created; false when an existing account joined. */
  accountCreated: z.boolean(),
});
export type AddUserResponse = z.infer<typeof AddUserResponse>;

export const UserPathParams = z.object({ userId: Uuid });
export type UserPathParams = z.infer<typeof UserPathParams>;

/** `PUT /api/v1/users/:userId/role`. */
export const ChangeUserRoleRequest = z.object({ role: Role });
export type ChangeUserRoleRequest = z.infer<typeof ChangeUserRoleRequest>;

/** `DELETE /api/v1/users/:userId`: the membership is removed with the user's sessions and tokens here. */
export const RemoveUserResponse = z.object({
  userId: Uuid,
  sessionsEnded: z.number().int().min(0),
  tokensDeleted: z.number().int().min(0),
});
export type RemoveUserResponse = z.infer<typeof RemoveUserResponse>;
