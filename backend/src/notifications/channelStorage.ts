import type { NotificationChannel, ValidationIssue } from '@cronfleet/core/api';
import { formatIssuePath } from '@cronfleet/core/api';
import type { BackendConfig } from '../env.js';
import type { notificationChannels } from '../db/schema.js';
import { channelKindNames, channelKindOf, parseChannelConfig } from './channelRegistry.js';
import type { ChannelKindName } from './channelRegistry.js';
import { openChannelSecrets, sealChannelSecrets } from './channelSecrets.js';
import { OutboundClient } from './outboundHttp.js';
import { loadSecretsKey, SecretBox } from './secretBox.js';

/**
 * How a channel is stored: `config` holds the kind's non-secret fields; `sealed_secrets` a JSON
 * object of the secret fields, each sealed on its own (channelSecrets.ts binds each to the
 * channel's id and the field's name), or null when none is set. Showing a channel needs no key:
 * the names of the secret fields set are the keys of that object.
 */

export type ChannelRow = typeof notificationChannels.$inferSelect;

export function isChannelKindName(kind: string): kind is ChannelKindName {
  return (channelKindNames as string[]).includes(kind);
}

/** The kind of a stored row; a row of a kind this backend does not know is a bug or a downgrade. */
export function kindOfRow(row: Pick<ChannelRow, 'kind' | 'name'>): ChannelKindName {
  if (!isChannelKindName(row.kind)) {
    throw new Error(`notification channel ${row.name} has the unknown kind ${row.kind}`);
  }
  return row.kind;
}

function sealedFieldsOf(sealedSecrets: string | null): Record<string, string> {
  if (sealedSecrets === null) return {};
  return JSON.parse(sealedSecrets) as Record<string, string>;
}

/** The channel as the API shows it: never a secret, only which secret fields are set. */
export function toChannelView(row: ChannelRow): NotificationChannel {
  return {
    id: row.id,
    name: row.name,
    kind: kindOfRow(row),
    isDefault: row.isDefault,
    config: row.config,
    secretFieldsSet: Object.keys(sealedFieldsOf(row.sealedSecrets)).sort(),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A complete configuration, split into what is stored as it is and what is sealed. */
export function sealConfig(
  kind: ChannelKindName,
  channelId: string,
  config: Record<string, unknown>,
  box: SecretBox,
): { config: Record<string, unknown>; sealedSecrets: string | null } {
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  const secretFields = new Set<string>(channelKindOf(kind).secretFields);
  for (const [field, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (secretFields.has(field)) secrets[field] = value;
    else plain[field] = value;
  }
  const sealed = sealChannelSecrets(kind, channelId, secrets, box);
  return {
    config: plain,
    sealedSecrets: Object.keys(sealed).length === 0 ? null : JSON.stringify(sealed),
  };
}

/** The complete configuration of a stored channel, its secrets opened: for delivery only. */
export function openConfig(row: ChannelRow, box: SecretBox): Record<string, unknown> {
  const kind = kindOfRow(row);
  const opened = openChannelSecrets(kind, row.id, sealedFieldsOf(row.sealedSecrets), box);
  return { ...row.config, ...opened };
}

/**
 * Checks a configuration against its kind's schema. The issues are located under `config`
 * (`config.url: must be an http:// or https:// URL`), for a 400 that says where to fix.
 */
export function checkConfig(
  kind: ChannelKindName,
  config: unknown,
):
  | { success: true; config: Record<string, unknown> }
  | { success: false; issues: ValidationIssue[] } {
  const parsed = parseChannelConfig(kind, config);
  if (parsed.success) return { success: true, config: parsed.data };
  return {
    success: false,
    issues: parsed.error.issues.map((issue) => ({
      path: formatIssuePath(['config', ...issue.path]),
      message: issue.message,
    })),
  };
}

/**
 * A merge patch (RFC 7396, one level) of a configuration: a field given replaces, null removes,
 * a field left out is kept.
 */
export function mergeConfig(
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged = { ...current };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete merged[field];
    else merged[field] = value;
  }
  return merged;
}

/**
 * What delivering needs besides the database: the guarded HTTP client and the key that opens
 * channel secrets. The key is read (or generated into the data directory) the first time it is
 * needed, once, so that a backend without channels never writes a key file.
 */
export interface NotificationRuntime {
  readonly outbound: OutboundClient;
  secretBox(): Promise<SecretBox>;
}

export function createNotificationRuntime(config: BackendConfig): NotificationRuntime {
  let box: Promise<SecretBox> | undefined;
  return {
    outbound: new OutboundClient({ allowedNetworks: config.notificationAllowedNetworks }),
    secretBox: () => {
      box ??= loadSecretsKey({ configuredKey: config.secretsKey, dataDir: config.dataDir }).then(
        (loaded) => new SecretBox(loaded.key),
      );
      // A failure (a key file of the wrong mode) is tried again next time, once fixed.
      box.catch(() => {
        box = undefined;
      });
      return box;
    },
  };
}
