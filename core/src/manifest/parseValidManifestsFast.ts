/**
 * The fast path of manifest parsing. The `yaml` library gives every node's position, which located
 * errors need, but it parses at about 2 MB/s; js-yaml parses the same YAML about ten times faster
 * and gives no positions. A job repository is nearly always valid, so each file is first read
 * here with js-yaml, and only when every document of the file is a valid manifest is the result
 * used. Anything unusual or wrong (a syntax error, an invalid manifest, anchors or aliases, tags,
 * directives, a duplicate key) returns null, and the caller parses the file again with `yaml` to
 * report located errors. So the two parsers can only disagree about files that are valid under
 * both, and they agree on those by construction:
 * - plain scalars resolve with the YAML 1.2 core schema rules of the `yaml` library (below),
 *   not js-yaml's own, so `0b11` or `1_000` stay strings in both;
 * - documents are split on document markers (`---`/`...` at the start of a line, which YAML
 *   forbids inside content), and a job's position is its document's first content character,
 *   as the `yaml` path reports it.
 * parseValidManifestsFast.test.ts checks, on generated and example repositories, that both paths
 * give identical jobs.
 */
import jsYaml from 'js-yaml';
import type { LoadedJob, LoadResult } from './parseManifestFile.js';
import { isPlainObject, isValidNamespace, namespaceFromPath } from './parseManifestFile.js';
import { checkCommonManifest } from './commonManifestCheck.js';
import { jobManifestSchema, manifestApiVersion, manifestKind } from './manifestSchema.js';

/**
 * A first-character test that every text the regular expression after it accepts passes: js-yaml
 * tries each type on every plain scalar, keys included, and most are words such as `schedule`.
 */
function startsWithOneOf(text: string, characters: string): boolean {
  return text.length > 0 && characters.includes(text[0] as string);
}

/** Exported for the equivalence tests. The YAML 1.2 core schema exactly as the `yaml` library resolves plain scalars. */
const coreScalarTypes = [
  new jsYaml.Type('tag:yaml.org,2002:null', {
    kind: 'scalar',
    resolve: (text: string) =>
      (text === '' || startsWithOneOf(text, '~nN')) && /^(?:~|[Nn]ull|NULL)?$/.test(text),
    construct: () => null,
  }),
  new jsYaml.Type('tag:yaml.org,2002:bool', {
    kind: 'scalar',
    resolve: (text: string) =>
      startsWithOneOf(text, 'tTfF') && /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(text),
    construct: (text: string) => text[0] === 't' || text[0] === 'T',
  }),
  new jsYaml.Type('tag:yaml.org,2002:int', {
    kind: 'scalar',
    resolve: (text: string) =>
      startsWithOneOf(text, '-+0123456789') &&
      /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/.test(text),
    construct: (text: string) =>
      text.startsWith('0o')
        ? parseInt(text.slice(2), 8)
        : text.startsWith('0x')
          ? parseInt(text.slice(2), 16)
          : parseInt(text, 10),
  }),
  new jsYaml.Type('tag:yaml.org,2002:float', {
    kind: 'scalar',
    resolve: (text: string) =>
      startsWithOneOf(text, '-+.0123456789') &&
      /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/.test(
        text,
      ),
    construct: (text: string) => {
      if (/nan$/i.test(text)) return NaN;
      if (/inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
      return parseFloat(text);
    },
  }),
];
export const coreSchema = jsYaml.FAILSAFE_SCHEMA.extend({ implicit: coreScalarTypes });

/**
 * Constructs the fast path leaves to the full parser: tags, directives, explicit keys `?`. The
 * test is lexical, so it also matches inside quoted text; that only costs speed, never a result.
 */
const unusualSyntax = /(?:^|[\s[{,])!|^%|^\s*\?\s/m;
/** More nodes than any manifest needs: leave it to the full parser (and its alias-bomb guard). */
const maxNodesPerDocument = 10_000;
const documentMarker = /^(?:---|\.\.\.)(?=[ \t\r\n]|$)/gm;

interface DocumentChunk {
  text: string;
  /** Offset of the document's first content character in the file text, or -1 if it has none. */
  contentStart: number;
}

/** Splits on document markers; each chunk is one document (a leading `---` line included). */
function splitDocuments(text: string): DocumentChunk[] | null {
  const starts: number[] = [0];
  for (const match of text.matchAll(documentMarker)) {
    if (match[0] === '...') return null; // explicit document end: leave it to the full parser
    if (match.index !== 0) starts.push(match.index);
  }
  const chunks: DocumentChunk[] = [];
  for (let index = 0; index < starts.length; index += 1) {
    const start = starts[index] ?? 0;
    const end = starts[index + 1] ?? text.length;
    chunks.push({ text: text.slice(start, end), contentStart: firstContent(text, start, end) });
  }
  return chunks;
}

/** The first character that is not blank, a comment or the `---` marker itself. */
function firstContent(text: string, start: number, end: number): number {
  let position = start;
  if (text.startsWith('---', position)) position += 3;
  while (position < end) {
    const character = text[position];
    if (character === ' ' || character === '\t' || character === '\r' || character === '\n') {
      position += 1;
    } else if (character === '#') {
      const newline = text.indexOf('\n', position);
      position = newline === -1 ? end : newline + 1;
    } else {
      return position;
    }
  }
  return -1;
}

/** Where a line starts: the line count walks forward from the previous document's, not from 1. */
interface LineCursor {
  line: number;
  lineStart: number;
}

function lineColumn(
  text: string,
  offset: number,
  cursor: LineCursor = { line: 1, lineStart: 0 },
): { line: number; column: number } {
  let { line, lineStart } = cursor;
  for (let newline = text.indexOf('\n', lineStart); newline !== -1 && newline < offset;) {
    line += 1;
    lineStart = newline + 1;
    newline = text.indexOf('\n', lineStart);
  }
  cursor.line = line;
  cursor.lineStart = lineStart;
  return { line, column: offset - lineStart + 1 };
}

/**
 * True when no list or mapping is reached twice (an alias of a collection, the stuff of alias
 * bombs) and the document is of a sane size; js-yaml shares aliased collections by reference.
 */
function isTreeOfSaneSize(root: unknown): boolean {
  const seen = new Set<object>();
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (seen.has(value) || seen.size >= maxNodesPerDocument) return false;
    seen.add(value);
    for (const child of Array.isArray(value) ? value : Object.values(value)) pending.push(child);
  }
  return true;
}

/**
 * The jobs of a file when every document in it is a valid manifest, else null (then the caller
 * parses it with the `yaml` library and reports located errors). `text` is decoded, BOM removed.
 */
export function parseValidManifestsFast(file: string, text: string): LoadResult | null {
  if (unusualSyntax.test(text)) return null;
  const chunks = splitDocuments(text);
  if (chunks === null) return null;
  const jobs: LoadedJob[] = [];
  // Documents come in order: each one's line is counted on from the previous one's.
  const cursor: LineCursor = { line: 1, lineStart: 0 };
  for (const chunk of chunks) {
    let value: unknown;
    try {
      value = jsYaml.load(chunk.text, { schema: coreSchema, filename: file });
    } catch {
      return null;
    }
    if (value === null || value === undefined) {
      if (chunk.contentStart === -1) continue; // an empty or comment-only document
      return null;
    }
    if (!isPlainObject(value) || chunk.contentStart === -1) return null;
    // Without an anchor (`&`) nothing is reached twice, and a text shorter than the node limit
    // cannot hold that many nodes: only other documents need the walk.
    const plainlySane = !chunk.text.includes('&') && chunk.text.length < maxNodesPerDocument;
    if (!plainlySane && !isTreeOfSaneSize(value)) return null;
    if (value.apiVersion !== manifestApiVersion || value.kind !== manifestKind) return null;
    const metadata = value.metadata;
    if (!isPlainObject(metadata)) return null;
    let candidate: Record<string, unknown> = value;
    if (metadata.namespace === undefined) {
      const derived = namespaceFromPath(file);
      if (!isValidNamespace(derived)) return null;
      candidate = { ...value, metadata: { ...metadata, namespace: derived } };
    }
    // The common shape is checked by hand; zod decides anything else (commonManifestCheck.ts).
    let manifest = checkCommonManifest(candidate);
    if (manifest === undefined) {
      const result = jobManifestSchema.safeParse(candidate);
      if (!result.success) return null;
      manifest = result.data;
    }
    const namespace = manifest.metadata.namespace ?? namespaceFromPath(file);
    jobs.push({
      namespace,
      name: manifest.metadata.name,
      id: `${namespace}/${manifest.metadata.name}`,
      file,
      ...lineColumn(text, chunk.contentStart, cursor),
      manifest,
    });
  }
  return { jobs, errors: [] };
}
