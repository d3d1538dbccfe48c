import { defineRoute } from './apiRouteDefinition.js';
import {
  CreateNotificationChannelRequest,
  DeletedNotificationChannel,
  ListNotificationChannelsResponse,
  ListNotificationDeliveriesQuery,
  ListNotificationDeliveriesResponse,
  NotificationChannel,
  NotificationChannelPathParams,
  TestNotificationChannelResponse,
  UpdateNotificationChannelRequest,
} from './notificationChannelContract.js';

/**
 * Routes of API v1: notification channels and what was delivered through them. Merged into
 * apiRoutes. Viewers may see channels (never a secret) and their deliveries; operators may also
 * send a test message, which sends to the channel's receiver but changes nothing; only admins
 * create, change and delete channels, since a channel decides where incidents go and holds
 * credentials of other services.
 */
export const notificationChannelRoutes = {
  listNotificationChannels: defineRoute({
    name: 'listNotificationChannels',
    method: 'GET',
    path: '/api/v1/notification-channels',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: "List the organization's notification channels by name (never a secret).",
    successStatus: 200,
    response: ListNotificationChannelsResponse,
  }),
  createNotificationChannel: defineRoute({
    name: 'createNotificationChannel',
    method: 'POST',
    path: '/api/v1/notification-channels',
    auth: 'user',
    permission: 'admin',
    // A second identical call meets the first one's name: a 409, not a second channel.
    idempotent: false,
    summary:
      'Create a notification channel; its secret fields are encrypted and never shown again.',
    successStatus: 201,
    body: CreateNotificationChannelRequest,
    response: NotificationChannel,
  }),
  updateNotificationChannel: defineRoute({
    name: 'updateNotificationChannel',
    method: 'PATCH',
    path: '/api/v1/notification-channels/:channelId',
    auth: 'user',
    permission: 'admin',
    // Sets the fields sent to the values sent.
    idempotent: true,
    summary:
      'Rename a channel, make it a default or not, or change its configuration (a merge patch: secrets left out are kept).',
    successStatus: 200,
    params: NotificationChannelPathParams,
    body: UpdateNotificationChannelRequest,
    response: NotificationChannel,
  }),
  deleteNotificationChannel: defineRoute({
    name: 'deleteNotificationChannel',
    method: 'DELETE',
    path: '/api/v1/notification-channels/:channelId',
    auth: 'user',
    permission: 'admin',
    // A second call finds nothing: 404, and nothing else changes.
    idempotent: true,
    summary: 'Delete a channel with its pending and past deliveries.',
    successStatus: 200,
    params: NotificationChannelPathParams,
    response: DeletedNotificationChannel,
  }),
  testNotificationChannel: defineRoute({
    name: 'testNotificationChannel',
    method: 'POST',
    path: '/api/v1/notification-channels/:channelId/test',
    auth: 'user',
    permission: 'write',
    // Each call sends a message: never resent automatically.
    idempotent: false,
    summary:
      'Send a test message through the channel now and answer how it went (tried once, recorded as a delivery).',
    successStatus: 200,
    params: NotificationChannelPathParams,
    response: TestNotificationChannelResponse,
  }),
  listNotificationDeliveries: defineRoute({
    name: 'listNotificationDeliveries',
    method: 'GET',
    path: '/api/v1/notification-channels/:channelId/deliveries',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: "A channel's deliveries, newest first, each with every attempt.",
    successStatus: 200,
    params: NotificationChannelPathParams,
    query: ListNotificationDeliveriesQuery,
    response: ListNotificationDeliveriesResponse,
  }),
} as const;
