/**
 * link: what carries frames between NICs. `SimWire` is a simulated full-duplex Ethernet cable in
 * virtual time (rate, propagation delay, MTU, queue limit, netem-like loss / duplication /
 * reordering / corruption); `SimSwitch` is a learning store-and-forward switch whose ports are
 * such cables; `PcapWriter` and `PcapTap` write libpcap captures.
 *
 * Contract:
 *  - a link implements netdev's `LinkPort`: `transmit(skb, from)` takes ownership of a complete
 *    Ethernet frame; the link hands it to the receiving NIC with `receiveFrame` (which borrows
 *    and copies it, as DMA does) and frees it afterwards — after the last delivery of a
 *    duplicated frame, or at once when the frame is dropped or the link is closed;
 *  - the seed fully determines faults: each direction draws from its own stream derived from
 *    the `Rng` the link is given, a fixed number of draws per frame in a fixed order, and time
 *    is the scheduler's (virtual µs); the same seed and inputs give the same deliveries and the
 *    same capture bytes;
 *  - captures are time-stamped with the scheduler's clock, never the wall clock; unreadable
 *    (devmem) skbs are captured up to their linear head only, like AF_PACKET on Linux.
 *
 * Real links (VXLAN over node:dgram, a TAP device) will implement the same `LinkPort`
 * interface, with the real-time scheduler; they are a later issue. This is the one layer that
 * may do I/O (node:fs for captures today).
 */
export {
  SimWire, SimWireDirection, newSimWireDirStats,
  type CorruptMode, type FrameSink, type SimWireDirStats, type SimWireOptions,
} from './sim-wire.js';
export { SimSwitch, SwitchPort, type SimSwitchOptions, type SimSwitchStats } from './switch.js';
export { PcapWriter, PCAP_CHUNK_SIZE, type PcapWriterOptions } from './pcap-writer.js';
export { PcapTap, type PcapTapDirs } from './pcap-tap.js';
export type { FrameLink, FrameMeta, LinkOffloads, LinkReceiver } from './frame-link.js';
