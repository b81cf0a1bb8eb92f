import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  csumAdd, csumBlockAdd, csumBytes, csumFinish, csumFold, csumPartial, csumPartialDv, dataViewOf,
  pseudoHeaderSumV4,
} from '../../src/wire/index.js';
import { atOffset, hex, naiveFoldedSum } from './helpers.js';

describe('checksum', () => {
  it('RFC 1071 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, checksum 0x220d', () => {
    const b = hex('00 01 f2 03 f4 f5 f6 f7');
    const s = csumPartial(b, dataViewOf(b), 0, b.length, 0);
    assert.equal(csumFold(s), 0xddf2);
    assert.equal(csumFinish(s), 0x220d);
    assert.equal(csumBytes(b), 0x220d);
  });

  it('a valid IPv4 header (smoltcp vector, checksum d56e) sums to 0xffff', () => {
    const h = hex('45 00 00 1e 01 02 62 03 1a 01 d5 6e 11 12 13 14 21 22 23 24');
    assert.equal(csumBytes(h), 0);
    const z = h.slice();
    z[10] = 0;
    z[11] = 0;
    assert.equal(csumBytes(z), 0xd56e);
  });

  it('odd length pads the last byte as the high byte', () => {
    assert.equal(csumFold(csumPartial(hex('01'), dataViewOf(hex('01')), 0, 1, 0)), 0x0100);
    const b = hex('00 01 f2 03 f4 f5 f6');
    assert.equal(csumFold(csumPartial(b, dataViewOf(b), 0, 7, 0)), (0x0001 + 0xf203 + 0xf4f5 + 0xf600) % 0xffff);
  });

  it('csumFold edge values', () => {
    assert.equal(csumFold(0), 0);
    assert.equal(csumFold(0xffff), 0xffff);
    assert.equal(csumFold(0x1fffe), 0xffff);
    assert.equal(csumFold(0x10000), 1);
    assert.equal(csumFold(0xffffffff), 0xffff);
    assert.equal(csumFold(2 ** 52 + 5), csumFold((2 ** 52) % 0xffff + 5));
    assert.equal(csumFinish(0xffff), 0);
    assert.equal(csumFinish(0), 0xffff);
  });

  it('matches a naive byte-pair implementation at any offset/length (property)', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(), fc.nat(), fc.nat(7),
      (data, a, b, pad) => {
        const buf = atOffset(data, pad);
        const dv = dataViewOf(buf);
        const off = data.length === 0 ? 0 : a % (data.length + 1);
        const len = b % (data.length - off + 1);
        assert.equal(csumFold(csumPartial(buf, dv, off, len, 0)), naiveFoldedSum(data, off, len));
        assert.equal(csumFold(csumPartialDv(dv, off, len, 0)), naiveFoldedSum(data, off, len));
      }), { numRuns: 500 });
  });

  it('every size class (header-sized, medium, ≥ 4 KiB two-accumulator) matches the naive sum, with any running sum (property)', () => {
    // the sizes straddle the thresholds of csumPartial's three paths; the running sums include
    // the small path's limit (2^30 - 1) and values far above it
    const big = new Uint8Array(70_000);
    fc.assert(fc.property(
      fc.constantFrom(0, 1, 19, 20, 63, 64, 65, 66, 1447, 1448, 4095, 4096, 4097, 4127, 9000, 65483, 65535),
      fc.nat(), fc.nat(4096), fc.constantFrom(0, 1, 0xffff, 0x3fffffff, 0x40000000, 2 ** 40 + 7, 2 ** 48 - 1),
      (len, seed, off, sum) => {
        let x = seed | 1;
        for (let i = 0; i < off + len; i++) {
          x = (Math.imul(x, 1103515245) + 12345) | 0;
          big[i] = x >>> 24;
        }
        const dv = dataViewOf(big);
        const want = csumFold(naiveFoldedSum(big, off, len) + sum);
        const got = csumPartial(big, dv, off, len, sum);
        assert.equal(csumFold(got), want);
        // the result is a small integer (< 2^17): passed between functions unboxed
        assert.ok(Number.isInteger(got) && got >= 0 && got < 2 ** 17);
      }), { numRuns: 300 });
    // all-0xff data: every word at its largest, the accumulators' worst case
    big.fill(0xff);
    for (const len of [64, 4096, 65535]) {
      assert.equal(csumFold(csumPartial(big, dataViewOf(big), 1, len, 2 ** 48 - 1)), csumFold(naiveFoldedSum(big, 1, len) + 2 ** 48 - 1));
    }
  });

  it('split sums combine with csumBlockAdd, odd split points included (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.nat(), (data, k1, k2) => {
      const dv = dataViewOf(data);
      const a = k1 % (data.length + 1);
      const b = a + (k2 % (data.length - a + 1));
      let s = csumPartial(data, dv, 0, a, 0);
      s = csumBlockAdd(s, csumPartial(data, dv, a, b - a, 0), a);
      s = csumBlockAdd(s, csumPartial(data, dv, b, data.length - b, 0), b);
      assert.equal(csumFold(s), naiveFoldedSum(data, 0, data.length));
    }), { numRuns: 500 });
  });

  it('large buffers and large running sums stay exact', () => {
    const big = new Uint8Array((1 << 20) + 3);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131 + 7) & 0xff;
    const dv = dataViewOf(big);
    const want = naiveFoldedSum(big, 0, big.length);
    assert.equal(csumFold(csumPartial(big, dv, 0, big.length, 0)), want);
    const ones = new Uint8Array(1 << 21).fill(0xff);
    assert.equal(csumFold(csumPartial(ones, dataViewOf(ones), 0, ones.length, 0)), 0xffff);
    // Chain many partial sums without folding: the accumulator must stay exact.
    let s = 0;
    for (let i = 0; i < 16; i++) s = csumPartial(ones, dataViewOf(ones), 0, ones.length, s);
    assert.ok(Number.isSafeInteger(s) && s >= 0);
    assert.equal(csumFold(s), 0xffff);
    const start = 2 ** 52 - 1;
    const s2 = csumPartial(big, dv, 0, big.length, start);
    assert.ok(Number.isSafeInteger(s2));
    assert.equal(csumFold(s2), csumFold(csumAdd(csumFold(start), want)));
  });

  it('stays exact on buffers whose word sum exceeds 2^53 (chunked folding)', () => {
    const n = (1 << 24) + 7; // 16 MiB of mostly 0xff: ~2^54 if summed without folding
    const b = new Uint8Array(n).fill(0xff);
    let x = 12345;
    for (let i = 0; i < n; i += 97) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    assert.equal(csumFold(csumPartial(b, dataViewOf(b), 0, n, 0)), naiveFoldedSum(b, 0, n));
  });

  it('pseudoHeaderSumV4 equals the sum of the 12 pseudo-header bytes', () => {
    fc.assert(fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(255), fc.nat(0xffff), (src, dst, p, l) => {
      const ph = new Uint8Array(12);
      const dv = dataViewOf(ph);
      dv.setUint32(0, src);
      dv.setUint32(4, dst);
      dv.setUint8(9, p);
      dv.setUint16(10, l);
      assert.equal(csumFold(pseudoHeaderSumV4(src, dst, p, l)), naiveFoldedSum(ph, 0, 12));
    }));
  });
});
