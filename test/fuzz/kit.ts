/**
 * Test-only kit for the frame fuzz (not a test file):
 *  - `Rig`: host A and host B on a simulated wire; crafted frames are offered to the wire's a→b
 *    direction, so they reach B's NIC exactly as A's own frames do (serialization, delivery,
 *    NIC classification, header split, GRO);
 *  - `TxTap`: wraps a device's link to count (and optionally parse) every frame it transmits;
 *  - `ConnTrack`: follows one TCP connection's sequence space from the frames both ends send, so
 *    that forged segments can be aimed at its real 4-tuple and near its real snd_nxt / rcv_nxt;
 *  - `Built` frames with their layer offsets, and `fixChecksums`, an independent RFC 1071
 *    implementation that recomputes the IPv4 header and L4 checksums after a mutation.
 * Frames are plain byte arrays (Ethernet header first).
 */
import { skbCopyBits, type SkBuff } from '../../src/skb/index.js';
import type { LinkPort, NetDevice } from '../../src/netdev/index.js';
import type { SimWire } from '../../src/link/index.js';
import type { Host, Network } from '../../src/index.js';

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;

// ---- checksums (independent of src/wire/checksum.ts) ----

/** one's complement sum of `len` bytes at `off`, folded to 16 bits, added to `seed` */
export function sum16(b: Uint8Array, off: number, len: number, seed = 0): number {
  let s = seed;
  for (let i = 0; i < len; i += 2) {
    s += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
    if (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** the pseudo-header sum of the IP header at `l3` (v4 or v6 by its version nibble) */
export function pseudoSum(b: Uint8Array, l3: number, proto: number, l4Len: number): number {
  const v6 = b[l3]! >> 4 === 6;
  let s = v6 ? sum16(b, l3 + 8, 32) : sum16(b, l3 + 12, 8);
  s += proto + (l4Len & 0xffff) + (l4Len >>> 16);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** a frame with the offsets of its layers (-1: absent) */
export interface Built {
  bytes: Uint8Array;
  /** offset of the IP header */
  l3: number;
  /** offset of the L4 header, -1 for fragments and non-IP frames */
  l4: number;
  /** L4 protocol at `l4` */
  proto: number;
}

/**
 * Recomputes the IPv4 header checksum (when the IHL fits the frame) and the L4 checksum of TCP,
 * UDP, ICMP and ICMPv6 over the bytes the IP header says it carries, with the pseudo-header
 * read from the (possibly mutated) IP header. Never throws on any mutation.
 */
export function fixChecksums(f: Built): void {
  const b = f.bytes;
  if (f.l3 < 0 || b.length < f.l3 + 20) return;
  const ver = b[f.l3]! >> 4;
  let end = b.length;
  if (ver === 4) {
    const hl = (b[f.l3]! & 15) * 4;
    if (hl >= 20 && f.l3 + hl <= b.length) {
      b[f.l3 + 10] = 0;
      b[f.l3 + 11] = 0;
      const c = ~sum16(b, f.l3, hl) & 0xffff;
      b[f.l3 + 10] = c >> 8;
      b[f.l3 + 11] = c & 0xff;
    }
    end = Math.min(end, f.l3 + ((b[f.l3 + 2]! << 8) | b[f.l3 + 3]!));
  } else if (ver === 6) {
    if (b.length < f.l3 + 40) return;
    end = Math.min(end, f.l3 + 40 + ((b[f.l3 + 4]! << 8) | b[f.l3 + 5]!));
  } else {
    return;
  }
  if (f.l4 < 0) return;
  const len = end - f.l4;
  const csumAt = f.proto === 6 ? 16 : f.proto === 17 ? 6 : f.proto === 1 || f.proto === 58 ? 2 : -1;
  if (csumAt < 0 || len < csumAt + 2) return;
  b[f.l4 + csumAt] = 0;
  b[f.l4 + csumAt + 1] = 0;
  const seed = f.proto === 1 ? 0 : pseudoSum(b, f.l3, f.proto, len);
  let c = ~sum16(b, f.l4, len, seed) & 0xffff;
  if (c === 0 && f.proto === 17) c = 0xffff;
  b[f.l4 + csumAt] = c >> 8;
  b[f.l4 + csumAt + 1] = c & 0xff;
}

/** true when the L4 checksum of `f` verifies (test self-check of the builders) */
export function l4ChecksumOk(f: Built): boolean {
  const b = f.bytes;
  const ver = b[f.l3]! >> 4;
  const end = ver === 4 ? f.l3 + ((b[f.l3 + 2]! << 8) | b[f.l3 + 3]!) : f.l3 + 40 + ((b[f.l3 + 4]! << 8) | b[f.l3 + 5]!);
  const len = end - f.l4;
  const seed = f.proto === 1 ? 0 : pseudoSum(b, f.l3, f.proto, len);
  return sum16(b, f.l4, len, seed) === 0xffff;
}

// ---- taps ----

/** counts every frame a device transmits, and hands each (readable) frame to `onFrame` */
export class TxTap implements LinkPort {
  frames = 0;
  private scratch = new Uint8Array(2048);

  constructor(readonly inner: LinkPort, private readonly onFrame: ((b: Uint8Array) => void) | null) {}

  transmit(skb: SkBuff, from: NetDevice): void {
    this.frames++;
    if (this.onFrame !== null) {
      if (this.scratch.length < skb.len) this.scratch = new Uint8Array(skb.len);
      if (skbCopyBits(skb, 0, this.scratch, 0, skb.len) === 0) this.onFrame(this.scratch.subarray(0, skb.len));
    }
    this.inner.transmit(skb, from);
  }
}

/**
 * Follows one TCP connection from the frames its two ends transmit (first SYN seen from `a`
 * with `aPort` as source port, towards `bPort`; IPv4 or IPv6). Sequence numbers are u32.
 */
export class ConnTrack {
  aPort = -1;
  aIss = -1;
  bIss = -1;
  /** highest sequence number A has sent + 1: B's rcv_nxt once everything arrived */
  aSndNxt = 0;
  /** highest sequence number B has sent + 1 */
  bSndNxt = 0;
  /**
   * How far past aSndNxt (sequence space) forged segments reached: B may have taken their
   * window and sequence as the latest (snd_wl1), so A must send past them before B believes
   * A's own window updates again (as in Linux: a forged zero window stalls B until then)
   */
  forgedAhead = 0;
  /** the newest TSval A sent on the connection (-1: none seen) */
  aTsVal = -1;

  constructor(readonly bPort: number) {}

  /** starts following a new connection (the next SYN from A to bPort) */
  reset(): void {
    this.aPort = -1;
    this.aIss = -1;
    this.bIss = -1;
    this.forgedAhead = 0;
    this.aTsVal = -1;
  }

  /** frames transmitted by A */
  fromA = (b: Uint8Array): void => {
    const t = tcpOf(b);
    if (t < 0 || rd16(b, t + 2) !== this.bPort) return;
    const flags = b[t + 13]!;
    if (this.aPort < 0 && (flags & 0x12) === 0x02) {
      this.aPort = rd16(b, t);
      this.aIss = rd32(b, t + 4);
      this.aSndNxt = (this.aIss + 1) >>> 0;
    }
    if (rd16(b, t) !== this.aPort) return;
    const end = (rd32(b, t + 4) + tcpSegLen(b, t)) >>> 0;
    if (((end - this.aSndNxt) | 0) > 0) this.aSndNxt = end;
    const ts = tsValAt(b, t);
    if (ts >= 0 && (this.aTsVal < 0 || ((rd32(b, ts) - this.aTsVal) | 0) > 0)) this.aTsVal = rd32(b, ts);
  };

  /** frames transmitted by B */
  fromB = (b: Uint8Array): void => {
    const t = tcpOf(b);
    if (t < 0 || rd16(b, t) !== this.bPort || rd16(b, t + 2) !== this.aPort) return;
    const flags = b[t + 13]!;
    if ((flags & 0x12) === 0x12) {
      this.bIss = rd32(b, t + 4);
      this.bSndNxt = (this.bIss + 1) >>> 0;
    }
    const end = (rd32(b, t + 4) + tcpSegLen(b, t)) >>> 0;
    if (this.bIss >= 0 && ((end - this.bSndNxt) | 0) > 0) this.bSndNxt = end;
  };

  /** A's stream offset of sequence number `seq` (signed: negative before the first byte) */
  aOffset(seq: number): number {
    return (seq - ((this.aIss + 1) >>> 0)) | 0;
  }
}

export function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function rd32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** offset of the TCP header of an unfragmented IPv4/IPv6 (no extension headers) frame, else -1 */
export function tcpOf(b: Uint8Array): number {
  if (b.length < 14 + 40) return -1;
  const et = rd16(b, 12);
  if (et === ETH_P_IP) {
    if (b[23] !== 6 || (rd16(b, 20) & 0x3fff) !== 0) return -1;
    return 14 + (b[14]! & 15) * 4;
  }
  if (et === ETH_P_IPV6 && b[20] === 6 && b.length >= 14 + 60) return 54;
  return -1;
}

/**
 * Offset of the TSval of the timestamp option in the TCP header at `t` (options walked as a
 * receiver walks them), or -1 when there is none or the header does not fit the frame
 */
export function tsValAt(b: Uint8Array, t: number): number {
  if (t + 20 > b.length) return -1;
  const end = t + (b[t + 12]! >> 4) * 4;
  if (end > b.length) return -1;
  for (let o = t + 20; o < end;) {
    const kind = b[o]!;
    if (kind === 0) return -1;
    if (kind === 1) {
      o++;
      continue;
    }
    if (o + 1 >= end) return -1;
    const len = b[o + 1]!;
    if (len < 2 || o + len > end) return -1;
    if (kind === 8 && len === 10) return o + 2;
    o += len;
  }
  return -1;
}

/**
 * Keeps a forged segment on A's 4-tuple from carrying a TSval ahead of A's own clock (the newest
 * TSval A sent): B would take it as ts_recent when the segment is otherwise acceptable, and PAWS
 * would then drop A's real segments until ts_recent goes stale (TCP_PAWS_WRAP, longer than A
 * retransmits) — a mutation no peer recovers from, as with Linux, so the main fuzz leaves it to
 * its own test. Only frames B would take as they are (IPv4 header and TCP checksums valid, not
 * truncated) are changed, and their checksums are then recomputed.
 */
export function defuseTsVal(f: Built, conn: ConnTrack): void {
  const b = f.bytes;
  if (f.l3 < 0 || f.l4 < 0 || f.proto !== 6 || conn.aTsVal < 0 || f.l4 + 20 > b.length) return;
  if (rd16(b, f.l4) !== conn.aPort || rd16(b, f.l4 + 2) !== conn.bPort) return;
  const v4 = b[f.l3]! >> 4 === 4;
  const ipEnd = v4 ? f.l3 + rd16(b, f.l3 + 2) : f.l3 + 40 + rd16(b, f.l3 + 4);
  if (ipEnd > b.length || ipEnd < f.l4 + 20) return;
  if (v4 && sum16(b, f.l3, (b[f.l3]! & 15) * 4) !== 0xffff) return;
  if (!l4ChecksumOk(f)) return;
  const ts = tsValAt(b.subarray(0, ipEnd), f.l4);
  if (ts < 0 || ((rd32(b, ts) - conn.aTsVal) | 0) <= 0) return;
  const v = conn.aTsVal;
  b[ts] = v >>> 24;
  b[ts + 1] = (v >>> 16) & 0xff;
  b[ts + 2] = (v >>> 8) & 0xff;
  b[ts + 3] = v & 0xff;
  fixChecksums(f);
}

/** sequence space a TCP segment occupies (payload + SYN + FIN) */
function tcpSegLen(b: Uint8Array, t: number): number {
  const et = rd16(b, 12);
  const ipEnd = et === ETH_P_IP ? 14 + rd16(b, 16) : 54 + rd16(b, 18);
  const doff = (b[t + 12]! >> 4) * 4;
  const flags = b[t + 13]!;
  return ipEnd - t - doff + (flags & 0x02 ? 1 : 0) + (flags & 0x01 ? 1 : 0);
}

// ---- the ncdevmem pattern by stream offset ----

/** byte `k` (signed stream offset) of the ncdevmem pattern with period `p` (1, 2, …, p−1, '\n') */
export function patternByte(k: number, p: number): number {
  const pos = ((k % p) + p) % p;
  return pos === p - 1 ? 0x0a : pos + 1;
}

/** `len` pattern bytes starting at stream offset `k` */
export function patternBytes(k: number, len: number, p: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = patternByte(k + i, p);
  return out;
}

// ---- the rig ----

export interface Rig {
  net: Network;
  a: Host;
  b: Host;
  ea: NetDevice;
  eb: NetDevice;
  wire: SimWire;
  txA: TxTap;
  txB: TxTap;
}

/** installs the taps on both ends of `wire` */
export function tapWire(net: Network, a: Host, b: Host, ea: NetDevice, eb: NetDevice, wire: SimWire,
  fromA: ((b: Uint8Array) => void) | null, fromB: ((b: Uint8Array) => void) | null): Rig {
  const txA = new TxTap(ea.link!, fromA);
  const txB = new TxTap(eb.link!, fromB);
  ea.link = txA;
  eb.link = txB;
  return { net, a, b, ea, eb, wire, txA, txB };
}

/** offers a crafted frame to the wire towards B (the wire takes a private copy) */
export function inject(r: Rig, bytes: Uint8Array): void {
  const buf = bytes.slice();
  const skb = r.a.kernel.skbs.wrap(buf, new DataView(buf.buffer));
  r.wire.aToB.send(skb);
}

/** sum of the packets B's NIC accepted on all its rx queues */
export function nicRxPackets(dev: NetDevice): number {
  let n = 0;
  for (const q of dev.rxQueues) n += q.stats.rxPackets;
  return n;
}
