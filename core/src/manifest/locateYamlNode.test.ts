import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { locateYamlNode } from './locateYamlNode.js';
import type { ErrorTarget, KeyPath } from './manifestErrors.js';

const source = [
  'apiVersion: cronfleet.dev/v1', // 1
  'metadata:', // 2
  '  name: db', // 3
  'spec:', // 4
  '  command: [ls, "-l"]', // 5
  '  retries:', // 6
  '    limit: 11', // 7
  '  empty:', // 8
  '  shared: &x { a: 1 }', // 9
  '  again: *x', // 10
  '',
].join('\n');

function locate(path: KeyPath, target: ErrorTarget): string {
  const lineCounter = new LineCounter();
  const document = parseDocument(source, { lineCounter });
  const location = locateYamlNode(document.contents, path, target);
  const position = lineCounter.linePos(location.offset);
  return `${position.line}:${position.col}${location.exact ? '' : ' (closest)'}`;
}

describe('locateYamlNode', () => {
  it('points at values', () => {
    expect(locate(['apiVersion'], 'value')).toBe('1:13');
    expect(locate(['spec', 'retries', 'limit'], 'value')).toBe('7:12');
    expect(locate(['spec', 'command', 1], 'value')).toBe('5:17');
  });

  it('points at the key itself for unknown or invalid keys', () => {
    expect(locate(['spec', 'retries', 'limit'], 'key')).toBe('7:5');
    expect(locate(['metadata', 'name'], 'key')).toBe('3:3');
  });

  it('points at the key of the parent mapping for missing keys', () => {
    expect(locate(['spec', 'schedule'], 'parent')).toBe('4:1');
    expect(locate(['spec', 'retries', 'delay'], 'parent')).toBe('6:3');
    expect(locate(['kind'], 'parent')).toBe('1:1');
  });

  it('points at a key without a value', () => {
    expect(locate(['spec', 'empty'], 'value')).toBe('8:3');
    expect(locate(['spec', 'empty', 'deeper'], 'value')).toBe('8:3 (closest)');
  });

  it('stops at an alias rather than jumping to its anchor', () => {
    expect(locate(['spec', 'again', 'a'], 'value')).toBe('10:10 (closest)');
  });

  it('falls back to the closest existing node', () => {
    expect(locate(['spec', 'nope', 'deeper'], 'value')).toBe('5:3 (closest)');
    expect(locate(['spec', 'command', 7], 'value')).toBe('5:12 (closest)');
  });
});
