import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  Agent,
  EnrollRequest,
  EnrollResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  ListAgentsResponse,
} from './agentContract.js';
import { apiExamples } from './apiExamples.js';
import { apiRoutes } from './apiRoutes.js';
import { CheckInBatchRequest, CheckInBatchResponse } from './checkInContract.js';
import { ApiErrorBody, ValidationErrorDetails } from './errorContract.js';
import { InventoryRequest, InventoryResponse } from './inventoryContract.js';
import { ListRunsResponse, Run, RunDetail } from './runContract.js';

const schemaOf: Record<keyof typeof apiExamples, z.ZodType> = {
  enrollRequest: EnrollRequest,
  enrollResponse: EnrollResponse,
  heartbeatRequest: HeartbeatRequest,
  heartbeatResponse: HeartbeatResponse,
  inventoryRequest: InventoryRequest,
  inventoryResponse: InventoryResponse,
  checkInBatchRequest: CheckInBatchRequest,
  checkInBatchResponse: CheckInBatchResponse,
  run: Run,
  runDetail: RunDetail,
  listRunsResponse: ListRunsResponse,
  agent: Agent,
  listAgentsResponse: ListAgentsResponse,
  validationErrorBody: ApiErrorBody,
};

describe('apiExamples', () => {
  for (const [name, example] of Object.entries(apiExamples)) {
    it(`${name} survives a JSON round trip through its schema unchanged`, () => {
      const schema = schemaOf[name as keyof typeof apiExamples];
      const wire: unknown = JSON.parse(JSON.stringify(example));
      expect(schema.parse(wire)).toEqual(example);
    });
  }

  it('covers the body and response of every body-carrying route', () => {
    const bodies = Object.values(apiRoutes).flatMap((route) =>
      'body' in route ? [route.body] : [],
    );
    for (const body of bodies) {
      expect(Object.values(schemaOf)).toContain(body);
    }
  });

  it('shows validation details in the documented shape', () => {
    expect(
      ValidationErrorDetails.parse(apiExamples.validationErrorBody.error.details),
    ).toHaveLength(1);
  });

  it('drops unknown fields, so a newer peer may add fields', () => {
    const parsed = HeartbeatResponse.parse({ ...apiExamples.heartbeatResponse, extra: 1 });
    expect(parsed).toEqual(apiExamples.heartbeatResponse);
  });
});
