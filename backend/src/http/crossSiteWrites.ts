import type { IncomingMessage } from 'node:http';
import { apiRoutes, type ApiRouteDefinition } from '@cronfleet/core/api';
import { parse as parseCookies } from 'cookie';
import type { RequestHandler } from 'express';
import { forbidden, sendError } from './apiError.js';
import type { AppContext } from './appContext.js';
import { sessionCookieName } from './authenticate.js';

/**
 * The header a script of the dashboard (or any client that signs in with the session cookie) may
 * send instead of relying on Origin. A cross-site form cannot set a header, and a cross-site script
 * that sets one must first pass a CORS preflight, which only CRONFLEET_CORS_ORIGINS pass.
 */
export const csrfHeaderNames = ['x-requested-with', 'x-cronfleet-client'] as const;

/** Methods that change something (everything but GET, HEAD and OPTIONS). */
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The routes that take no credentials (sign-in, bootstrap): a cookie sent along authenticates
 * nothing there (a sign-in replaces the session), so only a foreign Origin is refused.
 */
const credentialFreePaths = new Set(
  (Object.values(apiRoutes) as ApiRouteDefinition[])
    .filter((route) => route.auth === 'none')
    .map((route) => route.path),
);

/** Whether the request would be authenticated by the session cookie (no Authorization header). */
function usesSessionCookie(request: IncomingMessage): boolean {
  if (request.headers.authorization !== undefined) return false;
  const cookie = request.headers.cookie;
  if (cookie === undefined) return false;
  const session = parseCookies(cookie)[sessionCookieName];
  return session !== undefined && session !== '';
}

/**
 * The origins a browser's write may come from: CRONFLEET_DASHBOARD_ORIGIN when set (else the
 * backend's own origin, as the request's Host names it) and the CRONFLEET_CORS_ORIGINS.
 */
function originAllowed(
  origin: string,
  request: IncomingMessage & { host?: string },
  allowed: ReadonlySet<string>,
  dashboardOrigin: string | undefined,
): boolean {
  if (allowed.has(origin)) return true;
  if (dashboardOrigin !== undefined) return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  // Express's req.host honours CRONFLEET_TRUST_PROXY (X-Forwarded-Host); the raw header otherwise.
  const requestHost = request.host ?? request.headers.host;
  return requestHost !== undefined && host === requestHost.toLowerCase();
}

/**
 * Cross-site request forgery. A browser attaches the session cookie to any request to this site,
 * whichever site's page made it (SameSite=Lax still lets a top-level form POST through on some
 * browsers, and not at all when the dashboard runs on another site). So a write (POST, PUT,
 * PATCH, DELETE) that the session cookie would authenticate must show that the dashboard made it:
 *
 * - an `Origin` header that is the dashboard's origin (CRONFLEET_DASHBOARD_ORIGIN; unset: the
 *   origin this request was sent to) or one of CRONFLEET_CORS_ORIGINS, or
 * - an `X-Requested-With` or `X-Cronfleet-Client` header (any value), which a form cannot send.
 *
 * Otherwise the answer is a 403 that says so, before anything is read or written. Calls with an
 * `Authorization` header (API tokens, agents) are not affected: a browser never adds one by
 * itself. A sign-in or bootstrap without a cookie is refused only when it names a foreign Origin
 * (a login forgery would sign the victim into the attacker's account); curl sends no Origin.
 */
export function crossSiteWriteGuard(context: AppContext): RequestHandler {
  const { dashboardOrigin, corsOrigins } = context.config;
  const allowed = new Set(
    [dashboardOrigin, ...corsOrigins]
      .filter((origin): origin is string => origin !== undefined)
      .map((origin) => new URL(origin).origin),
  );
  return (request, response, next) => {
    if (safeMethods.has(request.method)) {
      next();
      return;
    }
    const origin = request.headers.origin;
    const fromAllowedOrigin =
      origin !== undefined && originAllowed(origin, request, allowed, dashboardOrigin);
    const path = (request.originalUrl ?? request.url).split('?')[0] ?? '';
    if (!credentialFreePaths.has(path) && usesSessionCookie(request)) {
      const customHeader = csrfHeaderNames.some((name) => request.headers[name] !== undefined);
      if (fromAllowedOrigin || customHeader) {
        next();
        return;
      }
      sendError(
        forbidden(
          `cross-site request refused: a ${request.method} signed in with the session cookie must come from the dashboard (Origin ${dashboardOrigin ?? 'of this server'}${origin === undefined ? '; this request has no Origin' : `, not ${origin}`}) or carry the header X-Requested-With; scripts and tools should send an API token (Authorization: Bearer cfp_…) instead of the cookie`,
        ),
        request,
        response,
        context.logger,
      );
      return;
    }
    if (request.headers.authorization === undefined && origin !== undefined && !fromAllowedOrigin) {
      sendError(
        forbidden(
          `cross-site request refused: ${origin} is not the dashboard's origin (${dashboardOrigin ?? 'the origin of this server'}); sign in from the dashboard, or set CRONFLEET_CORS_ORIGINS to allow that origin`,
        ),
        request,
        response,
        context.logger,
      );
      return;
    }
    next();
  };
}
