import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LINKTYPE_ETHERNET, PCAP_DEFAULT_SNAPLEN, PCAP_GLOBAL_HEADER_LEN, PCAP_RECORD_HEADER_LEN, dataViewOf, readPcap,
  writePcapGlobalHeader, writePcapRecordHeader,
} from '../../src/wire/index.js';
import { SYN_FRAME, hex, toHex } from './helpers.js';

function file(records: { tsUs: number; data: Uint8Array; origLen?: number }[]): Uint8Array {
  let n = PCAP_GLOBAL_HEADER_LEN;
  for (const r of records) n += PCAP_RECORD_HEADER_LEN + r.data.length;
  const b = new Uint8Array(n);
  const dv = dataViewOf(b);
  let p = writePcapGlobalHeader(dv, 0, LINKTYPE_ETHERNET, PCAP_DEFAULT_SNAPLEN);
  for (const r of records) {
    p += writePcapRecordHeader(dv, p, r.tsUs, r.data.length, r.origLen ?? r.data.length);
    b.set(r.data, p);
    p += r.data.length;
  }
  return b;
}

describe('pcap', () => {
  it('writes the classic little-endian microsecond format byte-exactly', () => {
    const b = file([{ tsUs: 1700000000123456, data: SYN_FRAME }]);
    assert.equal(toHex(b.subarray(0, 24)), toHex(hex('d4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 00 00 04 00 01 00 00 00')));
    assert.equal(toHex(b.subarray(24, 40)), toHex(hex('00 f1 53 65 40 e2 01 00 4a 00 00 00 4a 00 00 00')));
    assert.equal(toHex(b.subarray(40)), toHex(SYN_FRAME));
  });

  it('reads back what it wrote', () => {
    const b = file([{ tsUs: 1700000000123456, data: SYN_FRAME }, { tsUs: 1700000001000000, data: SYN_FRAME.subarray(0, 14), origLen: 74 }]);
    const f = readPcap(b);
    assert.equal(f.linktype, LINKTYPE_ETHERNET);
    assert.equal(f.snaplen, PCAP_DEFAULT_SNAPLEN);
    assert.equal(f.records.length, 2);
    assert.deepEqual(f.records.map((r) => [r.tsUs, r.capLen, r.origLen]), [[1700000000123456, 74, 74], [1700000001000000, 14, 74]]);
    assert.equal(toHex(f.records[0].data), toHex(SYN_FRAME));
  });

  it('reads big-endian and nanosecond files', () => {
    const be = hex(`a1 b2 c3 d4 00 02 00 04 00 00 00 00 00 00 00 00 00 00 ff ff 00 00 00 01
                    00 00 00 02 00 00 00 03 00 00 00 01 00 00 00 01 ab`);
    const f = readPcap(be);
    assert.equal(f.snaplen, 65535);
    assert.deepEqual(f.records.map((r) => [r.tsUs, r.capLen, toHex(r.data)]), [[2000003, 1, 'ab']]);
    const ns = hex(`4d 3c b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 00 00 04 00 01 00 00 00
                    02 00 00 00 a0 86 01 00 00 00 00 00 00 00 00 00`);
    assert.equal(readPcap(ns).records[0].tsUs, 2000100);
  });

  it('throws on a bad magic or a truncated file', () => {
    const b = file([{ tsUs: 1, data: SYN_FRAME }]);
    const bad = b.slice();
    bad[0] = 0;
    assert.throws(() => readPcap(bad), TypeError);
    assert.throws(() => readPcap(b.subarray(0, 10)), RangeError);
    assert.throws(() => readPcap(b.subarray(0, 30)), RangeError);
    assert.throws(() => readPcap(b.subarray(0, b.length - 1)), RangeError);
  });

  it('round-trips timestamps and records (property)', () => {
    fc.assert(fc.property(fc.array(fc.record({ tsUs: fc.integer({ min: 0, max: 2 ** 32 * 1e6 - 1 }), data: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 5 }), (recs) => {
      const f = readPcap(file(recs));
      assert.deepEqual(f.records.map((r) => [r.tsUs, Array.from(r.data)]), recs.map((r) => [r.tsUs, Array.from(r.data)]));
    }));
  });
});
