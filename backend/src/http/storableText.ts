/**
 * Text that PostgreSQL can store. Two things a JSON string may hold cannot be stored: a NUL
 * (U+0000: `text` refuses it, and `jsonb` refuses the escape `\u0000`) and a lone surrogate
 * (U+D800 to U+DFFF without its pair: it has no UTF-8 form, and `jsonb` refuses the escape
 * `\ud800`). Either one used to make the statement fail, and the request with it, with a 500:
 * a heartbeat whose manifest error quotes a time zone `"UTC\u0000x"` failed on every tick.
 *
 * Every string of a request (body, query and path, after validation) is made storable here: each
 * NUL and each lone surrogate becomes U+FFFD (the replacement character), as bytes that are not
 * UTF-8 already do when a body is decoded. Validation runs first, so a field that forbids control
 * characters (names, labels, reasons) still refuses a NUL with a 400; free text (output, messages,
 * passwords) keeps everything else as sent. A valid surrogate pair (an emoji) is kept.
 */

/** Quick test: the string holds a NUL or some surrogate (paired or not). */
// eslint-disable-next-line no-control-regex -- a NUL is what this looks for
const maybeUnstorable = /[\u0000\uD800-\uDFFF]/;

/** A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high. */
// eslint-disable-next-line no-control-regex -- a NUL is what this looks for
const unstorable = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with each NUL and each lone surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  return maybeUnstorable.test(text) ? text.replace(unstorable, '\uFFFD') : text;
}

/**
 * `value` with every string in it made storable ({@link storableText}): strings, and the strings
 * inside arrays and plain objects (keys too), at any depth. Arrays and objects are changed in
 * place (they are the request's own, parsed from its JSON); `value` itself is answered.
 */
export function storableValues<Value>(value: Value): Value {
  if (typeof value === 'string') return storableText(value) as Value;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      value[index] = storableValues(value[index]);
    }
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype !== Object.prototype && prototype !== null) return value;
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const storableKey = storableText(key);
      const item = storableValues(record[key]);
      if (storableKey !== key) {
        delete record[key];
        record[storableKey] = item;
      } else if (item !== record[key]) {
        record[key] = item;
      }
    }
  }
  return value;
}
