/**
 * Test-only: fast-check arbitraries for IPv6-side frames (NDP, IPv6 with extension headers and
 * fragments, ICMPv6, UDP, TCP to a listener, to an established connection and to a closed port,
 * raw junk) and their builder from the `src/wire` Reprs (IPv6 header, hop-by-hop / destination
 * options, routing and fragment headers, ICMPv6 echo / error / Neighbor Discovery, UDP, TCP)
 * with valid checksums. Descriptions are plain data; addresses, ports and sequence numbers are
 * resolved against the live `Ctx6` when the frame is built (see gen4.ts for the same scheme).
 */
import fc from 'fast-check';
import { emitEthernet, ETH_HLEN } from '../../src/wire/ethernet.js';
import {
  emitIcmpv6Echo, emitIcmpv6Error, emitNdisc, ndiscLen, type NdiscRepr,
} from '../../src/wire/icmpv6.js';
import {
  emitIpv6, emitIpv6Frag, emitIpv6Options, emitIpv6Routing, ipv6OptionsLen, IPV6_HLEN, type AddrWords, type Ipv6TlvOption,
} from '../../src/wire/ipv6.js';
import { TcpOptions, emitTcp, tcpPacketLen, type TcpRepr } from '../../src/wire/tcp.js';
import { emitUdp, udpPacketLen } from '../../src/wire/udp.js';
import { defuseTsVal, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, fixChecksums, patternBytes, type Built, type ConnTrack } from './kit.js';
import { STRADDLE, type RawMut, type TcpDesc } from './gen4.js';

export type Aim6 = 'nd6' | 'ip6' | 'frag6' | 'icmp6' | 'udp6' | 'tcpListen6' | 'tcpEstab6' | 'tcpClosed6' | 'raw6';

export interface Ctx6 {
  macA: number;
  macB: number;
  /** global (fd00::/64) and link-local addresses of A and B */
  ipA: AddrWords;
  ipB: AddrWords;
  llA: AddrWords;
  llB: AddrWords;
  listenPort: number;
  udpPort: number;
  conn: ConnTrack;
  period: number;
  /** see Ctx4.allowDesync */
  allowDesync: boolean;
}

const w = (w0: number, w1: number, w2: number, w3: number): AddrWords => ({ w0: w0 >>> 0, w1: w1 >>> 0, w2: w2 >>> 0, w3: w3 >>> 0 });

/** the solicited-node multicast group of `a` (ff02::1:ffXX:XXXX) */
export function solicitedNode(a: AddrWords): AddrWords {
  return w(0xff020000, 0, 1, 0xff000000 | (a.w3 & 0xffffff));
}

/** the Ethernet multicast MAC of an IPv6 multicast address (33:33 + low 32 bits) */
export function mcastMac(a: AddrWords): number {
  return 0x333300000000 + (a.w3 >>> 0);
}

export const ALL_NODES = w(0xff020000, 0, 0, 1);

// ---- descriptions ----

export type Src6 = { k: 'a' | 'llA' | 'b' | 'unspec' } | { k: 'sub'; host: number } | { k: 'off'; a: number } | { k: 'martian'; which: number };
export type Dst6 = { k: 'b' | 'llB' | 'snB' | 'allNodes' } | { k: 'other'; a: number };

export type Ext6 =
  | { k: 'hbh' | 'dst'; opts: { type: number; len: number; fill: number }[] }
  | { k: 'rt'; type: number; segLeft: number; units: number }
  | { k: 'frag'; ident: number }
  | { k: 'junk'; nh: number; bytes: number[] };

export interface Ip6Desc {
  src: Src6;
  dst: Dst6;
  tc: number;
  flow: number;
  hlim: number;
  ext: Ext6[];
  /** lies applied after building */
  payloadLenDelta: number;
  nextHeader: number | null;
  version: number | null;
}

export type Icmp6Desc =
  | { k: 'echo'; type: 128 | 129; ident: number; seq: number; len: number }
  | { k: 'err'; type: number; code: number; info: number; quote: 'conn' | 'udp' | 'listen' | 'junk' | 'short'; seqDelta: number; junk: number[] }
  | { k: 'other'; type: number; code: number; body: number[] };

export type Nd6Desc =
  | { k: 'ns'; target: 'b' | 'llB' | 'other' | 'a'; srcMac: 'a' | number | null }
  | { k: 'na'; target: 'other' | 'a' | 'b'; router: boolean; solicited: boolean; override: boolean; mac: 'a' | number | null }
  | { k: 'rs'; mac: number | null }
  | { k: 'ra'; hop: number; lifetime: number; reach: number; retrans: number; mtu: number | null; prefixes: { len: number; onLink: boolean; auto: boolean; valid: number; pref: number; doc: boolean }[] };

export interface Frag6Desc {
  inner: 'udp' | 'icmp';
  size: number;
  unit: number;
  drop: number;
  dup: number;
  overlap: number;
  order: number[];
  ident: number;
  lastMf: boolean;
}

export type Body6 =
  | { aim: 'nd6'; nd: Nd6Desc; code: number; badHlim: boolean }
  | { aim: 'ip6'; l4: 'unknown' | 'none' | 'icmp' | 'udp' | 'tcpListen'; proto: number; data: number[] }
  | { aim: 'frag6'; frag: Frag6Desc }
  | { aim: 'icmp6'; icmp: Icmp6Desc }
  | { aim: 'udp6'; sport: number; bound: boolean; len: number; lenDelta: number; zeroCsum: boolean }
  | { aim: 'tcpListen6'; tcp: TcpDesc }
  | { aim: 'tcpEstab6'; tcp: TcpDesc }
  | { aim: 'tcpClosed6'; tcp: TcpDesc }
  | { aim: 'raw6'; etherType: number; bytes: number[] };

export interface FrameDesc6 {
  /** 'auto': B's MAC, or the multicast MAC of a multicast destination */
  ethDst: 'auto' | 'bcast' | number;
  ip: Ip6Desc;
  body: Body6;
  raw: RawMut;
}

// ---- arbitraries ----

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const src6: fc.Arbitrary<Src6> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ k: 'a' as const }) },
  { weight: 2, arbitrary: fc.constant({ k: 'llA' as const }) },
  { weight: 4, arbitrary: fc.integer({ min: 3, max: 0xfffe }).map((host) => ({ k: 'sub' as const, host })) },
  { weight: 1, arbitrary: fc.constant({ k: 'b' as const }) },
  { weight: 1, arbitrary: u32.map((a) => ({ k: 'off' as const, a })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((which) => ({ k: 'martian' as const, which })) },
);
const dst6: fc.Arbitrary<Dst6> = fc.oneof(
  { weight: 20, arbitrary: fc.constant({ k: 'b' as const }) },
  { weight: 2, arbitrary: fc.constant({ k: 'llB' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'snB' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'allNodes' as const }) },
  { weight: 1, arbitrary: u32.map((a) => ({ k: 'other' as const, a })) },
);

/** TLV option types: router alert, jumbo, PadN, and unknown ones with each action (00/01/10/11) */
const tlv = fc.record({
  type: fc.oneof(fc.constantFrom(1, 5, 0xc2, 0x1e, 0x5e, 0x9e, 0xde, 0x3e), u8),
  len: fc.oneof(fc.constantFrom(0, 2, 4), fc.integer({ min: 0, max: 12 })),
  fill: u8,
});

const ext6: fc.Arbitrary<Ext6> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom('hbh' as const, 'dst' as const), opts: fc.array(tlv, { maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('rt' as const), type: fc.oneof(fc.constantFrom(0, 2, 3, 4), u8), segLeft: fc.oneof(fc.constant(0), u8), units: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('frag' as const), ident: u32 }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('junk' as const), nh: fc.constantFrom(0, 43, 44, 60, 51, 50, 135), bytes: fc.array(u8, { minLength: 0, maxLength: 24 }) }) },
);

const ip6Plain = (src: fc.Arbitrary<Src6>, dst: fc.Arbitrary<Dst6>): fc.Arbitrary<Ip6Desc> => fc.record({
  src, dst, tc: fc.constant(0), flow: fc.constant(0), hlim: fc.constant(64), ext: fc.constant<Ext6[]>([]),
  payloadLenDelta: fc.constant(0), nextHeader: fc.constant(null), version: fc.constant(null),
});

const ip6Odd = (src: fc.Arbitrary<Src6>, dst: fc.Arbitrary<Dst6>): fc.Arbitrary<Ip6Desc> => fc.record({
  src, dst, tc: u8, flow: fc.integer({ min: 0, max: 0xfffff }), hlim: fc.oneof(fc.constantFrom(0, 1, 255), u8),
  ext: fc.array(ext6, { minLength: 0, maxLength: 4 }),
  payloadLenDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -40, max: 40 }) }),
  nextHeader: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: u8 }),
  version: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
});

const ip6 = (src: fc.Arbitrary<Src6>, dst: fc.Arbitrary<Dst6> = dst6): fc.Arbitrary<Ip6Desc> =>
  fc.oneof({ weight: 4, arbitrary: ip6Plain(src, dst) }, { weight: 1, arbitrary: ip6Odd(src, dst) });

const tcpFlags = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0x10, 0x18) },
  { weight: 2, arbitrary: u8 },
  { weight: 1, arbitrary: fc.constantFrom(0x02, 0x12, 0x04, 0x14, 0x11, 0x19, 0x01, 0x00, 0x30, 0xc2, 0x3f) },
);

const tcpDesc = (seqDelta: fc.Arbitrary<number>): fc.Arbitrary<TcpDesc> => fc.record({
  sport: fc.integer({ min: 1, max: 65535 }),
  seqDelta: fc.oneof({ weight: 8, arbitrary: seqDelta }, { weight: 1, arbitrary: fc.constant(0) }),
  seqRandom: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: u32 }),
  ackDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: -3000, max: 3000 }) }),
  ackRandom: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: u32 }),
  flags: tcpFlags,
  window: fc.oneof({ weight: 6, arbitrary: fc.constant(65535) }, { weight: 1, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: u16 }),
  urgent: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u16 }),
  mss: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 2, arbitrary: fc.constantFrom(1440, 1220, 0, 1, 65535) }, { weight: 1, arbitrary: u16 }),
  wscale: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
  sackPerm: fc.boolean(),
  ts: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(u32, u32) }),
  sack: fc.oneof({ weight: 4, arbitrary: fc.constant<number[]>([]) }, { weight: 1, arbitrary: fc.array(fc.integer({ min: -4000, max: 4000 }), { minLength: 2, maxLength: 8 }) }),
  rawOpts: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.array(u8, { maxLength: 40 }) }),
  payloadLen: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 100 }) }, { weight: 1, arbitrary: fc.integer({ min: 101, max: 1200 }) }),
});

const rawMut = (maxFlips: number, estab: boolean): fc.Arbitrary<RawMut> => fc.record({
  flips: fc.oneof(
    { weight: estab ? 5 : 3, arbitrary: fc.constant([] as [number, number][]) },
    {
      weight: 1,
      arbitrary: estab
        ? fc.tuple(fc.nat(1600), fc.integer({ min: 1, max: 255 })).map((f) => [f])
        : fc.array(fc.tuple(fc.oneof(fc.nat(100), fc.nat(1600)), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: maxFlips }),
    },
  ),
  fix: estab ? fc.constant(false) : fc.oneof({ weight: 7, arbitrary: fc.constant(true) }, { weight: 3, arbitrary: fc.constant(false) }),
  keep: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
  pad: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }),
  badL4: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  badIp: fc.constant(false),
});

const ethDst = fc.oneof(
  { weight: 30, arbitrary: fc.constant('auto' as const) },
  { weight: 1, arbitrary: fc.constant('bcast' as const) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffffffff }) },
);

const randMac = fc.integer({ min: 0, max: 0xffffffffffff });

const nd6: fc.Arbitrary<Nd6Desc> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('ns' as const), target: fc.constantFrom('b' as const, 'b' as const, 'llB' as const, 'other' as const, 'a' as const), srcMac: fc.oneof(fc.constant('a' as const), fc.constant(null), randMac) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('na' as const), target: fc.constantFrom('other' as const, 'other' as const, 'a' as const, 'b' as const), router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean(), mac: fc.oneof(fc.constant('a' as const), fc.constant(null), randMac) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rs' as const), mac: fc.oneof(fc.constant(null), randMac) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('ra' as const), hop: u8, lifetime: fc.oneof(fc.constant(0), fc.constant(1800), u16), reach: fc.oneof(fc.constant(0), u32), retrans: fc.oneof(fc.constant(0), u32),
      mtu: fc.oneof(fc.constant(null), fc.constantFrom(1280, 1500, 1000, 9000), u32),
      prefixes: fc.array(fc.record({ len: fc.oneof(fc.constant(64), u8), onLink: fc.boolean(), auto: fc.boolean(), valid: fc.oneof(fc.constant(0xffffffff), u32), pref: fc.oneof(fc.constant(0xffffffff), u32), doc: fc.boolean() }), { maxLength: 2 }),
    }),
  },
);

const icmp6: fc.Arbitrary<Icmp6Desc> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('echo' as const), type: fc.constantFrom(128 as const, 129 as const), ident: u16, seq: u16, len: fc.integer({ min: 0, max: 1200 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('err' as const),
      type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(1, 2, 3, 4) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 127 }) }),
      code: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 3, 4, 5, 6) }, { weight: 1, arbitrary: u8 }),
      info: fc.oneof(fc.constantFrom(0, 1, 6, 40, 1000, 1280, 1400, 1500, 9000), u32),
      quote: fc.constantFrom('conn' as const, 'conn' as const, 'udp' as const, 'listen' as const, 'junk' as const, 'short' as const),
      seqDelta: fc.integer({ min: -5000, max: 5000 }),
      junk: fc.array(u8, { maxLength: 64 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('other' as const), type: u8, code: u8, body: fc.array(u8, { maxLength: 64 }) }) },
);

const frag6: fc.Arbitrary<Frag6Desc> = fc.record({
  inner: fc.constantFrom('udp' as const, 'icmp' as const),
  size: fc.integer({ min: 16, max: 3000 }),
  unit: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 60, max: 150 })),
  drop: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(40) }),
  dup: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(40) }),
  overlap: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(40) }),
  order: fc.oneof({ weight: 2, arbitrary: fc.constant([] as number[]) }, { weight: 1, arbitrary: fc.array(fc.nat(1000), { minLength: 2, maxLength: 8 }) }),
  ident: u32,
  lastMf: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const srcA6: fc.Arbitrary<Src6> = fc.constant({ k: 'a' as const });

/** one IPv6-side frame description, aims weighted so every parser gets a fair share */
export const frameDesc6: fc.Arbitrary<FrameDesc6> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      ethDst,
      ip: fc.record({
        src: fc.oneof({ weight: 3, arbitrary: fc.constant({ k: 'llA' as const }) }, { weight: 2, arbitrary: srcA6 }, { weight: 1, arbitrary: fc.constant({ k: 'unspec' as const }) }, { weight: 1, arbitrary: src6 }),
        dst: fc.oneof(fc.constant({ k: 'snB' as const }), fc.constant({ k: 'b' as const }), fc.constant({ k: 'llB' as const }), fc.constant({ k: 'allNodes' as const })),
        tc: fc.constant(0), flow: fc.constant(0), hlim: fc.constant(255), ext: fc.constant<Ext6[]>([]),
        payloadLenDelta: fc.constant(0), nextHeader: fc.constant(null), version: fc.constant(null),
      }),
      body: fc.record({
        aim: fc.constant('nd6' as const), nd: nd6,
        code: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u8 }),
        badHlim: fc.oneof({ weight: 10, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
      raw: rawMut(4, false),
    }),
  },
  { weight: 3, arbitrary: fc.record({ ethDst, ip: ip6Odd(src6, dst6), body: fc.record({ aim: fc.constant('ip6' as const), l4: fc.constantFrom('unknown' as const, 'none' as const, 'icmp' as const, 'udp' as const, 'tcpListen' as const), proto: fc.oneof(fc.constantFrom(253, 41, 4, 132), u8), data: fc.array(u8, { maxLength: 100 }) }), raw: rawMut(4, false) }) },
  { weight: 2, arbitrary: fc.record({ ethDst, ip: ip6Plain(src6, dst6), body: frag6.map((frag) => ({ aim: 'frag6' as const, frag })), raw: rawMut(2, false) }) },
  { weight: 3, arbitrary: fc.record({ ethDst, ip: ip6(src6), body: icmp6.map((icmp) => ({ aim: 'icmp6' as const, icmp })), raw: rawMut(4, false) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      ethDst, ip: ip6(src6),
      body: fc.record({
        aim: fc.constant('udp6' as const), sport: fc.integer({ min: 1, max: 65535 }), bound: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        len: fc.integer({ min: 0, max: 1200 }), lenDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -12, max: 12 }) }),
        zeroCsum: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
      raw: rawMut(4, false),
    }),
  },
  { weight: 3, arbitrary: fc.record({ ethDst, ip: ip6(src6), body: tcpDesc(u32).map((tcp) => ({ aim: 'tcpListen6' as const, tcp })), raw: rawMut(4, false) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      ethDst: fc.constant('auto' as const),
      ip: ip6Plain(srcA6, fc.constant({ k: 'b' as const })),
      body: tcpDesc(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: -1500, max: 3000 }) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: STRADDLE - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: -70000, max: 70000 }) })).map((tcp) => ({ aim: 'tcpEstab6' as const, tcp })),
      raw: rawMut(1, true),
    }),
  },
  { weight: 1, arbitrary: fc.record({ ethDst, ip: ip6(src6), body: tcpDesc(u32).map((tcp) => ({ aim: 'tcpClosed6' as const, tcp })), raw: rawMut(4, false) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      ethDst, ip: ip6Plain(srcA6, dst6),
      body: fc.record({ aim: fc.constant('raw6' as const), etherType: fc.oneof(fc.constantFrom(ETH_P_IPV6, ETH_P_IPV6, ETH_P_IP, ETH_P_ARP), u16), bytes: fc.array(u8, { maxLength: 200 }) }),
      raw: rawMut(2, false),
    }),
  },
);

// ---- building ----

const MARTIANS: readonly AddrWords[] = [w(0, 0, 0, 1), w(0xff020000, 0, 0, 1), w(0, 0, 0xffff, 0x0a000001), w(0xfe800000, 0, 0, 0)];

function srcAddr(s: Src6, c: Ctx6): AddrWords {
  switch (s.k) {
    case 'a': return c.ipA;
    case 'llA': return c.llA;
    case 'b': return c.ipB;
    case 'unspec': return w(0, 0, 0, 0);
    case 'sub': return w(c.ipA.w0, c.ipA.w1, c.ipA.w2, s.host);
    case 'off': return w(0x20010db8, 0, 0, s.a);
    default: return MARTIANS[s.which % MARTIANS.length]!;
  }
}

function dstAddr(d: Dst6, c: Ctx6): AddrWords {
  switch (d.k) {
    case 'b': return c.ipB;
    case 'llB': return c.llB;
    case 'snB': return solicitedNode(c.ipB);
    case 'allNodes': return ALL_NODES;
    default: return w(0x20010db8, 1, 0, d.a);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** the extension header chain (each header's next header filled in), ending in `last` */
function extChain(ext: readonly Ext6[], last: number): { bytes: Uint8Array; first: number } {
  const parts: Uint8Array[] = [];
  const types: number[] = [];
  for (let i = 0; i < ext.length; i++) {
    const e = ext[i]!;
    const nh = 0; // patched below
    switch (e.k) {
      case 'hbh':
      case 'dst': {
        const options: Ipv6TlvOption[] = e.opts.map((o) => ({ type: o.type, data: new Uint8Array(o.type === 0 ? 0 : o.len).fill(o.type === 1 ? 0 : o.fill) }));
        const r = { nextHeader: nh, options };
        const b = new Uint8Array(ipv6OptionsLen(r));
        if (b.length <= 2048) emitIpv6Options(r, b, 0);
        parts.push(b);
        types.push(e.k === 'hbh' ? 0 : 60);
        break;
      }
      case 'rt': {
        const data = new Uint8Array(4 + 8 * e.units);
        const b = new Uint8Array(8 + 8 * e.units);
        emitIpv6Routing({ nextHeader: nh, routingType: e.type, segmentsLeft: e.segLeft, data }, b, 0);
        parts.push(b);
        types.push(43);
        break;
      }
      case 'frag': {
        const b = new Uint8Array(8);
        emitIpv6Frag({ nextHeader: nh, offset: 0, more: false, ident: e.ident }, new DataView(b.buffer), 0);
        parts.push(b);
        types.push(44);
        break;
      }
      case 'junk': {
        const b = Uint8Array.from(e.bytes);
        parts.push(b);
        types.push(e.nh);
        break;
      }
    }
  }
  for (let i = 0; i < parts.length; i++) if (parts[i]!.length > 0) parts[i]![0] = i + 1 < types.length ? types[i + 1]! : last;
  return { bytes: concat(parts), first: types.length > 0 ? types[0]! : last };
}

function tcpSegment(t: TcpDesc, sport: number, dport: number, seq: number, ack: number, flags: number, payload: Uint8Array): Uint8Array {
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
  const r: TcpRepr = { srcPort: sport, dstPort: dport, seq: seq >>> 0, ack: ack >>> 0, flags, window: t.window, urgent: t.urgent, options: o, payload: concat([Uint8Array.from(raw), payload]) };
  const out = new Uint8Array(tcpPacketLen(r));
  emitTcp(r, out, new DataView(out.buffer), 0, 0, 0); // checksum: recomputed over the IPv6 pseudo-header
  if (raw.length > 0) out[12] = ((20 + raw.length) >> 2) << 4;
  return out;
}

function udpDatagram(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const r = { srcPort: sport, dstPort: dport, payload };
  const out = new Uint8Array(udpPacketLen(r));
  emitUdp(r, out, new DataView(out.buffer), 0, 0, 0);
  return out;
}

function echo6(type: number, ident: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  emitIcmpv6Echo({ type, ident, seq, payload }, out, new DataView(out.buffer), 0, 0);
  return out;
}

function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i * 29) & 0xff;
  return out;
}

function ipv6Header(src: AddrWords, dst: AddrWords, nh: number, payloadLen: number, ip: Ip6Desc, hlim = ip.hlim): Uint8Array {
  const out = new Uint8Array(IPV6_HLEN);
  emitIpv6({ src, dst, nextHeader: nh, hopLimit: hlim, payloadLen, trafficClass: ip.tc, flowLabel: ip.flow }, new DataView(out.buffer), 0);
  return out;
}

/** the quoted packet of an ICMPv6 error: an IPv6 header from B plus the start of its L4 header */
function quote6(d: Extract<Icmp6Desc, { k: 'err' }>, c: Ctx6, ip: Ip6Desc): Uint8Array {
  const q = (nh: number, l4: Uint8Array): Uint8Array => concat([ipv6Header(c.ipB, c.ipA, nh, l4.length + 100, ip, 64), l4]);
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
      return q(6, h);
    }
    case 'listen': {
      const h = new Uint8Array(8);
      const dv = new DataView(h.buffer);
      dv.setUint16(0, c.listenPort);
      dv.setUint16(2, 40000 + (d.seqDelta & 0xff));
      dv.setUint32(4, d.seqDelta >>> 0);
      return q(6, h);
    }
    case 'udp': {
      const h = new Uint8Array(8);
      const dv = new DataView(h.buffer);
      dv.setUint16(0, c.udpPort);
      dv.setUint16(2, 9);
      dv.setUint16(4, 108);
      return q(17, h);
    }
    case 'short': return q(6, new Uint8Array(0)).subarray(0, 24);
    default: return Uint8Array.from(d.junk);
  }
}

function ndisc(d: Nd6Desc, c: Ctx6): NdiscRepr {
  const other = w(c.ipA.w0, c.ipA.w1, c.ipA.w2, 0x77);
  const mac = (m: 'a' | number | null): number | null => (m === 'a' ? c.macA : m);
  switch (d.k) {
    case 'ns': {
      const target = d.target === 'b' ? c.ipB : d.target === 'llB' ? c.llB : d.target === 'a' ? c.ipA : other;
      return { kind: 'ns', target, sourceLl: mac(d.srcMac) };
    }
    case 'na': {
      // never a forged link-layer address for A itself: that would (legitimately) cut B off A
      const target = d.target === 'a' ? c.ipA : d.target === 'b' ? c.ipB : other;
      const targetLl = d.target === 'a' ? c.macA : mac(d.mac);
      return { kind: 'na', target, router: d.router, solicited: d.solicited, override: d.override, targetLl };
    }
    case 'rs': return { kind: 'rs', sourceLl: d.mac };
    case 'ra':
      return {
        kind: 'ra', curHopLimit: d.hop, managed: false, other: false, routerLifetime: d.lifetime, reachableTime: d.reach, retransTimer: d.retrans,
        sourceLl: c.macA, mtu: d.mtu,
        prefixes: d.prefixes.map((p) => ({ prefixLen: p.len, onLink: p.onLink, autonomous: p.auto, validLifetime: p.valid, preferredLifetime: p.pref, prefix: p.doc ? w(0x20010db8, 0, 0, 0) : w(c.ipA.w0, c.ipA.w1, 0, 0) })),
      };
  }
}

/** builds the frame(s) a description stands for, with valid checksums unless it says otherwise */
export function build6(f: FrameDesc6, c: Ctx6): Built[] {
  const ip = f.ip;
  const body = f.body;
  let src = srcAddr(ip.src, c);
  let dst = dstAddr(ip.dst, c);
  // NS from A itself carries A's own link-layer address (a forged one would cut B off A)
  if (body.aim === 'nd6' && body.nd.k === 'ns' && (ip.src.k === 'a' || ip.src.k === 'llA') && body.nd.srcMac !== null) body.nd.srcMac = 'a';
  const ethDstOf = (d: AddrWords): number => {
    if (f.ethDst === 'bcast') return 0xffffffffffff;
    if (typeof f.ethDst === 'number') return f.ethDst;
    return d.w0 >>> 24 === 0xff ? mcastMac(d) : c.macB;
  };
  const out: Built[] = [];
  const frame = (nhL4: number, l4: Uint8Array, ext: readonly Ext6[] = ip.ext, hlim = ip.hlim): Built => {
    const chain = extChain(ext, nhL4);
    const hdr = ipv6Header(src, dst, chain.first, chain.bytes.length + l4.length, ip, hlim);
    const bytes = new Uint8Array(ETH_HLEN + IPV6_HLEN + chain.bytes.length + l4.length);
    emitEthernet({ dst: ethDstOf(dst), src: c.macA, etherType: ETH_P_IPV6 }, new DataView(bytes.buffer), 0);
    bytes.set(hdr, ETH_HLEN);
    bytes.set(chain.bytes, ETH_HLEN + IPV6_HLEN);
    bytes.set(l4, ETH_HLEN + IPV6_HLEN + chain.bytes.length);
    const b: Built = { bytes, l3: ETH_HLEN, l4: ETH_HLEN + IPV6_HLEN + chain.bytes.length, proto: nhL4 };
    out.push(b);
    return b;
  };
  switch (body.aim) {
    case 'nd6': {
      const r = ndisc(body.nd, c);
      const m = new Uint8Array(ndiscLen(r));
      emitNdisc(r, m, new DataView(m.buffer), 0, 0);
      m[1] = body.code;
      frame(58, m, [], body.badHlim ? 64 : 255);
      break;
    }
    case 'ip6': {
      const d = Uint8Array.from(body.data);
      if (body.l4 === 'unknown') frame(body.proto, d);
      else if (body.l4 === 'none') frame(59, d);
      else if (body.l4 === 'icmp') frame(58, echo6(128, 9, 1, d));
      else if (body.l4 === 'udp') frame(17, udpDatagram(1000, c.udpPort, d));
      else frame(6, tcpSegment({ ...SYN, sport: 30000 + (d.length & 0xff) }, 30000 + (d.length & 0xff), c.listenPort, 1000, 0, 0x02, new Uint8Array(0)));
      break;
    }
    case 'frag6': {
      const fr = body.frag;
      const proto = fr.inner === 'udp' ? 17 : 58;
      const inner = fr.inner === 'udp' ? udpDatagram(2000, c.udpPort, bytesOf(fr.size, fr.ident)) : echo6(128, fr.ident & 0xffff, 1, bytesOf(fr.size, fr.ident));
      const whole = frame(proto, inner, []);
      fixChecksums(whole);
      out.pop();
      const l4 = whole.bytes.subarray(whole.l4);
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
        const fh = new Uint8Array(8);
        emitIpv6Frag({ nextHeader: proto, offset: o, more: !last || fr.lastMf, ident: fr.ident }, new DataView(fh.buffer), 0);
        const b = frame(44, concat([fh, l4.subarray(o, o + n)]), []);
        b.bytes[ETH_HLEN + IPV6_HLEN] = proto;
        b.l4 = -1;
      }
      break;
    }
    case 'icmp6': {
      const d = body.icmp;
      if (d.k === 'echo') {
        frame(58, echo6(d.type, d.ident, d.seq, bytesOf(d.len, d.seq)));
      } else if (d.k === 'err') {
        const quote = quote6(d, c, ip);
        const m = new Uint8Array(8 + quote.length);
        emitIcmpv6Error({ type: d.type, code: d.code, info: d.info, quote }, m, new DataView(m.buffer), 0, 0);
        frame(58, m);
      } else {
        const m = new Uint8Array(8 + d.body.length);
        m[0] = d.type;
        m[1] = d.code;
        m.set(d.body, 8);
        frame(58, m);
      }
      break;
    }
    case 'udp6': {
      const b = frame(17, udpDatagram(body.sport, body.bound ? c.udpPort : 9, bytesOf(body.len, body.sport)));
      fixChecksums(b);
      const lf = ((b.bytes[b.l4 + 4]! << 8) | b.bytes[b.l4 + 5]!) + body.lenDelta;
      b.bytes[b.l4 + 4] = (lf >> 8) & 0xff;
      b.bytes[b.l4 + 5] = lf & 0xff;
      break;
    }
    case 'tcpListen6':
    case 'tcpClosed6':
    case 'tcpEstab6': {
      const t = body.tcp;
      let sport = t.sport;
      let dport = body.aim === 'tcpClosed6' ? 1 + (t.sport % 1000) : c.listenPort;
      let seq = t.seqRandom ?? t.seqDelta;
      let ack = t.ackRandom ?? t.ackDelta;
      let flags = t.flags;
      let payload = bytesOf(t.payloadLen, t.sport);
      if (body.aim === 'tcpEstab6') {
        src = c.ipA;
        dst = c.ipB;
        sport = c.conn.aPort;
        dport = c.listenPort;
        seq = t.seqRandom ?? ((c.conn.aSndNxt + t.seqDelta) >>> 0);
        ack = t.ackRandom ?? ((c.conn.bSndNxt + t.ackDelta) >>> 0);
        let len = t.payloadLen;
        const d = (seq - c.conn.aSndNxt) | 0;
        if (!c.allowDesync) {
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
      } else if (sport === c.conn.aPort) {
        sport ^= 0x8000;
      }
      frame(6, tcpSegment(t, sport, dport, seq, ack, flags, payload));
      break;
    }
    case 'raw6': {
      const bytes = new Uint8Array(ETH_HLEN + body.bytes.length);
      emitEthernet({ dst: f.ethDst === 'auto' ? c.macB : ethDstOf(dst), src: c.macA, etherType: body.etherType }, new DataView(bytes.buffer), 0);
      bytes.set(body.bytes, ETH_HLEN);
      out.push({ bytes, l3: body.etherType === ETH_P_IPV6 ? ETH_HLEN : -1, l4: -1, proto: 0 });
      break;
    }
  }
  for (const b of out) {
    finish6(b, f);
    // a TSval ahead of A's clock poisons B's ts_recent (see defuseTsVal): kept out here too
    if (!c.allowDesync) defuseTsVal(b, c.conn);
  }
  return out;
}

const SYN: TcpDesc = {
  sport: 1, seqDelta: 0, seqRandom: null, ackDelta: 0, ackRandom: null, flags: 0x02, window: 65535, urgent: 0, mss: 1440,
  wscale: 7, sackPerm: true, ts: null, sack: [], rawOpts: null, payloadLen: 0,
};

/** checksums, header lies, checksum breakage, raw flips, truncation and padding, in that order */
function finish6(b: Built, f: FrameDesc6): void {
  const m = f.raw;
  const ip = f.ip;
  if (f.body.aim === 'udp6' && f.body.zeroCsum) {
    b.bytes[b.l4 + 6] = 0;
    b.bytes[b.l4 + 7] = 0;
  } else if (b.l4 >= 0 || f.body.aim === 'frag6') {
    if (f.body.aim !== 'frag6' && f.body.aim !== 'udp6') fixChecksums(b);
  }
  const isIp = b.l3 >= 0 && b.bytes.length >= b.l3 + IPV6_HLEN && b.bytes[b.l3]! >> 4 === 6;
  if (isIp) {
    const x = b.bytes;
    if (ip.payloadLenDelta !== 0) {
      const pl = (((x[b.l3 + 4]! << 8) | x[b.l3 + 5]!) + ip.payloadLenDelta) & 0xffff;
      x[b.l3 + 4] = pl >> 8;
      x[b.l3 + 5] = pl & 0xff;
    }
    if (ip.nextHeader !== null && f.body.aim !== 'ip6') x[b.l3 + 6] = ip.nextHeader;
    if (ip.version !== null) x[b.l3] = (ip.version << 4) | (x[b.l3]! & 0x0f);
  }
  if (m.badL4 && b.l4 >= 0) {
    const at = b.proto === 6 ? 16 : b.proto === 17 ? 6 : 2;
    if (b.l4 + at + 2 <= b.bytes.length) b.bytes[b.l4 + at + 1] ^= 0x5a;
  }
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
