import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiRoutes, buildRoutePath, describeRoute, routePathParamNames } from './apiRoutes.js';
import type { ApiRouteDefinition } from './apiRouteDefinition.js';
import { API_BASE_PATH } from './fieldContract.js';

const routes: [string, ApiRouteDefinition][] = Object.entries(apiRoutes);

describe('apiRoutes', () => {
  it('names each route after its key and serves it under /api/v1', () => {
    for (const [key, route] of routes) {
      expect(route.name).toBe(key);
      expect(route.path.startsWith(`${API_BASE_PATH}/`)).toBe(true);
    }
  });

  it('has one route per method and path', () => {
    const keys = routes.map(([, route]) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('marks exactly the routes that mint something as not idempotent, and every GET as idempotent', () => {
    // A retried call of one of these would create a second agent, token, session, user, run,
    // channel or test message.
    expect(
      routes
        .filter(([, route]) => !route.idempotent)
        .map(([key]) => key)
        .sort(),
    ).toEqual([
      'addUser',
      'bootstrap',
      'createApiToken',
      'createEnrollmentToken',
      'createNotificationChannel',
      'createOrganization',
      'createSilence',
      'enroll',
      'login',
      'runJob',
      'testNotificationChannel',
    ]);
    for (const [, route] of routes) {
      if (route.method === 'GET') {
        expect(route.idempotent).toBe(true);
        expect(route.body).toBeUndefined();
      }
    }
  });

  it('declares a params schema exactly for the placeholders of its path', () => {
    for (const [, route] of routes) {
      const names = routePathParamNames(route.path);
      if (names.length === 0) {
        expect(route.params).toBeUndefined();
      } else {
        expect(route.params).toBeInstanceOf(z.ZodObject);
        expect(Object.keys((route.params as z.ZodObject).shape).sort()).toEqual([...names].sort());
      }
    }
  });

  it('takes the token kind that fits the caller', () => {
    expect(apiRoutes.enroll.auth).toBe('enrollment');
    expect(
      [apiRoutes.heartbeat, apiRoutes.putInventory, apiRoutes.sendCheckIns].map((r) => r.auth),
    ).toEqual(['agent', 'agent', 'agent']);
    expect([apiRoutes.listRuns, apiRoutes.getRun, apiRoutes.listAgents].map((r) => r.auth)).toEqual(
      ['user', 'user', 'user'],
    );
  });
});

describe('buildRoutePath', () => {
  it('fills and encodes placeholders', () => {
    expect(buildRoutePath('/api/v1/runs/:runId', { runId: 'a/b c' })).toBe(
      '/api/v1/runs/a%2Fb%20c',
    );
    expect(routePathParamNames('/a/:x/b/:y_2')).toEqual(['x', 'y_2']);
  });

  it('says which parameter is missing', () => {
    expect(() => buildRoutePath('/api/v1/runs/:runId', {})).toThrow(/"runId"/);
  });

  it('describes a route for messages', () => {
    expect(describeRoute(apiRoutes.heartbeat)).toBe('heartbeat (POST /api/v1/agents/heartbeat)');
  });
});
