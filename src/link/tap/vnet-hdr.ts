/**
 * `struct virtio_net_hdr_v1` (12 bytes, little-endian, the layout `TUNSETVNETHDRSZ 12` selects)
 * to and from the link contract's `FrameMeta`. Pure functions over caller buffers; nothing here
 * allocates. Decoding validates what the kernel would (`virtio_net_hdr_to_skb`): a known GSO type
 * with a non-zero `gso_size`, a partial checksum whose field lies inside the frame. A header that
 * fails is reported (false) so the caller counts and drops the frame.
 *
 *   off 0 u8 flags | 1 u8 gso_type | 2 le16 hdr_len | 4 le16 gso_size | 6 le16 csum_start
 *       8 le16 csum_offset | 10 le16 num_buffers (mergeable rx buffers; 0 on a TAP)
 */
import type { FrameMeta } from '../frame-link.js';

export const VNET_HDR_LEN = 12;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

const KNOWN_FLAGS = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO;

/** a fresh all-zero meta (callers keep one as scratch) */
export function newFrameMeta(): FrameMeta {
  return { gsoType: 'none', hdrLen: 0, gsoSize: 0, needsCsum: false, csumStart: 0, csumOffset: 0, dataValid: false };
}

/**
 * Decodes the header at `buf[off..off+12)` into `out`; `frameLen` is the Ethernet frame's length
 * after the header. Returns false (out unspecified) for a header the kernel would refuse. The
 * ECN bit of `gso_type` is accepted and not kept (FrameMeta has no field for it).
 */
export function decodeVnetHdr(buf: Uint8Array, off: number, frameLen: number, out: FrameMeta): boolean {
  const flags = buf[off]!;
  const gso = buf[off + 1]!;
  const hdrLen = buf[off + 2]! | (buf[off + 3]! << 8);
  const gsoSize = buf[off + 4]! | (buf[off + 5]! << 8);
  const csumStart = buf[off + 6]! | (buf[off + 7]! << 8);
  const csumOffset = buf[off + 8]! | (buf[off + 9]! << 8);
  if ((flags & ~KNOWN_FLAGS) !== 0) return false;
  switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
    case VIRTIO_NET_HDR_GSO_NONE: out.gsoType = 'none'; break;
    case VIRTIO_NET_HDR_GSO_TCPV4: out.gsoType = 'tcpv4'; break;
    case VIRTIO_NET_HDR_GSO_TCPV6: out.gsoType = 'tcpv6'; break;
    case VIRTIO_NET_HDR_GSO_UDP: out.gsoType = 'udp'; break;
    default: return false;
  }
  if (out.gsoType !== 'none' && gsoSize === 0) return false;
  const needsCsum = (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
  if (needsCsum && csumStart + csumOffset + 2 > frameLen) return false;
  out.hdrLen = hdrLen;
  out.gsoSize = gsoSize;
  out.needsCsum = needsCsum;
  out.csumStart = csumStart;
  out.csumOffset = csumOffset;
  out.dataValid = (flags & VIRTIO_NET_HDR_F_DATA_VALID) !== 0;
  return true;
}

/** true when the header at `off` is all zero in its first 10 bytes (a plain, complete frame) */
export function vnetHdrIsPlain(buf: Uint8Array, off: number): boolean {
  return buf[off] === 0 && buf[off + 1] === 0 && buf[off + 4] === 0 && buf[off + 5] === 0;
}

/**
 * Writes the 12-byte header for `meta` (null: a plain frame, all zero) at `buf[off..off+12)`; the
 * fields go out as given (a decode/encode round trip is byte-exact, ECN bit aside).
 */
export function encodeVnetHdr(meta: FrameMeta | null | undefined, buf: Uint8Array, off: number): void {
  if (!meta) {
    buf.fill(0, off, off + VNET_HDR_LEN);
    return;
  }
  let gso = VIRTIO_NET_HDR_GSO_NONE;
  switch (meta.gsoType) {
    case 'tcpv4': gso = VIRTIO_NET_HDR_GSO_TCPV4; break;
    case 'tcpv6': gso = VIRTIO_NET_HDR_GSO_TCPV6; break;
    case 'udp': gso = VIRTIO_NET_HDR_GSO_UDP; break;
    default: break;
  }
  buf[off] = (meta.needsCsum ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0) | (meta.dataValid ? VIRTIO_NET_HDR_F_DATA_VALID : 0);
  buf[off + 1] = gso;
  put16(buf, off + 2, meta.hdrLen);
  put16(buf, off + 4, meta.gsoSize);
  put16(buf, off + 6, meta.csumStart);
  put16(buf, off + 8, meta.csumOffset);
  put16(buf, off + 10, 0);
}

function put16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
}
