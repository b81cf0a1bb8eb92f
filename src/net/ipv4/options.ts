/**
 * IPv4 option validation on input (Linux `__ip_options_compile` with an skb, then
 * `ip_rcv_options`), without recording anything into the packet (this stack neither forwards
 * nor reflects options). Checks, in Linux's order: every option but EOL / NOP has a length
 * byte of at least 2 that fits the header; source routes (LSRR / SSRR) have a length of at least
 * 3, a pointer of at least 4 and appear once; record route has a pointer of at least 4 with room
 * for an address when not full; timestamp a length of at least 4, a pointer of at least 5, room
 * for its entry when not full, and an overflow counter under 15 when full; router alert a length
 * of at least 4. Unknown options (security, stream id, CIPSO, ...) are accepted.
 *
 * `ipOptionsCheck` returns `IPOPT_OK`, `IPOPT_SRR` (well formed but source-routed: Linux drops
 * it while `accept_source_route` is 0, the default), or the offset from the IP header of the
 * offending byte (≥ 20: the pointer of the ICMP parameter problem Linux sends). Allocation-free.
 */

export const IPOPT_OK = -1;
export const IPOPT_SRR = -2;

const IPOPT_END = 0;
const IPOPT_NOOP = 1;
const IPOPT_RR = 7;
const IPOPT_LSRR = 131;
const IPOPT_SSRR = 137;
const IPOPT_TIMESTAMP = 68;
const IPOPT_RA = 148;
const IPOPT_TS_TSANDADDR = 1;
const IPOPT_TS_PRESPEC = 3;

/** validates the options of the IPv4 header at `nh` (header length `hl` > 20) in `buf` */
export function ipOptionsCheck(buf: Uint8Array, nh: number, hl: number): number {
  let p = nh + 20;
  const end = nh + hl;
  let srr = false;
  while (p < end) {
    const type = buf[p]!;
    if (type === IPOPT_END) break;
    if (type === IPOPT_NOOP) {
      p++;
      continue;
    }
    const l = end - p;
    if (l < 2) return p - nh;
    const optlen = buf[p + 1]!;
    if (optlen < 2 || optlen > l) return p - nh;
    switch (type) {
      case IPOPT_SSRR:
      case IPOPT_LSRR:
        if (optlen < 3) return p + 1 - nh;
        if (buf[p + 2]! < 4) return p + 2 - nh;
        if (srr) return p - nh;
        srr = true;
        break;
      case IPOPT_RR: {
        if (optlen < 3) return p + 1 - nh;
        const ptr = buf[p + 2]!;
        if (ptr < 4) return p + 2 - nh;
        if (ptr <= optlen && ptr + 3 > optlen) return p + 2 - nh;
        break;
      }
      case IPOPT_TIMESTAMP: {
        if (optlen < 4) return p + 1 - nh;
        const ptr = buf[p + 2]!;
        if (ptr < 5) return p + 2 - nh;
        if (ptr <= optlen) {
          if (ptr + 3 > optlen) return p + 2 - nh;
          const flag = buf[p + 3]! & 0x0f;
          if ((flag === IPOPT_TS_TSANDADDR || flag === IPOPT_TS_PRESPEC) && ptr + 7 > optlen) return p + 2 - nh;
        } else if ((buf[p + 3]! & 0xf0) === 0xf0) {
          return p + 3 - nh;
        }
        break;
      }
      case IPOPT_RA:
        if (optlen < 4) return p + 1 - nh;
        break;
      default:
        break;
    }
    p += optlen;
  }
  return srr ? IPOPT_SRR : IPOPT_OK;
}
