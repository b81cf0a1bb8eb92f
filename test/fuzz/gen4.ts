/**
 * Test-only: fast-check arbitraries for IPv4-side frames (ARP, IPv4 with options and fragments,
 * ICMP, UDP, TCP to a listener, to an established connection and to a closed port, raw junk)
 * and the builder that turns a description into wire bytes with the `src/wire` Reprs and valid
 * checksums. A description is plain data (printable by fast-check when a property fails); the
 * addresses, ports and sequence numbers it names are resolved against the live `Ctx4` when the
 * frame is built, so forged segments hit the established connection's real 4-tuple and land
 * near its real snd_nxt / rcv_nxt.
 */
import fc from 'fast-check';
import { emitArp, ARP_LEN } from '../../src/wire/arp.js';
import { emitEthernet, ETH_HLEN } from '../../src/wire/ethernet.js';
import { emitIcmpEcho } from '../../src/wire/icmp.js';
import { emitIpv4, IPV4_HLEN } from '../../src/wire/ipv4.js';
import { TcpOptions, emitTcp, tcpPacketLen, type TcpRepr } from '../../src/wire/tcp.js';
import { emitUdp, udpPacketLen } from '../../src/wire/udp.js';
import { defuseTsVal, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, fixChecksums, patternBytes, type Built, type ConnTrack } from './kit.js';

/** which layer a frame is aimed at */
export type Aim4 = 'arp' | 'ip4' | 'frag4' | 'icmp4' | 'udp4' | 'tcpListen4' | 'tcpEstab4' | 'tcpClosed4' | 'raw';

/** the live values a description is resolved against */
export interface Ctx4 {
  macA: number;
  macB: number;
  ipA: number;
  ipB: number;
  /** B's subnet broadcast */
  bcastB: number;
  listenPort: number;
  /** a port B has a UDP socket bound on (or a closed one while UDP is absent) */
  udpPort: number;
  conn: ConnTrack;
  /** ncdevmem pattern period of A's stream */
  period: number;
  /**
   * Let forged segments carry new bytes (or a FIN) right at B's rcv_nxt, ahead of what A sent,
   * or a TSval ahead of A's clock. B then acknowledges bytes A never sent (or closes / resets its
   * side), or takes the TSval as ts_recent and drops A's real segments by PAWS, so the main fuzz,
   * whose connection must survive, keeps such segments out; separate tests cover them (TCP
   * issue 6).
   */
  allowDesync: boolean;
}

// ---- descriptions ----

export type Src4 = { k: 'a' } | { k: 'sub'; host: number } | { k: 'b' } | { k: 'off'; a: number } | { k: 'martian'; a: number };
export type Dst4 = { k: 'b' } | { k: 'bcast' } | { k: 'lbcast' } | { k: 'other'; a: number };

export interface Ip4Desc {
  src: Src4;
  dst: Dst4;
  tos: number;
  ttl: number;
  ident: number;
  df: boolean;
  /** option bytes (padded to a multiple of 4 with EOL, at most 40) */
  options: number[];
  /** lies applied after building: protocol, total length delta, IHL */
  proto: number | null;
  totalLenDelta: number;
  ihl: number | null;
  /** a stray MF bit / fragment offset on an otherwise whole datagram */
  fragWord: number;
}

export interface TcpDesc {
  sport: number;
  /** listener: the listening port; estab: the connection; closed: a port nobody uses */
  seqDelta: number;
  seqRandom: number | null;
  ackDelta: number;
  ackRandom: number | null;
  flags: number;
  window: number;
  urgent: number;
  mss: number;
  wscale: number;
  sackPerm: boolean;
  ts: [number, number] | null;
  sack: number[];
  /** raw option bytes instead of the Repr's (malformed options) */
  rawOpts: number[] | null;
  payloadLen: number;
}

export type IcmpDesc =
  | { k: 'echo'; type: 8 | 0; ident: number; seq: number; len: number }
  | { k: 'err'; type: number; code: number; rest: number; quote: 'conn' | 'udp' | 'listen' | 'junk' | 'short'; seqDelta: number; junk: number[] }
  | { k: 'other'; type: number; code: number; body: number[] };

export interface UdpDesc {
  sport: number;
  bound: boolean;
  len: number;
  /** UDP length field delta (lies) */
  lenDelta: number;
  zeroCsum: boolean;
}

export interface FragDesc {
  inner: 'udp' | 'icmp';
  size: number;
  /** fragment payload size in 8-byte units */
  unit: number;
  drop: number;
  dup: number;
  overlap: number;
  order: number[];
  ident: number;
  lastMf: boolean;
}

export interface ArpDesc {
  op: number;
  senderMac: 'a' | number;
  senderIp: Src4;
  targetMac: number;
  targetIp: Dst4;
  /** (offset, value) patches of the fixed htype/ptype/hlen/plen fields */
  patch: [number, number] | null;
  len: number;
}

export interface RawMut {
  flips: [number, number][];
  /** recompute checksums after the flips */
  fix: boolean;
  /** fraction of the frame kept (1 = whole) */
  keep: number;
  /** bytes of trailing padding */
  pad: number;
  /** corrupt the L4 (or IPv4 header) checksum after building */
  badL4: boolean;
  badIp: boolean;
}

export type Body4 =
  | { aim: 'arp'; arp: ArpDesc }
  | { aim: 'ip4'; l4: 'unknown' | 'icmp' | 'udp' | 'tcpListen'; data: number[] }
  | { aim: 'frag4'; frag: FragDesc }
  | { aim: 'icmp4'; icmp: IcmpDesc }
  | { aim: 'udp4'; udp: UdpDesc }
  | { aim: 'tcpListen4'; tcp: TcpDesc }
  | { aim: 'tcpEstab4'; tcp: TcpDesc }
  | { aim: 'tcpClosed4'; tcp: TcpDesc }
  | { aim: 'raw'; etherType: number; bytes: number[] };

export interface FrameDesc4 {
  ethDst: 'b' | 'bcast' | number;
  ip: Ip4Desc;
  body: Body4;
  raw: RawMut;
}

// ---- arbitraries ----

/**
 * After a batch, A first writes this many bytes: forged out-of-order bytes that start before
 * and end after it are then delivered from B's out-of-order queue (a longer write would arrive
 * GRO-merged and cover them), so the byte-by-byte check sees them.
 */
export const STRADDLE = 700;

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const srcA: fc.Arbitrary<Src4> = fc.constant({ k: 'a' as const });
const src4: fc.Arbitrary<Src4> = fc.oneof(
  { weight: 12, arbitrary: srcA },
  { weight: 4, arbitrary: fc.integer({ min: 3, max: 254 }).map((host) => ({ k: 'sub' as const, host })) },
  { weight: 1, arbitrary: fc.constant({ k: 'b' as const }) },
  { weight: 1, arbitrary: u32.map((a) => ({ k: 'off' as const, a: ((a & 0x7fffffff) | 0x01000000) >>> 0 })) },
  { weight: 1, arbitrary: fc.constantFrom(0, 0xffffffff, 0xe0000001, 0x7f000001, 0x0a0000ff).map((a) => ({ k: 'martian' as const, a })) },
);
const dst4: fc.Arbitrary<Dst4> = fc.oneof(
  { weight: 20, arbitrary: fc.constant({ k: 'b' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'bcast' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'lbcast' as const }) },
  { weight: 1, arbitrary: u32.map((a) => ({ k: 'other' as const, a })) },
);

/** IPv4 options: well-formed ones (NOP, EOL, record route, timestamp, router alert) and junk */
const ipOptions: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<number[]>([]) },
  { weight: 1, arbitrary: fc.constant<number[]>([1, 1, 1, 0]) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }).map((n) => [7, 3 + 4 * n, 4, ...new Array<number>(4 * n).fill(0)]) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => [68, 4 + 8 * n, 5, 1, ...new Array<number>(8 * n).fill(0)]) },
  { weight: 1, arbitrary: fc.constant<number[]>([148, 4, 0, 0]) },
  { weight: 2, arbitrary: fc.array(u8, { minLength: 1, maxLength: 40 }) },
);

const ip4Plain = (src: fc.Arbitrary<Src4>, dst: fc.Arbitrary<Dst4>): fc.Arbitrary<Ip4Desc> =>
  fc.record({ src, dst, tos: fc.constant(0), ttl: fc.constant(64), ident: u16, df: fc.constant(true), options: fc.constant<number[]>([]),
    proto: fc.constant(null), totalLenDelta: fc.constant(0), ihl: fc.constant(null), fragWord: fc.constant(0) });

const ip4Odd = (src: fc.Arbitrary<Src4>, dst: fc.Arbitrary<Dst4>): fc.Arbitrary<Ip4Desc> =>
  fc.record({
    src, dst, tos: u8, ttl: fc.oneof(fc.constant(0), fc.constant(1), u8), ident: u16, df: fc.boolean(), options: ipOptions,
    proto: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: u8 }),
    totalLenDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -40, max: 40 }) }),
    ihl: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
    fragWord: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u16 }),
  });

/** mostly plain headers (so the L4 parser is reached), sometimes odd ones */
const ip4 = (src: fc.Arbitrary<Src4>, dst: fc.Arbitrary<Dst4> = dst4): fc.Arbitrary<Ip4Desc> =>
  fc.oneof({ weight: 5, arbitrary: ip4Plain(src, dst) }, { weight: 1, arbitrary: ip4Odd(src, dst) });

const tcpFlags = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0x10, 0x18) },
  { weight: 2, arbitrary: u8 },
  { weight: 1, arbitrary: fc.constantFrom(0x02, 0x12, 0x04, 0x14, 0x11, 0x19, 0x01, 0x00, 0x30, 0xc2, 0x3f) },
);

const tcpDesc = (flags: fc.Arbitrary<number>, seqDelta: fc.Arbitrary<number>, payload: fc.Arbitrary<number>): fc.Arbitrary<TcpDesc> =>
  fc.record({
    sport: fc.integer({ min: 1, max: 65535 }),
    seqDelta: fc.oneof({ weight: 8, arbitrary: seqDelta }, { weight: 1, arbitrary: fc.constant(0) }),
    seqRandom: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: u32 }),
    ackDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: -3000, max: 3000 }) }),
    ackRandom: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: u32 }),
    flags,
    window: fc.oneof({ weight: 6, arbitrary: fc.constant(65535) }, { weight: 1, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: u16 }),
    urgent: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u16 }),
    mss: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 2, arbitrary: fc.constantFrom(1460, 536, 0, 1, 65535) }, { weight: 1, arbitrary: u16 }),
    wscale: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    sackPerm: fc.boolean(),
    ts: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(u32, u32) }),
    sack: fc.oneof({ weight: 4, arbitrary: fc.constant<number[]>([]) }, { weight: 1, arbitrary: fc.array(fc.integer({ min: -4000, max: 4000 }), { minLength: 2, maxLength: 8 }) }),
    rawOpts: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.array(u8, { maxLength: 40 }) }),
    payloadLen: payload,
  });

const payloadLen = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 100 }) }, { weight: 1, arbitrary: fc.integer({ min: 101, max: 1400 }) });

const rawMut = (maxFlips: number): fc.Arbitrary<RawMut> => fc.record({
  flips: fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as [number, number][]) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.nat(80), fc.nat(1600)), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: maxFlips }) },
  ),
  fix: fc.oneof({ weight: 7, arbitrary: fc.constant(true) }, { weight: 3, arbitrary: fc.constant(false) }),
  keep: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
  pad: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }),
  badL4: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  badIp: fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** raw mutations that keep A's byte stream intact: one flip at most, never re-checksummed */
const rawMutEstab: fc.Arbitrary<RawMut> = fc.record({
  flips: fc.oneof(
    { weight: 5, arbitrary: fc.constant([] as [number, number][]) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(1600), fc.integer({ min: 1, max: 255 })).map((f) => [f]) },
  ),
  fix: fc.constant(false),
  keep: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
  pad: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }),
  badL4: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  badIp: fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const ethDst = fc.oneof(
  { weight: 30, arbitrary: fc.constant('b' as const) },
  { weight: 1, arbitrary: fc.constant('bcast' as const) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffffffff }) },
);

const arpDesc: fc.Arbitrary<ArpDesc> = fc.record({
  op: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(1, 2) }, { weight: 1, arbitrary: u16 }),
  senderMac: fc.oneof({ weight: 1, arbitrary: fc.constant('a' as const) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 0xffffffffffff }) }),
  senderIp: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 3, max: 254 }).map((host) => ({ k: 'sub' as const, host })) },
    { weight: 1, arbitrary: fc.constant({ k: 'b' as const }) },
    { weight: 1, arbitrary: u32.map((a) => ({ k: 'off' as const, a })) },
    { weight: 1, arbitrary: fc.constantFrom(0, 0xffffffff, 0xe0000001).map((a) => ({ k: 'martian' as const, a })) },
  ),
  targetMac: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffffffff })),
  targetIp: fc.oneof({ weight: 6, arbitrary: fc.constant({ k: 'b' as const }) }, { weight: 1, arbitrary: u32.map((a) => ({ k: 'other' as const, a })) }),
  patch: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 5 }), u8) }),
  len: fc.oneof({ weight: 8, arbitrary: fc.constant(ARP_LEN) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 60 }) }),
});

const icmpDesc: fc.Arbitrary<IcmpDesc> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('echo' as const), type: fc.constantFrom(8 as const, 0 as const), ident: u16, seq: u16, len: fc.integer({ min: 0, max: 1400 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('err' as const),
      type: fc.oneof({ weight: 4, arbitrary: fc.constant(3) }, { weight: 1, arbitrary: fc.constantFrom(11, 12, 4, 5) }),
      code: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 3, 4, 13) }, { weight: 1, arbitrary: u8 }),
      rest: fc.oneof(fc.constantFrom(0, 68, 296, 552, 576, 1280, 1400, 1500, 9000).map((m) => m & 0xffff), u32),
      quote: fc.constantFrom('conn' as const, 'conn' as const, 'udp' as const, 'listen' as const, 'junk' as const, 'short' as const),
      seqDelta: fc.integer({ min: -5000, max: 5000 }),
      junk: fc.array(u8, { maxLength: 64 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('other' as const), type: u8, code: u8, body: fc.array(u8, { maxLength: 64 }) }) },
);

const udpDesc: fc.Arbitrary<UdpDesc> = fc.record({
  sport: fc.integer({ min: 1, max: 65535 }),
  bound: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  len: fc.integer({ min: 0, max: 1400 }),
  lenDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -12, max: 12 }) }),
  zeroCsum: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const fragDesc: fc.Arbitrary<FragDesc> = fc.record({
  inner: fc.constantFrom('udp' as const, 'icmp' as const),
  size: fc.integer({ min: 16, max: 3000 }),
  unit: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 60, max: 185 })),
  drop: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(40) }),
  dup: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(40) }),
  overlap: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(40) }),
  order: fc.oneof({ weight: 2, arbitrary: fc.constant([] as number[]) }, { weight: 1, arbitrary: fc.array(fc.nat(1000), { minLength: 2, maxLength: 8 }) }),
  ident: u16,
  lastMf: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** one IPv4-side frame description, aims weighted so every parser gets a fair share */
export const frameDesc4: fc.Arbitrary<FrameDesc4> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ ethDst: fc.oneof({ weight: 2, arbitrary: fc.constant('bcast' as const) }, { weight: 1, arbitrary: ethDst }), ip: ip4Plain(srcA, dst4), body: arpDesc.map((arp) => ({ aim: 'arp' as const, arp })), raw: rawMut(4) }) },
  { weight: 2, arbitrary: fc.record({ ethDst, ip: ip4Odd(src4, dst4), body: fc.record({ aim: fc.constant('ip4' as const), l4: fc.constantFrom('unknown' as const, 'icmp' as const, 'udp' as const, 'tcpListen' as const), data: fc.array(u8, { maxLength: 100 }) }), raw: rawMut(4) }) },
  { weight: 2, arbitrary: fc.record({ ethDst, ip: ip4Plain(src4, dst4), body: fragDesc.map((frag) => ({ aim: 'frag4' as const, frag })), raw: rawMut(2) }) },
  { weight: 3, arbitrary: fc.record({ ethDst, ip: ip4(src4), body: icmpDesc.map((icmp) => ({ aim: 'icmp4' as const, icmp })), raw: rawMut(4) }) },
  { weight: 2, arbitrary: fc.record({ ethDst, ip: ip4(src4), body: udpDesc.map((udp) => ({ aim: 'udp4' as const, udp })), raw: rawMut(4) }) },
  { weight: 3, arbitrary: fc.record({ ethDst, ip: ip4(src4), body: tcpDesc(tcpFlags, u32, payloadLen).map((tcp) => ({ aim: 'tcpListen4' as const, tcp })), raw: rawMut(4) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      ethDst: fc.constant('b' as const),
      ip: ip4Plain(srcA, fc.constant({ k: 'b' as const })),
      body: tcpDesc(tcpFlags, fc.oneof({ weight: 8, arbitrary: fc.integer({ min: -1500, max: 3000 }) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: STRADDLE - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: -70000, max: 70000 }) }), payloadLen)
        .map((tcp) => ({ aim: 'tcpEstab4' as const, tcp })),
      raw: rawMutEstab,
    }),
  },
  { weight: 1, arbitrary: fc.record({ ethDst, ip: ip4(src4), body: tcpDesc(tcpFlags, u32, payloadLen).map((tcp) => ({ aim: 'tcpClosed4' as const, tcp })), raw: rawMut(4) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      ethDst, ip: ip4Plain(srcA, dst4),
      body: fc.record({ aim: fc.constant('raw' as const), etherType: fc.oneof(fc.constantFrom(ETH_P_IP, ETH_P_ARP, ETH_P_IPV6), u16), bytes: fc.array(u8, { maxLength: 200 }) }),
      raw: rawMut(2),
    }),
  },
);

// ---- building ----

function srcAddr(s: Src4, c: Ctx4): number {
  switch (s.k) {
    case 'a': return c.ipA;
    case 'b': return c.ipB;
    case 'sub': return ((c.ipA & 0xffffff00) | s.host) >>> 0;
    default: return s.a >>> 0;
  }
}

function dstAddr(d: Dst4, c: Ctx4): number {
  switch (d.k) {
    case 'b': return c.ipB;
    case 'bcast': return c.bcastB;
    case 'lbcast': return 0xffffffff;
    default: return d.a >>> 0;
  }
}

function ethFrame(dst: number, src: number, type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ETH_HLEN + payload.length);
  emitEthernet({ dst, src, etherType: type }, new DataView(out.buffer), 0);
  out.set(payload, ETH_HLEN);
  return out;
}

/** an IPv4 datagram (header with options, then `l4`) from the Repr; checksum filled later */
function ipv4Datagram(ip: Ip4Desc, src: number, dst: number, proto: number, l4: Uint8Array, fragWord: number): Uint8Array {
  const opt = ip.options.slice(0, 40);
  while (opt.length % 4 !== 0) opt.push(0);
  const hl = IPV4_HLEN + opt.length;
  const out = new Uint8Array(hl + l4.length);
  const dv = new DataView(out.buffer);
  emitIpv4({ src, dst, protocol: proto, ttl: ip.ttl, payloadLen: l4.length, ident: ip.ident, dontFrag: ip.df, tos: ip.tos }, dv, 0);
  out.copyWithin(hl, IPV4_HLEN, IPV4_HLEN);
  out.set(opt, IPV4_HLEN);
  out[0] = 0x40 | (hl >> 2);
  dv.setUint16(2, hl + l4.length);
  if (fragWord !== 0) dv.setUint16(6, fragWord);
  out.set(l4, hl);
  return out;
}

function tcpSegment(t: TcpDesc, src: number, dst: number, sport: number, dport: number, seq: number, ack: number, payload: Uint8Array): Uint8Array {
  const o = new TcpOptions();
  o.mss = t.mss;
  o.wscale = t.wscale;
  o.sackPermitted = t.sackPerm;
  if (t.ts !== null) {
    o.hasTimestamp = true;
    o.tsVal = t.ts[0];
    o.tsEcr = t.ts[1];
  }
  const n = Math.min(4, t.sack.length >> 1);
  for (let i = 0; i < 2 * n; i++) o.sackBlocks[i] = (ack + t.sack[i]!) >>> 0;
  o.sackCount = n;
  let raw: number[] = [];
  if (t.rawOpts !== null) {
    o.reset();
    raw = t.rawOpts.slice();
    while (raw.length % 4 !== 0) raw.push(1);
  }
  const body = new Uint8Array(raw.length + payload.length);
  body.set(raw, 0);
  body.set(payload, raw.length);
  const r: TcpRepr = { srcPort: sport, dstPort: dport, seq: seq >>> 0, ack: ack >>> 0, flags: t.flags, window: t.window, urgent: t.urgent, options: o, payload: body };
  const out = new Uint8Array(tcpPacketLen(r));
  emitTcp(r, out, new DataView(out.buffer), 0, src, dst);
  if (raw.length > 0) out[12] = ((20 + raw.length) >> 2) << 4;
  return out;
}

function udpDatagram(sport: number, dport: number, payload: Uint8Array, src: number, dst: number): Uint8Array {
  const r = { srcPort: sport, dstPort: dport, payload };
  const out = new Uint8Array(udpPacketLen(r));
  emitUdp(r, out, new DataView(out.buffer), 0, src, dst);
  return out;
}

function icmpEcho(type: number, ident: number, seq: number, payload: Uint8Array): Uint8Array {
  const r = { type, code: 0, ident, seq, payload };
  const out = new Uint8Array(8 + payload.length);
  emitIcmpEcho(r, out, new DataView(out.buffer), 0);
  return out;
}

function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i * 31) & 0xff;
  return out;
}

/** the quoted datagram of an ICMP error: an IPv4 header from B plus (at least) 8 bytes of L4 */
function icmpQuote(d: Extract<IcmpDesc, { k: 'err' }>, c: Ctx4): Uint8Array {
  const ipq = (proto: number, l4: Uint8Array): Uint8Array => {
    const out = new Uint8Array(IPV4_HLEN + l4.length);
    emitIpv4({ src: c.ipB, dst: c.ipA, protocol: proto, ttl: 64, payloadLen: l4.length + 40, ident: 1, dontFrag: true, tos: 0 }, new DataView(out.buffer), 0);
    out.set(l4, IPV4_HLEN);
    return out;
  };
  switch (d.quote) {
    case 'conn': {
      const h = new Uint8Array(20);
      const dv = new DataView(h.buffer);
      dv.setUint16(0, c.listenPort);
      dv.setUint16(2, c.conn.aPort);
      dv.setUint32(4, (c.conn.bSndNxt + d.seqDelta) >>> 0);
      dv.setUint32(8, c.conn.aSndNxt);
      h[12] = 0x50;
      h[13] = 0x18;
      return ipq(6, h);
    }
    case 'listen': {
      const h = new Uint8Array(8);
      const dv = new DataView(h.buffer);
      dv.setUint16(0, c.listenPort);
      dv.setUint16(2, 40000 + (d.seqDelta & 0xff));
      dv.setUint32(4, d.seqDelta >>> 0);
      return ipq(6, h);
    }
    case 'udp': {
      const h = new Uint8Array(8);
      const dv = new DataView(h.buffer);
      dv.setUint16(0, c.udpPort);
      dv.setUint16(2, 9);
      dv.setUint16(4, 8 + 100);
      return ipq(17, h);
    }
    case 'short': return ipq(6, new Uint8Array(0)).subarray(0, 12);
    default: return Uint8Array.from(d.junk);
  }
}

/** builds the frame(s) a description stands for, with valid checksums unless it says otherwise */
export function build4(f: FrameDesc4, c: Ctx4): Built[] {
  const ethDst = f.ethDst === 'b' ? c.macB : f.ethDst === 'bcast' ? 0xffffffffffff : f.ethDst;
  const body = f.body;
  const ip = f.ip;
  let src = srcAddr(ip.src, c);
  let dst = dstAddr(ip.dst, c);
  const out: Built[] = [];
  const datagram = (proto: number, l4: Uint8Array): void => {
    out.push({ bytes: ethFrame(ethDst, c.macA, ETH_P_IP, ipv4Datagram(ip, src, dst, proto, l4, ip.fragWord)), l3: ETH_HLEN, l4: ETH_HLEN + IPV4_HLEN + paddedLen(ip.options), proto });
  };
  switch (body.aim) {
    case 'arp': {
      const a = body.arp;
      const ab = new Uint8Array(ARP_LEN);
      const senderIp = srcAddr(a.senderIp, c);
      emitArp({ op: a.op, senderMac: a.senderMac === 'a' ? c.macA : a.senderMac, senderIp, targetMac: a.targetMac, targetIp: dstAddr(a.targetIp, c) }, new DataView(ab.buffer), 0);
      if (a.patch !== null) ab[a.patch[0]] = a.patch[1];
      const bytes = new Uint8Array(a.len);
      bytes.set(ab.subarray(0, Math.min(a.len, ARP_LEN)));
      out.push({ bytes: ethFrame(ethDst, a.senderMac === 'a' ? c.macA : a.senderMac, ETH_P_ARP, bytes), l3: -1, l4: -1, proto: 0 });
      break;
    }
    case 'ip4': {
      const d = Uint8Array.from(body.data);
      if (body.l4 === 'unknown') datagram(ip.proto ?? 253, d);
      else if (body.l4 === 'icmp') datagram(1, icmpEcho(8, 7, 1, d));
      else if (body.l4 === 'udp') datagram(17, udpDatagram(1000, c.udpPort, d, src, dst));
      else datagram(6, tcpSegment({ ...TCP_SYN_DESC }, src, dst, 30000 + (d.length & 0xff), c.listenPort, 1000, 0, new Uint8Array(0)));
      break;
    }
    case 'frag4': {
      const fr = body.frag;
      const inner = fr.inner === 'udp'
        ? udpDatagram(2000, c.udpPort, bytesOf(fr.size, fr.ident), src, dst)
        : icmpEcho(8, fr.ident, 1, bytesOf(fr.size, fr.ident));
      const proto = fr.inner === 'udp' ? 17 : 1;
      // the whole datagram with its L4 checksum, then cut into fragments
      const whole: Built = { bytes: ethFrame(ethDst, c.macA, ETH_P_IP, ipv4Datagram({ ...ip, options: [] }, src, dst, proto, inner, 0)), l3: ETH_HLEN, l4: ETH_HLEN + IPV4_HLEN, proto };
      fixChecksums(whole);
      const l4 = whole.bytes.subarray(ETH_HLEN + IPV4_HLEN);
      // at most about 24 fragments per datagram, so that fragments do not crowd out the rest
      const step = Math.max(fr.unit, Math.ceil(l4.length / 8 / 24)) * 8;
      const pieces: [number, number][] = [];
      for (let o = 0; o < l4.length; o += step) pieces.push([o, Math.min(step, l4.length - o)]);
      if (fr.drop >= 0 && pieces.length > 1) pieces.splice(fr.drop % pieces.length, 1);
      if (fr.dup >= 0) pieces.push(pieces[fr.dup % pieces.length]!);
      if (fr.overlap >= 0) {
        const i = fr.overlap % pieces.length;
        const [o, n] = pieces[i]!;
        pieces[i] = [Math.max(0, o - 8), Math.min(n + 8, l4.length - Math.max(0, o - 8))];
      }
      for (let i = 0; i < fr.order.length - 1; i++) {
        const x = fr.order[i]! % pieces.length;
        const y = fr.order[i + 1]! % pieces.length;
        const t = pieces[x]!;
        pieces[x] = pieces[y]!;
        pieces[y] = t;
      }
      for (const [o, n] of pieces) {
        const last = o + n >= l4.length;
        const fw = ((last && !fr.lastMf ? 0 : 0x2000) | (o >> 3)) & 0xffff;
        const ipf: Ip4Desc = { ...ip, ident: fr.ident, df: false, options: [] };
        out.push({ bytes: ethFrame(ethDst, c.macA, ETH_P_IP, ipv4Datagram(ipf, src, dst, proto, l4.subarray(o, o + n), fw)), l3: ETH_HLEN, l4: -1, proto });
      }
      break;
    }
    case 'icmp4': {
      const d = body.icmp;
      if (d.k === 'echo') {
        datagram(1, icmpEcho(d.type, d.ident, d.seq, bytesOf(d.len, d.seq)));
      } else {
        const data = d.k === 'err' ? icmpQuote(d, c) : Uint8Array.from(d.body);
        const m = new Uint8Array(8 + data.length);
        const dv = new DataView(m.buffer);
        m[0] = d.type;
        m[1] = d.code;
        dv.setUint32(4, d.k === 'err' ? d.rest >>> 0 : 0);
        m.set(data, 8);
        datagram(1, m);
      }
      break;
    }
    case 'udp4': {
      const u = body.udp;
      const l4 = udpDatagram(u.sport, u.bound ? c.udpPort : 9, bytesOf(u.len, u.sport), src, dst);
      datagram(17, l4);
      const b = out[0]!;
      const lf = ((b.bytes[b.l4 + 4]! << 8) | b.bytes[b.l4 + 5]!) + u.lenDelta;
      b.bytes[b.l4 + 4] = (lf >> 8) & 0xff;
      b.bytes[b.l4 + 5] = lf & 0xff;
      break;
    }
    case 'tcpListen4':
    case 'tcpClosed4':
    case 'tcpEstab4': {
      const t = body.tcp;
      let sport = t.sport;
      let dport = body.aim === 'tcpClosed4' ? 1 + (t.sport % 1000) : c.listenPort;
      let seq = t.seqRandom ?? t.seqDelta;
      let ack = t.ackRandom ?? t.ackDelta;
      let payload = bytesOf(t.payloadLen, t.sport);
      if (body.aim === 'tcpEstab4') {
        // the connection's real 4-tuple, seq near B's rcv_nxt, ack near B's snd_nxt, and
        // A's own stream bytes, so that whatever B accepts is what A would have sent
        src = c.ipA;
        dst = c.ipB;
        sport = c.conn.aPort;
        dport = c.listenPort;
        seq = t.seqRandom ?? ((c.conn.aSndNxt + t.seqDelta) >>> 0);
        ack = t.ackRandom ?? ((c.conn.bSndNxt + t.ackDelta) >>> 0);
        let len = t.payloadLen;
        let flags = t.flags;
        const d = (seq - c.conn.aSndNxt) | 0;
        if (!c.allowDesync) {
          // old bytes (ending at rcv_nxt at most) or out-of-order ones past a gap: never a new
          // byte or FIN at rcv_nxt itself, which B would acknowledge beyond A's snd_nxt
          if (d <= 0 && d + len > 0) len = -d;
          if ((flags & 0x01) !== 0 && d + len >= 0) flags &= ~0x01;
          // a RST exactly at rcv_nxt resets B's side; a forged SYN on the same 4-tuple then
          // opens a half-open connection that answers A's segments: one sequence number further
          // on, the RST only draws a challenge ACK (RFC 5961)
          if ((flags & 0x04) !== 0 && d === 0) seq = (seq + 1) >>> 0;
        }
        const ahead = ((seq - c.conn.aSndNxt) | 0) + len + 1;
        if (ahead > c.conn.forgedAhead && ahead < 1 << 24) c.conn.forgedAhead = ahead;
        payload = patternBytes(c.conn.aOffset(seq), len, c.period);
        datagram(6, tcpSegment({ ...t, flags }, src, dst, sport, dport, seq, ack, payload));
        break;
      } else if (sport === c.conn.aPort && src === c.ipA) {
        sport ^= 0x8000;
      }
      datagram(6, tcpSegment(t, src, dst, sport, dport, seq, ack, payload));
      break;
    }
    case 'raw': {
      out.push({ bytes: ethFrame(ethDst, c.macA, body.etherType, Uint8Array.from(body.bytes)), l3: body.etherType === ETH_P_IP ? ETH_HLEN : -1, l4: -1, proto: 0 });
      break;
    }
  }
  for (const b of out) {
    finish(b, f, ip);
    // a TSval ahead of A's clock poisons B's ts_recent (see defuseTsVal): kept out here too
    if (!c.allowDesync) defuseTsVal(b, c.conn);
  }
  return out;
}

const TCP_SYN_DESC: TcpDesc = {
  sport: 1, seqDelta: 0, seqRandom: null, ackDelta: 0, ackRandom: null, flags: 0x02, window: 65535, urgent: 0, mss: 1460,
  wscale: 7, sackPerm: true, ts: null, sack: [], rawOpts: null, payloadLen: 0,
};

function paddedLen(opts: readonly number[]): number {
  return Math.min(40, (opts.length + 3) & ~3);
}

/** checksums, header lies, checksum breakage, raw flips, truncation and padding, in that order */
function finish(b: Built, f: FrameDesc4, ip: Ip4Desc): void {
  const m = f.raw;
  fixChecksums(b);
  const isIp = b.l3 >= 0 && b.bytes[b.l3]! >> 4 === 4;
  if (isIp && f.body.aim !== 'frag4') {
    const x = b.bytes;
    const dv = new DataView(x.buffer);
    let lied = false;
    if (ip.proto !== null && f.body.aim !== 'ip4') {
      x[b.l3 + 9] = ip.proto;
      lied = true;
    }
    if (ip.totalLenDelta !== 0) {
      dv.setUint16(b.l3 + 2, (dv.getUint16(b.l3 + 2) + ip.totalLenDelta) & 0xffff);
      lied = true;
    }
    if (ip.ihl !== null) {
      x[b.l3] = 0x40 | ip.ihl;
      lied = true;
    }
    if (lied) fixChecksums({ ...b, l4: -1 });
  }
  if (m.badL4 && b.l4 >= 0 && b.l4 + 8 <= b.bytes.length) {
    const at = b.proto === 6 ? 16 : b.proto === 17 ? 6 : 2;
    if (b.l4 + at + 2 <= b.bytes.length) b.bytes[b.l4 + at + 1] ^= 0x5a;
  }
  if (m.badIp && isIp) b.bytes[b.l3 + 11] ^= 0x33;
  if (m.flips.length > 0) {
    for (const [at, x] of m.flips) if (at < b.bytes.length) b.bytes[at] ^= x;
    if (m.fix) fixChecksums(b);
  }
  if (m.keep < 1) b.bytes = b.bytes.subarray(0, Math.floor(b.bytes.length * m.keep));
  if (m.pad > 0) {
    const p = new Uint8Array(b.bytes.length + m.pad);
    p.set(b.bytes);
    b.bytes = p;
  }
}
