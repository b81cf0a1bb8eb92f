// Test helpers for test/link: hosts (MemSpace + SkbCache + NetDevice + recording rx handler)
// in virtual time, frame builders and a reference model of SimWire's fault draws. Not a test file.
import { MemSpace } from '../../src/mem/index.js';
import { NetDevice, type NetDeviceOptions, type RxHandler } from '../../src/netdev/index.js';
import { Rng } from '../../src/rand/index.js';
import { SkbCache, skbCopyBits, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import type { VirtualScheduler } from '../../src/time/index.js';
import { IPPROTO_TCP, emitEthernet, emitIpv4, emitTcp, ETH_HLEN, ETH_P_IP, IPV4_HLEN, TcpOptions, TCP_ACK, TCP_PSH, TCP_HLEN } from '../../src/wire/index.js';

export const MAC_A = 0x020000000001;
export const MAC_B = 0x020000000002;
/** IEEE 802 local experimental ethertype: the NIC does not parse it, keeps the frame as is */
export const ETH_P_TEST = 0x88b5;

export interface RxRecord {
  t: number;
  bytes: Uint8Array;
}

export class Recorder implements RxHandler {
  readonly frames: RxRecord[] = [];
  unreadable = 0;
  constructor(private readonly sched: VirtualScheduler) {}
  netifReceive(skb: SkBuff, _dev: NetDevice): void {
    if (skb.unreadable) {
      this.unreadable++;
      this.frames.push({ t: this.sched.now(), bytes: new Uint8Array(0) });
    } else {
      const b = new Uint8Array(skb.len);
      if (skbCopyBits(skb, 0, b, 0, skb.len) !== 0) throw new Error('copy failed');
      this.frames.push({ t: this.sched.now(), bytes: b });
    }
    skbFree(skb);
  }
}

export interface Host {
  mem: MemSpace;
  skbs: SkbCache;
  dev: NetDevice;
  rx: Recorder;
}

export function makeHost(sched: VirtualScheduler, name: string, ifindex: number, mac: number, opts: NetDeviceOptions = {}): Host {
  const mem = new MemSpace();
  const skbs = new SkbCache(mem);
  const dev = new NetDevice(mem, skbs, sched, name, ifindex, { mac, mtu: 9000, ...opts });
  const rx = new Recorder(sched);
  dev.rxHandler = rx;
  return { mem, skbs, dev, rx };
}

/** an skb holding `bytes` in its linear area */
export function frameSkb(skbs: SkbCache, bytes: Uint8Array): SkBuff {
  const skb = skbs.alloc(bytes.length, 0);
  if (skb === null) throw new Error('out of host memory');
  const at = skbPut(skb, bytes.length);
  skb.buf.set(bytes, at);
  return skb;
}

/**
 * A test frame of `len` bytes (≥ 18): MAC_B ← MAC_A, ETH_P_TEST, a 32-bit index, then a byte
 * pattern derived from the index.
 */
export function testFrame(index: number, len: number, dst = MAC_B, src = MAC_A): Uint8Array {
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  emitEthernet({ dst, src, etherType: ETH_P_TEST }, dv, 0);
  dv.setUint32(ETH_HLEN, index);
  for (let i = ETH_HLEN + 4; i < len; i++) b[i] = (index * 31 + i * 7) & 0xff;
  return b;
}

/** the index written by testFrame */
export function frameIndex(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(ETH_HLEN);
}

export const IP_A = 0x0a000001;
export const IP_B = 0x0a000002;

/** a TCP/IPv4 frame A→B with `payload` and correct checksums */
export function tcpFrame(payload: Uint8Array, seq = 1000): Uint8Array {
  const tcpLen = TCP_HLEN + payload.length;
  const b = new Uint8Array(ETH_HLEN + IPV4_HLEN + tcpLen);
  const dv = new DataView(b.buffer);
  emitEthernet({ dst: MAC_B, src: MAC_A, etherType: ETH_P_IP }, dv, 0);
  emitIpv4({ src: IP_A, dst: IP_B, protocol: IPPROTO_TCP, ttl: 64, payloadLen: tcpLen, ident: 1, dontFrag: true, tos: 0 }, dv, ETH_HLEN);
  emitTcp({
    srcPort: 40000, dstPort: 5201, seq, ack: 1, flags: TCP_ACK | TCP_PSH, window: 65535, urgent: 0,
    options: new TcpOptions(), payload,
  }, b, dv, ETH_HLEN + IPV4_HLEN, IP_A, IP_B);
  return b;
}

/** runs every due timer */
export function runAll(sched: VirtualScheduler): void {
  while (sched.step()) {
    // keep stepping
  }
}

export interface FaultDraws {
  loss: number;
  corrupt: number;
  bit: number;
  dup: number;
  reorder: number;
}

/**
 * Reference model of SimWire's draws: direction a→b seeds from the first nextU32 of the wire's
 * rng, b→a from the second; every offered frame takes five nextFloat draws in order.
 */
export function modelDraws(seed: number, dir: 'aToB' | 'bToA', frames: number): FaultDraws[] {
  const r = new Rng(seed);
  const sAB = r.nextU32();
  const sBA = r.nextU32();
  const d = new Rng(dir === 'aToB' ? sAB : sBA);
  const out: FaultDraws[] = [];
  for (let i = 0; i < frames; i++) {
    out.push({ loss: d.nextFloat(), corrupt: d.nextFloat(), bit: d.nextFloat(), dup: d.nextFloat(), reorder: d.nextFloat() });
  }
  return out;
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}
