/**
 * How `crontab -l` prints a crontab, and how to get the exact bytes back when it does not print
 * them as they are. Pure.
 *
 * Debian's and Ubuntu's crontab (since 3.0pl1-149, bug #585552) prints a carriage return as the
 * two characters `\r` and a backspace as `\b`, so that control characters cannot hide a line; it
 * does not escape backslashes. Its listing is therefore not the crontab: `crontab -l | crontab -`
 * turns every CRLF into a literal `\r` (for a command, a different command). When a listing
 * holds `\r` or `\b` the agent cannot tell from it alone which bytes the crontab has; as root it
 * reads the spool file and checks that it is what the listing shows (see crontabProcess.ts).
 * Other implementations (cronie) print raw bytes; a listing with a raw CR or BS comes from one.
 */

const backslash = 0x5c;
const carriageReturn = 0x0d;
const backspace = 0x08;
const newline = 0x0a;
const hash = 0x23;

/** The header `crontab -` writes into the spool file and `crontab -l` skips (Vixie cron). */
const headerLines = 3;

/** What Debian's `crontab -l` prints for `body`: CR as `\r`, BS as `\b`, all else as is. */
export function debianListingOf(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let index = 0; index < body.length; index += 1) {
    const byte = body[index];
    if (byte !== carriageReturn && byte !== backspace) continue;
    parts.push(body.subarray(from, index), Buffer.from(byte === carriageReturn ? '\\r' : '\\b'));
    from = index + 1;
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}

/**
 * The spool file without the header `crontab -` wrote: Vixie cron's `crontab -l` skips up to
 * three leading lines that start with `#`.
 */
export function withoutSpoolHeader(spoolFile: Buffer): Buffer {
  let offset = 0;
  for (let line = 0; line < headerLines && offset < spoolFile.length; line += 1) {
    if (spoolFile[offset] !== hash) break;
    const end = spoolFile.indexOf(newline, offset);
    offset = end === -1 ? spoolFile.length : end + 1;
  }
  return spoolFile.subarray(offset);
}

/**
 * The 1-based line of the first `\r` or `\b` in a listing that holds no raw CR or BS (which
 * would prove an implementation that does not escape), or undefined when the listing is exact.
 */
export function firstAmbiguousLine(listing: Buffer): number | undefined {
  if (listing.includes(carriageReturn) || listing.includes(backspace)) return undefined;
  // Native searches: a 10,000-job crontab is 2 MB, and few of its lines hold a backslash.
  for (let index = listing.indexOf(backslash); index !== -1 && index + 1 < listing.length;) {
    const next = listing[index + 1];
    if (next === 0x72 || next === 0x62) return lineAt(listing, index);
    index = listing.indexOf(backslash, index + 1);
  }
  return undefined;
}

/** The 1-based line number of the byte at `index`. */
function lineAt(listing: Buffer, index: number): number {
  let line = 1;
  for (
    let at = listing.indexOf(newline);
    at !== -1 && at < index;
    at = listing.indexOf(newline, at + 1)
  ) {
    line += 1;
  }
  return line;
}
