/**
 * IPv6 counters: Linux `Ip6` and `Icmp6` SNMP names (camelCase), plus NDP / DAD counters of
 * our own. One object per `Ipv6Stack`; tests read it.
 */

export interface Icmp6Stats {
  inMsgs: number;
  inErrors: number;
  inCsumErrors: number;
  inDestUnreachs: number;
  inPktTooBigs: number;
  inTimeExcds: number;
  inParmProblems: number;
  inEchos: number;
  inEchoReplies: number;
  inRouterSolicits: number;
  inRouterAdvertisements: number;
  inNeighborSolicits: number;
  inNeighborAdvertisements: number;
  inRedirects: number;
  outMsgs: number;
  outErrors: number;
  outDestUnreachs: number;
  outPktTooBigs: number;
  outTimeExcds: number;
  outParmProblems: number;
  outEchos: number;
  outEchoReplies: number;
  outNeighborSolicits: number;
  outNeighborAdvertisements: number;
  /** errors not sent because of the per-destination rate limit (Linux `Icmp6OutRateLimitHost`) */
  outRateLimitHost: number;
}

export interface NdiscStats {
  /** NDP messages dropped by the RFC 4861 validity checks (hop limit, code, length, options, ...) */
  invalid: number;
  /** DAD probes sent */
  dadProbes: number;
  /** addresses that failed DAD */
  dadFailures: number;
  /** addresses that passed DAD */
  dadCompleted: number;
}

export interface Ipv6Stats {
  inReceives: number;
  inHdrErrors: number;
  inAddrErrors: number;
  inTruncatedPkts: number;
  inUnknownProtos: number;
  inDiscards: number;
  inDelivers: number;
  inMcastPkts: number;
  /** multicast for a group this host has not joined (not an error: the NIC accepts every 33:33 frame) */
  inMcastNotJoined: number;
  outRequests: number;
  outNoRoutes: number;
  outDiscards: number;
  outMcastPkts: number;
  reasmTimeout: number;
  reasmReqds: number;
  reasmOKs: number;
  reasmFails: number;
  /** fragments dropped as duplicates (queue kept) */
  reasmDuplicates: number;
  /** fragment queues dropped for an overlap (RFC 5722) */
  reasmOverlaps: number;
  /** fragment queues evicted to bring reassembly memory under the low threshold */
  reasmEvictions: number;
  fragOKs: number;
  fragFails: number;
  fragCreates: number;
  icmp: Icmp6Stats;
  ndisc: NdiscStats;
}

export function newIpv6Stats(): Ipv6Stats {
  return {
    inReceives: 0, inHdrErrors: 0, inAddrErrors: 0, inTruncatedPkts: 0, inUnknownProtos: 0, inDiscards: 0, inDelivers: 0,
    inMcastPkts: 0, inMcastNotJoined: 0, outRequests: 0, outNoRoutes: 0, outDiscards: 0, outMcastPkts: 0, reasmTimeout: 0,
    reasmReqds: 0, reasmOKs: 0, reasmFails: 0, reasmDuplicates: 0, reasmOverlaps: 0, reasmEvictions: 0, fragOKs: 0,
    fragFails: 0, fragCreates: 0,
    icmp: {
      inMsgs: 0, inErrors: 0, inCsumErrors: 0, inDestUnreachs: 0, inPktTooBigs: 0, inTimeExcds: 0, inParmProblems: 0,
      inEchos: 0, inEchoReplies: 0, inRouterSolicits: 0, inRouterAdvertisements: 0, inNeighborSolicits: 0,
      inNeighborAdvertisements: 0, inRedirects: 0, outMsgs: 0, outErrors: 0, outDestUnreachs: 0, outPktTooBigs: 0,
      outTimeExcds: 0, outParmProblems: 0, outEchos: 0, outEchoReplies: 0, outNeighborSolicits: 0,
      outNeighborAdvertisements: 0, outRateLimitHost: 0,
    },
    ndisc: { invalid: 0, dadProbes: 0, dadFailures: 0, dadCompleted: 0 },
  };
}
