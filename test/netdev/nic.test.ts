/**
 * NIC model tests (`NetDevice`): header/data split, hds-thresh and fixed-offset split, flow
 * steering (n-tuple, RSS), rx checksum offload, length/FCS errors, device-memory exhaustion,
 * software GRO, reconfiguration guards while a queue is bound (spec §1.5) and the TX path.
 * Frames are built with the wire emitters and fed straight into `receiveFrame`; what the stack
 * would receive is captured by replacing `dev.rxHandler`. Virtual time only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO, ErrnoError, NcdevmemPattern, Network, type DeviceMemory, type Host, type Socket } from '../../src/index.js';
import { DmabufBinding, PAGE_SIZE, netmemIsNetIov } from '../../src/mem/index.js';
import { ToeplitzHasher, type LinkPort, type NetDevice, type PacketTap, type RxHandler } from '../../src/netdev/index.js';
import type { NetlinkSocket } from '../../src/netlink/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, skbAddFrag, skbCopyBits, skbFree, skbPut, skbWarnings, type SkBuff,
} from '../../src/skb/index.js';
import {
  ARPOP_REQUEST, ETH_BROADCAST, ETH_P_ARP, ETH_P_IP, ICMP_ECHO, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST,
  TCP_SYN, TcpOptions, csumFinish, csumFold, csumPartial, emitArp, emitEthernet, emitIcmpEcho, emitIpv4, emitTcp, emitUdp,
  pseudoHeaderSumV4, tcpPacketLen, tcpVerifyChecksum, type TcpRepr,
} from '../../src/wire/index.js';
import { parseIpv4Addr } from '../../src/wire/addr.js';
import { PORT, bindDevmem, listen, makePair, patternSender, connectPair } from '../e2e/helpers.js';

// ---------------------------------------------------------------------------------------------
// frame builders
// ---------------------------------------------------------------------------------------------

const PEER_MAC = 0x02aa000000ee;
const SRC = parseIpv4Addr('10.0.0.1');
const DST = parseIpv4Addr('10.0.0.2');
/** the queue the devmem rigs bind */
const DEVQ = 3;
const ETH_IP_TCP = 14 + 20 + 20;

/** deterministic, non-repeating-looking bytes (an LCG) so that a payload can be searched for */
function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (Math.imul(seed + 1, 2654435761) >>> 0) | 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function dvOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** recomputes the IPv4 header checksum of the header at `off` */
function fixIpCsum(b: Uint8Array, off: number): void {
  const dv = dvOf(b);
  const ihl = (b[off]! & 0x0f) * 4;
  dv.setUint16(off + 10, 0);
  dv.setUint16(off + 10, csumFinish(csumPartial(b, dv, off, ihl, 0)));
}

interface TcpSpec {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  payload?: Uint8Array;
  /** timestamps option (tsVal, tsEcr): 12 option bytes */
  ts?: [number, number];
  src?: number;
  dst?: number;
  tos?: number;
  ttl?: number;
  /** Ethernet padding bytes after the IPv4 datagram */
  pad?: number;
  /** IPv4 option bytes (a multiple of 4) */
  ipOptions?: Uint8Array;
}

/** an Ethernet + IPv4 + TCP frame with correct checksums */
function tcpFrame(dstMac: number, s: TcpSpec = {}): Uint8Array {
  const options = new TcpOptions();
  if (s.ts) {
    options.hasTimestamp = true;
    options.tsVal = s.ts[0];
    options.tsEcr = s.ts[1];
  }
  const src = s.src ?? SRC;
  const dst = s.dst ?? DST;
  const r: TcpRepr = {
    srcPort: s.sport ?? 40000, dstPort: s.dport ?? 80, seq: s.seq ?? 1000, ack: s.ack ?? 5000, flags: s.flags ?? TCP_ACK,
    window: s.window ?? 1024, urgent: 0, options, payload: s.payload ?? new Uint8Array(0),
  };
  const l4len = tcpPacketLen(r);
  const ipOpt = s.ipOptions?.length ?? 0;
  const buf = new Uint8Array(14 + 20 + ipOpt + l4len + (s.pad ?? 0));
  const dv = dvOf(buf);
  emitEthernet({ dst: dstMac, src: PEER_MAC, etherType: ETH_P_IP }, dv, 0);
  emitIpv4({ src, dst, protocol: IPPROTO_TCP, ttl: s.ttl ?? 64, payloadLen: ipOpt + l4len, ident: 0, dontFrag: true, tos: s.tos ?? 0 }, dv, 14);
  if (s.ipOptions) {
    buf[14] = 0x40 | ((20 + ipOpt) >> 2);
    buf.set(s.ipOptions, 34);
    fixIpCsum(buf, 14);
  }
  emitTcp(r, buf, dv, 34 + ipOpt, src, dst);
  return buf;
}

function udpFrame(dstMac: number, s: { sport?: number; dport?: number; payload: Uint8Array; noCsum?: boolean }): Uint8Array {
  const l4len = 8 + s.payload.length;
  const buf = new Uint8Array(14 + 20 + l4len);
  const dv = dvOf(buf);
  emitEthernet({ dst: dstMac, src: PEER_MAC, etherType: ETH_P_IP }, dv, 0);
  emitIpv4({ src: SRC, dst: DST, protocol: IPPROTO_UDP, ttl: 64, payloadLen: l4len, ident: 0, dontFrag: true, tos: 0 }, dv, 14);
  emitUdp({ srcPort: s.sport ?? 40000, dstPort: s.dport ?? 4789, payload: s.payload }, buf, dv, 34, SRC, DST);
  if (s.noCsum) dv.setUint16(34 + 6, 0);
  return buf;
}

function icmpFrame(dstMac: number, payload: Uint8Array): Uint8Array {
  const l4len = 8 + payload.length;
  const buf = new Uint8Array(14 + 20 + l4len);
  const dv = dvOf(buf);
  emitEthernet({ dst: dstMac, src: PEER_MAC, etherType: ETH_P_IP }, dv, 0);
  emitIpv4({ src: SRC, dst: DST, protocol: 1, ttl: 64, payloadLen: l4len, ident: 7, dontFrag: false, tos: 0 }, dv, 14);
  emitIcmpEcho({ type: ICMP_ECHO, code: 0, ident: 0x1234, seq: 1, payload }, buf, dv, 34);
  return buf;
}

function arpFrame(): Uint8Array {
  const buf = new Uint8Array(14 + 28);
  const dv = dvOf(buf);
  emitEthernet({ dst: ETH_BROADCAST, src: PEER_MAC, etherType: ETH_P_ARP }, dv, 0);
  emitArp({ op: ARPOP_REQUEST, senderMac: PEER_MAC, senderIp: SRC, targetMac: 0, targetIp: DST }, dv, 14);
  return buf;
}

/** a frame of `len` bytes with an unknown EtherType (0x88b5, local experimental) */
function rawFrame(dstMac: number, len: number, seed = 9): Uint8Array {
  const buf = bytesOf(len, seed);
  if (len >= 14) emitEthernet({ dst: dstMac, src: PEER_MAC, etherType: 0x88b5 }, dvOf(buf), 0);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// capture and rigs
// ---------------------------------------------------------------------------------------------

/** what the stack received: a snapshot taken inside `netifReceive` */
interface Got {
  len: number;
  headlen: number;
  /** the linear bytes */
  head: Uint8Array;
  nrFrags: number;
  fragLens: number[];
  fragIsNiov: boolean[];
  unreadable: boolean;
  ipSummed: number;
  gsoSize: number;
  queue: number;
  hash: number;
  protocol: number;
  ifindex: number;
  /** the frag bytes, read from host pages, or from device memory (copyToHost) for net_iovs */
  frags: Uint8Array;
}

/** the whole frame as delivered: head then frags */
function whole(g: Got): Uint8Array {
  return concat([g.head, g.frags]);
}

function ipTotalLen(g: Got): number {
  return (g.head[16]! << 8) | g.head[17]!;
}

function ipHeaderValid(g: Got): boolean {
  const h = g.head;
  return csumFold(csumPartial(h, dvOf(h), 14, (h[14]! & 0x0f) * 4, 0)) === 0xffff;
}

function snapshot(skb: SkBuff, h: Host, dm: DeviceMemory | null): Got {
  const frags = new Uint8Array(skb.dataLen);
  const fragLens: number[] = [];
  const fragIsNiov: boolean[] = [];
  let o = 0;
  for (let i = 0; i < skb.nrFrags; i++) {
    const ref = skb.fragRef[i]!;
    const off = skb.fragOff[i]!;
    const len = skb.fragLen[i]!;
    const niov = netmemIsNetIov(ref);
    if (niov) {
      assert.ok(dm !== null, 'a net_iov frag with no device memory to read it from');
      frags.set(dm.copyToHost(h.kernel.mem.niovDmabufOffset(ref) + off, len), o);
    } else {
      const b = h.kernel.mem.buf(ref);
      const s = h.kernel.mem.offset(ref) + off;
      frags.set(b.subarray(s, s + len), o);
    }
    fragLens.push(len);
    fragIsNiov.push(niov);
    o += len;
  }
  return {
    len: skb.len, headlen: skb.tail - skb.data, head: skb.buf.slice(skb.data, skb.tail), nrFrags: skb.nrFrags, fragLens, fragIsNiov,
    unreadable: skb.unreadable, ipSummed: skb.ipSummed, gsoSize: skb.gsoSize, queue: skb.queueMapping, hash: skb.hash,
    protocol: skb.protocol, ifindex: skb.ifindex, frags,
  };
}

class Capture implements RxHandler {
  readonly got: Got[] = [];
  readonly held: SkBuff[] = [];
  /** keep the skbs (their buffers stay pinned) instead of freeing them at once */
  keep = false;
  dm: DeviceMemory | null = null;
  constructor(readonly h: Host) {}

  netifReceive(skb: SkBuff, _dev: NetDevice): void {
    this.got.push(snapshot(skb, this.h, this.dm));
    if (this.keep) this.held.push(skb);
    else skbFree(skb);
  }

  release(): void {
    for (const s of this.held.splice(0)) skbFree(s);
  }
}

interface Rig {
  net: Network;
  h: Host;
  dev: NetDevice;
  cap: Capture;
}

function rig(opts: { rxQueues?: number; mtu?: number; headerBufSize?: number } = {}): Rig {
  const net = new Network({ seed: 11 });
  const h = net.addHost('h');
  const dev = h.addDevice('eth0', { rxQueues: opts.rxQueues ?? 4, mtu: opts.mtu ?? 1500, headerBufSize: opts.headerBufSize });
  const cap = new Capture(h);
  dev.rxHandler = cap;
  return { net, h, dev, cap };
}

interface DevmemRig extends Rig {
  dm: DeviceMemory;
  nl: NetlinkSocket;
  id: number;
}

/** a rig with queue DEVQ bound to `pages` pages of device memory, port PORT steered to it */
async function devmemRig(pages = 64): Promise<DevmemRig> {
  const r = rig();
  r.h.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
  r.h.ethtool.setRss('eth0', { equal: DEVQ });
  r.h.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstPort: PORT, action: DEVQ });
  const dm = r.h.allocDeviceMemory(pages * PAGE_SIZE);
  const nl = r.h.netlink();
  const { id } = await nl.netdev.bindRx({ ifindex: r.dev.ifindex, fd: dm.fd, queues: [{ id: DEVQ, type: 'rx' }] });
  r.cap.dm = dm;
  return { ...r, dm, nl, id };
}

/** hands `bytes` to the NIC as a frame from the wire (borrowed, then freed, as the link does) */
function inject(r: { h: Host; dev: NetDevice }, bytes: Uint8Array, fcsOk = true): void {
  const skb = r.h.kernel.skbs.wrap(bytes, dvOf(bytes));
  r.dev.receiveFrame(skb, fcsOk);
  skbFree(skb);
}

/** true when some host page holds `needle` */
function hostHas(h: Host, needle: Uint8Array): boolean {
  for (const b of h.kernel.mem.host.bufs) {
    if (Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(needle) >= 0) return true;
  }
  return false;
}

function sum(a: number[]): number {
  return a.reduce((s, x) => s + x, 0);
}

function assertErrno(fn: () => unknown, code: string, msg?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ErrnoError, `expected an ErrnoError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (msg) assert.match(e.extack?.msg ?? '', msg);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// 1. header split on TCP
// ---------------------------------------------------------------------------------------------

describe('NIC header/data split (tcp-data-split on)', () => {
  it('TCP: the head holds exactly Ethernet+IPv4+TCP, the payload sits in readable page-pool frags', () => {
    const r = rig();
    r.h.ethtool.setRings('eth0', { tcpDataSplit: 'on' });
    r.cap.keep = true;
    const payload = bytesOf(1000, 1);
    const frame = tcpFrame(r.dev.mac, { payload, flags: TCP_ACK | TCP_PSH });
    inject(r, frame);
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 1);
    const g = r.cap.got[0]!;
    assert.equal(g.headlen, ETH_IP_TCP);
    assert.deepEqual(g.head, frame.subarray(0, ETH_IP_TCP));
    assert.equal(g.len, frame.length);
    assert.equal(sum(g.fragLens), 1000);
    assert.deepEqual(g.frags, payload);
    assert.equal(g.unreadable, false);
    assert.ok(g.fragIsNiov.every((x) => !x), 'host pages');
    assert.equal(g.protocol, ETH_P_IP);
    assert.equal(g.ifindex, r.dev.ifindex);
    // positive control for the devmem test below: the payload is in host memory
    assert.ok(hostHas(r.h, payload.subarray(400, 464)));
    r.cap.release();

    // with 12 bytes of TCP options (timestamps) the head grows to 66 bytes
    const payload2 = bytesOf(700, 2);
    const f2 = tcpFrame(r.dev.mac, { payload: payload2, flags: TCP_ACK | TCP_PSH, ts: [123456, 654321] });
    inject(r, f2);
    r.net.runUntilIdle();
    const g2 = r.cap.got[1]!;
    assert.equal(g2.headlen, ETH_IP_TCP + 12);
    assert.deepEqual(g2.head, f2.subarray(0, ETH_IP_TCP + 12));
    assert.deepEqual(g2.frags, payload2);
    assert.equal(g2.len, f2.length);
    r.net.close();
  });

  it('devmem queue: the skb is unreadable, frags are net_iovs, the payload is in device memory and in no host page', async () => {
    const r = await devmemRig();
    r.cap.keep = true;
    const payload = bytesOf(1400, 3);
    const frame = tcpFrame(r.dev.mac, { dport: PORT, payload, flags: TCP_ACK | TCP_PSH });
    const dmaBefore = r.dm.stats.dmaBytesWritten;
    inject(r, frame);
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 1);
    const g = r.cap.got[0]!;
    assert.equal(g.queue, DEVQ);
    assert.equal(g.unreadable, true);
    assert.ok(g.nrFrags >= 1);
    assert.ok(g.fragIsNiov.every((x) => x), 'every frag is a net_iov');
    assert.equal(g.headlen, ETH_IP_TCP);
    assert.deepEqual(g.head, frame.subarray(0, ETH_IP_TCP), 'head is the headers, byte for byte');
    assert.equal(sum(g.fragLens), payload.length);
    assert.deepEqual(g.frags, payload, 'device memory holds the payload');
    assert.equal(r.dm.stats.dmaBytesWritten - dmaBefore, payload.length, 'the NIC DMAed exactly the payload');
    assert.equal(g.ipSummed, CHECKSUM_UNNECESSARY, 'the NIC verified the checksum over the frame');
    // no host page holds any piece of the payload (the skbs are still held: nothing recycled)
    for (let off = 0; off + 48 <= payload.length; off += 200) {
      assert.equal(hostHas(r.h, payload.subarray(off, off + 48)), false, `payload bytes ${off}.. found in host memory`);
    }
    r.cap.release();
    r.nl.close();
    r.net.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 2. split points of other protocols
// ---------------------------------------------------------------------------------------------

describe('NIC split points by protocol', () => {
  it('UDP splits after the 8-byte UDP header, ICMP after the IP header, ARP stays in the head', () => {
    const r = rig();
    r.h.ethtool.setRings('eth0', { tcpDataSplit: 'on' });
    const up = bytesOf(300, 4);
    const uf = udpFrame(r.dev.mac, { payload: up });
    inject(r, uf);
    const ip = bytesOf(200, 5);
    const icf = icmpFrame(r.dev.mac, ip);
    inject(r, icf);
    const af = arpFrame();
    inject(r, af);
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 3);
    const [u, ic, a] = r.cap.got as [Got, Got, Got];

    assert.equal(u.headlen, 14 + 20 + 8);
    assert.deepEqual(u.head, uf.subarray(0, 42));
    assert.deepEqual(u.frags, up);
    assert.equal(u.ipSummed, CHECKSUM_UNNECESSARY);

    assert.equal(ic.headlen, 14 + 20);
    assert.deepEqual(ic.head, icf.subarray(0, 34));
    assert.deepEqual(ic.frags, icf.subarray(34), 'ICMP header and data in frags');
    assert.equal(ic.ipSummed, CHECKSUM_NONE, 'the NIC does not verify ICMP');

    assert.equal(a.headlen, 42);
    assert.equal(a.nrFrags, 0);
    assert.equal(a.len, 42);
    assert.deepEqual(a.head, af);
    assert.equal(a.protocol, ETH_P_ARP);
    r.net.close();
  });

  it('IPv4 options move the TCP split; an IP fragment splits after the IP header; a long non-IP frame fills the header buffer', () => {
    const r = rig();
    r.h.ethtool.setRings('eth0', { tcpDataSplit: 'on' });
    const p1 = bytesOf(500, 6);
    const withOpts = tcpFrame(r.dev.mac, { payload: p1, flags: TCP_ACK | TCP_PSH, ipOptions: new Uint8Array([1, 1, 1, 0]) });
    inject(r, withOpts);
    const p2 = bytesOf(500, 7);
    const frag = tcpFrame(r.dev.mac, { payload: p2, flags: TCP_ACK | TCP_PSH });
    dvOf(frag).setUint16(14 + 6, 0x2000); // MF: first fragment
    fixIpCsum(frag, 14);
    inject(r, frag);
    const raw = rawFrame(r.dev.mac, 600);
    inject(r, raw);
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 3);
    const [o, f, n] = r.cap.got as [Got, Got, Got];
    assert.equal(o.headlen, 14 + 24 + 20);
    assert.deepEqual(o.head, withOpts.subarray(0, 58));
    assert.deepEqual(o.frags, p1);
    assert.equal(o.ipSummed, CHECKSUM_UNNECESSARY);
    assert.equal(f.headlen, 34, 'a fragment has no L4 header to split after');
    assert.deepEqual(f.frags, frag.subarray(34));
    assert.equal(f.ipSummed, CHECKSUM_NONE);
    assert.equal(n.headlen, 256, 'a header buffer worth');
    assert.deepEqual(whole(n), raw);
    r.net.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 3. split off, hds-thresh, fixed split (and SCM_DEVMEM_LINEAR end to end)
// ---------------------------------------------------------------------------------------------

/** receives everything with MSG_SOCK_DEVMEM, validating linear and dmabuf pieces in stream order */
async function devmemDrain(conn: Socket, dmabuf: DeviceMemory, id: number) {
  const pattern = new NcdevmemPattern(7);
  const kinds: ('linear' | 'dmabuf')[] = [];
  const linearSizes: number[] = [];
  let bytes = 0;
  let bad = 0;
  let linear = 0;
  for (;;) {
    const m = await conn.recvmsg({ iovLen: 800 * 1024, controlLen: 80_000, flags: C.MSG_SOCK_DEVMEM });
    if (m.length === 0) break;
    let lin = 0;
    let covered = 0;
    for (const c of m.cmsgs) {
      if (c.kind === 'linear') {
        assert.equal(c.level, C.SOL_SOCKET);
        assert.equal(c.type, C.SCM_DEVMEM_LINEAR);
        bad += pattern.check(m.bytes, lin, c.fragSize);
        lin += c.fragSize;
        linearSizes.push(c.fragSize);
      } else if (c.kind === 'dmabuf') {
        assert.equal(c.dmabufId, id);
        bad += dmabuf.validate(c.fragOffset, c.fragSize, pattern);
        conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: c.fragToken, tokenCount: 1 }]);
      } else {
        assert.fail('unexpected cmsg');
      }
      kinds.push(c.kind);
      covered += c.fragSize;
    }
    assert.equal(m.bytes.length, lin, 'the iov holds exactly the linear bytes');
    assert.equal(covered, m.length, 'cmsgs cover exactly the bytes returned');
    linear += lin;
    bytes += m.length;
  }
  return { bytes, bad, linear, kinds, linearSizes };
}

describe('NIC split modes: off, hds-thresh, fixed offset', () => {
  it('tcp-data-split off: the head gets min(frame, split point, header buffer), the rest lands in readable host pages', () => {
    const r = rig();
    r.h.ethtool.setRings('eth0', { tcpDataSplit: 'off' });
    const p = bytesOf(1000, 8);
    const t = tcpFrame(r.dev.mac, { payload: p, flags: TCP_ACK | TCP_PSH });
    inject(r, t); // split point wins: 54
    const a = arpFrame();
    inject(r, a); // the frame is shortest: 42
    const raw = rawFrame(r.dev.mac, 600);
    inject(r, raw); // the header buffer wins: 256
    r.net.runUntilIdle();
    const [gt, ga, gr] = r.cap.got as [Got, Got, Got];
    assert.equal(gt.headlen, 54);
    assert.deepEqual(gt.frags, p);
    assert.ok(gt.fragIsNiov.every((x) => !x));
    assert.equal(ga.headlen, 42);
    assert.equal(ga.nrFrags, 0);
    assert.equal(gr.headlen, 256);
    assert.equal(sum(gr.fragLens), 344);
    assert.deepEqual(whole(gr), raw);
    r.net.close();

    // a small header buffer: TCP headers spill into the frags
    const s = rig({ headerBufSize: 48 });
    s.h.ethtool.setRings('eth0', { tcpDataSplit: 'off' });
    const t2 = tcpFrame(s.dev.mac, { payload: bytesOf(100, 9), flags: TCP_ACK | TCP_PSH });
    inject(s, t2);
    s.net.runUntilIdle();
    const g = s.cap.got[0]!;
    assert.equal(g.headlen, 48);
    assert.deepEqual(g.head, t2.subarray(0, 48));
    assert.deepEqual(g.frags, t2.subarray(48));
    s.net.close();
  });

  it('hds-thresh N: a frame of at most N bytes lands entirely in the head, a longer one is split', () => {
    const r = rig();
    r.h.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 200 });
    assert.deepEqual(r.h.ethtool.getRings('eth0'), { tcpDataSplit: 'on', hdsThresh: 200, hdsFixedSplit: 0 });
    const small = tcpFrame(r.dev.mac, { payload: bytesOf(200 - 54, 10), flags: TCP_ACK | TCP_PSH });
    assert.equal(small.length, 200);
    inject(r, small);
    const big = tcpFrame(r.dev.mac, { payload: bytesOf(201 - 54, 11), flags: TCP_ACK | TCP_PSH });
    inject(r, big);
    r.net.runUntilIdle();
    const [gs, gb] = r.cap.got as [Got, Got];
    assert.equal(gs.headlen, 200);
    assert.equal(gs.nrFrags, 0);
    assert.deepEqual(gs.head, small);
    assert.equal(gs.ipSummed, CHECKSUM_UNNECESSARY);
    assert.equal(gb.headlen, 54);
    assert.deepEqual(gb.frags, big.subarray(54));
    // a threshold beyond the header buffer is refused
    assertErrno(() => r.h.ethtool.setRings('eth0', { hdsThresh: 257 }), 'EINVAL');
    assert.equal(r.h.ethtool.getRings('eth0').hdsThresh, 200);
    r.net.close();
  });

  it('hds fixed split K: the head holds K bytes (headers plus payload) and such skbs are not merged by GRO', () => {
    const r = rig();
    r.h.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsFixedSplit: 100 });
    const p = bytesOf(1000, 12);
    const f = tcpFrame(r.dev.mac, { payload: p, flags: TCP_ACK | TCP_PSH });
    inject(r, f);
    const short = tcpFrame(r.dev.mac, { payload: bytesOf(26, 13), flags: TCP_ACK | TCP_PSH });
    assert.equal(short.length, 80);
    inject(r, short);
    const u = udpFrame(r.dev.mac, { payload: bytesOf(300, 14) });
    inject(r, u);
    r.net.runUntilIdle();
    const [g, gs, gu] = r.cap.got as [Got, Got, Got];
    assert.equal(g.headlen, 100);
    assert.deepEqual(g.head, f.subarray(0, 100));
    assert.deepEqual(g.frags, p.subarray(46));
    assert.equal(gs.headlen, 80);
    assert.equal(gs.nrFrags, 0);
    assert.equal(gu.headlen, 100, 'the fixed split ignores the protocol');
    assert.deepEqual(whole(gu), u);
    // three in-order segments at one instant: headers are not at the split, so no GRO
    const n = r.cap.got.length;
    for (let i = 0; i < 3; i++) inject(r, tcpFrame(r.dev.mac, { seq: 1000 + 1000 * i, payload: bytesOf(1000, 20 + i) }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length - n, 3);
    assert.ok(r.cap.got.slice(n).every((x) => x.headlen === 100 && x.gsoSize === 0 && x.len === 1054));
    r.net.close();
  });

  it('end to end, fixed split on a devmem queue: recvmsg returns SCM_DEVMEM_LINEAR with the head payload, then DMABUF pieces', async () => {
    const K = 128;
    const p = makePair();
    // the split arithmetic below assumes 20-byte TCP headers: no timestamp option
    p.a.kernel.tcp.sysctl.tcp_timestamps = p.b.kernel.tcp.sysctl.tcp_timestamps = false;
    const { dmabuf, id, nl } = await bindDevmem(p, 8 << 20);
    p.b.ethtool.setRings('eth0', { hdsFixedSplit: K });
    // what the NIC hands up on the devmem queue: head length and TCP header length of data frames
    const heads: { headlen: number; hdr: number; len: number }[] = [];
    const tap: PacketTap = {
      tap(skb, dir) {
        if (dir !== 'rx' || skb.queueMapping !== p.devq) return;
        const hdr = 14 + 20 + ((skb.buf[skb.data + 46]! >> 4) << 2);
        if (skb.len > hdr) heads.push({ headlen: skb.tail - skb.data, hdr, len: skb.len });
      },
    };
    p.eb.taps.push(tap);
    const ls = listen(p);
    const size = 256 * 1024;
    const sender = patternSender(p, size);
    const conn = await ls.accept();
    const r = await devmemDrain(conn, dmabuf, id);
    await sender;
    assert.equal(r.bytes, size);
    assert.equal(r.bad, 0, 'every byte, linear or in device memory, matches the pattern in stream order');
    assert.ok(heads.length > 100);
    const hdr = heads[0]!.hdr;
    for (const h of heads) {
      assert.equal(h.hdr, hdr);
      assert.equal(h.headlen, Math.min(K, h.len), 'the head holds K bytes');
    }
    const perSeg = K - hdr;
    const expectedLinear = sum(heads.map((h) => Math.min(K, h.len) - hdr));
    assert.equal(r.linear, expectedLinear, 'linear bytes = the payload that landed in heads');
    assert.ok(r.linearSizes.filter((s) => s === perSeg).length >= heads.length - 2, 'full segments give K - headers linear bytes');
    assert.equal(r.kinds[0], 'linear', 'the stream starts with the head bytes of the first segment');
    for (let i = 0; i < r.kinds.length; i++) {
      if (r.kinds[i] === 'linear' && i + 1 < r.kinds.length) assert.equal(r.kinds[i + 1], 'dmabuf', `cmsg ${i + 1} follows a linear piece`);
    }
    assert.ok(r.kinds.filter((k) => k === 'dmabuf').length >= heads.length - 1);
    assert.equal(dmabuf.stats.hostBytesRead, 0);
    conn.close();
    ls.close();
    nl.close();
    p.net.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 4. steering
// ---------------------------------------------------------------------------------------------

describe('NIC flow steering', () => {
  it('an n-tuple rule sends its flow to its queue; a udp4 rule does not match TCP', () => {
    const r = rig();
    r.h.ethtool.setRss('eth0', { equal: 2 });
    r.h.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstIp: '10.0.0.2', dstPort: 5201, action: 3 });
    r.h.ethtool.addNtupleRule('eth0', { flowType: 'udp4', dstPort: 4789, action: 2 });
    inject(r, tcpFrame(r.dev.mac, { dport: 5201, payload: bytesOf(10, 1), flags: TCP_ACK | TCP_PSH }));
    inject(r, udpFrame(r.dev.mac, { dport: 4789, payload: bytesOf(10, 2) }));
    inject(r, tcpFrame(r.dev.mac, { dport: 4789, payload: bytesOf(10, 3), flags: TCP_ACK | TCP_PSH }));
    r.net.runUntilIdle();
    const q = r.cap.got.map((g) => g.queue);
    assert.equal(q[0], 3);
    assert.equal(q[1], 2);
    assert.ok(q[2] === 0 || q[2] === 1, `TCP to 4789 goes by RSS, got queue ${q[2]}`);
    assert.deepEqual(r.dev.rxQueues.map((x) => x.stats.rxPackets).slice(2), [1, 1]);
    r.net.close();
  });

  it('a drop rule drops the frame and counts rxDropped, leaking nothing', () => {
    const r = rig();
    r.h.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstPort: 9, action: -1 });
    const live = r.h.kernel.skbs.live;
    inject(r, tcpFrame(r.dev.mac, { dport: 9, payload: bytesOf(100, 1), flags: TCP_ACK | TCP_PSH }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 0);
    assert.equal(r.dev.counters.rxDropped, 1);
    assert.equal(sum(r.dev.rxQueues.map((x) => x.stats.rxPackets)), 0);
    assert.equal(r.h.kernel.skbs.live, live);
    inject(r, tcpFrame(r.dev.mac, { dport: 10, payload: bytesOf(100, 1), flags: TCP_ACK | TCP_PSH }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 1, 'other ports pass');
    r.net.close();
  });

  it('without a rule, RSS "equal 2" keeps 200 different 4-tuples on queues 0 and 1, as the indirection table says', () => {
    const r = rig();
    r.h.ethtool.setRss('eth0', { equal: 2 });
    const hasher = new ToeplitzHasher();
    const want: number[] = [];
    for (let i = 0; i < 200; i++) {
      const sport = 20000 + i * 7;
      inject(r, tcpFrame(r.dev.mac, { sport, dport: 80, payload: bytesOf(20, i), flags: TCP_ACK | TCP_PSH }));
      const hash = hasher.hashV4(SRC, DST, sport, 80, true);
      want.push(r.dev.indir[hash & 127]!);
      r.net.runUntilIdle();
      assert.equal(r.cap.got[i]!.hash, hash);
    }
    assert.deepEqual(r.cap.got.map((g) => g.queue), want);
    const per = r.dev.rxQueues.map((q) => q.stats.rxPackets);
    assert.equal(per[2], 0);
    assert.equal(per[3], 0);
    assert.ok(per[0]! > 40 && per[1]! > 40, `both RSS queues used: ${per.join(',')}`);
    assert.equal(per[0]! + per[1]!, 200);
    r.net.close();
  });

  it('ntuple off ignores the rules (and refuses new ones); on again restores them', () => {
    const r = rig();
    r.h.ethtool.setRss('eth0', { equal: 2 });
    r.h.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstPort: 5201, action: 3 });
    r.h.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstPort: 7, action: -1 });
    r.h.ethtool.setNtuple('eth0', false);
    assert.equal(r.dev.ntuple.enabled, false);
    assertErrno(() => r.h.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstPort: 1, action: 1 }), 'EOPNOTSUPP');
    inject(r, tcpFrame(r.dev.mac, { dport: 5201, payload: bytesOf(10, 1), flags: TCP_ACK | TCP_PSH }));
    inject(r, tcpFrame(r.dev.mac, { dport: 7, payload: bytesOf(10, 2), flags: TCP_ACK | TCP_PSH }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 2, 'the drop rule is ignored too');
    assert.ok(r.cap.got.every((g) => g.queue === 0 || g.queue === 1));
    assert.equal(r.dev.counters.rxDropped, 0);
    r.h.ethtool.setNtuple('eth0', true);
    inject(r, tcpFrame(r.dev.mac, { dport: 5201, payload: bytesOf(10, 3), flags: TCP_ACK | TCP_PSH }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got[2]!.queue, 3);
    r.net.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 5. checksums
// ---------------------------------------------------------------------------------------------

describe('NIC rx checksum offload', () => {
  it('a correct TCP checksum gives CHECKSUM_UNNECESSARY, a wrong one CHECKSUM_NONE and rxCsumBad; a zero UDP checksum is "none"', () => {
    const r = rig({ rxQueues: 1 });
    const st = r.dev.rxQueues[0]!.stats;
    inject(r, tcpFrame(r.dev.mac, { payload: bytesOf(500, 1), flags: TCP_ACK | TCP_PSH }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got[0]!.ipSummed, CHECKSUM_UNNECESSARY);
    assert.equal(st.rxCsumUnnecessary, 1);
    assert.equal(st.rxCsumBad, 0);

    const bad = tcpFrame(r.dev.mac, { seq: 1500, payload: bytesOf(500, 2), flags: TCP_ACK | TCP_PSH });
    bad[300] = bad[300]! ^ 0x10;
    inject(r, bad);
    r.net.runUntilIdle();
    assert.equal(r.cap.got[1]!.ipSummed, CHECKSUM_NONE);
    assert.equal(st.rxCsumBad, 1);
    assert.equal(st.rxCsumUnnecessary, 1);
    assert.deepEqual(whole(r.cap.got[1]!), bad, 'still delivered, for the stack to drop');

    inject(r, udpFrame(r.dev.mac, { payload: bytesOf(64, 3), noCsum: true }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got[2]!.ipSummed, CHECKSUM_NONE);
    assert.equal(st.rxCsumNone, 1);
    assert.equal(st.rxCsumBad, 1);

    // rx checksum offload off: nothing is verified
    r.dev.rxChecksum = false;
    inject(r, tcpFrame(r.dev.mac, { seq: 2000, payload: bytesOf(100, 4), flags: TCP_ACK | TCP_PSH }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got[3]!.ipSummed, CHECKSUM_NONE);
    assert.equal(st.rxCsumNone, 2);
    assert.equal(st.rxCsumUnnecessary, 1);
    r.net.close();
  });

  it('end to end: a corrupted segment on a devmem queue is dropped by TCP as a checksum error; the transfer completes validated', async () => {
    const p = makePair({ seed: 5, wire: { corrupt: 0.01, corruptMode: 'payload' } });
    const { dmabuf, id, nl } = await bindDevmem(p, 8 << 20);
    const warnBefore = skbWarnings.unreadableChecksum;
    const ls = listen(p);
    const size = 1 << 20;
    const sender = patternSender(p, size);
    const conn = await ls.accept();
    const r = await devmemDrain(conn, dmabuf, id);
    await sender;
    assert.equal(r.bytes, size);
    assert.equal(r.bad, 0);
    assert.equal(r.linear, 0);
    const q = p.eb.rxQueues[p.devq]!.stats;
    assert.ok(p.net.wires[0]!.stats.aToB.corrupted > 0, 'the wire did corrupt data frames');
    assert.ok(q.rxCsumBad > 0, 'the NIC flagged them (CHECKSUM_NONE)');
    const errs = p.b.kernel.tcp.stats.inCsumErrors;
    assert.ok(errs > 0, 'TCP dropped them as checksum errors');
    assert.ok(errs <= q.rxCsumBad);
    assert.ok(skbWarnings.unreadableChecksum > warnBefore, 'the stack could not sum the unreadable frags');
    assert.equal(dmabuf.stats.hostBytesRead, 0);
    conn.close();
    ls.close();
    nl.close();
    p.net.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 6. malformed / oversized frames
// ---------------------------------------------------------------------------------------------

describe('NIC length and FCS errors', () => {
  it('runts, frames over MTU+14 and bad-FCS frames are counted and never reach the stack; nothing leaks', () => {
    const r = rig({ rxQueues: 1, mtu: 1500 });
    const live = r.h.kernel.skbs.live;
    const hdrInflight = r.dev.rxQueues[0]!.hdrPool.inflight();
    inject(r, rawFrame(r.dev.mac, 13));
    assert.equal(r.dev.counters.rxLengthErrors, 1);
    inject(r, tcpFrame(r.dev.mac, { payload: bytesOf(1500 - 40 + 1, 1), flags: TCP_ACK | TCP_PSH }));
    assert.equal(r.dev.counters.rxLengthErrors, 2);
    inject(r, rawFrame(r.dev.mac, 3000));
    assert.equal(r.dev.counters.rxLengthErrors, 3);
    inject(r, tcpFrame(r.dev.mac, { payload: bytesOf(100, 2), flags: TCP_ACK | TCP_PSH }), false);
    assert.equal(r.dev.counters.rxCrcErrors, 1);
    assert.equal(r.dev.counters.rxLengthErrors, 3);
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 0);
    assert.equal(r.dev.rxQueues[0]!.stats.rxPackets, 0);
    assert.equal(r.h.kernel.skbs.live, live, 'no skb leaked');
    assert.equal(r.dev.rxQueues[0]!.hdrPool.inflight(), hdrInflight, 'no header buffer taken');
    // the limits themselves are accepted: exactly 14 bytes and exactly MTU + 14
    inject(r, rawFrame(r.dev.mac, 14));
    const max = tcpFrame(r.dev.mac, { payload: bytesOf(1500 - 40, 3), flags: TCP_ACK | TCP_PSH });
    assert.equal(max.length, 1514);
    inject(r, max);
    r.net.runUntilIdle();
    assert.deepEqual(r.cap.got.map((g) => g.len), [14, 1514]);
    assert.equal(r.dev.counters.rxLengthErrors, 3);
    assert.equal(r.h.kernel.skbs.live, live);
    r.net.close();
  });

  it('a device that is down drops frames (rxDropped)', () => {
    const r = rig({ rxQueues: 1 });
    r.dev.up = false;
    const live = r.h.kernel.skbs.live;
    inject(r, tcpFrame(r.dev.mac, { payload: bytesOf(10, 1), flags: TCP_ACK | TCP_PSH }));
    assert.equal(r.dev.counters.rxDropped, 1);
    assert.equal(r.cap.got.length, 0);
    assert.equal(r.h.kernel.skbs.live, live);
    r.net.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 7. device memory exhaustion
// ---------------------------------------------------------------------------------------------

describe('NIC device-memory exhaustion', () => {
  it('with a 2-page binding, frames with no payload buffer are dropped (rxAllocFail/rxHwDrops, allocEmpty) without leaking headers', async () => {
    const r = await devmemRig(2);
    r.dev.gro = false;
    r.cap.keep = true;
    const rxq = r.dev.rxQueues[DEVQ]!;
    const live = r.h.kernel.skbs.live;
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) {
      const pl = bytesOf(1446, 30 + i);
      payloads.push(pl);
      inject(r, tcpFrame(r.dev.mac, { dport: PORT, seq: 1000 + 1446 * i, payload: pl, flags: TCP_ACK | TCP_PSH }));
    }
    r.net.runUntilIdle();
    // 8192 bytes of device memory, pieces aligned to 64: 1472 + 1472 + (1152 | 320) + 1472 + 1472 = 4096 + 3264,
    // so the sixth frame finds only 832 bytes and fails; the seventh and eighth find nothing
    assert.equal(r.cap.got.length, 5);
    for (let i = 0; i < 5; i++) {
      assert.equal(r.cap.got[i]!.unreadable, true);
      assert.deepEqual(r.cap.got[i]!.frags, payloads[i], `frame ${i} in device memory`);
    }
    assert.equal(r.cap.got[2]!.nrFrags, 2, 'the third payload straddles the two net_iovs');
    assert.equal(rxq.stats.rxPackets, 5);
    assert.equal(rxq.stats.rxAllocFail, 3);
    assert.equal(rxq.stats.rxHwDrops, 3);
    assert.equal(rxq.pool.stats.allocEmpty, 3);
    assert.equal(rxq.pool.inflight(), 2, 'both net_iovs handed out');
    // header buffers: the carver's page is held by the carver and the five delivered skbs only
    const hdrRef = rxq.header.ref;
    assert.equal(r.h.kernel.mem.refCount(hdrRef), 1 + 5);
    assert.equal(r.h.kernel.skbs.live, live + 5, 'dropped skbs were freed');
    r.cap.release();
    assert.equal(r.h.kernel.mem.refCount(hdrRef), 1, 'no header buffer leaked');
    assert.equal(r.h.kernel.skbs.live, live);
    assert.equal(rxq.pool.cached, 2, 'both net_iovs back in the pool');
    // and the queue recovers
    const again = bytesOf(1000, 99);
    inject(r, tcpFrame(r.dev.mac, { dport: PORT, seq: 99, payload: again, flags: TCP_ACK | TCP_PSH }));
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 6);
    assert.deepEqual(r.cap.got[5]!.frags, again);
    r.cap.release();
    r.nl.close();
    r.net.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 8. GRO
// ---------------------------------------------------------------------------------------------

/** `n` in-order 1000-byte segments of one flow from `seq0` */
function train(dev: NetDevice, n: number, over: TcpSpec = {}, seq0 = 1000, size = 1000): { frames: Uint8Array[]; payload: Uint8Array } {
  const frames: Uint8Array[] = [];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const pl = bytesOf(size, seq0 + i);
    parts.push(pl);
    frames.push(tcpFrame(dev.mac, { seq: seq0 + size * i, payload: pl, ...over }));
  }
  return { frames, payload: concat(parts) };
}

function tcpFlags(g: Got): number {
  return g.head[14 + 20 + 13]!;
}
function tcpSeq(g: Got): number {
  return dvOf(g.head).getUint32(34 + 4);
}
/** TCP payload bytes of a delivered skb as its IPv4 header describes them */
function tcpPayloadLen(g: Got): number {
  return ipTotalLen(g) - 20 - ((g.head[34 + 12]! >> 4) << 2);
}

describe('NIC software GRO', () => {
  it('merges in-order segments delivered in one batch into one skb: gsoSize, len, IPv4 total length and checksum', () => {
    const r = rig({ rxQueues: 1 });
    const { frames, payload } = train(r.dev, 4);
    for (const f of frames) inject(r, f);
    assert.equal(r.cap.got.length, 0, 'held until the end of the batch');
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 1);
    const g = r.cap.got[0]!;
    assert.equal(g.len, 54 + 4000);
    assert.equal(g.headlen, 54);
    assert.equal(g.gsoSize, 1000);
    assert.equal(ipTotalLen(g), 20 + 20 + 4000);
    assert.ok(ipHeaderValid(g), 'IPv4 header checksum valid after the rewrite');
    assert.equal(tcpSeq(g), 1000);
    assert.deepEqual(g.frags, payload);
    assert.equal(g.ipSummed, CHECKSUM_UNNECESSARY);
    // everything but the total length and checksum is the first segment's header
    const h0 = frames[0]!.subarray(0, 54);
    assert.deepEqual(g.head.subarray(0, 16), h0.subarray(0, 16));
    assert.deepEqual(g.head.subarray(18, 24), h0.subarray(18, 24));
    assert.deepEqual(g.head.subarray(26), h0.subarray(26));
    assert.equal(r.dev.rxQueues[0]!.stats.rxPackets, 4);
    r.net.close();
  });

  it('merges unreadable (devmem) segments by frag reference', async () => {
    const r = await devmemRig();
    const { frames, payload } = train(r.dev, 5, { dport: PORT });
    for (const f of frames) inject(r, f);
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 1);
    const g = r.cap.got[0]!;
    assert.equal(g.queue, DEVQ);
    assert.equal(g.unreadable, true);
    assert.ok(g.fragIsNiov.every((x) => x));
    assert.equal(g.len, 54 + 5000);
    assert.equal(g.gsoSize, 1000);
    assert.equal(ipTotalLen(g), 5040);
    assert.ok(ipHeaderValid(g));
    assert.deepEqual(g.frags, payload, 'the merged frags hold the whole train in device memory');
    r.nl.close();
    r.net.close();
  });

  it('a PSH segment closes the train (PSH kept); a shorter segment closes it; a longer one starts a new one', () => {
    const r = rig({ rxQueues: 1 });
    const { frames } = train(r.dev, 5);
    frames[2] = tcpFrame(r.dev.mac, { seq: 3000, payload: bytesOf(1000, 1002), flags: TCP_ACK | TCP_PSH });
    for (const f of frames) inject(r, f);
    r.net.runUntilIdle();
    assert.deepEqual(r.cap.got.map((g) => g.len - 54), [3000, 2000]);
    assert.equal(tcpFlags(r.cap.got[0]!), TCP_ACK | TCP_PSH);
    assert.equal(tcpFlags(r.cap.got[1]!), TCP_ACK);
    assert.deepEqual(r.cap.got.map(tcpSeq), [1000, 4000]);

    const s = rig({ rxQueues: 1 });
    inject(s, tcpFrame(s.dev.mac, { seq: 1000, payload: bytesOf(1000, 1) }));
    inject(s, tcpFrame(s.dev.mac, { seq: 2000, payload: bytesOf(1000, 2) }));
    inject(s, tcpFrame(s.dev.mac, { seq: 3000, payload: bytesOf(500, 3) }));
    inject(s, tcpFrame(s.dev.mac, { seq: 3500, payload: bytesOf(1000, 4) }));
    s.net.runUntilIdle();
    assert.deepEqual(s.cap.got.map((g) => [g.len - 54, g.gsoSize]), [[2500, 1000], [1000, 0]]);

    const t = rig({ rxQueues: 1 });
    inject(t, tcpFrame(t.dev.mac, { seq: 1000, payload: bytesOf(500, 1) }));
    inject(t, tcpFrame(t.dev.mac, { seq: 1500, payload: bytesOf(1000, 2) }));
    t.net.runUntilIdle();
    assert.deepEqual(t.cap.got.map((g) => g.len - 54), [500, 1000], 'a segment longer than the first is not merged');
    r.net.close();
    s.net.close();
    t.net.close();
  });

  it('a gap in sequence, a different ACK or different options start a new train', () => {
    const cases: [string, TcpSpec][] = [
      ['gap', { seq: 3001 }],
      ['ack', { ack: 5001 }],
      ['options', { ts: [101, 7] }],
    ];
    for (const [name, third] of cases) {
      const r = rig({ rxQueues: 1 });
      inject(r, tcpFrame(r.dev.mac, { seq: 1000, ts: [100, 7], payload: bytesOf(1000, 1) }));
      inject(r, tcpFrame(r.dev.mac, { seq: 2000, ts: [100, 7], payload: bytesOf(1000, 2) }));
      inject(r, tcpFrame(r.dev.mac, { seq: 3000, ts: [100, 7], payload: bytesOf(1000, 3), ...third }));
      r.net.runUntilIdle();
      assert.deepEqual(r.cap.got.map((g) => [g.len - 66, g.gsoSize]), [[2000, 1000], [1000, 0]], name);
      assert.ok(ipHeaderValid(r.cap.got[0]!));
      assert.equal(ipTotalLen(r.cap.got[0]!), 20 + 32 + 2000, name);
      r.net.close();
    }
  });

  it('a different flow is never merged into a train', () => {
    const r = rig({ rxQueues: 1 });
    const a1 = bytesOf(1000, 1);
    const a2 = bytesOf(1000, 2);
    const a3 = bytesOf(1000, 3);
    const b1 = bytesOf(1000, 4);
    inject(r, tcpFrame(r.dev.mac, { sport: 1111, seq: 1000, payload: a1 }));
    inject(r, tcpFrame(r.dev.mac, { sport: 1111, seq: 2000, payload: a2 }));
    inject(r, tcpFrame(r.dev.mac, { sport: 2222, seq: 3000, payload: b1 }));
    inject(r, tcpFrame(r.dev.mac, { sport: 1111, seq: 3000, payload: a3 }));
    r.net.runUntilIdle();
    const sportOf = (g: Got) => dvOf(g.head).getUint16(34);
    const bs = r.cap.got.filter((g) => sportOf(g) === 2222);
    assert.equal(bs.length, 1);
    assert.equal(bs[0]!.len, 1054);
    assert.equal(bs[0]!.gsoSize, 0);
    assert.deepEqual(bs[0]!.frags, b1);
    const as = r.cap.got.filter((g) => sportOf(g) === 1111);
    assert.deepEqual(concat(as.map((g) => g.frags)), concat([a1, a2, a3]), 'flow A in order, complete');
    assert.equal(as[0]!.len, 54 + 2000, 'A1 and A2 merged');
    for (const g of as) assert.equal(ipTotalLen(g), g.len - 14);
    r.net.close();
  });

  it('dev.gro = false delivers every segment on its own', () => {
    const r = rig({ rxQueues: 1 });
    r.dev.gro = false;
    const { frames } = train(r.dev, 4);
    for (const f of frames) inject(r, f);
    assert.equal(r.cap.got.length, 4, 'delivered at once, nothing held');
    r.net.runUntilIdle();
    assert.equal(r.cap.got.length, 4);
    for (let i = 0; i < 4; i++) {
      assert.equal(r.cap.got[i]!.gsoSize, 0);
      assert.deepEqual(whole(r.cap.got[i]!), frames[i]);
    }
    r.net.close();
  });

  it('SYN and RST segments are never merged, a FIN continuing the train joins and closes it (tcp_gro_receive); a pure ACK closes the train', () => {
    {
      const r = rig({ rxQueues: 1 });
      inject(r, tcpFrame(r.dev.mac, { seq: 1000, payload: bytesOf(1000, 1) }));
      inject(r, tcpFrame(r.dev.mac, { seq: 2000, payload: bytesOf(1000, 2) }));
      inject(r, tcpFrame(r.dev.mac, { seq: 3000, payload: bytesOf(1000, 3), flags: TCP_ACK | TCP_FIN }));
      inject(r, tcpFrame(r.dev.mac, { seq: 4000, payload: bytesOf(1000, 4), flags: TCP_ACK | TCP_FIN }));
      r.net.runUntilIdle();
      // the FIN joined (flag ORed into the merged header, train flushed); a FIN never starts one
      assert.deepEqual(r.cap.got.map((g) => [g.len - 54, g.gsoSize]), [[3000, 1000], [1000, 0]]);
      assert.equal(tcpFlags(r.cap.got[0]!), TCP_ACK | TCP_FIN);
      assert.equal(tcpFlags(r.cap.got[1]!), TCP_ACK | TCP_FIN);
      r.net.close();
    }
    for (const flag of [TCP_SYN, TCP_RST]) {
      const r = rig({ rxQueues: 1 });
      inject(r, tcpFrame(r.dev.mac, { seq: 1000, payload: bytesOf(1000, 1) }));
      inject(r, tcpFrame(r.dev.mac, { seq: 2000, payload: bytesOf(1000, 2) }));
      inject(r, tcpFrame(r.dev.mac, { seq: 3000, payload: bytesOf(1000, 3), flags: TCP_ACK | flag }));
      inject(r, tcpFrame(r.dev.mac, { seq: 4000, payload: bytesOf(1000, 4), flags: TCP_ACK | flag }));
      r.net.runUntilIdle();
      assert.deepEqual(r.cap.got.map((g) => [g.len - 54, g.gsoSize]), [[2000, 1000], [1000, 0], [1000, 0]], `flag ${flag}`);
      assert.equal(tcpFlags(r.cap.got[0]!), TCP_ACK);
      assert.equal(tcpFlags(r.cap.got[1]!), TCP_ACK | flag);
      r.net.close();
    }
    const r = rig({ rxQueues: 1 });
    inject(r, tcpFrame(r.dev.mac, { seq: 1000, payload: bytesOf(1000, 1) }));
    inject(r, tcpFrame(r.dev.mac, { seq: 2000, payload: bytesOf(1000, 2) }));
    inject(r, tcpFrame(r.dev.mac, { seq: 3000 }));
    inject(r, tcpFrame(r.dev.mac, { seq: 3000, payload: bytesOf(1000, 3) }));
    r.net.runUntilIdle();
    assert.deepEqual(r.cap.got.map((g) => g.len - 54), [2000, 0, 1000]);
    r.net.close();
  });

  it('Ethernet padding is never merged into the stream (Linux inet_gro_receive flushes when tot_len != frame length)', () => {
    // a 2-byte segment padded to the 60-byte Ethernet minimum closes a train
    const r = rig({ rxQueues: 1 });
    const a = bytesOf(1000, 1);
    const b = bytesOf(1000, 2);
    const tail = bytesOf(2, 3);
    inject(r, tcpFrame(r.dev.mac, { seq: 1000, payload: a }));
    inject(r, tcpFrame(r.dev.mac, { seq: 2000, payload: b }));
    const padded = tcpFrame(r.dev.mac, { seq: 3000, payload: tail, pad: 4 });
    assert.equal(padded.length, 60);
    inject(r, padded);
    r.net.runUntilIdle();
    assert.equal(sum(r.cap.got.map(tcpPayloadLen)), 2002, 'the IPv4 headers describe exactly the 2002 payload bytes sent');
    for (const g of r.cap.got) {
      if (g.gsoSize > 0) assert.equal(ipTotalLen(g), g.len - 14, 'a merged skb carries no padding');
    }
    assert.deepEqual(r.cap.got[0]!.frags.subarray(0, 2000), concat([a, b]));
    r.net.close();

    // a pure ACK padded to 60 bytes (what any Linux sender puts on the wire) carries no data
    const s = rig({ rxQueues: 1 });
    inject(s, tcpFrame(s.dev.mac, { seq: 1000, payload: a }));
    inject(s, tcpFrame(s.dev.mac, { seq: 2000, payload: b }));
    inject(s, tcpFrame(s.dev.mac, { seq: 3000, pad: 6 }));
    s.net.runUntilIdle();
    assert.equal(sum(s.cap.got.map(tcpPayloadLen)), 2000, 'no padding byte may become stream data');
    assert.deepEqual(s.cap.got.map((g) => ipTotalLen(g) + 14 <= g.len), s.cap.got.map(() => true));
    assert.equal(s.cap.got[0]!.len, 54 + 2000, 'the train holds the two data segments only');
    s.net.close();
  });

  it('segments whose IPv4 TOS or TTL differ are not merged (Linux inet_gro_receive flushes on tos/ttl changes)', () => {
    for (const [name, over] of [['tos', { tos: 0x03 }], ['ttl', { ttl: 63 }]] as [string, TcpSpec][]) {
      const r = rig({ rxQueues: 1 });
      inject(r, tcpFrame(r.dev.mac, { seq: 1000, payload: bytesOf(1000, 1) }));
      inject(r, tcpFrame(r.dev.mac, { seq: 2000, payload: bytesOf(1000, 2) }));
      inject(r, tcpFrame(r.dev.mac, { seq: 3000, payload: bytesOf(1000, 3), ...over }));
      r.net.runUntilIdle();
      assert.deepEqual(r.cap.got.map((g) => g.len - 54), [2000, 1000], `${name}: the CE mark / TTL of the third segment must survive`);
      r.net.close();
    }
  });

  it('a segment with a different TCP window is not merged (Linux compares the whole flag word, window included)', () => {
    const r = rig({ rxQueues: 1 });
    inject(r, tcpFrame(r.dev.mac, { seq: 1000, window: 1024, payload: bytesOf(1000, 1) }));
    inject(r, tcpFrame(r.dev.mac, { seq: 2000, window: 1024, payload: bytesOf(1000, 2) }));
    inject(r, tcpFrame(r.dev.mac, { seq: 3000, window: 4096, payload: bytesOf(1000, 3) }));
    r.net.runUntilIdle();
    assert.deepEqual(r.cap.got.map((g) => g.len - 54), [2000, 1000], 'the window update of the third segment must reach TCP');
    r.net.close();
  });
});

describe('NIC rx queue restart', () => {
  it('restartRxQueue gives the queue fresh pools, delivers a held GRO train, and keeps the old pool until its buffers return', () => {
    const r = rig({ rxQueues: 2 });
    r.cap.keep = true;
    r.h.ethtool.setRss('eth0', { equal: 1 });
    inject(r, tcpFrame(r.dev.mac, { seq: 1000, payload: bytesOf(1000, 1), flags: TCP_ACK | TCP_PSH }));
    inject(r, tcpFrame(r.dev.mac, { seq: 2000, payload: bytesOf(1000, 2) }));
    inject(r, tcpFrame(r.dev.mac, { seq: 3000, payload: bytesOf(1000, 3) }));
    assert.equal(r.cap.got.length, 1, 'the second and third segments are held by GRO');
    const rxq = r.dev.rxQueues[0]!;
    const oldPool = rxq.pool;
    assert.equal(r.dev.restartRxQueue(0), 0);
    assert.equal(r.cap.got.length, 2, 'the restart flushed the held train');
    assert.equal(r.cap.got[1]!.len, 54 + 2000);
    assert.notEqual(rxq.pool, oldPool);
    assert.equal(oldPool.detached, true);
    assert.equal(oldPool.freed, false, 'payload buffers of the old pool are still in flight');
    assert.ok(r.dev.oldPools.includes(oldPool));
    // a frame after the restart lands in the new pool
    const p = bytesOf(500, 4);
    inject(r, tcpFrame(r.dev.mac, { seq: 4000, payload: p, flags: TCP_ACK | TCP_PSH }));
    assert.deepEqual(r.cap.got[2]!.frags, p);
    assert.equal(rxq.pool.inflight(), 1);
    r.cap.release();
    assert.equal(oldPool.freed, true, 'the old pool is freed once its last buffer returned');
    assert.equal(r.dev.oldPools.includes(oldPool), false);
    assert.equal(r.dev.restartRxQueue(2), -ERRNO.ERANGE);
    r.net.close();

    const s = new Network();
    const d = s.addHost('x').addDevice('eth0', { queueMgmt: false });
    assert.equal(d.restartRxQueue(0), -ERRNO.EOPNOTSUPP);
    s.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 9. reconfiguration guards while bound
// ---------------------------------------------------------------------------------------------

describe('NIC reconfiguration guards while a queue is bound (spec 1.5)', () => {
  it('refuses tcp-data-split off, hds-thresh > 0 and a channel count that drops the bound queue; allows them after unbind', async () => {
    const r = await devmemRig();
    const e = r.h.ethtool;
    assertErrno(() => e.setRings('eth0', { tcpDataSplit: 'off' }), 'EINVAL');
    assertErrno(() => e.setRings('eth0', { tcpDataSplit: 'unknown' }), 'EINVAL');
    assertErrno(() => e.setRings('eth0', { hdsThresh: 100 }), 'EINVAL');
    assert.deepEqual(e.getRings('eth0'), { tcpDataSplit: 'on', hdsThresh: 0, hdsFixedSplit: 0 }, 'nothing changed');
    // settings that keep split on and thresh 0 are fine
    e.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
    assertErrno(() => e.setChannels('eth0', { rx: DEVQ }), 'EINVAL', /channel counts are too low/);
    // Linux reports the smallest allowed count: the bound index + 1
    assertErrno(() => e.setChannels('eth0', { rx: 1 }), 'EINVAL', /^requested channel counts are too low for existing memory provider setting \(4\)$/);
    assert.equal(e.getChannels('eth0').rx, 4);
    assert.ok(r.dev.rxQueues[DEVQ]!.mpProvider !== null, 'still bound');
    // growing keeps the bound queue
    e.setChannels('eth0', { rx: 6 });
    e.setChannels('eth0', { rx: 4 });
    r.nl.close();
    assert.equal(r.dev.rxQueues[DEVQ]!.mpProvider, null, 'unbound');
    e.setRings('eth0', { tcpDataSplit: 'off', hdsThresh: 100 });
    assert.deepEqual(e.getRings('eth0'), { tcpDataSplit: 'off', hdsThresh: 100, hdsFixedSplit: 0 });
    e.setChannels('eth0', { rx: 2 });
    assert.equal(e.getChannels('eth0').rx, 2);
    assert.ok(e.getRss('eth0').every((q) => q < 2), 'RSS table fits the new count');
    r.net.close();
  });
});

// ---------------------------------------------------------------------------------------------
// 10. TX
// ---------------------------------------------------------------------------------------------

/** a LinkPort that records each frame's bytes (device bytes read by DMA for net_iov frags) */
class TxCapture implements LinkPort {
  readonly frames: Uint8Array[] = [];
  readonly skbs: { fragCsumValid: boolean; ipSummed: number }[] = [];
  constructor(readonly h: Host) {}
  transmit(skb: SkBuff, from: NetDevice): void {
    const out = new Uint8Array(skb.len);
    const hl = skb.tail - skb.data;
    out.set(skb.buf.subarray(skb.data, skb.tail), 0);
    let o = hl;
    for (let i = 0; i < skb.nrFrags; i++) {
      const ref = skb.fragRef[i]!;
      const len = skb.fragLen[i]!;
      if (netmemIsNetIov(ref)) this.h.kernel.mem.dmaFromNetIov(ref, skb.fragOff[i]!, out, o, len);
      else {
        const s = this.h.kernel.mem.offset(ref) + skb.fragOff[i]!;
        out.set(this.h.kernel.mem.buf(ref).subarray(s, s + len), o);
      }
      o += len;
    }
    this.frames.push(out);
    this.skbs.push({ fragCsumValid: from.txFragCsum >= 0, ipSummed: skb.ipSummed });
    skbFree(skb);
  }
}

function txRig() {
  const r = rig({ rxQueues: 1 });
  const link = new TxCapture(r.h);
  r.dev.link = link;
  return { ...r, link };
}

/** prepares `frame` (a correct TCP frame) for CHECKSUM_PARTIAL: pseudo-header sum in the field */
function partialize(frame: Uint8Array): number {
  const dv = dvOf(frame);
  const good = dv.getUint16(34 + 16);
  const l4len = frame.length - 34;
  dv.setUint16(34 + 16, csumFold(pseudoHeaderSumV4(SRC, DST, IPPROTO_TCP, l4len)));
  return good;
}

describe('NIC transmit', () => {
  it('drops a frame longer than MTU+14 (txHwDropErrors, txDropped) and sends one of exactly MTU+14', () => {
    const r = txRig();
    const live = r.h.kernel.skbs.live;
    const big = r.h.kernel.skbs.alloc(1515, 0)!;
    skbPut(big, 1515);
    r.dev.xmit(big);
    assert.equal(r.dev.txQueues[0]!.stats.txHwDropErrors, 1);
    assert.equal(r.dev.counters.txDropped, 1);
    assert.equal(r.dev.txQueues[0]!.stats.txPackets, 0);
    assert.equal(r.link.frames.length, 0);
    assert.equal(r.h.kernel.skbs.live, live, 'the dropped skb was freed');
    const ok = r.h.kernel.skbs.alloc(1514, 0)!;
    skbPut(ok, 1514);
    r.dev.xmit(ok);
    assert.equal(r.link.frames.length, 1);
    assert.equal(r.dev.txQueues[0]!.stats.txPackets, 1);
    assert.equal(r.dev.txQueues[0]!.stats.txBytes, 1514);
    assert.equal(r.dev.txQueues[0]!.stats.txCsumNone, 1);
    r.net.close();
  });

  it('fills the L4 checksum of a linear CHECKSUM_PARTIAL skb', () => {
    const r = txRig();
    const frame = tcpFrame(PEER_MAC, { payload: bytesOf(777, 1), flags: TCP_ACK | TCP_PSH });
    const want = partialize(frame);
    const skb = r.h.kernel.skbs.alloc(frame.length, 0)!;
    skb.buf.set(frame, skbPut(skb, frame.length));
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.csumStart = skb.data + 34;
    skb.csumOffset = 16;
    r.dev.xmit(skb);
    const out = r.link.frames[0]!;
    assert.equal(dvOf(out).getUint16(34 + 16), want, 'byte-exact checksum');
    assert.ok(tcpVerifyChecksum(out, dvOf(out), 34, out.length - 34, SRC, DST));
    assert.equal(r.link.skbs[0]!.ipSummed, CHECKSUM_NONE);
    assert.equal(r.dev.txQueues[0]!.stats.txNeedsCsum, 1);
    r.net.close();
  });

  it('fills the checksum over head + host-page frags at an odd offset, and a receiving NIC verifies it from the memo', () => {
    const r = txRig();
    const payload = bytesOf(1401, 2);
    const frame = tcpFrame(PEER_MAC, { payload, flags: TCP_ACK | TCP_PSH });
    const want = partialize(frame);
    const skb = r.h.kernel.skbs.alloc(128, 0)!;
    const headLen = 54 + 1; // one payload byte in the head: the frags start at an odd L4 offset
    skb.buf.set(frame.subarray(0, headLen), skbPut(skb, headLen));
    const page = r.h.kernel.mem.allocPage();
    const pb = r.h.kernel.mem.buf(page);
    const po = r.h.kernel.mem.offset(page) + 3;
    pb.set(frame.subarray(headLen), po);
    assert.ok(skbAddFrag(skb, page, 3, frame.length - headLen));
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.csumStart = skb.data + 34;
    skb.csumOffset = 16;
    r.dev.xmit(skb);
    const out = r.link.frames[0]!;
    assert.equal(dvOf(out).getUint16(34 + 16), want);
    assert.ok(tcpVerifyChecksum(out, dvOf(out), 34, out.length - 34, SRC, DST));
    assert.equal(r.link.skbs[0]!.fragCsumValid, true, 'the frag sum is offered to the link with the frame');

    // the receiving side: the same kind of skb (head + frags, frag sum memo) verifies as UNNECESSARY
    const s = rig({ rxQueues: 1 });
    r.dev.link = {
      transmit(f: SkBuff, from: NetDevice) {
        assert.ok(from.txFragCsum >= 0);
        s.dev.receiveFrame(f, true, from.txFragCsum);
        skbFree(f);
      },
    };
    const rxFrame = tcpFrame(s.dev.mac, { payload, flags: TCP_ACK | TCP_PSH });
    partialize(rxFrame);
    const skb2 = r.h.kernel.skbs.alloc(128, 0)!;
    skb2.buf.set(rxFrame.subarray(0, headLen), skbPut(skb2, headLen));
    const page2 = r.h.kernel.mem.allocPage();
    r.h.kernel.mem.buf(page2).set(rxFrame.subarray(headLen), r.h.kernel.mem.offset(page2));
    assert.ok(skbAddFrag(skb2, page2, 0, rxFrame.length - headLen));
    skb2.ipSummed = CHECKSUM_PARTIAL;
    skb2.csumStart = skb2.data + 34;
    skb2.csumOffset = 16;
    r.dev.xmit(skb2);
    s.net.runUntilIdle();
    assert.equal(s.cap.got.length, 1);
    assert.equal(s.cap.got[0]!.ipSummed, CHECKSUM_UNNECESSARY);
    assert.equal(s.dev.rxQueues[0]!.stats.rxCsumUnnecessary, 1);
    assert.deepEqual(s.cap.got[0]!.frags, payload);
    r.net.close();
    s.net.close();
  });

  it('fills the checksum of a CHECKSUM_PARTIAL skb with device-memory (net_iov) frags over the device bytes', () => {
    const r = txRig();
    const payload = bytesOf(1446, 5);
    const frame = tcpFrame(PEER_MAC, { payload, flags: TCP_ACK | TCP_PSH });
    const want = partialize(frame);
    const dm = r.h.allocDeviceMemory(4 * PAGE_SIZE);
    dm.writeFromHost(0, payload);
    const binding = new DmabufBinding(r.h.kernel.mem, r.h.kernel.bindings, dm, r.dev, 'eth0', 'tx');
    const ref = binding.txVec![0]!;
    // one reference for the skb's frag, one kept here (a TX net_iov is not pool-owned)
    r.h.kernel.mem.get(ref);
    r.h.kernel.mem.get(ref);
    const skb = r.h.kernel.skbs.alloc(128, 0)!;
    skb.buf.set(frame.subarray(0, 54), skbPut(skb, 54));
    assert.ok(skbAddFrag(skb, ref, 0, payload.length));
    assert.equal(skb.unreadable, true);
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.csumStart = skb.data + 34;
    skb.csumOffset = 16;
    const warn = skbWarnings.unreadableChecksum;
    r.dev.xmit(skb);
    assert.equal(r.link.frames.length, 1, 'netmem TX is supported: the frame goes out');
    const out = r.link.frames[0]!;
    assert.deepEqual(out.subarray(54), payload);
    assert.equal(dvOf(out).getUint16(34 + 16), want, 'the NIC sums the payload it DMAs from device memory');
    assert.ok(tcpVerifyChecksum(out, dvOf(out), 34, out.length - 34, SRC, DST));
    assert.equal(skbWarnings.unreadableChecksum, warn, 'hardware checksum offload is not a software read of unreadable frags');
    r.net.close();
  });
});

describe('TSO', () => {
  it('the NIC cuts GSO skbs into MSS frames: sizes, sequence, ids, flags on the last, valid checksums', async () => {
    const p = makePair();
    // sizes below are MSS 1460 with 20-byte TCP headers: no timestamp option
    p.a.kernel.tcp.sysctl.tcp_timestamps = p.b.kernel.tcp.sysctl.tcp_timestamps = false;
    const frames: Uint8Array[] = [];
    p.ea.taps.push({
      tap(skb, dir) {
        if (dir !== 'tx') return;
        const b = new Uint8Array(skb.len);
        skbCopyBits(skb, 0, b, 0, skb.len);
        frames.push(b);
      },
    });
    const { cs, conn } = await connectPair(p);
    const data = new Uint8Array(100_000).map((_, i) => (i * 13) & 0xff);
    await cs.send(data);
    let got = 0;
    while (got < data.length) got += (await conn.recv(1 << 20)).length;
    const q = p.ea.txQueues[0]!.stats;
    assert.ok(q.txHwGsoPackets > 0, 'GSO skbs were handed to the NIC');
    assert.ok(q.txHwGsoWirePackets > q.txHwGsoPackets * 2);
    // data segments: TCP payload beyond a 20-byte header (the SYN carries options, no data)
    const dataFrames = frames.filter((f) => f[23] === 6 && new DataView(f.buffer).getUint16(16) - 20 - ((f[46]! >> 4) << 2) > 0);
    let prevSeq = -1;
    let prevId = -1;
    let pshBeforeLast = 0;
    for (const f of dataFrames) {
      assert.ok(f.length <= 1514, `frame of ${f.length} bytes`);
      const dv = new DataView(f.buffer);
      const ipLen = dv.getUint16(16);
      assert.equal(ipLen, f.length - 14);
      const src = dv.getUint32(26);
      const dst = dv.getUint32(30);
      assert.ok(tcpVerifyChecksum(f, dv, 34, f.length - 34, src, dst), 'TCP checksum');
      const seq = dv.getUint32(38);
      const id = dv.getUint16(18);
      if (prevSeq >= 0) {
        assert.equal(seq, (prevSeq + 1460) >>> 0, 'consecutive segments');
        assert.equal(id, (prevId + 1) & 0xffff, 'consecutive IP ids');
      }
      prevSeq = seq;
      prevId = id;
      const last = f.length - 54 < 1460;
      if (!last) assert.equal(f[47]! & 0x01, 0, 'no FIN before the last segment');
      // PSH survives segmentation only on a GSO skb's last segment (tcp_gso_segment)
      if (!last && (f[47]! & 0x08) !== 0) pshBeforeLast++;
    }
    assert.ok(pshBeforeLast <= q.txHwGsoPackets, `PSH on ${pshBeforeLast} segments, more than one per GSO skb`);
    assert.equal(dataFrames.reduce((n, f) => n + f.length - 54, 0), data.length);
    assert.equal(dataFrames[dataFrames.length - 1]![47]! & 0x08, 0x08, 'PSH on the last');
    p.net.close();
  });
});
