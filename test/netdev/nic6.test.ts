/**
 * The NIC model over both families, driven by one dissector pass per frame: tcp6 n-tuple
 * steering, RSS over IPv6 (Microsoft verification vectors through the NIC), header split for IPv6
 * TCP/UDP (host pages and device memory), GRO for IPv6 and for IPv4 with options, the 64 KiB GRO
 * bound, TSO for IPv6 and IPv4 with options (frags and frag lists), TX checksum offload for IPv6,
 * and frag-list skbs on transmit. Frames are built byte by byte (test/netdev/frames.ts) and
 * checked with an independent checksum. Virtual time only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../src/inet/index.js';
import {
  BindingTable, DeviceMemory, DmabufBinding, DmabufDevmemProvider, MemSpace, PAGE_SIZE, netmemIsNetIov,
} from '../../src/mem/index.js';
import { NetDevice, ToeplitzHasher, RSS_INDIR_SIZE, type LinkPort } from '../../src/netdev/index.js';
import {
  CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SkbCache, SkbPieceIter, skbAddFrag, skbAppendFragList, skbCopyBits, skbFree, skbPut,
  type SkBuff,
} from '../../src/skb/index.js';
import { VirtualScheduler } from '../../src/time/index.js';
import { Network } from '../../src/index.js';
import { ErrnoError } from '../../src/uapi/index.js';
import {
  MAC_NIC, V6_DST, V6_SRC, cat, fragHdr, ipv4Frame, ipv6Frame, l4ChecksumOk, optHdr, payloadOf, pseudo6, refSum,
  tcp4, tcp6, u16, udp6,
} from './frames.js';

const TS = Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2);

function rig(opts: { rxQueues?: number; mtu?: number; maxFrags?: number } = {}) {
  const sched = new VirtualScheduler();
  const mem = new MemSpace();
  const skbs = new SkbCache(mem, 4096, opts.maxFrags);
  const dev = new NetDevice(mem, skbs, sched, 'eth0', 2, { rxQueues: opts.rxQueues ?? 4, mtu: opts.mtu ?? 1500, mac: MAC_NIC });
  const got: SkBuff[] = [];
  dev.rxHandler = { netifReceive: (skb: SkBuff) => void got.push(skb) };
  const inject = (bytes: Uint8Array): void => {
    const f = skbs.wrap(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    dev.receiveFrame(f);
    skbFree(f);
  };
  const flush = (): void => {
    while (sched.step()) { /* run the NAPI-end timer */ }
  };
  const release = (): void => {
    for (const s of got.splice(0)) skbFree(s);
  };
  return { sched, mem, skbs, dev, got, inject, flush, release };
}

type Rig = ReturnType<typeof rig>;

/** binds rx queue `q` to device memory (the payload pool becomes net_iovs) */
function bindQueue(r: Rig, q: number): DeviceMemory {
  assert.equal(r.dev.setRings({ tcpDataSplit: 'on', hdsThresh: 0 }), 0);
  const dm = new DeviceMemory(64 * PAGE_SIZE);
  const binding = new DmabufBinding(r.mem, new BindingTable(), dm, {}, 'eth0', 'rx');
  r.dev.rxQueues[q]!.mpProvider = new DmabufDevmemProvider(binding);
  assert.equal(r.dev.restartRxQueue(q), 0);
  return dm;
}

/** every byte of an skb: head copied, host frags copied, net_iov frags read back by device DMA */
function bytesOf(r: Rig, skb: SkBuff): Uint8Array {
  const out = new Uint8Array(skb.len);
  const it = new SkbPieceIter().reset(skb);
  let o = 0;
  while (it.next()) {
    if (it.netIov) r.mem.dmaFromNetIov(it.ref, it.pageOff, out, o, it.len);
    else out.set(it.buf.subarray(it.off, it.off + it.len), o);
    o += it.len;
  }
  return out;
}

function head(skb: SkBuff): Uint8Array {
  return skb.buf.slice(skb.data, skb.tail);
}

describe('NIC over IPv6: steering and RSS', () => {
  it('a tcp6 n-tuple rule steers its flow to its queue; other flows, UDP and fragments follow RSS', () => {
    const r = rig();
    assert.equal(r.dev.ntuple.add({ flowType: 'tcp6', dstIp: InetAddr.parse(V6_DST), dstPort: 5201, action: 3 }), 0);
    r.dev.setRssEqual(3);
    r.dev.gro = false;
    const h = new ToeplitzHasher();
    const src = InetAddr.parse(V6_SRC);
    const dst = InetAddr.parse(V6_DST);
    for (let sport = 40000; sport < 40032; sport++) {
      r.inject(tcp6({ sport, dport: 5201, payload: payloadOf(10, sport) }));
      r.inject(tcp6({ sport, dport: 5202 }));
      r.inject(udp6({ sport, dport: 5201 }));
    }
    r.flush();
    assert.equal(r.got.length, 96);
    for (let i = 0; i < 32; i++) {
      const sport = 40000 + i;
      const [steered, other, udp] = [r.got[3 * i]!, r.got[3 * i + 1]!, r.got[3 * i + 2]!];
      assert.equal(steered.queueMapping, 3);
      const ho = h.hashV6(src, dst, sport, 5202, true);
      assert.equal(other.hash, ho);
      assert.equal(other.queueMapping, r.dev.indir[ho & (RSS_INDIR_SIZE - 1)]);
      assert.ok(other.queueMapping < 3);
      assert.equal(udp.hash, h.hashV6(src, dst, sport, 5201, true));
      assert.ok(udp.queueMapping < 3, 'a tcp6 rule does not take UDP');
    }
    // a first fragment carries the ports but is not steered: all fragments stay together on the 2-tuple hash
    const l4 = tcp6({ dport: 5201, payload: payloadOf(64, 1) }).subarray(54);
    r.inject(ipv6Frame(6, l4.subarray(0, 40), { ext: fragHdr(6, 0, true), firstNh: 44 }));
    r.inject(ipv6Frame(6, l4.subarray(40), { ext: fragHdr(6, 40, false), firstNh: 44 }));
    const two = h.hashV6(src, dst, 0, 0, false);
    assert.deepEqual(r.got.slice(96).map((s) => s.hash), [two, two]);
    assert.deepEqual(r.got.slice(96).map((s) => s.queueMapping), [r.dev.indir[two & 127], r.dev.indir[two & 127]]);
    r.release();
    assert.equal(r.skbs.live, 0);
  });

  it('RSS through the NIC reproduces the Microsoft IPv6 vectors: 4-tuple for TCP, 2-tuple for fragments and ICMPv6', () => {
    const r = rig();
    const rows: [string, number, string, number, number, number][] = [
      ['3ffe:2501:200:1fff::7', 2794, '3ffe:2501:200:3::1', 1766, 0x40207d3d, 0x2cc18cd5],
      ['3ffe:501:8::260:97ff:fe40:efab', 14230, 'ff02::1', 4739, 0xdde51bbf, 0x0f0c461c],
      ['3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 'fe80::200:f8ff:fe21:67cf', 38024, 0x02d1feef, 0x4b61e985],
    ];
    for (const [src, sport, dst, dport] of rows) {
      r.inject(tcp6({ src, dst, sport, dport }));
      r.inject(ipv6Frame(17, payloadOf(16, 1), { src, dst, ext: fragHdr(17, 1448, false), firstNh: 44 }));
      r.inject(ipv6Frame(58, Uint8Array.of(128, 0, 0, 0, 0, 1, 0, 1), { src, dst }));
    }
    // the IPv4 row: a fragment hashes the 2-tuple
    r.inject(ipv4Frame(17, payloadOf(16, 2), { src: '66.9.149.187', dst: '161.142.100.80', frag: 0x2000 }));
    r.inject(tcp4({ src: '66.9.149.187', dst: '161.142.100.80', sport: 2794, dport: 1766 }));
    r.flush();
    const hashes = r.got.map((s) => s.hash >>> 0);
    assert.deepEqual(hashes, [...rows.flatMap(([, , , , four, two]) => [four, two, two]), 0x323e8fc2, 0x51ccc178]);
    r.release();
  });

  it('ethtool -N accepts IPv6 text and prefixes for tcp6/udp6 and refuses a family mismatch', () => {
    const net = new Network({ seed: 3 });
    const h = net.addHost('h');
    h.addDevice('eth0', { rxQueues: 4 });
    const e = h.ethtool;
    assert.equal(e.addNtupleRule('eth0', { flowType: 'tcp6', dstIp: '2001:db8::2', dstPort: 5201, action: 3 }), 0);
    assert.equal(e.addNtupleRule('eth0', { flowType: 'udp6', srcIp: '2001:db8:1::/48', action: 2 }), 1);
    assert.equal(e.addNtupleRule('eth0', { flowType: 'tcp4', dstIp: '10.0.0.2', action: 1 }), 2);
    const rules = e.ntupleRules('eth0');
    assert.equal(rules[0]!.dstIp!.toString(), '2001:db8::2');
    assert.equal(rules[1]!.srcPrefix, 48);
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof ErrnoError);
        return err.code;
      }
      return 'none';
    };
    assert.equal(code(() => e.addNtupleRule('eth0', { flowType: 'tcp6', dstIp: '10.0.0.2', action: 1 })), 'EINVAL');
    assert.equal(code(() => e.addNtupleRule('eth0', { flowType: 'tcp4', dstIp: '2001:db8::2', action: 1 })), 'EINVAL');
    assert.equal(code(() => e.addNtupleRule('eth0', { flowType: 'tcp6', dstIp: '2001:db8::zz', action: 1 })), 'EINVAL');
    assert.equal(code(() => e.addNtupleRule('eth0', { flowType: 'tcp6', dstIp: '2001:db8::2', action: 1, loc: 0 })), 'EEXIST');
    net.close();
  });
});

describe('NIC over IPv6: header split', () => {
  it('TCP: the head holds exactly Ethernet + IPv6 (+ extension headers) + TCP, the payload sits in frags', () => {
    const r = rig();
    r.dev.setRings({ tcpDataSplit: 'on', hdsThresh: 0 });
    r.dev.gro = false;
    const payload = payloadOf(1400, 1);
    const plain = tcp6({ tcpOptions: TS, payload });
    const l4 = plain.subarray(54);
    const withExt = ipv6Frame(6, l4, { ext: cat(optHdr(60, 1), optHdr(6, 2)), firstNh: 0 });
    const udp = udp6({ payload: payloadOf(500, 2) });
    r.inject(plain);
    r.inject(withExt);
    r.inject(udp);
    r.flush();
    const [a, b, u] = r.got;
    assert.deepEqual(head(a!), plain.subarray(0, 14 + 40 + 32));
    assert.deepEqual(bytesOf(r, a!), plain);
    assert.equal(a!.ipSummed, CHECKSUM_UNNECESSARY);
    assert.deepEqual(head(b!), withExt.subarray(0, 14 + 40 + 8 + 16 + 32));
    assert.deepEqual(bytesOf(r, b!), withExt);
    assert.equal(b!.ipSummed, CHECKSUM_UNNECESSARY, 'the L4 checksum is found behind the extension headers');
    assert.deepEqual(head(u!), udp.subarray(0, 62));
    assert.deepEqual(bytesOf(r, u!), udp);
    assert.equal(u!.ipSummed, CHECKSUM_UNNECESSARY);
    r.release();
  });

  it('a devmem queue puts IPv6 TCP payload in device memory; the head is only the headers; a bad checksum is caught', () => {
    const r = rig();
    bindQueue(r, 3);
    r.dev.ntuple.add({ flowType: 'tcp6', dstPort: 5201, action: 3 });
    r.dev.gro = false;
    const payload = payloadOf(1400, 3);
    const f = tcp6({ tcpOptions: TS, payload });
    r.inject(f);
    r.inject(tcp6({ tcpOptions: TS, payload, badCsum: true }));
    r.flush();
    const [s, bad] = r.got;
    assert.equal(s!.queueMapping, 3);
    assert.equal(s!.unreadable, true);
    assert.ok(netmemIsNetIov(s!.fragRef[0]!));
    assert.deepEqual(head(s!), f.subarray(0, 86));
    assert.deepEqual(bytesOf(r, s!).subarray(86), payload, 'payload bytes are in device memory');
    assert.equal(s!.ipSummed, CHECKSUM_UNNECESSARY);
    assert.notEqual(bad!.ipSummed, CHECKSUM_UNNECESSARY);
    assert.equal(r.dev.rxQueues[3]!.stats.rxCsumBad, 1);
    r.release();
  });
});

describe('NIC GRO over both families', () => {
  const seg6 = (i: number, mss: number, extra: Parameters<typeof tcp6>[0] = {}) =>
    tcp6({ seq: 1000 + i * mss, tcpOptions: TS, payload: payloadOf(mss, 10 + i), ...extra });

  it('IPv6 TCP without extension headers merges: payload length, gso size, bytes', () => {
    const r = rig();
    r.dev.setRings({ tcpDataSplit: 'on', hdsThresh: 0 });
    const frames = [0, 1, 2, 3].map((i) => seg6(i, 1000));
    for (const f of frames) r.inject(f);
    r.flush();
    assert.equal(r.got.length, 1);
    const s = r.got[0]!;
    assert.equal(s.gsoSize, 1000);
    assert.equal(s.len, 86 + 4000);
    const bytes = bytesOf(r, s);
    assert.equal(new DataView(bytes.buffer).getUint16(18), 32 + 4000, 'IPv6 payload length covers the train');
    const expectHead = frames[0]!.slice(0, 86);
    new DataView(expectHead.buffer).setUint16(18, 4032);
    assert.deepEqual(bytes.subarray(0, 86), expectHead);
    assert.deepEqual(bytes.subarray(86), cat(...frames.map((f) => f.subarray(86))));
    r.release();
  });

  it('IPv6: a different flow label, hop limit, traffic class or address starts a new train; an extension header flushes in order', () => {
    const r = rig();
    r.dev.setRings({ tcpDataSplit: 'on', hdsThresh: 0 });
    const f = [
      seg6(0, 500), seg6(1, 500), seg6(2, 500, { flow: 0x777 }), seg6(3, 500, { flow: 0x777, hop: 9 }),
      seg6(4, 500, { flow: 0x777, hop: 9, tclass: 4 }), seg6(5, 500, { flow: 0x777, hop: 9, tclass: 4, src: '2001:db8::9' }),
    ];
    for (const x of f) r.inject(x);
    r.flush();
    assert.deepEqual(r.got.map((s) => s.len), [86 + 1000, 586, 586, 586, 586]);
    r.release();
    // extension headers: never merged, the held train goes first
    const ext = ipv6Frame(6, seg6(2, 500).subarray(54), { ext: optHdr(6, 1), firstNh: 60 });
    r.inject(seg6(0, 500));
    r.inject(seg6(1, 500));
    r.inject(ext);
    r.inject(seg6(3, 500));
    r.flush();
    const seqs = r.got.map((s) => new DataView(s.buf.buffer, s.buf.byteOffset).getUint32(s.data + (s.len === 594 ? 62 : 54) + 4));
    assert.deepEqual(r.got.map((s) => s.len), [1086, 594, 586]);
    assert.deepEqual(seqs, [1000, 2000, 2500]);
    r.release();
  });

  it('IPv4 with options is never merged and flushes the held train first (order kept)', () => {
    const r = rig();
    r.dev.setRings({ tcpDataSplit: 'on', hdsThresh: 0 });
    const opt = Uint8Array.of(1, 1, 1, 0);
    const s4 = (i: number, o?: Uint8Array) => tcp4({ seq: 1000 + i * 700, payload: payloadOf(700, i), options: o });
    r.inject(s4(0));
    r.inject(s4(1));
    r.inject(s4(2, opt));
    r.inject(s4(3, opt));
    r.inject(s4(4));
    r.inject(s4(5));
    r.flush();
    assert.deepEqual(r.got.map((s) => s.len), [54 + 1400, 58 + 700, 58 + 700, 54 + 1400]);
    const first = bytesOf(r, r.got[0]!);
    const dv = new DataView(first.buffer);
    assert.equal(dv.getUint16(16), 40 + 1400, 'IPv4 total length of the merged train');
    assert.equal(refSum([first.subarray(14, 34)]), 0xffff, 'IPv4 header checksum recomputed');
    assert.deepEqual(bytesOf(r, r.got[1]!), s4(2, opt));
    assert.equal(r.got[1]!.gsoSize, 0);
    r.release();
  });

  it('a train stops before the datagram passes 64 KiB (45 frag slots, MTU 9000)', () => {
    const r = rig({ mtu: 9000, maxFrags: 45 });
    r.dev.setRings({ tcpDataSplit: 'on', hdsThresh: 0 });
    const frames = Array.from({ length: 10 }, (_, i) => tcp4({ seq: 1000 + i * 8900, payload: payloadOf(8900, i) }));
    for (const f of frames) r.inject(f);
    r.flush();
    assert.deepEqual(r.got.map((s) => s.len - 54), [7 * 8900, 3 * 8900]);
    for (const s of r.got) assert.ok(s.len - 14 <= 65535);
    assert.deepEqual(bytesOf(r, r.got[0]!).subarray(54), cat(...frames.slice(0, 7).map((f) => f.subarray(54))));
    r.release();
  });
});

/** records transmitted frames as bytes */
class TxCapture implements LinkPort {
  readonly frames: Uint8Array[] = [];
  transmit(skb: SkBuff): void {
    const out = new Uint8Array(skb.len);
    assert.equal(skb.fragList, null, 'links never see a frag list');
    assert.equal(skbCopyBits(skb, 0, out, 0, skb.len), 0);
    this.frames.push(out);
    skbFree(skb);
  }
}

function txRig(opts: { mtu?: number; maxFrags?: number } = {}) {
  const r = rig({ rxQueues: 1, ...opts });
  const link = new TxCapture();
  r.dev.link = link;
  skbFree(r.skbs.alloc(64, 0)!); // the skb cache keeps one head page: count from there
  const base = r.mem.host.inUse;
  return { ...r, link, base };
}

/** an skb whose head is `hdr` and whose payload is in host-page frags of at most `chunk` bytes */
function gsoSkb(r: Rig, hdr: Uint8Array, payload: Uint8Array, chunk = PAGE_SIZE, member?: { at: number; headLen: number }): SkBuff {
  const skb = r.skbs.alloc(hdr.length, 0)!;
  skb.buf.set(hdr, skbPut(skb, hdr.length));
  const end = member?.at ?? payload.length;
  for (let o = 0; o < end; o += chunk) {
    const n = Math.min(chunk, end - o);
    const p = r.mem.allocPage();
    r.mem.buf(p).set(payload.subarray(o, o + n), r.mem.offset(p));
    assert.ok(skbAddFrag(skb, p, 0, n));
  }
  if (member) {
    const m = r.skbs.alloc(member.headLen, 0)!;
    m.buf.set(payload.subarray(member.at, member.at + member.headLen), skbPut(m, member.headLen));
    const rest = payload.subarray(member.at + member.headLen);
    const p = r.mem.allocPage();
    r.mem.buf(p).set(rest, r.mem.offset(p) + 8);
    assert.ok(skbAddFrag(m, p, 8, rest.length));
    skbAppendFragList(skb, m);
  }
  return skb;
}

describe('NIC TSO and checksum offload over both families', () => {
  it('IPv6 TSO: MSS frames with payload lengths, sequence numbers, flags on the last only, valid checksums, no id', () => {
    const r = txRig();
    const payload = payloadOf(10000, 5);
    const hdr = tcp6({ tcpOptions: TS, flags: 0x18 | 0x01, seq: 7000, flow: 0xbeef, hop: 17 }).subarray(0, 86);
    for (const member of [undefined, { at: 8192, headLen: 100 }]) {
      r.link.frames.length = 0;
      const skb = gsoSkb(r, hdr, payload, PAGE_SIZE, member);
      skb.gsoSize = 1428;
      r.dev.xmit(skb);
      const fr = r.link.frames;
      assert.equal(fr.length, 8);
      let off = 0;
      for (let i = 0; i < fr.length; i++) {
        const f = fr[i]!;
        const dv = new DataView(f.buffer);
        const n = Math.min(1428, 10000 - off);
        assert.equal(f.length, 86 + n);
        assert.equal(dv.getUint16(18), 32 + n, 'payload length');
        assert.equal(dv.getUint32(14) & 0xfffff, 0xbeef, 'flow label kept');
        assert.equal(f[21], 17, 'hop limit kept');
        assert.equal(dv.getUint32(54 + 4), 7000 + off);
        assert.equal(f[54 + 13], i === fr.length - 1 ? 0x19 : 0x10, 'FIN and PSH only on the last');
        assert.ok(l4ChecksumOk(f), `checksum of frame ${i}`);
        assert.deepEqual(f.subarray(86), payload.subarray(off, off + n));
        assert.deepEqual(f.subarray(0, 14), hdr.subarray(0, 14));
        off += n;
      }
    }
    assert.equal(r.dev.txQueues[0]!.stats.txHwGsoWirePackets, 16);
    assert.equal(r.skbs.live, 0);
    assert.equal(r.mem.host.inUse, r.base, 'every payload page released');
  });

  it('IPv4 TSO with IP options: total length, consecutive ids, header checksum, valid TCP checksums', () => {
    const r = txRig();
    const payload = payloadOf(5000, 6);
    const hdr = tcp4({ options: Uint8Array.of(1, 1, 1, 0), id: 0xfffe, flags: 0x18, seq: 1 }).subarray(0, 58);
    const skb = gsoSkb(r, hdr, payload, 3000);
    skb.gsoSize = 1400;
    r.dev.xmit(skb);
    const fr = r.link.frames;
    assert.equal(fr.length, 4);
    fr.forEach((f, i) => {
      const dv = new DataView(f.buffer);
      const n = Math.min(1400, 5000 - i * 1400);
      assert.equal(dv.getUint16(16), 24 + 20 + n);
      assert.equal(dv.getUint16(18), (0xfffe + i) & 0xffff);
      assert.equal(refSum([f.subarray(14, 38)]), 0xffff, 'IPv4 header checksum');
      assert.ok(l4ChecksumOk(f));
      assert.deepEqual(f.subarray(58), payload.subarray(i * 1400, i * 1400 + n));
    });
    assert.equal(r.skbs.live, 0);
  });

  it('TX checksum offload for IPv6: CHECKSUM_PARTIAL seeded with the IPv6 pseudo-header; UDP never sends 0', () => {
    const r = txRig();
    const payload = payloadOf(1401, 7);
    const frame = tcp6({ payload });
    const hdr = frame.slice(0, 74);
    const pseudo = refSum([pseudo6(V6_SRC, V6_DST, 6)(20 + 1401)]);
    new DataView(hdr.buffer).setUint16(54 + 16, pseudo);
    const skb = gsoSkb(r, hdr, payload, 333);
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.csumStart = skb.data + 54;
    skb.csumOffset = 16;
    r.dev.xmit(skb);
    assert.deepEqual(r.link.frames[0], frame);

    // a UDP datagram whose checksum computes to 0 goes out as 0xffff
    const body = payloadOf(20, 8);
    const ph = pseudo6(V6_SRC, V6_DST, 17)(8 + 22);
    const udpHdr = cat(u16(1), u16(2), u16(30), u16(0));
    const s = refSum([ph, udpHdr, body]);
    const fix = (0xffff - s) & 0xffff; // makes the whole sum 0xffff, the checksum 0
    const l4 = cat(udpHdr, body, u16(fix));
    assert.equal(refSum([ph, l4]), 0xffff);
    const seeded = l4.slice();
    new DataView(seeded.buffer).setUint16(6, refSum([ph]));
    const u = r.skbs.alloc(54 + 30, 0)!;
    u.buf.set(ipv6Frame(17, seeded), skbPut(u, 84));
    u.ipSummed = CHECKSUM_PARTIAL;
    u.csumStart = u.data + 54;
    u.csumOffset = 6;
    r.dev.xmit(u);
    const out = r.link.frames[1]!;
    assert.equal(new DataView(out.buffer).getUint16(54 + 6), 0xffff);
    assert.ok(l4ChecksumOk(out));
    assert.equal(r.skbs.live, 0);
  });

  it('a non-GSO skb with a frag list is flattened into frags on transmit; one whose members do not fit is dropped, leaking nothing', () => {
    const r = txRig();
    const payload = payloadOf(1000, 9);
    const frame = tcp6({ payload });
    const skb = gsoSkb(r, frame.subarray(0, 74), payload, 300, { at: 600, headLen: 50 });
    r.dev.xmit(skb);
    assert.deepEqual(r.link.frames[0], frame);
    // 16 one-byte frags + a member head + a member frag: 18 slots > 17
    const p2 = payloadOf(30, 10);
    const f2 = tcp6({ payload: p2 });
    const big = gsoSkb(r, f2.subarray(0, 74), p2, 1, { at: 16, headLen: 4 });
    r.dev.xmit(big);
    assert.equal(r.link.frames.length, 1);
    assert.equal(r.dev.txQueues[0]!.stats.txHwDropErrors, 1);
    assert.equal(r.skbs.live, 0);
    assert.equal(r.mem.host.inUse, r.base);
  });
});
