// NIC transmit of device memory (spec §7.5 validate_xmit_unreadable_skb, §7.6 completions, §7.7
// rows "skb reaches a device without netmem_tx / of another binding"): TSO by frag reference, the
// NIC's DMA read of the payload at transmit time, checksum offload over the device bytes, the
// transmit completion shared by the segments, and the TX binding's lifetime through its frags.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Network, type Host } from '../../src/index.js';
import type { DmabufBinding } from '../../src/mem/index.js';
import { CHECKSUM_PARTIAL, skbAddFrag, skbPut, skbWarnings, skbZcopySet, type SkBuff } from '../../src/skb/index.js';
import { ETH_P_IP, IPPROTO_TCP, csumFold, pseudoHeaderSumV4, tcpVerifyChecksum } from '../../src/wire/index.js';
import { DST, HDR, SRC, bindTx, bytesOf, counterUbuf, dvOf, tcpFrame, txHost } from './helpers.js';

/**
 * An skb as devmem sendmsg builds it: the headers of `frame` in the head, the payload as frags
 * of the TX binding at dma-buf offset `base` (one frag per net_iov piece, each with a reference),
 * CHECKSUM_PARTIAL, GSO with `mss` when given.
 */
function devmemSkb(h: Host, binding: DmabufBinding, frame: Uint8Array, base: number, mss = 0): SkBuff {
  const mem = h.kernel.mem;
  const payload = frame.subarray(HDR);
  binding.dmabuf.writeFromHost(base, payload);
  const skb = h.kernel.skbs.alloc(128, 0)!;
  skb.buf.set(frame.subarray(0, HDR), skbPut(skb, HDR));
  let virt = base;
  let left = payload.length;
  while (left > 0) {
    const ref = binding.niovAt(virt);
    const off = virt % binding.niovSize;
    const n = Math.min(binding.niovSize - off, left);
    mem.get(ref);
    assert.ok(skbAddFrag(skb, ref, off, n));
    virt += n;
    left -= n;
  }
  assert.equal(skb.unreadable, true);
  skb.protocol = ETH_P_IP;
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.csumStart = skb.data + 34;
  skb.csumOffset = 16;
  dvOf(skb.buf).setUint16(skb.data + 34 + 16, csumFold(pseudoHeaderSumV4(SRC, DST, IPPROTO_TCP, frame.length - 34)));
  skb.gsoSize = mss;
  return skb;
}

/** every TX net_iov reference of the binding is back to 0 */
function txRefsZero(h: Host, binding: DmabufBinding): boolean {
  for (let p = 0; p < binding.numNiovs; p++) if (h.kernel.mem.refCount(binding.niovAt(p * binding.niovSize)) !== 0) return false;
  return true;
}

describe('devmem NIC TX: TSO and the DMA read (§7.5)', () => {
  it('TSO segments an unreadable GSO skb by frag reference: MSS frames of the device bytes, valid checksums, one DMA read per byte', async () => {
    const t = txHost();
    const { binding, nl } = await bindTx(t.h, t.dev, 16);
    const payload = bytesOf(10 * 1460 + 333, 1);
    const frame = tcpFrame(payload, 5000);
    const skb = devmemSkb(t.h, binding, frame, 1000, 1460);
    const dm = binding.dmabuf;
    const warn = skbWarnings.unreadableCopy + skbWarnings.unreadableChecksum;
    t.dev.xmit(skb);
    assert.equal(t.link.frames.length, 11);
    assert.ok(t.link.unreadable.every((u) => !u), 'the link gets readable wire frames: the NIC read device memory');
    let got = 0;
    t.link.frames.forEach((f, i) => {
      const n = i < 10 ? 1460 : 333;
      assert.equal(f.length, HDR + n);
      const dv = dvOf(f);
      assert.equal(dv.getUint16(14 + 2), 40 + n, 'IPv4 total length');
      assert.equal(dv.getUint16(14 + 4), (100 + i) & 0xffff, 'IPv4 id increments');
      assert.equal(dv.getUint32(34 + 4), 5000 + i * 1460, 'sequence');
      assert.equal(f[34 + 13]! & 0x08, i === 10 ? 0x08 : 0, 'PSH on the last frame only');
      assert.ok(tcpVerifyChecksum(f, dv, 34, f.length - 34, SRC, DST), `frame ${i}: checksum over the device bytes`);
      assert.deepEqual(f.subarray(HDR), payload.subarray(got, got + n));
      got += n;
    });
    assert.equal(dm.stats.dmaBytesRead, payload.length, 'each payload byte DMA-read exactly once');
    assert.equal(dm.stats.hostVisibleBytes, payload.length, 'and the host-visible figure says so');
    assert.equal(dm.stats.hostBytesRead, 0, 'no application copy');
    assert.equal(skbWarnings.unreadableCopy + skbWarnings.unreadableChecksum, warn, 'no software read of unreadable frags');
    const q = t.dev.txQueues[0]!.stats;
    assert.equal(q.txHwGsoPackets, 1);
    assert.equal(q.txHwGsoWirePackets, 11);
    assert.ok(txRefsZero(t.h, binding), 'every TX net_iov reference dropped');
    assert.equal(t.h.kernel.skbs.live, 0, 'every skb freed');
    nl.close();
    assert.equal(binding.freed, true);
    t.net.close();
  });

  it('a non-GSO unreadable frame: the checksum is filled from the DMA read; a TX tap sees only the head, checksum filled', async () => {
    const t = txHost();
    const { binding } = await bindTx(t.h, t.dev, 4);
    const frame = tcpFrame(bytesOf(1460, 2));
    const seen: { len: number; headlen: number; unreadable: boolean; check: number }[] = [];
    t.dev.taps.push({ tap: (s, dir) => { if (dir === 'tx') seen.push({ len: s.len, headlen: s.headlen, unreadable: s.unreadable, check: s.dv.getUint16(s.data + 34 + 16) }); } });
    t.dev.xmit(devmemSkb(t.h, binding, frame, 4096 - 100));
    assert.equal(t.link.frames.length, 1);
    assert.deepEqual(t.link.frames[0], frame, 'byte-exact on the wire, checksum included');
    assert.deepEqual(seen, [{ len: frame.length, headlen: HDR, unreadable: true, check: dvOf(frame).getUint16(34 + 16) }]);
    assert.equal(binding.dmabuf.stats.dmaBytesRead, 1460);
    t.net.close();
  });

  it('a jumbo unreadable frame (MTU 9000) is read into page frags, byte-exact', async () => {
    const t = txHost({ mtu: 9000 });
    const { binding } = await bindTx(t.h, t.dev, 8);
    const frame = tcpFrame(bytesOf(8900, 3));
    t.dev.xmit(devmemSkb(t.h, binding, frame, 123));
    assert.equal(t.link.frames.length, 1);
    assert.deepEqual(t.link.frames[0], frame);
    assert.ok(txRefsZero(t.h, binding));
    assert.equal(t.h.kernel.skbs.live, 0);
    t.net.close();
  });
});

describe('devmem NIC TX: completions (§7.6)', () => {
  it('the completion shared by the TSO segments runs once, after the last frame left the NIC', async () => {
    const t = txHost();
    const { binding } = await bindTx(t.h, t.dev, 16);
    const skb = devmemSkb(t.h, binding, tcpFrame(bytesOf(5 * 1460, 4)), 0, 1460);
    const u = counterUbuf();
    skbZcopySet(skb, u);
    const runsAt: number[] = [];
    t.link.onFrame = () => runsAt.push(u.runs);
    t.dev.xmit(skb);
    assert.equal(u.runs, 1, 'exactly once');
    assert.equal(u.refcnt, 0);
    assert.deepEqual(runsAt, [0, 0, 0, 0, 0], 'not before the last frame was read (the last one completes on its own free)');
    t.net.close();
  });

  it('a dropped unreadable skb still completes (it is freed); a readable MSG_ZEROCOPY GSO skb shares its completion too', async () => {
    const t = txHost();
    const { binding } = await bindTx(t.h, t.dev, 4);
    t.dev.up = false;
    const skb = devmemSkb(t.h, binding, tcpFrame(bytesOf(100, 5)), 0);
    const u = counterUbuf();
    skbZcopySet(skb, u);
    t.dev.xmit(skb);
    assert.equal(u.runs, 1);
    assert.equal(t.dev.counters.txDropped, 1);
    assert.ok(txRefsZero(t.h, binding));
    t.net.close();
  });
});

describe('devmem NIC TX: validate_xmit_unreadable_skb (§7.7 silent drops)', () => {
  it('§7.7 skb reaches a device without netmem_tx: silent drop at xmit, counted, references released', async () => {
    const t = txHost({ extra: [{ name: 'eth1', netmemTx: false }] });
    const { binding } = await bindTx(t.h, t.dev, 4);
    const eth1 = t.extra[0]!;
    const u = counterUbuf();
    const skb = devmemSkb(t.h, binding, tcpFrame(bytesOf(500, 6)), 0);
    skbZcopySet(skb, u);
    eth1.xmit(skb);
    assert.equal(t.link.frames.length, 0, 'nothing on the wire');
    assert.equal(eth1.counters.txDropped, 1);
    assert.equal(eth1.counters.txUnreadableDrops, 1);
    assert.equal(eth1.txQueues[0]!.stats.txPackets, 0);
    assert.equal(binding.dmabuf.stats.dmaBytesRead, 0, 'the NIC never read the device');
    assert.equal(u.runs, 1, 'the skb was freed: its completion ran');
    assert.ok(txRefsZero(t.h, binding));
    t.net.close();
  });

  it("§7.7 skb of another device's binding: silent drop at xmit; the binding's own device sends it", async () => {
    const t = txHost({ extra: [{ name: 'eth1' }] });
    const eth1 = t.extra[0]!;
    const { binding } = await bindTx(t.h, t.dev, 4);
    const frame = tcpFrame(bytesOf(700, 7));
    eth1.xmit(devmemSkb(t.h, binding, frame, 0));
    assert.equal(t.link.frames.length, 0);
    assert.equal(eth1.counters.txUnreadableDrops, 1);
    // the GSO path is validated before segmentation too
    eth1.xmit(devmemSkb(t.h, binding, tcpFrame(bytesOf(3000, 8)), 0, 1000));
    assert.equal(eth1.counters.txUnreadableDrops, 2);
    assert.equal(eth1.txQueues[0]!.stats.txHwGsoPackets, 0);
    t.dev.xmit(devmemSkb(t.h, binding, frame, 0));
    assert.deepEqual(t.link.frames, [frame]);
    assert.equal(t.dev.counters.txUnreadableDrops, 0);
    assert.ok(txRefsZero(t.h, binding));
    t.net.close();
  });

  it('§4.1 a page frag after the net_iov (Linux allows the mix): validated by frag 0, sent whole', async () => {
    const t = txHost();
    const { binding } = await bindTx(t.h, t.dev, 4);
    const payload = bytesOf(1000, 9);
    const frame = tcpFrame(payload);
    const skb = devmemSkb(t.h, binding, tcpFrame(payload.subarray(0, 600)), 0);
    // append 400 host bytes as a page frag, then fix the headers for the whole frame
    const mem = t.h.kernel.mem;
    const pg = mem.allocPage();
    mem.buf(pg).set(payload.subarray(600), mem.offset(pg));
    assert.ok(skbAddFrag(skb, pg, 0, 400), 'a page frag joins an unreadable skb');
    assert.equal(skb.unreadable, true, 'and the skb stays unreadable');
    skb.buf.set(frame.subarray(0, HDR), skb.data);
    dvOf(skb.buf).setUint16(skb.data + 34 + 16, csumFold(pseudoHeaderSumV4(SRC, DST, IPPROTO_TCP, frame.length - 34)));
    t.dev.xmit(skb);
    assert.deepEqual(t.link.frames, [frame]);
    assert.equal(binding.dmabuf.stats.dmaBytesRead, 600, 'only the device bytes are DMA reads');
    assert.ok(txRefsZero(t.h, binding));
    t.net.close();
  });
});

describe('devmem TX binding lifetime through its frags (§3.5)', () => {
  it('TX frags keep the binding alive after its netlink socket closed; the last frag frees it', async () => {
    const t = txHost();
    const { binding, nl, id } = await bindTx(t.h, t.dev, 4);
    const frame = tcpFrame(bytesOf(1400, 10));
    const skb = devmemSkb(t.h, binding, frame, 4000);
    assert.equal(skb.nrFrags, 2, 'two net_iovs');
    assert.equal(binding.refCount, 3, 'netlink + one per referenced net_iov');
    nl.close();
    assert.equal(binding.unlisted, true);
    assert.equal(t.h.kernel.mem.bindings.getTx(id), null, 'unlisted: lookups fail (EINVAL)');
    assert.equal(binding.freed, false, 'frags in flight hold it');
    t.dev.xmit(skb);
    assert.equal(binding.freed, true, 'freed with the last frag');
    assert.equal(binding.dmabuf.attachments, 0, 'detached from the dma-buf');
    assert.deepEqual(t.link.frames, [frame], 'sent from the unbound binding');
    t.net.close();
  });

  it('getTx: EINVAL rows — unknown id, an RX binding; a reference is taken and dropped by put', async () => {
    const net = new Network({ seed: 2 });
    const h = net.addHost('h');
    const dev = h.addDevice('eth0', { rxQueues: 2 });
    h.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
    const nl = h.netlink();
    const rx = await nl.netdev.bindRx({ ifindex: dev.ifindex, fd: h.allocDeviceMemory(8192).fd, queues: [{ id: 1, type: 'rx' }] });
    const tx = await nl.netdev.bindTx({ ifindex: dev.ifindex, fd: h.allocDeviceMemory(8192).fd });
    const table = h.kernel.mem.bindings;
    assert.equal(table.getTx(rx.id), null, 'an RX binding is not a TX binding');
    assert.equal(table.getTx(999), null);
    const b = table.getTx(tx.id)!;
    assert.equal(b.refCount, 2);
    assert.equal(b.dev, dev);
    assert.equal(b.niovAt(8191) >= 0, true);
    assert.equal(b.niovAt(8192), -1, 'at the end of the dma-buf: none (EFAULT)');
    assert.equal(b.niovAt(-1), -1);
    b.put();
    assert.equal(b.refCount, 1);
    nl.close();
    assert.equal(b.freed, true);
    net.close();
  });
});
