/**
 * `PcapTap`: a `PacketTap` (tcpdump on an interface) that records the frames a device receives,
 * sends, or both into a `PcapWriter`, time-stamped with the given clock (virtual µs in a
 * simulation). The skb is borrowed for the call; an unreadable (devmem) rx skb is recorded up to
 * its linear head only, as AF_PACKET does (see `PcapWriter`).
 */
import type { NetDevice, PacketTap } from '../netdev/index.js';
import type { SkBuff } from '../skb/index.js';
import type { Clock } from '../time/index.js';
import type { PcapWriter } from './pcap-writer.js';

export type PcapTapDirs = 'rx' | 'tx' | 'both';

export class PcapTap implements PacketTap {
  constructor(
    readonly writer: PcapWriter,
    readonly clock: Clock,
    readonly dirs: PcapTapDirs = 'both',
  ) {}

  tap(skb: SkBuff, dir: 'rx' | 'tx', _dev: NetDevice): void {
    if (this.dirs !== 'both' && this.dirs !== dir) return;
    if (this.writer.isClosed) return;
    this.writer.write(this.clock.now(), skb);
  }

  /** adds this tap to `dev` (idempotent) */
  attach(dev: NetDevice): void {
    if (!dev.taps.includes(this)) dev.taps.push(this);
  }

  /** removes this tap from `dev` */
  detach(dev: NetDevice): void {
    const i = dev.taps.indexOf(this);
    if (i >= 0) dev.taps.splice(i, 1);
  }
}
