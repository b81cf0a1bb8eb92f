/**
 * link/vxlan: the VXLAN link (RFC 7348) over UDP. `VxlanLink` implements the public
 * `FrameLink`: Ethernet frames in UDP to a kernel vxlan device or any VTEP, IPv4 or IPv6 outer,
 * with backpressure (send returns false, `rx.drain()` later) and seeded loss injection for tests.
 * `udp-ffi.ts` is the default transport (one socket driven through libc with koffi), `node:dgram`
 * the other; `tx-batch.ts` turns a transmit burst into UDP GSO sends on the libc socket;
 * `header.ts` holds the 8-byte header checks, `send-ring.ts` the arena dgram datagrams are
 * built in.
 */
export { VxlanLink, type VxlanEndpoint, type VxlanLinkOptions, type VxlanLinkStats } from './vxlan-link.js';
export {
  VXLAN_HLEN, VXLAN_PORT, VXLAN_FLAG_I, VXLAN_VNI_MAX, vxlanCheck, vxlanWriteHeader,
} from './header.js';
