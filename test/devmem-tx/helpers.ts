/**
 * Fixtures for devmem TX: two hosts on a simulated wire (A 10.0.0.1 sends, B 10.0.0.2 listens),
 * a dma-buf on A bound for TX to A's eth0 (netlink bind-tx), a connected non-blocking socket pair
 * at the syscall level, and `devSend` = sendmsg with iovec offsets and an SCM_DEVMEM_DMABUF cmsg.
 */
import assert from 'node:assert/strict';
import { constants as C, type DeviceMemory, type Host, type NetDevice, type Network } from '../../src/index.js';
import type { NetlinkSocket } from '../../src/netlink/index.js';
import { MsgHdr, devmemTxControl } from '../../src/socket/index.js';
import { eq, establish, makePair, run, tcpFd, v4, type Pair } from '../socket/helpers.js';

export { eq, establish, makePair, run, tcpFd, v4, type Pair };

/** what a devmem TX test world holds besides its sockets: hosts, A's device, the TX binding */
export interface TxWorld {
  net: Network;
  a: Host;
  b: Host;
  ea: NetDevice;
  dmabuf: DeviceMemory;
  nl: NetlinkSocket;
  /** the TX binding's id */
  id: number;
}

export interface TxSetup extends Pair {
  dmabuf: DeviceMemory;
  nl: NetlinkSocket;
  /** the TX binding id */
  id: number;
  cfd: number;
  sfd: number;
  lfd: number;
}

/** a pair, A's dma-buf bound for TX on eth0, SO_ZEROCOPY on, and a connection A → B:5000 */
export async function txSetup(opts: { dmabufSize?: number; zerocopy?: boolean; seed?: number; mtu?: number } = {}): Promise<TxSetup> {
  const p = makePair({ seed: opts.seed ?? 1, ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}) });
  const dmabuf = p.a.allocDeviceMemory(opts.dmabufSize ?? 64 * 4096);
  const nl = p.a.netlink();
  const { id } = await nl.netdev.bindTx({ ifindex: p.ea.ifindex, fd: dmabuf.fd });
  const { lfd, cfd, sfd } = establish(p);
  if (opts.zerocopy ?? true) eq(p.a.sys.setsockopt(cfd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1), 0, 'SO_ZEROCOPY');
  return { ...p, dmabuf, nl, id, lfd, cfd, sfd };
}

/** iovecs as (offset, len) pairs */
export function iovs(...pairs: [number, number][]): Float64Array {
  const v = new Float64Array(pairs.length * 2);
  pairs.forEach(([b, l], i) => {
    v[2 * i] = b;
    v[2 * i + 1] = l;
  });
  return v;
}

/**
 * sendmsg(fd, {iov: pairs, control}, flags) on `h`: control is an SCM_DEVMEM_DMABUF cmsg for
 * `id` (a number), the given bytes, or none (null). Default flags: MSG_ZEROCOPY.
 */
export function devSend(h: Host, fd: number, id: number | Uint8Array | null, pairs: [number, number][] | Float64Array, flags: number = C.MSG_ZEROCOPY): number {
  const v = pairs instanceof Float64Array ? pairs : iovs(...pairs);
  const control = id === null ? null : typeof id === 'number' ? devmemTxControl(id) : id;
  const m = new MsgHdr().setSendIov(v, v.length / 2, control);
  return h.sys.sendmsg(fd, m, flags);
}

/** reads everything B has for `sfd` (non-blocking) */
export function drain(p: Pair, sfd: number, max = 1 << 20): Uint8Array {
  const out: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = p.b.sys.recv(sfd, buf);
    if (n <= 0) break;
    out.push(buf.slice(0, n));
    total += n;
    assert.ok(total <= max, 'more bytes than expected');
  }
  const r = new Uint8Array(total);
  let o = 0;
  for (const c of out) {
    r.set(c, o);
    o += c.length;
  }
  return r;
}


