/**
 * `NicTx`: the transmit half of the NIC model (Linux `validate_xmit_skb` + the driver's
 * `ndo_start_xmit`). For every skb the stack hands over:
 *  1. `validate_xmit_unreadable_skb`: an skb with unreadable (device-memory) frags is dropped
 *     and counted (`counters.txDropped`, `counters.txUnreadableDrops`) unless the device does
 *     netmem TX and frag 0's net_iov belongs to a binding of THIS device;
 *  2. TSO: a GSO skb longer than the MTU is cut into MSS frames by frag reference (readable or
 *     not: never a byte copy), each frame sharing the transmit completion (`skbZcopyClone`);
 *  3. per frame: a tap sees it (an unreadable frame only up to its head, as AF_PACKET does), an
 *     unreadable frame is read from device memory by DMA into a readable wire frame
 *     (`dmaReadFrame`, counted), a CHECKSUM_PARTIAL checksum is finished over the bytes the NIC
 *     read, and the frame goes to the link.
 *
 * Ownership: `xmit` takes the skb. Allocation-free per frame (scratch dissector, pooled skbs and
 * per-nesting-depth iterators; a synchronous link may transmit from inside a transmit).
 */
import { IPPROTO_TCP } from '../../wire/ipv4.js';
import { csumBlockAdd, csumFinish, csumFold, csumPartial } from '../../wire/checksum.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6 } from '../../wire/ethernet.js';
import { pseudoHeaderSum } from '../../inet/index.js';
import { NETMEM_NONE, netmemIsNetIov } from '../../mem/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, SkbPieceIter, skbAddFrag, skbChecksum, skbFlattenFragList, skbFree, skbPut,
  skbZcopyClone, type SkBuff,
} from '../../skb/index.js';
import { FlowDissect, flowDissect } from '../dissector.js';
import type { NetDevice, TxQueue } from '../netdevice.js';
import { dmaReadFrame } from './dma-read.js';

/** the largest IP datagram a GSO frame for a GSO-capable link may carry */
const GSO_MAX_IP_LEN = 65535;

export class NicTx {
  private readonly fd = new FlowDissect();
  private depth = 0;
  private readonly iters: SkbPieceIter[] = [];
  private readonly dmaIters: SkbPieceIter[] = [];

  constructor(private readonly dev: NetDevice) {}

  /** sends a complete Ethernet frame; takes ownership of `skb` */
  xmit(skb: SkBuff, txq: number): void {
    const dev = this.dev;
    const q = dev.txQueues[txq] ?? dev.txQueues[0]!;
    if (!dev.up || !dev.present || dev.link === null) {
      dev.counters.txDropped++;
      skbFree(skb);
      return;
    }
    if (skb.unreadable && !this.unreadableOk(skb)) {
      // validate_xmit_unreadable_skb: freed, no error to the sender (TCP retransmits, and fails again)
      dev.counters.txDropped++;
      dev.counters.txUnreadableDrops++;
      skbFree(skb);
      return;
    }
    this.depth++;
    try {
      // TSO in the NIC, or (tso off) the stack's software GSO before the driver (validate_xmit_skb):
      // TCP always builds GSO skbs (Linux sk_setup_caps forces NETIF_F_GSO for TCP)
      if (skb.gsoSize > 0 && skb.len > dev.mtu + ETH_HLEN && (!dev.tso || !this.linkTakesGso(skb))) {
        this.xmitGso(skb, q);
        return;
      }
      if (skb.fragList !== null && !skbFlattenFragList(skb)) {
        // no NETIF_F_FRAGLIST: the members must fit the frag slots
        q.stats.txHwDropErrors++;
        dev.counters.txDropped++;
        skbFree(skb);
        return;
      }
      this.xmitOne(skb, q);
    } finally {
      this.depth--;
    }
  }

  /**
   * Linux `validate_xmit_unreadable_skb`: the device must do netmem TX, and when frag 0 is a
   * devmem net_iov its binding's device must be this one (a binding whose device went away has
   * none). A page in frag 0 of an unreadable skb is not checked (Linux looks at frag 0 only).
   */
  private unreadableOk(skb: SkBuff): boolean {
    const dev = this.dev;
    if (!dev.netmemTx) return false;
    if (skb.nrFrags === 0) return true;
    const ref = skb.fragRef[0]!;
    if (!netmemIsNetIov(ref)) return true;
    const owner = skb.mem.niovOwner(ref);
    return owner !== null && owner.dev === dev;
  }

  /**
   * TSO (Linux `skb_segment` done by the NIC): cuts a GSO TCP skb (IPv4 or IPv6, headers in the
   * head as the dissector finds them) into MSS-sized frames. Each frame gets a copy of the
   * headers with its IPv4 total length, id and header checksum (IPv4) or payload length (IPv6,
   * no id), TCP sequence number, flags (CWR only on the first, FIN/PSH only on the last) and
   * pseudo-header sum, frag references to its slice of the payload (frags and frag-list members
   * alike, host pages or net_iovs), and a share of the skb's transmit completion. Takes
   * ownership of `skb`.
   */
  private xmitGso(skb: SkBuff, q: TxQueue): void {
    const dev = this.dev;
    const headlen = skb.tail - skb.data;
    const fd = this.fd;
    flowDissect(fd, skb.dv, skb.data, headlen, skb.len, true);
    const hdrLen = fd.split;
    if (fd.family === 0 || fd.proto !== IPPROTO_TCP || fd.l4 < 0 || fd.isFragment || fd.l4Bad || fd.truncated || hdrLen > headlen) {
      q.stats.txHwDropErrors++;
      skbFree(skb);
      return;
    }
    // everything the loop needs, copied out of the shared dissector result
    const b = skb.buf;
    const dv = skb.dv;
    const v4 = fd.family === 4;
    const l3 = fd.l3;
    const ihl = fd.ipHlen;
    const l4 = fd.l4;
    const l4hdr = hdrLen - l4;
    const ipFixed = hdrLen - l3 - (v4 ? 0 : 40);
    const pseudo0 = pseudoHeaderSum(fd.src, fd.dst, IPPROTO_TCP, 0);
    const mss = skb.gsoSize;
    const payload = skb.len - hdrLen;
    const th = skb.data + l4;
    const seq0 = dv.getUint32(th + 4);
    const flags0 = b[th + 13]!;
    const id0 = v4 ? dv.getUint16(skb.data + l3 + 4) : 0;
    const mem = skb.mem;
    const it = iterAt(this.iters, this.depth);
    it.reset(skb, hdrLen, payload);
    let pRef = 0;
    let pOff = 0;
    let pLeft = 0;
    q.stats.txHwGsoPackets++;
    q.stats.txHwGsoBytes += skb.len;
    for (let off = 0, i = 0; off < payload; off += mss, i++) {
      const n = payload - off < mss ? payload - off : mss;
      const seg = dev.skbs.alloc(hdrLen, 0);
      if (seg === null) break;
      skbPut(seg, hdrLen);
      copySmall(b, dv, skb.data, seg.buf, seg.dv, seg.data, hdrLen);
      const sdv = seg.dv;
      const sip = seg.data + l3;
      const sth = seg.data + l4;
      if (v4) {
        sdv.setUint16(sip + 2, ipFixed + n);
        sdv.setUint16(sip + 4, (id0 + i) & 0xffff);
        sdv.setUint16(sip + 10, 0);
        sdv.setUint16(sip + 10, csumFinish(csumPartial(seg.buf, sdv, sip, ihl, 0)));
      } else {
        sdv.setUint16(sip + 4, ipFixed + n);
      }
      sdv.setUint32(sth + 4, (seq0 + off) >>> 0);
      // CWR only on the first frame (tcp_gso_segment), FIN and PSH only on the last
      let segFlags = i > 0 ? flags0 & ~0x80 : flags0;
      if (off + n < payload) segFlags &= ~0x09;
      seg.buf[sth + 13] = segFlags;
      sdv.setUint16(sth + 16, csumFold(pseudo0 + l4hdr + n));
      let left = n;
      let ok = true;
      while (left > 0) {
        if (pLeft === 0) {
          if (!it.next() || it.ref === NETMEM_NONE) {
            ok = false;
            break;
          }
          pRef = it.ref;
          pOff = it.pageOff;
          pLeft = it.len;
        }
        const k = pLeft < left ? pLeft : left;
        mem.get(pRef);
        if (!skbAddFrag(seg, pRef, pOff, k)) {
          mem.put(pRef);
          ok = false;
          break;
        }
        left -= k;
        pOff += k;
        pLeft -= k;
      }
      if (!ok) {
        // a piece that cannot be referenced (an external head) or too many pieces for one frame
        q.stats.txHwDropErrors++;
        skbFree(seg);
        break;
      }
      // the frame references the sender's memory: it holds the completion until it is sent
      skbZcopyClone(seg, skb);
      seg.protocol = skb.protocol;
      seg.ifindex = skb.ifindex;
      seg.ipSummed = CHECKSUM_PARTIAL;
      seg.csumStart = sth;
      seg.csumOffset = 16;
      q.stats.txHwGsoWirePackets++;
      q.stats.txHwGsoWireBytes += seg.len;
      this.xmitOne(seg, q);
    }
    while (it.next()) { /* finish the walk so the iterator drops its skb */ }
    skbFree(skb);
  }

  /** the link carries this GSO skb unsegmented (virtio-net GSO with a partial checksum, ≤ 64 KiB) */
  private linkTakesGso(skb: SkBuff): boolean {
    const dev = this.dev;
    if (skb.gsoSize === 0 || skb.ipSummed !== CHECKSUM_PARTIAL || !dev.txCsumOffload || skb.len > ETH_HLEN + 40 + GSO_MAX_IP_LEN) return false;
    return skb.protocol === ETH_P_IP ? dev.txGsoTcp4 : skb.protocol === ETH_P_IPV6 ? dev.txGsoTcp6 : false;
  }

  private xmitOne(skb: SkBuff, q: TxQueue): void {
    const dev = this.dev;
    const link = dev.link;
    if (link === null) {
      skbFree(skb);
      return;
    }
    if (skb.len > dev.mtu + ETH_HLEN && !this.linkTakesGso(skb)) {
      q.stats.txHwDropErrors++;
      dev.counters.txDropped++;
      skbFree(skb);
      return;
    }
    let orig: SkBuff | null = null;
    if (skb.unreadable) {
      // the NIC reads the payload from device memory now, into the wire frame
      const wire = dmaReadFrame(dev.skbs, skb, iterAt(this.dmaIters, this.depth));
      if (wire === null) {
        q.stats.txHwDropErrors++;
        dev.counters.txDropped++;
        skbFree(skb);
        return;
      }
      orig = skb;
      skb = wire;
    }
    let fragCsum = -1;
    if (skb.ipSummed === CHECKSUM_PARTIAL && dev.txCsumOffload) {
      // the link (virtio-net NEEDS_CSUM) completes it
      q.stats.txNeedsCsum++;
    } else if (skb.ipSummed === CHECKSUM_PARTIAL) {
      q.stats.txNeedsCsum++;
      // sum the linear part and the frags separately, keeping the frag sum with the frame so
      // that a receiving NIC can verify without re-reading unchanged payload bytes. The stack
      // seeded the checksum field with the pseudo-header sum of the packet's family.
      const start = skb.csumStart - skb.data;
      const headlen = skb.tail - skb.data;
      let sum = csumPartial(skb.buf, skb.dv, skb.csumStart, headlen - start, 0);
      if (skb.dataLen > 0) {
        const fsum = skbChecksum(skb, headlen, skb.dataLen, 0);
        fragCsum = fsum;
        sum = csumBlockAdd(sum, fsum, headlen - start);
      }
      let check = csumFinish(sum);
      // UDP: a computed 0 goes out as 0xffff (0 means "no checksum", forbidden over IPv6)
      if (check === 0 && skb.csumOffset === 6) check = 0xffff;
      skb.dv.setUint16(skb.csumStart + skb.csumOffset, check);
      skb.ipSummed = CHECKSUM_NONE;
      if (orig !== null && orig.csumStart + orig.csumOffset + 2 <= orig.tail) {
        orig.dv.setUint16(orig.csumStart + orig.csumOffset, check);
        orig.ipSummed = CHECKSUM_NONE;
      }
    } else {
      q.stats.txCsumNone++;
    }
    // the packet taps: an unreadable frame is seen as the stack built it (head only, as AF_PACKET
    // caps it), never through the wire copy
    for (let i = 0; i < dev.taps.length; i++) dev.taps[i]!.tap(orig ?? skb, 'tx', dev);
    // the original's frag references and transmit completion are done with once the NIC read them
    if (orig !== null) skbFree(orig);
    q.stats.txPackets++;
    q.stats.txBytes += skb.len;
    dev.txFragCsum = fragCsum;
    link.transmit(skb, dev);
    dev.txFragCsum = -1;
  }
}

/** the iterator for nesting depth `d` (grown once, then reused) */
function iterAt(list: SkbPieceIter[], d: number): SkbPieceIter {
  while (list.length <= d) list.push(new SkbPieceIter());
  return list[d]!;
}

/**
 * copies `n` bytes; header-sized runs move four bytes at a time through the DataViews (no
 * subarray view allocated per frame). `sdv`/`ddv` are the DataViews of `src`/`dst` (same base).
 */
export function copySmall(src: Uint8Array, sdv: DataView, so: number, dst: Uint8Array, ddv: DataView, d: number, n: number): void {
  if (n > 256) {
    dst.set(src.subarray(so, so + n), d);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) ddv.setUint32(d + i, sdv.getUint32(so + i));
  for (; i < n; i++) dst[d + i] = src[so + i]!;
}
