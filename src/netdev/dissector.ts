/**
 * The flow dissector (Linux `__skb_flow_dissect`, reduced to what the NIC model needs): ONE pass
 * over a frame's headers fills a reused `FlowDissect` with the family, the L3 and L4 offsets
 * (IPv4 IHL honoured; IPv6 extension headers walked, at most `FLOW_DISSECT_MAX_EXTHDRS`), the L4
 * protocol, the addresses (`MutAddr`), the ports, the fragment state, the TCP header length and
 * flags, and the header-split point. Every consumer in the NIC (n-tuple steering, RSS, header
 * split, checksum offload, GRO, TSO) reads this result instead of parsing again.
 *
 * Contract: `flowDissect` never throws and never reads outside `[o, o + hl)`; bad or truncated
 * headers are reported through the fields (`family` 0 for a malformed IP header, `l4` -1 when no
 * L4 header is usable, `truncated` when more than `hl` bytes of a longer frame were needed). All
 * offsets are relative to the start of the frame (the Ethernet header). The result is scratch:
 * valid until the next call; copy what must be kept.
 */
import { MutAddr } from '../inet/index.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6 } from '../wire/ethernet.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ROUTING } from '../wire/ipv6.js';

/** the most IPv6 extension headers walked before giving up on the L4 header (Linux uses 15 for all headers) */
export const FLOW_DISSECT_MAX_EXTHDRS = 8;

const IPPROTO_AH = 51;
const IPV4_MF = 0x2000;
const IPV4_OFFMASK = 0x1fff;

export class FlowDissect {
  /** 4 or 6 for a well-formed IP header, 0 otherwise (not IP, or a malformed IP header) */
  family: 0 | 4 | 6 = 0;
  /** the Ethernet type */
  etherType = 0;
  /** L3 header offset, -1 when not IP */
  l3 = -1;
  /** end of the IP datagram (Ethernet padding starts here) */
  l3End = 0;
  /** the IPv4 header length (IHL × 4) or 40 for IPv6 */
  ipHlen = 0;
  /** IPv4 options present (IHL > 5) or IPv6 extension headers present */
  l3Opts = false;
  /** L4 header offset, -1 when there is no usable L4 header (non-first fragment, truncated, unknown chain) */
  l4 = -1;
  /** the upper-layer protocol (after IPv6 extension headers); meaningful when family ≠ 0 */
  proto = 0;
  readonly src = new MutAddr();
  readonly dst = new MutAddr();
  /** TCP or UDP ports were read (false for fragments that carry none) */
  hasPorts = false;
  sport = 0;
  dport = 0;
  /** the packet is an IP fragment (IPv4 MF or offset; IPv6 fragment header) */
  isFragment = false;
  /** fragment offset in bytes (0 for the first fragment and for unfragmented packets) */
  fragOff = 0;
  /** TCP header length (data offset × 4), 0 when not TCP */
  tcpHlen = 0;
  /** TCP flag byte (byte 13), 0 when not TCP */
  tcpFlags = 0;
  /** IPv4 TOS / IPv6 traffic class */
  tos = 0;
  /** IPv4 TTL / IPv6 hop limit */
  ttl = 0;
  /** IPv6 flow label (0 for IPv4) */
  flowLabel = 0;
  /** frame offset where the payload starts (header/data split point); the frame length for no split */
  split = 0;
  /** more than the `hl` available bytes of a longer frame were needed: dissect a longer copy */
  truncated = false;
  /** the L4 header is inconsistent (e.g. TCP data offset); the frame stays in the head for the stack to drop */
  l4Bad = false;

  /** the L4 header is TCP or UDP with ports, outside any fragment (steering and checksum offload apply) */
  get hasL4Ports(): boolean {
    return this.hasPorts && !this.isFragment;
  }
}

/**
 * Dissects one frame. `dv` holds `hl` bytes of it from `o`; `flen` is the frame's full length.
 * With `gso` the IP length fields are not checked (a GSO skb's datagram spans the whole frame).
 */
export function flowDissect(fd: FlowDissect, dv: DataView, o: number, hl: number, flen: number, gso = false): void {
  fd.family = 0;
  fd.l3 = -1;
  fd.l3End = 0;
  fd.ipHlen = 0;
  fd.l3Opts = false;
  fd.l4 = -1;
  fd.proto = 0;
  fd.hasPorts = false;
  fd.sport = fd.dport = 0;
  fd.isFragment = false;
  fd.fragOff = 0;
  fd.tcpHlen = 0;
  fd.tcpFlags = 0;
  fd.tos = fd.ttl = fd.flowLabel = 0;
  fd.split = flen;
  fd.truncated = false;
  fd.l4Bad = false;
  fd.etherType = 0;
  if (hl > flen) hl = flen;
  if (hl < ETH_HLEN) {
    fd.truncated = hl < flen;
    return;
  }
  const et = dv.getUint16(o + 12);
  fd.etherType = et;
  const l3 = ETH_HLEN;
  if (et === ETH_P_IP) {
    if (hl < l3 + 20) {
      fd.truncated = hl < flen;
      return;
    }
    const vihl = dv.getUint8(o + l3);
    const ihl = (vihl & 0x0f) << 2;
    const total = gso ? flen - l3 : dv.getUint16(o + l3 + 2);
    if (vihl >> 4 !== 4 || ihl < 20 || total < ihl || l3 + total > flen) return;
    if (hl < l3 + ihl) {
      fd.truncated = hl < flen;
      return;
    }
    fd.family = 4;
    fd.l3 = l3;
    fd.ipHlen = ihl;
    fd.l3Opts = ihl > 20;
    fd.l3End = l3 + total;
    fd.tos = dv.getUint8(o + l3 + 1);
    fd.ttl = dv.getUint8(o + l3 + 8);
    fd.proto = dv.getUint8(o + l3 + 9);
    fd.src.setV4(dv.getUint32(o + l3 + 12));
    fd.dst.setV4(dv.getUint32(o + l3 + 16));
    const frag = dv.getUint16(o + l3 + 6);
    const off = (frag & IPV4_OFFMASK) << 3;
    fd.isFragment = (frag & (IPV4_MF | IPV4_OFFMASK)) !== 0;
    fd.fragOff = off;
    fd.split = l3 + ihl;
    if (off === 0) dissectL4(fd, dv, o, hl, flen, l3 + ihl);
    return;
  }
  if (et === ETH_P_IPV6) {
    if (hl < l3 + 40) {
      fd.truncated = hl < flen;
      return;
    }
    const w0 = dv.getUint32(o + l3);
    const plen = gso ? flen - l3 - 40 : dv.getUint16(o + l3 + 4);
    if (w0 >>> 28 !== 6 || l3 + 40 + plen > flen) return;
    fd.family = 6;
    fd.l3 = l3;
    fd.ipHlen = 40;
    fd.l3End = l3 + 40 + plen;
    fd.tos = (w0 >>> 20) & 0xff;
    fd.flowLabel = w0 & 0xfffff;
    fd.ttl = dv.getUint8(o + l3 + 7);
    fd.src.readV6(dv, o + l3 + 8);
    fd.dst.readV6(dv, o + l3 + 24);
    let nh = dv.getUint8(o + l3 + 6);
    let at = l3 + 40;
    const end = fd.l3End;
    for (let n = 0; ; n++) {
      if (nh !== IPPROTO_HOPOPTS && nh !== IPPROTO_ROUTING && nh !== IPPROTO_DSTOPTS && nh !== IPPROTO_FRAGMENT && nh !== IPPROTO_AH) break;
      fd.l3Opts = true;
      if (n >= FLOW_DISSECT_MAX_EXTHDRS || (nh === IPPROTO_HOPOPTS && n > 0)) {
        // too long a chain, or hop-by-hop not first (RFC 8200 §4.1): no L4 for the NIC
        fd.proto = nh;
        fd.split = at;
        return;
      }
      if (at + 8 > end) {
        fd.proto = nh;
        fd.split = flen;
        return;
      }
      if (at + 8 > hl) {
        fd.truncated = hl < flen;
        fd.proto = nh;
        return;
      }
      const next = dv.getUint8(o + at);
      let len: number;
      if (nh === IPPROTO_FRAGMENT) {
        len = 8;
        const fo = dv.getUint16(o + at + 2);
        fd.isFragment = true;
        fd.fragOff = fo & 0xfff8;
        if (fd.fragOff !== 0) {
          fd.proto = next;
          fd.split = at + 8;
          return;
        }
      } else if (nh === IPPROTO_AH) {
        len = (dv.getUint8(o + at + 1) + 2) << 2;
      } else {
        len = (dv.getUint8(o + at + 1) + 1) << 3;
      }
      if (at + len > end) {
        fd.proto = nh;
        fd.split = flen;
        return;
      }
      nh = next;
      at += len;
    }
    fd.proto = nh;
    fd.split = at;
    if (at > hl) {
      fd.truncated = hl < flen;
      return;
    }
    dissectL4(fd, dv, o, hl, flen, at);
  }
}

/** reads the TCP/UDP header at `l4` (the IP layer is already filled in) */
function dissectL4(fd: FlowDissect, dv: DataView, o: number, hl: number, flen: number, l4: number): void {
  fd.l4 = l4;
  const proto = fd.proto;
  if (fd.isFragment) {
    // a first fragment: ports are there to read, but the payload split stays after the IP header
    if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && l4 + 4 <= hl && l4 + 4 <= fd.l3End) {
      fd.sport = dv.getUint16(o + l4);
      fd.dport = dv.getUint16(o + l4 + 2);
      fd.hasPorts = true;
    }
    return;
  }
  if (proto === IPPROTO_TCP) {
    if (l4 + 20 > fd.l3End) {
      fd.l4Bad = true;
      fd.split = flen;
      return;
    }
    if (l4 + 20 > hl) {
      fd.truncated = hl < flen;
      fd.split = flen;
      return;
    }
    fd.sport = dv.getUint16(o + l4);
    fd.dport = dv.getUint16(o + l4 + 2);
    fd.hasPorts = true;
    const doff = (dv.getUint8(o + l4 + 12) >> 4) << 2;
    fd.tcpHlen = doff;
    fd.tcpFlags = dv.getUint8(o + l4 + 13);
    if (doff < 20 || l4 + doff > fd.l3End) {
      // malformed: keep it all in the head, the stack drops it
      fd.l4Bad = true;
      fd.split = flen;
    } else if (l4 + doff > hl) {
      fd.truncated = hl < flen;
      fd.split = flen;
    } else {
      fd.split = l4 + doff;
    }
    return;
  }
  if (proto === IPPROTO_UDP) {
    if (l4 + 8 > fd.l3End) {
      fd.l4Bad = true;
      fd.split = flen;
      return;
    }
    if (l4 + 8 > hl) {
      fd.truncated = hl < flen;
      fd.split = flen;
      return;
    }
    fd.sport = dv.getUint16(o + l4);
    fd.dport = dv.getUint16(o + l4 + 2);
    fd.hasPorts = true;
    fd.split = l4 + 8;
  }
}
