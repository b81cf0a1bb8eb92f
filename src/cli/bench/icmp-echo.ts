/**
 * The least a responder on one of our links can do: a `LinkReceiver` that answers every IPv4 ICMP
 * echo request in an Ethernet frame (MACs and IPv4 addresses swapped, type 8 → 0, the ICMP
 * checksum adjusted incrementally; swapping the addresses leaves the IPv4 checksum valid) by
 * sending the reply straight back on the same link, with no stack behind it. It sets the floor
 * of the bench's `vxlan-link-echo-floor` row: our VXLAN link and Node's wake-up alone.
 *
 * Owns one reply buffer, reused for every reply (the link copies on `send`). Frames that are not
 * well-formed echo requests are counted and ignored; a reply the link refuses (busy) is counted
 * as dropped, never retried. Not part of the public API.
 */
import type { FrameLink, FrameMeta, LinkReceiver } from '../../index.js';

const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;
const IPPROTO_ICMP = 1;
const ICMP_ECHO = 8;
const ICMP_ECHOREPLY = 0;
const ICMP_HLEN = 8;

export interface IcmpEchoStats {
  answered: number;
  /** not an IPv4 ICMP echo request (or too short to be one) */
  ignored: number;
  /** the link was busy */
  dropped: number;
  errors: number;
}

export class IcmpEchoResponder implements LinkReceiver {
  readonly stats: IcmpEchoStats = { answered: 0, ignored: 0, dropped: 0, errors: 0 };
  private readonly out: Uint8Array;

  constructor(private readonly link: FrameLink) {
    this.out = new Uint8Array(ETH_HLEN + link.mtu);
  }

  receive(frame: Uint8Array, _meta?: FrameMeta | null): void {
    const n = frame.length;
    const st = this.stats;
    if (n < ETH_HLEN + 20 + ICMP_HLEN || n > this.out.length || ((frame[12]! << 8) | frame[13]!) !== ETH_P_IP) {
      st.ignored++;
      return;
    }
    const ip = ETH_HLEN;
    const ihl = (frame[ip]! & 0x0f) << 2;
    const l4 = ip + ihl;
    const fragged = (((frame[ip + 6]! & 0x3f) << 8) | frame[ip + 7]!) !== 0;
    if (frame[ip]! >> 4 !== 4 || ihl < 20 || n < l4 + ICMP_HLEN || fragged || frame[ip + 9] !== IPPROTO_ICMP || frame[l4] !== ICMP_ECHO) {
      st.ignored++;
      return;
    }
    const o = this.out;
    o.set(frame);
    o.set(frame.subarray(6, 12), 0);
    o.set(frame.subarray(0, 6), 6);
    o.set(frame.subarray(ip + 16, ip + 20), ip + 12);
    o.set(frame.subarray(ip + 12, ip + 16), ip + 16);
    o[l4] = ICMP_ECHOREPLY;
    // RFC 1624: the type byte went from 8 to 0, so the one's-complement checksum gains 0x0800
    let c = ((o[l4 + 2]! << 8) | o[l4 + 3]!) + (ICMP_ECHO << 8);
    c = (c & 0xffff) + (c >>> 16);
    o[l4 + 2] = c >>> 8;
    o[l4 + 3] = c & 0xff;
    if (this.link.send(o.subarray(0, n))) st.answered++;
    else st.dropped++;
  }

  flush(): void {}

  drain(): void {}

  error(_err: Error): void {
    this.stats.errors++;
  }
}
