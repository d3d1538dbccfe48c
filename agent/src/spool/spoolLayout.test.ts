import {
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adoptStaleClaims,
  parseSegmentName,
  SegmentClaim,
  segmentName,
  SpoolLayout,
} from './spoolLayout.js';

let scratch: string;
let layout: SpoolLayout;

beforeEach(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-spool-layout-'));
  layout = new SpoolLayout(scratch);
  await layout.ensure();
});

afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function putSegment(seq: number, text: string): string {
  const name = segmentName(seq);
  writeFileSync(path.join(layout.segmentsDir, name), text);
  return name;
}

describe('segment names', () => {
  it('sort by number and mark bare segments', () => {
    expect(segmentName(7)).toBe('000000000007.log');
    expect(segmentName(7, true)).toBe('000000000007.bare.log');
    expect(parseSegmentName('000000000007.bare.log')).toEqual({
      name: '000000000007.bare.log',
      seq: 7,
      bare: true,
    });
    expect(parseSegmentName('.000000000007.log.1a2b.tmp')).toBeUndefined();
  });
});

describe('SegmentClaim and adoptStaleClaims', () => {
  it('puts back the segments of a stale claim, drops its temporary files, and leaves live claims', async () => {
    const names = [putSegment(1, 'one'), putSegment(2, 'two'), putSegment(3, 'three')];
    putSegment(4, '');
    const dead = new SegmentClaim(layout);
    expect(await dead.take(names[0] ?? '')).toBe(true);
    expect(await dead.take(names[1] ?? '')).toBe(true);
    writeFileSync(path.join(dead.dir, '.000000000001.log.abcd.tmp'), 'half a rewrite');
    const live = new SegmentClaim(layout);
    expect(await live.take(names[2] ?? '')).toBe(true);
    // Another owner cannot take what is claimed.
    const other = new SegmentClaim(layout);
    expect(await other.take(names[0] ?? '')).toBe(false);
    await other.close();

    const now = Date.now();
    const old = new Date(now - 5 * 60_000);
    utimesSync(dead.dir, old, old);
    expect(await adoptStaleClaims(layout, 60_000, now)).toBe(2);
    expect(readdirSync(layout.segmentsDir).sort()).toEqual([
      '000000000001.log',
      '000000000002.log',
      '000000000004.log',
    ]);
    expect(readFileSync(path.join(layout.segmentsDir, '000000000002.log'), 'utf8')).toBe('two');
    expect(readdirSync(layout.sendingDir)).toEqual([path.basename(live.dir)]);
    expect(await layout.usage()).toEqual({ bytes: 11, segments: 3, claimedSegments: 1 });
  });

  it('never overwrites a segment when putting one back: a taken name gets a new highest number', async () => {
    const name = putSegment(1, 'claimed');
    putSegment(2, '');
    const claim = new SegmentClaim(layout);
    expect(await claim.take(name)).toBe(true);
    // Someone edited the folder by hand: the name is taken again.
    writeFileSync(path.join(layout.segmentsDir, name), 'foreign');
    await claim.release(name);
    await claim.close();
    expect(readdirSync(layout.segmentsDir).sort()).toEqual([
      '000000000001.log',
      '000000000002.log',
      '000000000003.log',
    ]);
    expect(readFileSync(path.join(layout.segmentsDir, '000000000001.log'), 'utf8')).toBe('foreign');
    expect(readFileSync(path.join(layout.segmentsDir, '000000000003.log'), 'utf8')).toBe('claimed');
    expect(readdirSync(layout.sendingDir)).toEqual([]);
  });

  it('finishes a move that a power loss cut between the link and the unlink', async () => {
    const name = putSegment(1, 'both places');
    putSegment(2, '');
    const claim = new SegmentClaim(layout);
    expect(await claim.take(name)).toBe(true);
    linkSync(claim.pathOf(name), path.join(layout.segmentsDir, name));
    await claim.release(name);
    await claim.close();
    expect(readdirSync(layout.segmentsDir).sort()).toEqual([
      '000000000001.log',
      '000000000002.log',
    ]);
    expect(readdirSync(layout.sendingDir)).toEqual([]);
  });

  it('a claimant that was taken for dead makes its folder again on its next take', async () => {
    putSegment(1, 'a');
    putSegment(2, 'b');
    putSegment(3, '');
    const slow = new SegmentClaim(layout);
    expect(await slow.take('000000000001.log')).toBe(true);
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(slow.dir, old, old);
    expect(await adoptStaleClaims(layout, 60_000)).toBe(1);
    expect(await slow.take('000000000002.log')).toBe(true);
    expect(readdirSync(slow.dir)).toEqual(['000000000002.log']);
    // What it held before was put back; deleting it now finds nothing and loses nothing.
    await slow.remove('000000000001.log');
    expect(readdirSync(layout.segmentsDir).sort()).toEqual([
      '000000000001.log',
      '000000000003.log',
    ]);
  });
});
