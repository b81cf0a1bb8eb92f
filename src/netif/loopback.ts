/**
 * The loopback device `lo` (Linux `drivers/net/loopback.c`): ifindex 1, MTU 65536, MAC
 * 00:00:00:00:00:00, no device-memory TX (unreadable skbs are dropped by the NIC model, as
 * `validate_xmit_unreadable_skb` does). A transmitted frame (checksum already finished by the
 * device's TX path) is queued and delivered to the device's rx handler later — never inside the
 * sender's call — marked `CHECKSUM_UNNECESSARY`, as `loopback_xmit` + `netif_rx` do.
 *
 * Deferral: in virtual time one `Timer` armed at "now" (deterministic order with every other
 * event); in real time a `setImmediate` turn (no 0 ms timer on the packet path). One drain
 * delivers what was queued when it started; frames sent meanwhile wait for the next drain.
 * The queue is bounded by `LOOPBACK_BACKLOG` (Linux `netdev_max_backlog`); overflow is
 * dropped and counted in `lo.counters.rxDropped`.
 */
import { NetDevice, type LinkPort } from '../netdev/index.js';
import type { MemSpace } from '../mem/index.js';
import { CHECKSUM_UNNECESSARY, skbFree, type SkBuff, type SkbCache } from '../skb/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';

export const LOOPBACK_IFINDEX = 1;
export const LOOPBACK_MTU = 65536;
/** frames waiting in the loopback queue (Linux `netdev_max_backlog`) */
export const LOOPBACK_BACKLOG = 1000;

export class LoopbackLink implements LinkPort, TimerTarget {
  private head: SkBuff | null = null;
  private tail: SkBuff | null = null;
  /** frames queued */
  qlen = 0;
  /** frames delivered */
  delivered = 0;
  private readonly timer: Timer;
  private immediatePending = false;
  private readonly runImmediate: () => void;
  dev: NetDevice | null = null;

  constructor(readonly sched: Scheduler) {
    this.timer = new Timer(this, 0);
    this.runImmediate = (): void => {
      this.immediatePending = false;
      this.drain();
    };
  }

  transmit(skb: SkBuff, from: NetDevice): void {
    if (this.qlen >= LOOPBACK_BACKLOG) {
      from.counters.rxDropped++;
      skbFree(skb);
      return;
    }
    skb.next = null;
    if (this.tail === null) this.head = skb;
    else this.tail.next = skb;
    this.tail = skb;
    this.qlen++;
    if (this.sched.mode === 'virtual') {
      if (!this.timer.armed) this.sched.arm(this.timer, this.sched.now());
    } else if (!this.immediatePending) {
      this.immediatePending = true;
      setImmediate(this.runImmediate);
    }
  }

  onTimer(_t: Timer): void {
    this.drain();
  }

  /** delivers every frame queued now (later ones wait for the next drain) */
  drain(): void {
    const dev = this.dev;
    let skb = this.head;
    this.head = this.tail = null;
    this.qlen = 0;
    while (skb !== null) {
      const next = skb.next;
      skb.next = null;
      if (dev === null || dev.rxHandler === null || !dev.up) {
        skbFree(skb);
      } else {
        skb.ipSummed = CHECKSUM_UNNECESSARY;
        skb.ifindex = dev.ifindex;
        skb.queueMapping = 0;
        const q = dev.rxQueues[0];
        if (q !== undefined) {
          q.stats.rxPackets++;
          q.stats.rxBytes += skb.len;
        }
        this.delivered++;
        dev.rxHandler.netifReceive(skb, dev);
      }
      skb = next;
    }
  }
}

/** creates `lo` and its loopback link */
export function createLoopback(mem: MemSpace, skbs: SkbCache, sched: Scheduler): { dev: NetDevice; link: LoopbackLink } {
  const dev = new NetDevice(mem, skbs, sched, 'lo', LOOPBACK_IFINDEX, { mtu: 65535, mac: 0, rxQueues: 1, netmemTx: false, ringSize: 16 });
  dev.mtu = LOOPBACK_MTU;
  dev.gro = false;
  const link = new LoopbackLink(sched);
  link.dev = dev;
  dev.link = link;
  return { dev, link };
}
