// Helpers for the devmem-nic tests (NIC TX of device memory, the devmem contract rows, rx-buf-size,
// the host-visible figure). Not a test file.
import assert from 'node:assert/strict';
import { ErrnoError, Network, type Host } from '../../src/index.js';
import type { DmabufBinding } from '../../src/mem/index.js';
import type { LinkPort, NetDevice } from '../../src/netdev/index.js';
import { skbCopyBits, skbFree, type SkBuff, type UbufInfo } from '../../src/skb/index.js';
import {
  ETH_P_IP, IPPROTO_TCP, TCP_ACK, TCP_PSH, TcpOptions, emitEthernet, emitIpv4, emitTcp, tcpPacketLen, type TcpRepr,
} from '../../src/wire/index.js';
import { parseIpv4Addr } from '../../src/wire/addr.js';

export const SRC = parseIpv4Addr('10.0.0.1');
export const DST = parseIpv4Addr('10.0.0.2');
export const HDR = 14 + 20 + 20;

export function dvOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** deterministic bytes */
export function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (Math.imul(seed + 1, 2654435761) >>> 0) | 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** an Ethernet + IPv4 + TCP frame (no options) carrying `payload`, checksums right */
export function tcpFrame(payload: Uint8Array, seq = 1000, flags = TCP_ACK | TCP_PSH): Uint8Array {
  const r: TcpRepr = {
    srcPort: 40000, dstPort: 5201, seq, ack: 7, flags, window: 1024, urgent: 0, options: new TcpOptions(), payload,
  };
  const l4len = tcpPacketLen(r);
  const buf = new Uint8Array(14 + 20 + l4len);
  const dv = dvOf(buf);
  emitEthernet({ dst: 0x02aa000000ee, src: 0x020000000002, etherType: ETH_P_IP }, dv, 0);
  emitIpv4({ src: SRC, dst: DST, protocol: IPPROTO_TCP, ttl: 64, payloadLen: l4len, ident: 100, dontFrag: true, tos: 0 }, dv, 14);
  emitTcp(r, buf, dv, 34, SRC, DST);
  return buf;
}

/** a LinkPort that records the bytes of every frame it is handed, and whether the frame was readable */
export class CaptureLink implements LinkPort {
  readonly frames: Uint8Array[] = [];
  readonly unreadable: boolean[] = [];
  /** called after each frame is recorded */
  onFrame: (() => void) | null = null;
  transmit(skb: SkBuff, _from: NetDevice): void {
    const out = new Uint8Array(skb.len);
    this.unreadable.push(skb.unreadable);
    assert.equal(skbCopyBits(skb, 0, out, 0, skb.len), 0, 'the link can read every byte of the frame');
    this.frames.push(out);
    skbFree(skb);
    this.onFrame?.();
  }
}

/** a completion that counts its runs */
export function counterUbuf(): UbufInfo & { runs: number } {
  const u = {
    refcnt: 0, zerocopy: true, runs: 0,
    complete(): void {
      u.runs++;
    },
  };
  return u;
}

export interface TxHost {
  net: Network;
  h: Host;
  dev: NetDevice;
  link: CaptureLink;
}

/** one host with eth0 (and optionally more devices) whose transmitted frames are captured */
export function txHost(opts: { mtu?: number; extra?: { name: string; netmemTx?: boolean }[] } = {}): TxHost & { extra: NetDevice[] } {
  const net = new Network({ seed: 1 });
  const h = net.addHost('h');
  const dev = h.addDevice('eth0', { rxQueues: 1, mtu: opts.mtu ?? 1500 });
  const link = new CaptureLink();
  dev.link = link;
  const extra: NetDevice[] = [];
  for (const x of opts.extra ?? []) {
    const d = h.addDevice(x.name, { rxQueues: 1, netmemTx: x.netmemTx });
    d.link = link;
    extra.push(d);
  }
  return { net, h, dev, link, extra };
}

/** bind-tx on `dev` over a fresh dma-buf of `pages` pages; returns the binding (no extra reference held) */
export async function bindTx(h: Host, dev: NetDevice, pages: number): Promise<{ binding: DmabufBinding; nl: ReturnType<Host['netlink']>; id: number }> {
  const dm = h.allocDeviceMemory(pages * 4096);
  const nl = h.netlink();
  const { id } = await nl.netdev.bindTx({ ifindex: dev.ifindex, fd: dm.fd });
  const binding = h.kernel.mem.bindings.getTx(id)!;
  assert.ok(binding !== null);
  binding.put();
  return { binding, nl, id };
}

/** the ErrnoError `p` rejects with (fails the test when it resolves or throws anything else) */
export async function rejection(p: Promise<unknown>): Promise<ErrnoError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ErrnoError, String(e));
    return e;
  }
  assert.fail('expected a rejection');
}
