import { createHash } from 'node:crypto';
import { apiExamples, type EnrollRequest } from '@cronfleet/core/api';
import type { TestApp } from './testApp.js';

/** HTTP helpers of the agent and enrollment tests: real calls against the test app. */

export interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests check bodies field by field
  body: any;
}

export async function call(
  app: TestApp,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

let machineCounter = 0;

/** A valid enroll body for a new machine (or for `machine` again, to re-enroll it). */
export function enrollBody(overrides: Partial<EnrollRequest> & { machine?: string } = {}) {
  machineCounter += 1;
  const { machine, ...rest } = overrides;
  return {
    ...apiExamples.enrollRequest,
    name: `node-${machineCounter}`,
    hostname: `node-${machineCounter}.internal`,
    machineId: createHash('sha256')
      .update(machine ?? `machine-${machineCounter}-${Math.random()}`)
      .digest('hex'),
    labels: {},
    ...rest,
  };
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
