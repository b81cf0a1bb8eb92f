/**
 * src/tcp/isn.ts: SipHash-2-4 against the reference vectors and an independent BigInt
 * implementation; RFC 6528 ISNs (keyed per host and per 4-tuple, a 64 ns clock) and Linux's
 * timestamp offsets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../src/inet/index.js';
import { Rng } from '../../src/rand/index.js';
import {
  IsnSecrets, seqClock, secureTcpSeq, secureTcpTsOff, sipHashHi, sipKeyFromBytes, siphash24,
} from '../../src/tcp/isn.js';

const M64 = (1n << 64n) - 1n;

/** SipHash-2-4 written straight from the paper with BigInt (independent of the module) */
function refSiphash(key: Uint8Array, msg: Uint8Array): bigint {
  const u64 = (b: Uint8Array, o: number): bigint => {
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[o + i]!);
    return v;
  };
  const rotl = (x: bigint, n: bigint): bigint => ((x << n) | (x >> (64n - n))) & M64;
  const k0 = u64(key, 0);
  const k1 = u64(key, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const padded = new Uint8Array((Math.floor(msg.length / 8) + 1) * 8);
  padded.set(msg);
  padded[padded.length - 1] = msg.length & 0xff;
  for (let o = 0; o < padded.length; o += 8) {
    const m = u64(padded, o);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & M64;
}

function seqBytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i);
}

function sip64(key: Uint8Array, msg: Uint8Array): bigint {
  const lo = siphash24(sipKeyFromBytes(key), msg, msg.length);
  return (BigInt(sipHashHi) << 32n) | BigInt(lo);
}

const A = InetAddr.parse('10.0.0.1');
const B = InetAddr.parse('10.0.0.2');
const A6 = InetAddr.parse('fd00::1');
const B6 = InetAddr.parse('fd00::2');

describe('SipHash-2-4', () => {
  it('matches the reference vectors (key 00..0f, message 00..n-1)', () => {
    const key = seqBytes(16);
    assert.equal(sip64(key, seqBytes(0)), 0x726fdb47dd0e0e31n);
    assert.equal(sip64(key, seqBytes(15)), 0xa129ca6149be45e5n, 'the paper\'s example');
  });

  it('matches an independent BigInt implementation for every length 0..64 and random keys', () => {
    const rng = new Rng(7);
    for (let len = 0; len <= 64; len++) {
      const key = Uint8Array.from({ length: 16 }, () => rng.nextU32() & 0xff);
      const msg = Uint8Array.from({ length: len }, () => rng.nextU32() & 0xff);
      assert.equal(sip64(key, msg), refSiphash(key, msg), `len ${len}`);
    }
  });

  it('hashes only the first len bytes of the buffer', () => {
    const key = seqBytes(16);
    const buf = seqBytes(40);
    const a = siphash24(sipKeyFromBytes(key), buf, 12);
    buf[20] = 0xff;
    assert.equal(siphash24(sipKeyFromBytes(key), buf, 12), a);
    buf[11] ^= 1;
    assert.notEqual(siphash24(sipKeyFromBytes(key), buf, 12), a);
  });
});

describe('RFC 6528 initial sequence numbers (Linux secure_tcp_seq)', () => {
  it('the clock ticks once per 64 ns and wraps at 2^32', () => {
    assert.equal(seqClock(0), 0);
    assert.equal(seqClock(1), 15); // 1000 ns >> 6
    assert.equal(seqClock(64), 1000);
    assert.equal(seqClock(1_000_000), 15_625_000);
    // 2^32 ticks = 274.877906944 s
    assert.equal(seqClock(274_877_906), (Math.floor(274_877_906 * 1000 / 64)) % 2 ** 32);
    assert.ok(seqClock(274_877_907) < 100);
  });

  it('same host, same 4-tuple: the ISN advances with the clock only', () => {
    const s = new IsnSecrets(new Rng(1));
    const i0 = secureTcpSeq(s, A, B, 40000, 80, 0);
    assert.equal(secureTcpSeq(s, A, B, 40000, 80, 0), i0, 'deterministic');
    assert.equal(secureTcpSeq(s, A, B, 40000, 80, 1_000_000), (i0 + 15_625_000) >>> 0, '15.625 M ticks per second');
    assert.equal(secureTcpSeq(s, A, B, 40000, 80, 64), (i0 + 1000) >>> 0);
  });

  it('every field of the 4-tuple and the host secret change the ISN', () => {
    const s = new IsnSecrets(new Rng(1));
    const base = secureTcpSeq(s, A, B, 40000, 80, 5);
    const variants = [
      secureTcpSeq(s, B, A, 40000, 80, 5),
      secureTcpSeq(s, A, InetAddr.parse('10.0.0.3'), 40000, 80, 5),
      secureTcpSeq(s, A, B, 40001, 80, 5),
      secureTcpSeq(s, A, B, 40000, 81, 5),
      secureTcpSeq(s, A, B, 80, 40000, 5), // ports swapped
      secureTcpSeq(new IsnSecrets(new Rng(2)), A, B, 40000, 80, 5),
      secureTcpSeq(s, A6, B6, 40000, 80, 5),
    ];
    for (const [i, v] of variants.entries()) assert.notEqual(v, base, `variant ${i}`);
    assert.equal(new Set(variants).size, variants.length);
  });

  it('ISNs of many ports spread over the whole space (no obvious bias)', () => {
    const s = new IsnSecrets(new Rng(3));
    const buckets = new Array<number>(16).fill(0);
    for (let p = 1; p <= 16_000; p++) buckets[secureTcpSeq(s, A, B, p, 80, 0) >>> 28]!++;
    for (const b of buckets) assert.ok(b > 800 && b < 1200, `bucket ${b}`);
  });

  it('IPv6 hashes all 128 bits of each address', () => {
    const s = new IsnSecrets(new Rng(4));
    const x = secureTcpSeq(s, InetAddr.parse('2001:db8::1'), B6, 1, 2, 0);
    assert.notEqual(secureTcpSeq(s, InetAddr.parse('2001:db9::1'), B6, 1, 2, 0), x);
    assert.notEqual(secureTcpSeq(s, InetAddr.parse('2001:db8:0:0:1::1'), B6, 1, 2, 0), x);
  });
});

describe('timestamp offsets (Linux secure_tcp_ts_off)', () => {
  it('keyed by the address pair with its own secret; 0 when not randomized', () => {
    const s = new IsnSecrets(new Rng(5));
    const off = secureTcpTsOff(s, A, B);
    assert.equal(secureTcpTsOff(s, A, B), off);
    assert.notEqual(secureTcpTsOff(s, B, A), off);
    assert.notEqual(secureTcpTsOff(s, A6, B6), off);
    assert.notEqual(secureTcpTsOff(new IsnSecrets(new Rng(6)), A, B), off);
    assert.equal(secureTcpTsOff(s, A, B, false), 0);
    // the ISN secret and the ts secret differ: hashing the same pair gives unrelated values
    assert.notEqual(off, (secureTcpSeq(s, A, B, 0, 0, 0)));
  });
});
