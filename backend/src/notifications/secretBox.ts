import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Encryption of notification channel secrets at rest: AES-256-GCM (node:crypto) in a versioned
 * envelope that names its key,
 *
 *     cfsec1.<key id>.<iv>.<ciphertext>.<tag>        (base64url parts)
 *
 * A 96-bit random IV per secret; the 128-bit tag authenticates the ciphertext, the version, the
 * key id and the caller's associated data (e.g. the channel id and the field), so a sealed value
 * moved to another row or field does not open. The key id (16 hex digits of an HMAC of the key)
 * tells which key sealed a value without revealing it, so a wrong key is a clear error, and a
 * later rotation can keep old keys by id.
 */

const envelopeVersion = 'cfsec1';
const keyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;

/** A secret that cannot be opened, or a key that cannot be used: needs a person. */
export class SecretsError extends Error {
  override readonly name = 'SecretsError';
}

export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== keyBytes) {
      throw new SecretsError(`the secrets key must be ${keyBytes} bytes, not ${key.length}`);
    }
    this.keyId = createHmac('sha256', key)
      .update('cronfleet secrets key id')
      .digest('hex')
      .slice(0, 16);
  }

  seal(plaintext: string, associatedData = ''): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: tagBytes });
    cipher.setAAD(this.aad(this.keyId, associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      envelopeVersion,
      this.keyId,
      iv.toString('base64url'),
      ciphertext.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  open(envelope: string, associatedData = ''): string {
    const parts = envelope.split('.');
    const [version, keyId, iv, ciphertext, tag] = parts;
    if (parts.length !== 5 || version !== envelopeVersion) {
      throw new SecretsError(`not a sealed secret (expected ${envelopeVersion}.<key id>.…)`);
    }
    if (keyId !== this.keyId) {
      throw new SecretsError(
        `this secret was sealed with key ${keyId}, but the configured key is ${this.keyId}; start the backend with the key that sealed it (CRONFLEET_SECRETS_KEY or the data directory's secrets.key)`,
      );
    }
    const ivBytesRead = Buffer.from(iv as string, 'base64url');
    const tagBytesRead = Buffer.from(tag as string, 'base64url');
    if (ivBytesRead.length !== ivBytes || tagBytesRead.length !== tagBytes) {
      throw new SecretsError('the sealed secret is damaged (IV or tag of the wrong length)');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, ivBytesRead, {
        authTagLength: tagBytes,
      });
      decipher.setAAD(this.aad(keyId, associatedData));
      decipher.setAuthTag(tagBytesRead);
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext as string, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch (error) {
      throw new SecretsError(
        'the sealed secret does not authenticate: it was altered, or belongs to another record',
        { cause: error },
      );
    }
  }

  private aad(keyId: string, associatedData: string): Buffer {
    return Buffer.from(`${envelopeVersion}.${keyId}.${associatedData}`, 'utf8');
  }
}

export const secretsKeyFileName = 'secrets.key';

export interface LoadedSecretsKey {
  readonly key: Buffer;
  /** configuration: CRONFLEET_SECRETS_KEY; file: an existing key file; generated: made now. */
  readonly source: 'configuration' | 'file' | 'generated';
  readonly path?: string;
}

/** Decodes base64 of exactly 32 bytes, or throws naming `where`. */
export function decodeSecretsKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== keyBytes) {
    throw new SecretsError(
      `${where} must hold base64 of ${keyBytes} bytes (openssl rand -base64 32)`,
    );
  }
  return key;
}

/**
 * The secrets key: CRONFLEET_SECRETS_KEY when configured, else `<dataDir>/secrets.key`, which is
 * generated the first time. The file is created whole or not at all: written to a private
 * temporary file (O_CREAT|O_EXCL, mode 0600), synced, then hard-linked to its name, which fails
 * if another process made it meanwhile (then that one is used). A key file that is not a regular
 * file owned by this user, or that anyone else may read or write, is refused: fix its mode rather
 * than have the backend use a key others may have copied.
 */
export async function loadSecretsKey(options: {
  configuredKey?: string | undefined;
  dataDir: string;
}): Promise<LoadedSecretsKey> {
  if (options.configuredKey !== undefined) {
    return {
      key: decodeSecretsKey(options.configuredKey, 'CRONFLEET_SECRETS_KEY'),
      source: 'configuration',
    };
  }
  const file = path.join(options.dataDir, secretsKeyFileName);
  const existing = await readKeyFile(file);
  if (existing !== undefined) return { key: existing, source: 'file', path: file };
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(keyBytes);
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(
    temporary,
    constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY,
    0o600,
  );
  try {
    await handle.writeFile(`${key.toString('base64')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process generated it first: use theirs.
    const theirs = await readKeyFile(file);
    if (theirs === undefined) throw error;
    return { key: theirs, source: 'file', path: file };
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  return { key, source: 'generated', path: file };
}

async function readKeyFile(file: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') {
      throw new SecretsError(`${file} is a symbolic link; the secrets key must be a regular file`);
    }
    throw error;
  }
  try {
    const status = await handle.stat();
    if (!status.isFile()) throw new SecretsError(`${file} is not a regular file`);
    if (process.platform !== 'win32') {
      const mode = status.mode & 0o777;
      if ((mode & 0o077) !== 0) {
        throw new SecretsError(
          `${file} has mode ${mode.toString(8).padStart(4, '0')}: other users may read or change the secrets key; run chmod 600 ${file} (and rotate the channel secrets if others could read it)`,
        );
      }
      const uid = process.getuid?.();
      if (uid !== undefined && status.uid !== uid) {
        throw new SecretsError(
          `${file} belongs to user ${status.uid}, not to the backend's user ${uid}`,
        );
      }
    }
    return decodeSecretsKey(await handle.readFile('utf8'), file);
  } finally {
    await handle.close();
  }
}
