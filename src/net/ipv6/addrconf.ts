/**
 * IPv6 interface addresses (Linux `net/ipv6/addrconf.c`, reduced): the per-device address list,
 * link-local addresses from the MAC's modified EUI-64, duplicate address detection (RFC 4862
 * §5.4), multicast membership (all-nodes, solicited-node groups), and source address
 * selection (RFC 6724 §5, simplified).
 *
 * DAD: every address (except on loopback, or added with `nodad`) starts TENTATIVE; after a
 * random delay in [0, `rtr_solicit_delay` = 1 s) from the seeded rng, `dad_transmits` (1)
 * solicitations are sent `retrans_time` (1 s) apart; with no conflict the address becomes
 * usable. A conflicting NS (another node's DAD for it) or NA marks it DADFAILED: it stays
 * listed, is never used as a source and never answered for. Tentative addresses are not used as
 * sources and packets addressed to them are dropped except the NDP messages DAD needs.
 *
 * Ownership: `Inet6Ifaddr` objects are owned by this table; timers are theirs. Lookups used per
 * packet (`lookup`, `isJoined`, `selectSource`) allocate nothing.
 */
import { InetAddr, addrEquals, isLinkLocal, isLoopback, isMulticast, isUnspecified, type Addr } from '../../inet/index.js';
import type { NetDevice } from '../../netdev/index.js';
import type { Rng } from '../../rand/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../../time/index.js';
import { AddrMap, SCOPE_LINK, addrScope, commonPrefixLen, isAllNodes, isSolicitedNodeOf, solicitedNode } from './addr6.js';
import type { NdiscStats } from './stats.js';

/** Linux IFA_F_* flags */
export const IFA_F_NODAD = 0x02;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

/** Linux defaults */
export const DAD_TRANSMITS = 1;
export const RTR_SOLICIT_DELAY_US = 1_000_000;
export const ND_RETRANS_TIME_US = 1_000_000;

export class Inet6Ifaddr implements TimerTarget {
  flags = IFA_F_PERMANENT;
  /** DAD solicitations left to send */
  dadProbes = 0;
  readonly timer: Timer;
  /** the solicited-node group of the address */
  readonly snm: InetAddr;
  readonly scope: number;

  constructor(readonly conf: Addrconf, readonly dev: NetDevice, readonly addr: InetAddr, readonly prefixLen: number) {
    this.timer = new Timer(this, 0);
    this.snm = solicitedNode(addr);
    this.scope = addrScope(addr);
  }

  get tentative(): boolean {
    return (this.flags & IFA_F_TENTATIVE) !== 0;
  }

  get dadFailed(): boolean {
    return (this.flags & IFA_F_DADFAILED) !== 0;
  }

  /** usable as a source and answered for */
  get usable(): boolean {
    return (this.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) === 0;
  }

  onTimer(_t: Timer): void {
    this.conf.dadTimer(this);
  }
}

/** what the address table needs from the stack */
export interface AddrconfHost {
  readonly sched: Scheduler;
  readonly rng: Rng | null;
  /** sends one DAD probe (NS from :: to the solicited-node group) for `ifa` */
  sendDadProbe(ifa: Inet6Ifaddr): void;
  isLoopbackDev(dev: NetDevice): boolean;
}

export class Addrconf {
  readonly list: Inet6Ifaddr[] = [];
  private readonly byAddr: AddrMap<Inet6Ifaddr>;
  private readonly dadRng: Rng | null;

  constructor(private readonly host: AddrconfHost, private readonly st: NdiscStats, seed: number) {
    this.byAddr = new AddrMap<Inet6Ifaddr>(seed);
    this.dadRng = host.rng !== null ? host.rng.fork('ipv6-dad') : null;
  }

  /** adds `addr/prefixLen` on `dev`; starts DAD unless `nodad` or loopback. Returns null if present */
  add(dev: NetDevice, addr: InetAddr, prefixLen: number, nodad: boolean): Inet6Ifaddr | null {
    if (this.byAddr.get(addr) !== undefined) return null;
    const ifa = new Inet6Ifaddr(this, dev, addr, prefixLen);
    this.list.push(ifa);
    this.byAddr.set(addr, ifa);
    if (nodad || this.host.isLoopbackDev(dev)) {
      if (nodad) ifa.flags |= IFA_F_NODAD;
      return ifa;
    }
    ifa.flags |= IFA_F_TENTATIVE;
    ifa.dadProbes = DAD_TRANSMITS;
    const sched = this.host.sched;
    const delay = this.dadRng !== null ? this.dadRng.nextInt(RTR_SOLICIT_DELAY_US) : 0;
    sched.arm(ifa.timer, sched.now() + delay);
    return ifa;
  }

  /** removes an address (cancels its DAD); false when absent */
  remove(addr: Addr): boolean {
    const ifa = this.byAddr.get(addr);
    if (ifa === undefined) return false;
    this.host.sched.cancel(ifa.timer);
    this.byAddr.delete(addr);
    this.list.splice(this.list.indexOf(ifa), 1);
    return true;
  }

  /** Linux `addrconf_dad_work`: send the next probe, or finish */
  dadTimer(ifa: Inet6Ifaddr): void {
    if (!ifa.tentative || ifa.dadFailed) return;
    const sched = this.host.sched;
    if (ifa.dadProbes === 0) {
      ifa.flags &= ~IFA_F_TENTATIVE;
      this.st.dadCompleted++;
      return;
    }
    ifa.dadProbes--;
    this.st.dadProbes++;
    this.host.sendDadProbe(ifa);
    sched.arm(ifa.timer, sched.now() + ND_RETRANS_TIME_US);
  }

  /** Linux `addrconf_dad_failure`: the address is someone else's */
  dadFailure(ifa: Inet6Ifaddr): void {
    if (ifa.dadFailed) return;
    ifa.flags |= IFA_F_DADFAILED;
    this.host.sched.cancel(ifa.timer);
    this.st.dadFailures++;
  }

  /** our address `a` on any device (tentative ones included), or null */
  lookup(a: Addr): Inet6Ifaddr | null {
    return this.byAddr.get(a) ?? null;
  }

  /** our address `a` on `dev`, or null */
  lookupOnDev(dev: NetDevice, a: Addr): Inet6Ifaddr | null {
    const ifa = this.byAddr.get(a);
    return ifa !== undefined && ifa.dev === dev ? ifa : null;
  }

  /** `dev` listens to multicast group `g`: all-nodes, or the solicited-node group of one of its addresses */
  isJoined(dev: NetDevice, g: Addr): boolean {
    if (isAllNodes(g)) return true;
    const l = this.list;
    for (let i = 0; i < l.length; i++) {
      const ifa = l[i]!;
      if (ifa.dev === dev && isSolicitedNodeOf(g, ifa.addr) && !ifa.dadFailed) return true;
    }
    return false;
  }

  /** the first usable link-local address of `dev`, or null */
  linkLocalOf(dev: NetDevice): Inet6Ifaddr | null {
    for (const ifa of this.list) if (ifa.dev === dev && ifa.usable && isLinkLocal(ifa.addr)) return ifa;
    return null;
  }

  /**
   * Source address for `dst` leaving through `dev` (RFC 6724 §5, simplified; Linux
   * `ipv6_dev_get_saddr`): among usable addresses (loopback ones only for loopback
   * destinations; link-local ones only on `dev`), prefer (1) `dst` itself, (2) an appropriate
   * scope — the smallest scope not below the destination's, (3) the outgoing device, (4) the
   * longest prefix shared with `dst`. Returns null when there is none. Allocation-free.
   */
  selectSource(dev: NetDevice | null, dst: Addr): InetAddr | null {
    const dscope = addrScope(dst);
    const l = this.list;
    let best: Inet6Ifaddr | null = null;
    let bestPrefix = -1;
    for (let i = 0; i < l.length; i++) {
      const a = l[i]!;
      if (!a.usable) continue;
      if (addrEquals(a.addr, dst)) return a.addr;
      if (isLoopback(a.addr) && !isLoopback(dst)) continue;
      if (a.scope <= SCOPE_LINK && dev !== null && a.dev !== dev && !isLoopback(dst)) continue;
      const prefix = isMulticast(dst) ? 0 : commonPrefixLen(a.addr, dst);
      if (best === null) {
        best = a;
        bestPrefix = prefix;
        continue;
      }
      // rule 2: scope
      if (a.scope !== best.scope) {
        const better = a.scope < best.scope ? a.scope >= dscope : best.scope < dscope;
        if (better) {
          best = a;
          bestPrefix = prefix;
        }
        continue;
      }
      // rule 5: outgoing interface
      if (dev !== null && (a.dev === dev) !== (best.dev === dev)) {
        if (a.dev === dev) {
          best = a;
          bestPrefix = prefix;
        }
        continue;
      }
      // rule 8: longest matching prefix
      if (prefix > bestPrefix) {
        best = a;
        bestPrefix = prefix;
      }
    }
    return best !== null ? best.addr : null;
  }

  /** every address of `dev` */
  ofDev(dev: NetDevice): Inet6Ifaddr[] {
    return this.list.filter((a) => a.dev === dev);
  }

  /** true when `a` is a usable unicast address of ours */
  isUsableLocal(a: Addr): boolean {
    if (isUnspecified(a) || isMulticast(a)) return false;
    const ifa = this.byAddr.get(a);
    return ifa !== undefined && ifa.usable;
  }
}
