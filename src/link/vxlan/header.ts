/**
 * The VXLAN header (RFC 7348 §5): 8 bytes in front of the inner Ethernet frame, inside a UDP
 * datagram to port 4789.
 *
 *   byte 0     flags: R R R R I R R R (I = 0x08, the VNI is valid)
 *   bytes 1-3  reserved (zero)
 *   bytes 4-6  VNI, 24 bits, network order
 *   byte 7     reserved (zero)
 *
 * Receive follows Linux's `vxlan_rcv` rather than the RFC's "ignore reserved bits": without
 * extensions (GBP, GPE, RCO) any flag other than I, or a non-zero reserved byte after the VNI, makes
 * the packet malformed and it is dropped. Pure functions over bytes; no allocation.
 */

export const VXLAN_HLEN = 8;
/** IANA-assigned UDP port (Linux: IANA_VXLAN_UDP_PORT) */
export const VXLAN_PORT = 4789;
/** the I flag in byte 0 (Linux: VXLAN_HF_VNI as a byte) */
export const VXLAN_FLAG_I = 0x08;
export const VXLAN_VNI_MAX = 0xffffff;
/** the inner frame needs at least an Ethernet header (Linux: pskb_may_pull(skb, ETH_HLEN)) */
export const VXLAN_INNER_MIN = 14;

/** result of `vxlanCheck`: the VNI (>= 0) or one of these negative codes */
export const VXLAN_BAD_SHORT = -1;
export const VXLAN_BAD_FLAGS = -2;
export const VXLAN_BAD_RESERVED = -3;

/** writes the header for `vni` at `off` */
export function vxlanWriteHeader(buf: Uint8Array, off: number, vni: number): void {
  buf[off] = VXLAN_FLAG_I;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = (vni >>> 16) & 0xff;
  buf[off + 5] = (vni >>> 8) & 0xff;
  buf[off + 6] = vni & 0xff;
  buf[off + 7] = 0;
}

/**
 * Validates a received datagram (header + inner frame) of `len` bytes. Returns the VNI, or
 * VXLAN_BAD_SHORT (shorter than header + Ethernet header), VXLAN_BAD_FLAGS (I clear or another flag
 * set), VXLAN_BAD_RESERVED (reserved bytes not zero).
 */
export function vxlanCheck(buf: Uint8Array, len: number): number {
  if (len < VXLAN_HLEN + VXLAN_INNER_MIN) return VXLAN_BAD_SHORT;
  if (buf[0] !== VXLAN_FLAG_I) return VXLAN_BAD_FLAGS;
  if ((buf[1]! | buf[2]! | buf[3]! | buf[7]!) !== 0) return VXLAN_BAD_RESERVED;
  return (buf[4]! << 16) | (buf[5]! << 8) | buf[6]!;
}
