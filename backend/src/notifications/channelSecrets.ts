import type { ChannelKindName } from './channelRegistry.js';
import { channelKindOf } from './channelRegistry.js';
import type { SecretBox } from './secretBox.js';

/**
 * A channel configuration's secret fields, sealed for storage, opened for delivery, or left out
 * for display. `channelId` binds each sealed value to its channel and field (associated data), so
 * a value copied to another channel does not open.
 */

function associatedData(channelId: string, field: string): string {
  return `notification-channel:${channelId}:${field}`;
}

function transformSecrets(
  kind: ChannelKindName,
  config: Record<string, unknown>,
  change: (value: string, field: string) => string,
): Record<string, unknown> {
  const result = { ...config };
  for (const field of channelKindOf(kind).secretFields) {
    const value = result[field];
    if (typeof value === 'string') result[field] = change(value, field);
  }
  return result;
}

export function sealChannelSecrets(
  kind: ChannelKindName,
  channelId: string,
  config: Record<string, unknown>,
  box: SecretBox,
): Record<string, unknown> {
  return transformSecrets(kind, config, (value, field) =>
    box.seal(value, associatedData(channelId, field)),
  );
}

export function openChannelSecrets(
  kind: ChannelKindName,
  channelId: string,
  config: Record<string, unknown>,
  box: SecretBox,
): Record<string, unknown> {
  return transformSecrets(kind, config, (value, field) =>
    box.open(value, associatedData(channelId, field)),
  );
}

/** The configuration without its secrets, and which secrets it has: what may be shown. */
export function withoutChannelSecrets(
  kind: ChannelKindName,
  config: Record<string, unknown>,
): { config: Record<string, unknown>; secretsSet: string[] } {
  const shown = { ...config };
  const secretsSet: string[] = [];
  for (const field of channelKindOf(kind).secretFields) {
    if (shown[field] !== undefined) secretsSet.push(field);
    delete shown[field];
  }
  return { config: shown, secretsSet };
}
