import { describe, expect, it } from 'vitest';
import { canonicalJson, specContentDigest } from './specDigest.js';

/**
 * The digests are stored in every inventory: a change of their text would reinstall every job
 * of every agent on upgrade. These values were produced by the first implementation.
 */
describe('canonicalJson', () => {
  it('sorts keys, leaves undefined members out, and writes arrays as join() does', () => {
    expect(
      canonicalJson({
        b: [1, undefined, 'x', null, { z: undefined, y: 'é\u2028"' }],
        a: { B: '1', A: '2', a: '3', _: '' },
        n: -0.5,
        t: true,
        e: [],
        o: {},
      }),
    ).toBe(
      '{"a":{"A":"2","B":"1","_":"","a":"3"},"b":[1,,"x",null,{"y":"é\u2028\\""}],"e":[],"n":-0.5,"o":{},"t":true}',
    );
  });

  it('gives the digest the inventories already hold, whatever the revision', () => {
    const spec = { version: 1, id: 'ops/tidy', revision: 'a'.repeat(40), command: ['echo', 'hi'] };
    expect(specContentDigest(spec)).toBe(specContentDigest({ ...spec, revision: 'b'.repeat(40) }));
    expect(specContentDigest(spec)).toBe(
      'd3a381ab4ec2300d39d0b20c9c342b5d44aa8722b2ff19a7dba28d16e656b010',
    );
  });
});
