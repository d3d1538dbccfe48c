/** A file's bytes that cannot be read as manifest text, with the byte offset of the problem. */
export interface UndecodableText {
  byteOffset: number;
  message: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a manifest file strictly: UTF-8 only (a leading BOM is dropped), no NUL bytes. Binary
 * files and invalid UTF-8 give a problem instead of text.
 */
export function decodeManifestText(bytes: Uint8Array): { text: string } | UndecodableText {
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    return {
      byteOffset: nul,
      message:
        'binary content (a NUL byte): manifests are UTF-8 YAML text; move binary files out of the job repository or rename them so they do not end in .yaml/.yml',
    };
  }
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch {
    const byteOffset = firstInvalidUtf8Offset(bytes);
    const shown = (bytes[byteOffset] ?? 0).toString(16).padStart(2, '0');
    return {
      byteOffset,
      message: `invalid UTF-8 (byte 0x${shown} at byte offset ${byteOffset}): save the file as UTF-8`,
    };
  }
}

/** Offset of the first byte that breaks UTF-8 (RFC 3629: no overlongs, surrogates, > U+10FFFF). */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] ?? 0;
    if (lead < 0x80) {
      index++;
      continue;
    }
    // Continuation bytes needed, and the allowed range of the first one.
    let continuation: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) continuation = 1;
    else if (lead === 0xe0) [continuation, low] = [2, 0xa0];
    else if (lead === 0xed) [continuation, high] = [2, 0x9f];
    else if (lead >= 0xe1 && lead <= 0xef) continuation = 2;
    else if (lead === 0xf0) [continuation, low] = [3, 0x90];
    else if (lead === 0xf4) [continuation, high] = [3, 0x8f];
    else if (lead >= 0xf1 && lead <= 0xf3) continuation = 3;
    else return index;
    for (let step = 1; step <= continuation; step++) {
      const byte = bytes[index + step];
      if (byte === undefined) return index;
      const min = step === 1 ? low : 0x80;
      const max = step === 1 ? high : 0xbf;
      if (byte < min || byte > max) return index;
    }
    index += continuation + 1;
  }
  return bytes.length;
}

/** 1-based line and column (in bytes) of a byte offset. */
export function bytePosition(
  bytes: Uint8Array,
  byteOffset: number,
): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(byteOffset, bytes.length);
  for (let index = 0; index < end; index++) {
    if (bytes[index] === 0x0a) {
      line++;
      lineStart = index + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}
