/**
 * The public link interface: what a user (or this project's VXLAN and TAP adapters) implements to
 * carry Ethernet frames between one of our NICs and anything else, as bytes.
 *
 * Contract:
 *  - the stack calls `attach(rx)` once when the link is added to a device
 *    (`host.addDevice(name, { link })`); from then on the link hands received frames to
 *    `rx.receive(frame, meta)`. `receive` copies what it needs before it returns (the NIC's DMA),
 *    so the link may reuse its buffer at once. Frames are queued and processed by the device's
 *    NAPI-style poll, which `receive` schedules (same event-loop turn or the next `setImmediate`,
 *    never a timer); a link that delivers a batch may call `rx.flush()` to run the poll now;
 *  - the stack calls `send(frame, meta)` with one complete Ethernet frame (no FCS). The bytes are
 *    borrowed for the call: a link that cannot send synchronously copies them. Unreadable
 *    (device-memory) payload has already been read into `frame` by the stack's shared
 *    linearization, which counts the DMA read. `send` returns false when the link is busy: the
 *    frame was NOT taken; the device stops that tx queue (Linux `netif_stop_queue`) and the link
 *    calls `rx.drain()` when it can take frames again;
 *  - `meta` carries virtio-net header fields (`IFF_VNET_HDR`): on transmit, a GSO super-frame and a
 *    partial checksum the link (or the kernel behind it) completes; on receive, the same from the
 *    peer. A link that does not advertise `offloads` never sees GSO frames or partial checksums;
 *  - `close()` stops delivery; after it resolves the link calls nothing on `rx`. Errors of the
 *    underlying transport are reported through `rx.error(err)` (counted; the device stays up).
 */

/** offloads a link can carry (the kernel side's `TUNSETOFFLOAD` / virtio-net features) */
export interface LinkOffloads {
  /** the link accepts frames with a partial checksum (`csumStart`/`csumOffset`) */
  txCsum?: boolean;
  /** the link accepts GSO super-frames of these kinds, segmented by whoever is behind it */
  tso4?: boolean;
  tso6?: boolean;
  /** the link may deliver GSO super-frames and partial checksums to us */
  rxGso?: boolean;
}

/** virtio-net header fields of one frame (`struct virtio_net_hdr`) */
export interface FrameMeta {
  /** VIRTIO_NET_HDR_GSO_*: 'none' or the segmentation the super-frame needs */
  gsoType: 'none' | 'tcpv4' | 'tcpv6' | 'udp';
  /** bytes of L2+L3+L4 headers (`hdr_len`) */
  hdrLen: number;
  /** payload bytes per segment (`gso_size`) */
  gsoSize: number;
  /** VIRTIO_NET_HDR_F_NEEDS_CSUM: the L4 checksum at csumStart+csumOffset covers only the pseudo-header */
  needsCsum: boolean;
  csumStart: number;
  csumOffset: number;
  /** VIRTIO_NET_HDR_F_DATA_VALID (receive): the checksum was verified by the peer */
  dataValid: boolean;
}

/** rx side the stack hands to a link at `attach` */
export interface LinkReceiver {
  /** one received Ethernet frame; copied before return. `queue` selects an rx queue (multi-queue links); else RSS decides */
  receive(frame: Uint8Array, meta?: FrameMeta | null, queue?: number): void;
  /** runs the device's receive poll now (end of a batch) */
  flush(): void;
  /** the link can take frames again after `send` returned false */
  drain(): void;
  /** a transport error (counted on the device; the link decides whether it is fatal) */
  error(err: Error): void;
}

/** a link carrying Ethernet frames as bytes; implemented by users and by VxlanLink / TapLink */
export interface FrameLink {
  /** short kind for stats and `ip link` ('vxlan', 'tap', a user's name) */
  readonly kind: string;
  /** largest frame payload (L3 MTU) the link carries; the device MTU is clamped to it */
  readonly mtu: number;
  readonly offloads: LinkOffloads;
  attach(rx: LinkReceiver): void;
  /** false = busy, frame not taken; wait for `rx.drain()` */
  send(frame: Uint8Array, meta?: FrameMeta | null): boolean;
  close(): Promise<void>;
}
