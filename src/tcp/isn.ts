/**
 * Initial sequence numbers and timestamp offsets, RFC 6528 as Linux does them
 * (net/core/secure_seq.c): ISN = F(saddr, daddr, sport, dport, secret) + M, where F is SipHash-2-4
 * keyed with a per-host secret and M is a clock ticking every 64 ns (Linux `seq_scale`:
 * ktime ns >> 6, so the sequence space wraps about every 274 s). The timestamp offset
 * (`secure_tcp_ts_off`) is the same keyed hash of the address pair with a second secret.
 *
 * Also home of the SipHash-2-4 primitive (`siphash24`) the SYN cookies use. Pure: no I/O, no
 * clock of its own (callers pass the time in µs), no allocation per call (a module scratch
 * buffer holds the hashed bytes). Secrets come from the host's seeded `Rng`.
 */
import { isV4, type Addr } from '../inet/index.js';
import type { Rng } from '../rand/index.js';

/** a 128-bit SipHash key as four u32 words: k0 low, k0 high, k1 low, k1 high (little-endian halves) */
export type SipKey = Uint32Array;

/** a fresh random SipHash key drawn from `rng` (Linux `net_get_random_once`) */
export function sipKeyFrom(rng: Rng): SipKey {
  const k = new Uint32Array(4);
  for (let i = 0; i < 4; i++) k[i] = rng.nextU32();
  return k;
}

/** a SipHash key from 16 bytes, as the reference implementation reads them */
export function sipKeyFromBytes(b: Uint8Array): SipKey {
  const k = new Uint32Array(4);
  for (let i = 0; i < 4; i++) k[i] = (b[4 * i] | (b[4 * i + 1] << 8) | (b[4 * i + 2] << 16) | (b[4 * i + 3] << 24)) >>> 0;
  return k;
}

// ---- SipHash-2-4 on 32-bit halves: V[2i] = high word of v_i, V[2i+1] = low word ----

const V = new Uint32Array(8);

function add(a: number, b: number): void {
  const lo = V[a + 1] + V[b + 1];
  V[a] = V[a] + V[b] + (lo > 0xffffffff ? 1 : 0);
  V[a + 1] = lo;
}

function rotl(a: number, n: number): void {
  const hi = V[a];
  const lo = V[a + 1];
  if (n === 32) {
    V[a] = lo;
    V[a + 1] = hi;
    return;
  }
  V[a] = (hi << n) | (lo >>> (32 - n));
  V[a + 1] = (lo << n) | (hi >>> (32 - n));
}

function xor(a: number, b: number): void {
  V[a] ^= V[b];
  V[a + 1] ^= V[b + 1];
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(): void {
  add(V0, V1); rotl(V1, 13); xor(V1, V0); rotl(V0, 32);
  add(V2, V3); rotl(V3, 16); xor(V3, V2);
  add(V0, V3); rotl(V3, 21); xor(V3, V0);
  add(V2, V1); rotl(V1, 17); xor(V1, V2); rotl(V2, 32);
}

function absorb(mlo: number, mhi: number): void {
  V[V3] ^= mhi;
  V[V3 + 1] ^= mlo;
  sipRound();
  sipRound();
  V[V0] ^= mhi;
  V[V0 + 1] ^= mlo;
}

function le32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** high 32 bits of the last `siphash24` result */
export let sipHashHi = 0;

/**
 * SipHash-2-4 of bytes [0, len) of `msg` under `key`; returns the low 32 bits of the 64-bit result
 * (what Linux keeps when it stores a siphash in a u32) and leaves the high 32 bits in `sipHashHi`.
 */
export function siphash24(key: SipKey, msg: Uint8Array, len: number): number {
  const k0lo = key[0];
  const k0hi = key[1];
  const k1lo = key[2];
  const k1hi = key[3];
  V[V0] = k0hi ^ 0x736f6d65; V[V0 + 1] = k0lo ^ 0x70736575;
  V[V1] = k1hi ^ 0x646f7261; V[V1 + 1] = k1lo ^ 0x6e646f6d;
  V[V2] = k0hi ^ 0x6c796765; V[V2 + 1] = k0lo ^ 0x6e657261;
  V[V3] = k1hi ^ 0x74656462; V[V3 + 1] = k1lo ^ 0x79746573;
  const full = len & ~7;
  for (let i = 0; i < full; i += 8) absorb(le32(msg, i), le32(msg, i + 4));
  // last block: the remaining bytes, little-endian, with len mod 256 in the top byte
  let lo = 0;
  let hi = (len & 0xff) << 24;
  for (let i = full; i < len; i++) {
    const s = (i - full) * 8;
    if (s < 32) lo |= msg[i] << s;
    else hi |= msg[i] << (s - 32);
  }
  absorb(lo >>> 0, hi >>> 0);
  V[V2 + 1] ^= 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  sipHashHi = (V[V0] ^ V[V1] ^ V[V2] ^ V[V3]) >>> 0;
  return (V[V0 + 1] ^ V[V1 + 1] ^ V[V2 + 1] ^ V[V3 + 1]) >>> 0;
}

// ---- the message scratch: addresses in network byte order, ports big-endian ----

/** bytes hashed for one flow (IPv6: 16 + 16 + 4 + 2 + 2) */
export const FLOW_SCRATCH = new Uint8Array(40);
const FLOW_DV = new DataView(FLOW_SCRATCH.buffer);

/** writes `a` at `off` (4 bytes for IPv4, 16 for IPv6); returns the next offset */
export function putAddr(off: number, a: Addr, v4: boolean): number {
  if (v4) {
    FLOW_DV.setUint32(off, a.w3);
    return off + 4;
  }
  FLOW_DV.setUint32(off, a.w0);
  FLOW_DV.setUint32(off + 4, a.w1);
  FLOW_DV.setUint32(off + 8, a.w2);
  FLOW_DV.setUint32(off + 12, a.w3);
  return off + 16;
}

/** writes a u32 (big-endian) at `off`; returns the next offset */
export function putU32(off: number, v: number): number {
  FLOW_DV.setUint32(off, v >>> 0);
  return off + 4;
}

/** writes two ports (big-endian) at `off`; returns the next offset */
export function putPorts(off: number, sport: number, dport: number): number {
  FLOW_DV.setUint16(off, sport & 0xffff);
  FLOW_DV.setUint16(off + 2, dport & 0xffff);
  return off + 4;
}

// ---- RFC 6528 ----

/**
 * Linux `seq_scale`'s clock M at `nowUs`: nanoseconds >> 6 (one tick per 64 ns), modulo 2^32.
 * Exact for any integer µs below 2^53 / 125.
 */
export function seqClock(nowUs: number): number {
  return Math.floor((nowUs * 125) / 8) % 4294967296;
}

/** per-host secrets (Linux `net_secret` and `ts_secret`) */
export class IsnSecrets {
  readonly net: SipKey;
  readonly ts: SipKey;

  constructor(rng: Rng) {
    this.net = sipKeyFrom(rng);
    this.ts = sipKeyFrom(rng);
  }
}

/**
 * Linux `secure_tcp_seq` / `secure_tcpv6_seq`: the ISN for a connection from (saddr, sport) to
 * (daddr, dport) at `nowUs`. The family comes from the addresses (IPv4 is v4-mapped).
 */
export function secureTcpSeq(s: IsnSecrets, saddr: Addr, daddr: Addr, sport: number, dport: number, nowUs: number): number {
  const v4 = isV4(saddr) && isV4(daddr);
  let n = putAddr(0, saddr, v4);
  n = putAddr(n, daddr, v4);
  n = putPorts(n, sport, dport);
  return (siphash24(s.net, FLOW_SCRATCH, n) + seqClock(nowUs)) >>> 0;
}

/**
 * Linux `secure_tcp_ts_off` / `secure_tcpv6_ts_off`: the offset added to this connection's TSval
 * clock (0 when timestamps are not randomized, `tcp_timestamps` != 1).
 */
export function secureTcpTsOff(s: IsnSecrets, saddr: Addr, daddr: Addr, randomize = true): number {
  if (!randomize) return 0;
  const v4 = isV4(saddr) && isV4(daddr);
  let n = putAddr(0, saddr, v4);
  n = putAddr(n, daddr, v4);
  return siphash24(s.ts, FLOW_SCRATCH, n);
}
