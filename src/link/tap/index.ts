/**
 * link/tap: a `FrameLink` over a Linux TAP device through `/dev/net/tun` (koffi for the ioctls
 * and the fd I/O Node lacks): IFF_MULTI_QUEUE mapped onto our rx queues, IFF_VNET_HDR so the
 * kernel's GSO super-frames and partial checksums meet our GRO/TSO, reads driven by libuv polling
 * on the main thread (or a worker thread per queue) so the stack is never blocked. Needs root (CAP_NET_ADMIN); without it
 * the constructor throws one `ErrnoError`. See `tap-link.ts` for the contract.
 */
export { TapLink, type TapLinkOptions, type TapLinkStats } from './tap-link.js';
export {
  decodeVnetHdr, encodeVnetHdr, newFrameMeta, vnetHdrIsPlain, VNET_HDR_LEN,
  VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_RSC_INFO,
  VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP,
} from './vnet-hdr.js';
export { txQueueOf } from './tx-queue.js';
