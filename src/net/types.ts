/**
 * The network layer's shared contract: the transport interface (`Transport`, `RxMeta`,
 * `IcmpErr`), the route handed to transports, `IpLayer` / `FamilyStack` / `ProtocolTable` (one
 * face for IPv4 and IPv6), and the IPv4 SNMP-style counters.
 */
import type { SkBuff } from '../skb/index.js';
import type { NetDevice } from '../netdev/index.js';
import { MutAddr, type Addr, type InetAddr } from '../inet/index.js';

/**
 * Headroom a transport reserves in front of its L4 header (Ethernet 14 + IPv4 up to 60, or
 * IPv6 40 + a fragment header 8 and room for extension headers,
 * rounded up). `output` needs at least ETH_HLEN + IPV4_HLEN.
 */
export const MAX_HEADER = 128;

/** default IPv4 TTL (`net.ipv4.ip_default_ttl`) */
export const IP_DEFAULT_TTL = 64;

/** what IPv4 / IPv6 tell a transport about a received datagram (one per stack, reused) */
export class RxMeta {
  /** network family of the datagram on the wire */
  family: 4 | 6 = 4;
  /** source and destination (IPv4 v4-mapped): scratch, copy with `InetAddr.from` to keep */
  readonly src = new MutAddr();
  readonly dst = new MutAddr();
  /** receiving device */
  dev: NetDevice | null = null;
  /** IPv4 TOS / IPv6 traffic class byte (ECN in the low two bits) */
  tos = 0;
  /** TTL / hop limit */
  ttl = 0;
  /** destination was a link-layer broadcast or multicast */
  linkBcast = false;
}

/**
 * A transport protocol registered with the IP layer (Linux `net_protocol` / `inet6_protocol`).
 */
export interface Transport {
  /**
   * Takes ownership of `skb`. `skb.data` is at the L4 header, `skb.len` is the L4 length (IP and
   * extension headers pulled, link padding trimmed); `skb.networkHeader` / `skb.transportHeader`
   * are absolute offsets in `skb.buf`. The payload may sit in (possibly unreadable) frags.
   * `meta` is borrowed for the call only.
   */
  rcv(skb: SkBuff, meta: RxMeta): void;
  /**
   * Optional (Linux `err_handler`): an ICMP / ICMPv6 error about a datagram this protocol sent,
   * or a local failure for one (neighbour resolution failed: `EHOSTUNREACH`). `e` and the bytes
   * it points at are borrowed for the call only. Return `false` when no socket took the error
   * (no match, sequence out of window): an IPv4 "fragmentation needed" then leaves the path MTU
   * alone, as Linux lowers it only from a socket's error handler. Any other return (or none)
   * lets it lower the path MTU; a protocol without `err` never does.
   */
  err?(e: IcmpErr): boolean | void;
}

/** the result of a route lookup (Linux `rtable` / `rt6_info` reduced to what transports need) */
export interface Route {
  family: 4 | 6;
  /** output device (for a local destination: the loopback device, or the owner of the address) */
  dev: NetDevice;
  /** preferred source address */
  src: InetAddr;
  /** next hop: the gateway, or the destination itself for on-link / local destinations */
  nexthop: InetAddr;
  /** path MTU in bytes of IP packet: the device MTU, or less once PMTU discovery learned it */
  mtu: number;
  /** destination is one of this host's addresses: delivered over loopback */
  local: boolean;
}

/** per-datagram output options (IPv4 and IPv6 alike) */
export interface OutputOptions {
  /** TOS / traffic class byte (default 0) */
  tos?: number;
  /** TTL / hop limit (default 64) */
  ttl?: number;
  /** IPv4 don't-fragment (default: set, PMTU discovery on, as `IP_PMTUDISC_WANT` for TCP) */
  df?: boolean;
}

/**
 * What transports see of the IP layer (IPv4 and IPv6 behind one face; the family is the
 * destination address's). Results are 0 or a negative errno, never exceptions.
 */
export interface IpLayer {
  /** route to `dst` (optionally through `oif`), or null: ENETUNREACH */
  route(dst: Addr, oif?: number): Route | null;
  /**
   * Sends `skb` (data at the L4 header; headroom ≥ MAX_HEADER) from `src` to `dst`. Takes the
   * skb. Fragments IPv4 datagrams over the path MTU when DF is clear; otherwise EMSGSIZE.
   */
  output(skb: SkBuff, src: Addr, dst: Addr, proto: number, opts?: OutputOptions): number;
  /** `a` is one of this host's addresses (any device), or a loopback address */
  isLocalAddress(a: Addr): boolean;
  register(proto: number, t: Transport): void;
  unregister(proto: number): void;
  /**
   * Answers a datagram no transport wanted with ICMP port unreachable (v4) / ICMPv6
   * destination unreachable, port unreachable (v6). Does not take `skb`.
   */
  sendPortUnreach(skb: SkBuff, meta: RxMeta): void;
}

/**
 * An ICMP / ICMPv6 error (or local link failure) about a datagram we sent. One object per stack,
 * reused: valid only during the `err` call.
 */
export class IcmpErr {
  /** family of the offending datagram */
  family: 4 | 6 = 4;
  /** positive Linux errno the error maps to (Linux `icmp_err_convert` / `icmpv6_err_convert`) */
  errno = 0;
  /** hard error (Linux `icmp_err_convert[].fatal`; ICMPv6: `icmpv6_err_convert`'s return) */
  fatal = false;
  type = 0;
  code = 0;
  /** next-hop MTU for ICMP_FRAG_NEEDED / ICMPV6_PKT_TOOBIG, else 0 */
  info = 0;
  /** generated by this host (neighbour failure), not received from the network */
  local = false;
  /** source, destination and protocol of the offending datagram (ours) */
  readonly src = new MutAddr();
  readonly dst = new MutAddr();
  proto = 0;
  /**
   * `buf`/`dv` hold the offending datagram's L4 header at `l4Off` (absolute); `l4Len` (≥ 8) bytes
   * of it are readable there: as much of the quote as fits the receiving skb's head
   */
  buf: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(this.buf.buffer);
  l4Off = 0;
  l4Len = 0;
}

/** Linux `Ip` SNMP counters (camelCase) */
export interface IpStats {
  inReceives: number;
  inHdrErrors: number;
  inAddrErrors: number;
  inTruncatedPkts: number;
  inCsumErrors: number;
  /** martian sources (multicast, broadcast, 0.0.0.0) */
  inDiscards: number;
  inDelivers: number;
  inUnknownProtos: number;
  outRequests: number;
  outNoRoutes: number;
  /** no headroom for the headers, no memory for fragments */
  outDiscards: number;
  /** datagrams fragmented / fragments created / datagrams that could not be (DF, no memory) */
  fragOKs: number;
  fragCreates: number;
  fragFails: number;
  /** fragments received / datagrams reassembled / reassembly failures (any cause) */
  reasmReqds: number;
  reasmOKs: number;
  reasmFails: number;
  /** queues that timed out (`ipfrag_time`) */
  reasmTimeout: number;
  /** queues dropped for an overlapping fragment (Linux `ReasmOverlaps`) */
  reasmOverlaps: number;
}

/** ARP counters (the neighbour table counts resolution failures and discards: `NeighStats`) */
export interface ArpStats {
  inRequests: number;
  inReplies: number;
  /** malformed or unsupported ARP packets */
  inErrors: number;
  outRequests: number;
  outReplies: number;
}

/** Linux `Icmp` SNMP counters (camelCase) */
export interface IcmpStats {
  inMsgs: number;
  inErrors: number;
  inCsumErrors: number;
  inDestUnreachs: number;
  inTimeExcds: number;
  inEchos: number;
  inEchoReps: number;
  outMsgs: number;
  outErrors: number;
  outDestUnreachs: number;
  outTimeExcds: number;
  outEchos: number;
  outEchoReps: number;
  /** errors not sent: the global budget (Linux ICMP_MIB_RATELIMITGLOBAL) / the destination's (RATELIMITHOST) */
  rateLimitGlobal: number;
  rateLimitHost: number;
}

export interface Ipv4Stats extends IpStats {
  arp: ArpStats;
  icmp: IcmpStats;
}

export function newIpv4Stats(): Ipv4Stats {
  return {
    inReceives: 0, inHdrErrors: 0, inAddrErrors: 0, inTruncatedPkts: 0, inCsumErrors: 0, inDiscards: 0,
    inDelivers: 0, inUnknownProtos: 0, outRequests: 0, outNoRoutes: 0, outDiscards: 0,
    fragOKs: 0, fragCreates: 0, fragFails: 0, reasmReqds: 0, reasmOKs: 0, reasmFails: 0, reasmTimeout: 0, reasmOverlaps: 0,
    arp: { inRequests: 0, inReplies: 0, inErrors: 0, outRequests: 0, outReplies: 0 },
    icmp: {
      inMsgs: 0, inErrors: 0, inCsumErrors: 0, inDestUnreachs: 0, inTimeExcds: 0, inEchos: 0, inEchoReps: 0,
      outMsgs: 0, outErrors: 0, outDestUnreachs: 0, outTimeExcds: 0, outEchos: 0, outEchoReps: 0,
      rateLimitGlobal: 0, rateLimitHost: 0,
    },
  };
}

/**
 * One family's IP stack (`Ipv4Stack`, `Ipv6Stack`) behind the `InetLayer` facade. Addresses are
 * of the stack's family; results are 0 or a negative errno, never exceptions.
 */
export interface FamilyStack {
  readonly family: 4 | 6;
  /** route to `dst` (optionally through `oif`), or null: ENETUNREACH. Allocates: per connection */
  route(dst: Addr, oif?: number): Route | null;
  /** see `IpLayer.output`; takes the skb */
  output(skb: SkBuff, src: Addr, dst: Addr, proto: number, opts?: OutputOptions): number;
  isLocalAddress(a: Addr): boolean;
  /** see `IpLayer.sendPortUnreach`; borrows the skb */
  sendPortUnreach(skb: SkBuff, meta: RxMeta): void;
}

/**
 * Transports by IP protocol number (Linux `inet_protos` / `inet6_protos`), one table shared by
 * both families: TCP and UDP register once and get IPv4 and IPv6 datagrams (`RxMeta.family`).
 * Each family stack handles its own ICMP / ICMPv6 before consulting the table.
 */
export class ProtocolTable {
  private readonly t: (Transport | null)[] = new Array<Transport | null>(256).fill(null);

  /** the transport for `proto` (0..255), or null */
  get(proto: number): Transport | null {
    return this.t[proto & 0xff] ?? null;
  }

  /** registers `t` for `proto`; throws RangeError on a bad number, Error when one is registered */
  set(proto: number, t: Transport): void {
    if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new RangeError(`bad IP protocol ${proto}`);
    if (this.t[proto] !== null) throw new Error(`IP protocol ${proto} already registered`);
    this.t[proto] = t;
  }

  delete(proto: number): void {
    if (Number.isInteger(proto) && proto >= 0 && proto <= 255) this.t[proto] = null;
  }
}
