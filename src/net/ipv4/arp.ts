/**
 * ARP (Linux `net/ipv4/arp.c`, reduced to Ethernet/IPv4): the `NeighProto` of the IPv4
 * neighbour table and the ETH_P_ARP receive handler.
 *
 *  - Solicitations (`solicit`): requests from the source of the newest queued packet when it is
 *    ours (Linux `arp_solicit`), else the device's preferred source; broadcast while resolving,
 *    unicast to the cached MAC while probing.
 *  - Input (`arp_process`): a request for one of our addresses creates / refreshes a STALE
 *    entry for the sender (`neigh_event_ns`) and is answered — not answered when the table is
 *    full, as Linux; duplicate-address probes (sender 0.0.0.0) are answered without learning;
 *    other packets only update an existing entry: REACHABLE for a unicast reply, else STALE,
 *    overriding a different MAC at once for gratuitous ARP, else only after `locktime` (1 s).
 *  - Ignored: multicast / loopback targets, our own frames, senders that are ours, multicast or
 *    broadcast. Malformed packets count `inErrors`.
 * Ownership: `rcv` takes its skb; `resolutionFailed` borrows.
 */
import type { NetDevice } from '../../netdev/index.js';
import { PACKET_HOST, type PacketHandler } from '../../netif/index.js';
import { pskbMayPull, skbFree, skbPut, type SkBuff, type SkbCache } from '../../skb/index.js';
import { ARPOP_REPLY, ARPOP_REQUEST, ARP_LEN, ArpView, emitArp, type ArpRepr } from '../../wire/arp.js';
import { WIRE_OK } from '../../wire/errors.js';
import { ETH_BROADCAST, ETH_HLEN, ETH_P_ARP, emitEthernet, type EthernetRepr } from '../../wire/ethernet.js';
import { MutAddr } from '../../inet/index.js';
import {
  NEIGH_UPDATE_F_OVERRIDE, NUD_REACHABLE, NUD_STALE, NeighTable, type NeighHost, type NeighParams, type NeighProto, type Neighbour,
} from '../neighbour.js';
import type { ArpStats } from '../types.js';

/** what ARP needs from the IPv4 stack (addresses as IPv4 numbers) */
export interface ArpHost extends NeighHost {
  readonly skbs: SkbCache;
  isLocalV4(a: number): boolean;
  /** limited broadcast, or a directed broadcast of one of `dev`'s subnets */
  isBroadcastOn(dev: NetDevice, a: number): boolean;
  /** source address for packets from `dev` towards `dst` (Linux `inet_select_addr`); 0 if none */
  selectSource(dev: NetDevice, dst: number): number;
  /** a queued packet's next hop failed (Linux `ip_link_failure`); borrows `skb` */
  linkFailure(skb: SkBuff): void;
}

export function newArpStats(): ArpStats {
  return { inRequests: 0, inReplies: 0, inErrors: 0, outRequests: 0, outReplies: 0 };
}

export class Arp implements NeighProto, PacketHandler {
  readonly family = 4 as const;
  readonly tbl: NeighTable;
  readonly stats: ArpStats = newArpStats();
  private readonly view = new ArpView();
  private readonly arpRepr: ArpRepr = { op: 0, senderMac: 0, senderIp: 0, targetMac: 0, targetIp: 0 };
  private readonly ethRepr: EthernetRepr = { dst: 0, src: 0, etherType: ETH_P_ARP };
  private readonly key = new MutAddr();

  constructor(private readonly host: ArpHost, params?: Partial<NeighParams>) {
    this.tbl = new NeighTable(host, this, params);
  }

  // ---- NeighProto ----

  solicit(n: Neighbour, unicastMac: number | null): void {
    const host = this.host;
    const tip = n.addr.w3;
    let src = 0;
    const q = n.qTail;
    if (q !== null && q.networkHeader >= 0) {
      const s = q.dv.getUint32(q.networkHeader + 12);
      if (host.isLocalV4(s)) src = s;
    }
    if (src === 0) src = host.selectSource(n.dev, tip);
    if (this.send(n.dev, ARPOP_REQUEST, unicastMac ?? ETH_BROADCAST, src, 0, tip)) this.stats.outRequests++;
  }

  resolutionFailed(skb: SkBuff): void {
    this.host.linkFailure(skb);
  }

  // ---- input ----

  rcv(skb: SkBuff, dev: NetDevice, pktType: number): void {
    const st = this.stats;
    if (!pskbMayPull(skb, ARP_LEN)) {
      st.inErrors++;
      skbFree(skb);
      return;
    }
    const v = this.view.rebind(skb.buf, skb.dv, skb.data, skb.tail - skb.data);
    if (v.check() !== WIRE_OK) {
      st.inErrors++;
      skbFree(skb);
      return;
    }
    const op = v.op;
    const sha = v.senderMac;
    const sip = v.senderIp;
    const tip = v.targetIp;
    const tha = v.targetMac;
    skbFree(skb);
    if (op === ARPOP_REQUEST) st.inRequests++;
    else if (op === ARPOP_REPLY) st.inReplies++;
    else return;
    const host = this.host;
    if (tip >>> 28 === 0xe || tip >>> 24 === 127 || sha === dev.mac || sha === ETH_BROADCAST) return;
    if (sip === 0) {
      // duplicate address detection probe (RFC 5227): answer for our addresses
      if (op === ARPOP_REQUEST && host.isLocalV4(tip)) this.reply(dev, tip, sha, 0);
      return;
    }
    if (host.isLocalV4(sip) || sip >>> 28 === 0xe || sip >>> 24 === 127 || host.isBroadcastOn(dev, sip)) return;
    const key = this.key.setV4(sip);
    if (op === ARPOP_REQUEST && host.isLocalV4(tip)) {
      if (this.tbl.eventSolicit(dev, key, sha) !== null) this.reply(dev, tip, sha, sip);
      return;
    }
    const n = this.tbl.lookup(dev, key);
    if (n === null) return;
    const state = op === ARPOP_REPLY && pktType === PACKET_HOST ? NUD_REACHABLE : NUD_STALE;
    // gratuitous ARP (Linux arp_is_garp) overrides at once, anything else after locktime
    const garp = tip === sip && (op === ARPOP_REQUEST || tha === sha);
    const override = garp || host.sched.now() > n.updated + this.tbl.params.locktimeUs;
    this.tbl.updateEntry(n, sha, state, override ? NEIGH_UPDATE_F_OVERRIDE : 0);
  }

  private reply(dev: NetDevice, ourIp: number, toMac: number, toIp: number): void {
    if (this.send(dev, ARPOP_REPLY, toMac, ourIp, toMac, toIp)) this.stats.outReplies++;
  }

  /** builds and transmits one ARP frame; false when no skb could be allocated */
  private send(dev: NetDevice, op: number, ethDst: number, spa: number, tha: number, tpa: number): boolean {
    const skb = this.host.skbs.alloc(ETH_HLEN + ARP_LEN, 0);
    if (skb === null) return false;
    const at = skbPut(skb, ETH_HLEN + ARP_LEN);
    const e = this.ethRepr;
    e.dst = ethDst;
    e.src = dev.mac;
    emitEthernet(e, skb.dv, at);
    const a = this.arpRepr;
    a.op = op;
    a.senderMac = dev.mac;
    a.senderIp = spa;
    a.targetMac = tha;
    a.targetIp = tpa;
    emitArp(a, skb.dv, at + ETH_HLEN);
    skb.protocol = ETH_P_ARP;
    skb.macHeader = at;
    skb.ifindex = dev.ifindex;
    dev.xmit(skb);
    return true;
  }
}
