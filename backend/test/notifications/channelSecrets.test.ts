import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openChannelSecrets,
  sealChannelSecrets,
  withoutChannelSecrets,
} from '../../src/notifications/channelSecrets.js';
import { loadSecretsKey, SecretBox, SecretsError } from '../../src/notifications/secretBox.js';
import { loadBackendConfig, ConfigError } from '../../src/env.js';

/** Channel secrets at rest: the envelope, the key from configuration or a private key file. */

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-secrets-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('SecretBox (AES-256-GCM envelope)', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed; each sealing differs; the envelope names version and key', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const sealed = box.seal(secret, 'channel-1:signingSecret');
    expect(sealed).toMatch(
      new RegExp(`^cfsec1\\.${box.keyId}\\.[\\w-]{16}\\.[\\w-]+\\.[\\w-]{22}$`),
    );
    expect(sealed).not.toContain(secret);
    expect(box.seal(secret, 'channel-1:signingSecret')).not.toBe(sealed);
    expect(box.open(sealed, 'channel-1:signingSecret')).toBe(secret);
    expect(box.open(box.seal('', ''), '')).toBe('');
  });

  it('detects tampering with any part of the envelope', () => {
    const sealed = box.seal('routing key 0123456789abcdef', 'ctx');
    const parts = sealed.split('.');
    for (const index of [2, 3, 4]) {
      const changed = [...parts];
      const part = changed[index] as string;
      changed[index] = (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
      expect(() => box.open(changed.join('.'), 'ctx'), `part ${index}`).toThrow(SecretsError);
    }
    expect(() => box.open(sealed.replace(/^cfsec1/, 'cfsec2'), 'ctx')).toThrow(
      /not a sealed secret/,
    );
    expect(() => box.open('plaintext', 'ctx')).toThrow(/not a sealed secret/);
  });

  it('refuses a value moved to another record (associated data)', () => {
    const sealed = box.seal('hunter2', 'notification-channel:a:password');
    expect(() => box.open(sealed, 'notification-channel:b:password')).toThrow(
      /does not authenticate/,
    );
  });

  it('names both keys when opened with the wrong one', () => {
    const other = new SecretBox(randomBytes(32));
    const sealed = box.seal('hunter2');
    expect(() => other.open(sealed)).toThrow(
      `this secret was sealed with key ${box.keyId}, but the configured key is ${other.keyId}`,
    );
  });

  it('takes only 32-byte keys', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/must be 32 bytes/);
  });
});

describe('channel configurations', () => {
  const box = new SecretBox(randomBytes(32));

  it('seals and opens exactly the kind’s secret fields, and shows the rest', () => {
    const config = {
      url: 'https://hooks.example.com/x',
      signingSecret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
    };
    const sealed = sealChannelSecrets('webhook', 'chn_1', config, box);
    expect(sealed.url).toBe(config.url);
    expect(sealed.signingSecret).toMatch(/^cfsec1\./);
    expect(openChannelSecrets('webhook', 'chn_1', sealed, box)).toEqual(config);
    expect(() => openChannelSecrets('webhook', 'chn_2', sealed, box)).toThrow(SecretsError);
    expect(withoutChannelSecrets('webhook', sealed)).toEqual({
      config: { url: config.url },
      secretsSet: ['signingSecret'],
    });
    const email = { host: 'smtp.example.com', from: 'a@example.com', to: ['b@example.com'] };
    expect(withoutChannelSecrets('email', email)).toEqual({ config: email, secretsSet: [] });
  });
});

describe('the secrets key', () => {
  it('uses CRONFLEET_SECRETS_KEY when configured, and writes no file', async () => {
    const key = randomBytes(32);
    const loaded = await loadSecretsKey({ configuredKey: key.toString('base64'), dataDir });
    expect(loaded.source).toBe('configuration');
    expect(loaded.key.equals(key)).toBe(true);
    await expect(stat(path.join(dataDir, 'secrets.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('generates a key file of mode 0600 once, and reads the same key afterwards', async () => {
    const nested = path.join(dataDir, 'data');
    const first = await loadSecretsKey({ dataDir: nested });
    expect(first.source).toBe('generated');
    const file = path.join(nested, 'secrets.key');
    expect(first.path).toBe(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(nested)).mode & 0o777).toBe(0o700);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').equals(first.key)).toBe(
      true,
    );
    const again = await loadSecretsKey({ dataDir: nested });
    expect(again.source).toBe('file');
    expect(again.key.equals(first.key)).toBe(true);
  });

  it('gives every concurrent start the same key, and leaves no temporary file', async () => {
    const loaded = await Promise.all([1, 2, 3, 4].map(() => loadSecretsKey({ dataDir })));
    const keys = new Set(loaded.map((one) => one.key.toString('base64')));
    expect(keys.size).toBe(1);
    expect(loaded.filter((one) => one.source === 'generated')).toHaveLength(1);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dataDir)).toEqual(['secrets.key']);
  });

  it('refuses a key file that others may read, saying how to fix it', async () => {
    const file = path.join(dataDir, 'secrets.key');
    await writeFile(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await chmod(file, 0o644);
    await expect(loadSecretsKey({ dataDir })).rejects.toThrow(
      `${file} has mode 0644: other users may read or change the secrets key; run chmod 600 ${file}`,
    );
    await chmod(file, 0o640);
    await expect(loadSecretsKey({ dataDir })).rejects.toThrow(/has mode 0640/);
  });

  it('refuses a key file that is a symbolic link, or holds no 32-byte key', async () => {
    const target = path.join(dataDir, 'elsewhere.key');
    await writeFile(target, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await symlink(target, path.join(dataDir, 'secrets.key'));
    await expect(loadSecretsKey({ dataDir })).rejects.toThrow(/is a symbolic link/);
    await rm(path.join(dataDir, 'secrets.key'));
    await writeFile(path.join(dataDir, 'secrets.key'), 'short\n', { mode: 0o600 });
    await expect(loadSecretsKey({ dataDir })).rejects.toThrow(/must hold base64 of 32 bytes/);
  });
});

describe('settings', () => {
  it('reads CRONFLEET_SECRETS_KEY and CRONFLEET_NOTIFICATION_ALLOWED_NETWORKS', () => {
    const key = randomBytes(32).toString('base64');
    const config = loadBackendConfig({
      CRONFLEET_SECRETS_KEY: key,
      CRONFLEET_NOTIFICATION_ALLOWED_NETWORKS: '10.20.0.0/16, fd00:1234::/48,192.168.1.10',
    });
    expect(config.secretsKey).toBe(key);
    expect(config.notificationAllowedNetworks).toEqual([
      '10.20.0.0/16',
      'fd00:1234::/48',
      '192.168.1.10',
    ]);
    const defaults = loadBackendConfig({});
    expect(defaults.secretsKey).toBeUndefined();
    expect(defaults.notificationAllowedNetworks).toEqual([]);
  });

  it('refuses a key that is not base64 of 32 bytes, and a network that is not one', () => {
    expect(() => loadBackendConfig({ CRONFLEET_SECRETS_KEY: 'c2hvcnQ=' })).toThrow(ConfigError);
    expect(() => loadBackendConfig({ CRONFLEET_SECRETS_KEY: 'c2hvcnQ=' })).toThrow(
      'CRONFLEET_SECRETS_KEY: must be base64 of 32 bytes (openssl rand -base64 32)',
    );
    expect(() =>
      loadBackendConfig({ CRONFLEET_NOTIFICATION_ALLOWED_NETWORKS: '10.0.0.0/40' }),
    ).toThrow(/CRONFLEET_NOTIFICATION_ALLOWED_NETWORKS: each entry must be a network/);
  });
});
