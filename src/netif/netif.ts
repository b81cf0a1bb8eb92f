/**
 * `Netif`: one host's link-layer receive path (Linux `__netif_receive_skb` + `eth_type_trans`)
 * and its device list. It is the `rxHandler` of every device added to it, including the
 * loopback device `lo` it creates (ifindex 1).
 *
 * Receive: a frame shorter than an Ethernet header counts `rxLengthErrors`; a destination that
 * is neither the device's MAC, broadcast, nor IPv6 multicast (33:33:xx:xx:xx:xx) counts
 * `rxOtherHost`; an ethertype with no registered handler counts `rxUnknownEtherType`. Otherwise
 * `skb.macHeader` / `skb.protocol` are set, the Ethernet header pulled, and the handler
 * registered for the ethertype (ARP, IPv4, IPv6: each by its stack) gets the skb with the
 * packet type (`PACKET_HOST` / `PACKET_BROADCAST` / `PACKET_MULTICAST`). Handlers own the skb.
 *
 * Allocation-free per frame. Configuration calls throw `ErrnoError`.
 */
import type { NetDevice, RxHandler } from '../netdev/index.js';
import type { MemSpace } from '../mem/index.js';
import { pskbMayPull, skbFree, skbPull, type SkBuff, type SkbCache } from '../skb/index.js';
import type { Scheduler } from '../time/index.js';
import { ErrnoError } from '../uapi/index.js';
import { ETH_BROADCAST, ETH_HLEN } from '../wire/ethernet.js';
import { LOOPBACK_IFINDEX, createLoopback, type LoopbackLink } from './loopback.js';

/** Linux `PACKET_*` packet types */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;

/** a protocol registered for one ethertype (Linux `packet_type`) */
export interface PacketHandler {
  /** takes `skb` (data at the L3 header, `macHeader` set); `pktType` is a PACKET_* value */
  rcv(skb: SkBuff, dev: NetDevice, pktType: number): void;
}

/** link-level receive counters */
export interface NetifStats {
  /** Ethernet destination neither our MAC, broadcast, nor IPv6 multicast */
  rxOtherHost: number;
  /** frame shorter than an Ethernet header */
  rxLengthErrors: number;
  /** ethertype nobody registered */
  rxUnknownEtherType: number;
}

export class Netif implements RxHandler {
  readonly stats: NetifStats = { rxOtherHost: 0, rxLengthErrors: 0, rxUnknownEtherType: 0 };
  /** the loopback device `lo` (ifindex 1, MTU 65536, MAC 0) */
  readonly lo: NetDevice;
  readonly loopback: LoopbackLink;
  private readonly devs: NetDevice[] = [];
  private readonly byIndex = new Map<number, NetDevice>();
  private readonly handlers = new Map<number, PacketHandler>();

  constructor(readonly mem: MemSpace, readonly skbs: SkbCache, readonly sched: Scheduler) {
    const { dev, link } = createLoopback(mem, skbs, sched);
    this.lo = dev;
    this.loopback = link;
    this.addDevice(dev);
  }

  // ---- devices ----

  /** adds `dev` (unique name and ifindex); this becomes its rx handler */
  addDevice(dev: NetDevice): void {
    if (this.device(dev.name) !== null) throw new ErrnoError('EEXIST', 'addDevice', { msg: `device ${dev.name} exists` });
    if (this.byIndex.has(dev.ifindex)) throw new ErrnoError('EEXIST', 'addDevice', { msg: `ifindex ${dev.ifindex} in use` });
    this.devs.push(dev);
    this.byIndex.set(dev.ifindex, dev);
    dev.rxHandler = this;
  }

  device(name: string): NetDevice | null {
    for (let i = 0; i < this.devs.length; i++) if (this.devs[i]!.name === name) return this.devs[i]!;
    return null;
  }

  deviceByIndex(ifindex: number): NetDevice | null {
    return this.byIndex.get(ifindex) ?? null;
  }

  /** every device, `lo` first */
  devices(): readonly NetDevice[] {
    return this.devs;
  }

  isLoopback(dev: NetDevice): boolean {
    return dev === this.lo;
  }

  // ---- ethertype registry ----

  /** registers the handler of `etherType`; throws EEXIST when one is registered */
  register(etherType: number, h: PacketHandler): void {
    if (this.handlers.has(etherType)) throw new ErrnoError('EEXIST', 'register', { msg: `ethertype 0x${etherType.toString(16)} registered` });
    this.handlers.set(etherType, h);
  }

  unregister(etherType: number): void {
    this.handlers.delete(etherType);
  }

  // ---- receive ----

  /** device rx entry point: `skb.data` at the Ethernet header; takes ownership */
  netifReceive(skb: SkBuff, dev: NetDevice): void {
    const st = this.stats;
    if (skb.len < ETH_HLEN || !pskbMayPull(skb, ETH_HLEN)) {
      st.rxLengthErrors++;
      skbFree(skb);
      return;
    }
    const dv = skb.dv;
    const o = skb.data;
    const hi = dv.getUint16(o);
    const dstMac = hi * 4294967296 + dv.getUint32(o + 2);
    let pktType = PACKET_HOST;
    if (dstMac !== dev.mac) {
      if (dstMac === ETH_BROADCAST) pktType = PACKET_BROADCAST;
      else if (hi === 0x3333) pktType = PACKET_MULTICAST;
      else {
        st.rxOtherHost++;
        skbFree(skb);
        return;
      }
    }
    const type = dv.getUint16(o + 12);
    const h = this.handlers.get(type);
    if (h === undefined) {
      st.rxUnknownEtherType++;
      skbFree(skb);
      return;
    }
    skb.macHeader = o;
    skb.protocol = type;
    skbPull(skb, ETH_HLEN);
    h.rcv(skb, dev, pktType);
  }
}

export { LOOPBACK_IFINDEX };
