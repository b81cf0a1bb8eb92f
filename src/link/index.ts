/**
 * link: what carries frames between NICs. Four kinds implement the same NIC-facing port:
 * `SimWire` (a simulated full-duplex Ethernet cable in virtual time: rate, propagation delay,
 * MTU, queue limit, netem-like loss / duplication / reordering / corruption), `SimSwitch` (a
 * learning store-and-forward switch whose ports are such cables), and — through `FramePort` —
 * any user `FrameLink` (bytes; this project's VXLAN and TAP links are two). `PcapWriter` and
 * `PcapTap` write libpcap captures; `linearizeFrame` is the one linearization of a frame into
 * bytes (device-memory frags read by counted DMA).
 *
 * Contract:
 *  - a link implements netdev's `LinkPort`: `transmit(skb, from)` takes ownership of a complete
 *    Ethernet frame; the link hands it to the receiving NIC with `receiveFrame` (which borrows
 *    and copies it, as DMA does) and frees it afterwards — after the last delivery of a
 *    duplicated frame, or at once when the frame is dropped or the link is closed;
 *  - `FrameLink` (frame-link.ts) is the public, byte-level interface users implement; `FramePort`
 *    adapts it to a device: backpressure (`send` → false stops the tx queue until `drain()`),
 *    rx rings drained by a NAPI-style poll with a budget, GRO flushed at the end of each poll,
 *    virtio-net meta (GSO, partial checksums) when the link advertises offloads;
 *  - the seed fully determines simulated faults: each direction draws from its own stream
 *    derived from the `Rng` the link is given, a fixed number of draws per frame in a fixed
 *    order, and time is the scheduler's (virtual µs); the same seed and inputs give the same
 *    deliveries and the same capture bytes;
 *  - captures are time-stamped with the scheduler's clock, never the wall clock; unreadable
 *    (devmem) skbs are captured up to their linear head only, like AF_PACKET on Linux.
 *
 * This is the one layer that may do I/O (node:fs for captures, sockets and devices for real
 * links) and read the wall clock.
 */
export {
  SimWire, SimWireDirection, newSimWireDirStats,
  type CorruptMode, type FrameSink, type SimWireDirStats, type SimWireOptions,
} from './sim-wire.js';
export { SimSwitch, SwitchPort, type SimSwitchOptions, type SimSwitchStats } from './switch.js';
export { PcapWriter, PCAP_CHUNK_SIZE, type PcapWriterOptions } from './pcap-writer.js';
export { PcapTap, type PcapTapDirs } from './pcap-tap.js';
export type { FrameLink, FrameMeta, LinkOffloads, LinkReceiver } from './frame-link.js';
export { FramePort, type FramePortOptions, type FramePortStats } from './frame-port.js';
export { linearizeFrame } from './linearize.js';
