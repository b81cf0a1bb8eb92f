/**
 * How TCP reads an ICMP / ICMPv6 error (Linux tcp_v4_err / tcp_v6_err / tcp_req_err): which
 * errors are path-MTU signals, which are ignored, which drop a connection still in the SYN
 * queue, and the MSS a path MTU allows. Pure functions of the borrowed `IcmpErr`; the protocol
 * applies the result.
 */
import type { IcmpErr } from '../net/index.js';

/** IPv4 / IPv6 + TCP header bytes without options (Linux tcp_mtu_to_mss) */
export const TCP_HDR4 = 40;
export const TCP_HDR6 = 60;
/** Linux net.ipv4.route.min_pmtu, IPV6_MIN_MTU, TCP_MIN_SND_MSS */
export const MIN_PMTU4 = 552;
export const MIN_PMTU6 = 1280;
export const TCP_MIN_SND_MSS = 48;

const ICMP_DEST_UNREACH = 3;
const ICMP_SOURCE_QUENCH = 4;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_PARAMETERPROB = 12;
const ICMP_NET_UNREACH = 0;
const ICMP_HOST_UNREACH = 1;
const ICMP_FRAG_NEEDED = 4;
const ICMPV6_PKT_TOOBIG = 2;

export const TCP_ICMP_IGNORE = 0;
/** fragmentation needed / packet too big: `e.info` is the next-hop MTU */
export const TCP_ICMP_PMTU = 1;
/** an error with `e.errno` */
export const TCP_ICMP_ERROR = 2;

/** what the error means to TCP */
export function tcpIcmpKind(e: IcmpErr): number {
  if (e.family === 6) {
    if (e.type === ICMPV6_PKT_TOOBIG && !e.local) return e.info >= MIN_PMTU6 ? TCP_ICMP_PMTU : TCP_ICMP_IGNORE;
  } else {
    if (e.type === ICMP_DEST_UNREACH && e.code === ICMP_FRAG_NEEDED && !e.local) return TCP_ICMP_PMTU;
    if (e.type === ICMP_SOURCE_QUENCH && !e.local) return TCP_ICMP_IGNORE;
  }
  return e.errno !== 0 ? TCP_ICMP_ERROR : TCP_ICMP_IGNORE;
}

/**
 * tcp_req_err's `abort`: does this error drop a passive open still in the SYN queue? IPv4:
 * parameter problem, time exceeded, network / host unreachable; IPv6: a fatal error; a local
 * neighbour failure always does.
 */
export function tcpReqErrAborts(e: IcmpErr): boolean {
  if (e.local) return true;
  if (e.family === 6) return e.fatal;
  return e.type === ICMP_PARAMETERPROB || e.type === ICMP_TIME_EXCEEDED ||
    (e.type === ICMP_DEST_UNREACH && (e.code === ICMP_NET_UNREACH || e.code === ICMP_HOST_UNREACH));
}

/** the path MTU floor of a family (Linux clamps IPv4 to min_pmtu; IPv6 never goes below 1280) */
export function pmtuFloor(v4: boolean): number {
  return v4 ? MIN_PMTU4 : MIN_PMTU6;
}

/** send MSS for path MTU `pmtu` (Linux tcp_mtu_to_mss + the peer's clamp), at least TCP_MIN_SND_MSS */
export function mssForPmtu(pmtu: number, v4: boolean, mssClamp: number): number {
  let mss = pmtu - (v4 ? TCP_HDR4 : TCP_HDR6);
  if (mss > mssClamp) mss = mssClamp;
  return mss < TCP_MIN_SND_MSS ? TCP_MIN_SND_MSS : mss;
}
