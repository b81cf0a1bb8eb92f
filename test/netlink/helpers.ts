// Test helpers for test/netlink: a small fake kernel built from the real mem/netdev classes,
// hex helpers and an nlmon-style capture. Not a test file.
import assert from 'node:assert/strict';
import { BindingTable, DeviceMemory, MemSpace } from '../../src/mem/index.js';
import { NetDevice, type NetDeviceOptions } from '../../src/netdev/index.js';
import { NetlinkSocket, type FdObject, type NetdevKernel, type NetlinkSocketOptions } from '../../src/netlink/index.js';
import { SkbCache } from '../../src/skb/index.js';
import { VirtualScheduler } from '../../src/time/index.js';
import { ErrnoError } from '../../src/uapi/index.js';

export class FakeKernel implements NetdevKernel {
  readonly mem = new MemSpace();
  readonly skbs = new SkbCache(this.mem);
  readonly sched = new VirtualScheduler();
  readonly bindings = new BindingTable();
  readonly devs: NetDevice[] = [];
  readonly fds = new Map<number, FdObject>();

  addDevice(name: string, ifindex: number, opts: NetDeviceOptions = {}): NetDevice {
    const d = new NetDevice(this.mem, this.skbs, this.sched, name, ifindex, opts);
    this.devs.push(d);
    return d;
  }

  /** returns unregistered (not present) devices too, so that path stays reachable */
  deviceByIndex(ifindex: number): NetDevice | null {
    return this.devs.find((d) => d.ifindex === ifindex) ?? null;
  }

  devices(): readonly NetDevice[] {
    return this.devs;
  }

  fdLookup(fd: number): FdObject | null {
    return this.fds.get(fd) ?? null;
  }
}

export interface Setup {
  k: FakeKernel;
  /** ifindex 1: a device without queue-management ops and without netmem TX (like `lo`) */
  lo: NetDevice;
  /** ifindex 2: 4 rx / 4 tx queues, HDS on, hds-thresh 0 */
  eth0: NetDevice;
  /** fd 5 */
  dmabuf: DeviceMemory;
  /** fd 7: a second dma-buf */
  dmabuf2: DeviceMemory;
  sock: NetlinkSocket;
}

/** eth0 (ifindex 2, 4 queues, HDS on) + lo-like ifindex 1; fd 5 and 7 are dma-bufs, fd 6 is not */
export function setup(opts: { eth0?: NetDeviceOptions; sock?: NetlinkSocketOptions } = {}): Setup {
  const k = new FakeKernel();
  const lo = k.addDevice('lo', 1, { rxQueues: 1, queueMgmt: false, netmemTx: false });
  const eth0 = k.addDevice('eth0', 2, { rxQueues: 4, ...opts.eth0 });
  eth0.tcpDataSplit = 'on';
  eth0.hdsThresh = 0;
  const dmabuf = new DeviceMemory(1 << 20);
  const dmabuf2 = new DeviceMemory(1 << 20);
  k.fds.set(5, { kind: 'dmabuf', dmabuf });
  k.fds.set(6, { kind: 'other' });
  k.fds.set(7, { kind: 'dmabuf', dmabuf: dmabuf2 });
  const sock = new NetlinkSocket(k, { capNetAdmin: true, pid: 100, ...opts.sock });
  return { k, lo, eth0, dmabuf, dmabuf2, sock };
}

/** Bytes from hex text; whitespace is ignored. */
export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  if (t.length % 2 !== 0) throw new Error(`odd hex length: ${t.length}`);
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex without separators. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** little-endian u32 as hex */
export function le32(v: number): string {
  return toHex(new Uint8Array(new Uint32Array([v >>> 0]).buffer));
}

/** records every datagram a socket sends and receives */
export function capture(sock: NetlinkSocket): { tx: Uint8Array[]; rx: Uint8Array[] } {
  const log = { tx: [] as Uint8Array[], rx: [] as Uint8Array[] };
  sock.tap = (dir, b) => log[dir].push(b.slice());
  return log;
}

/** sends raw bytes and returns every queued reply datagram as hex */
export function exchange(sock: NetlinkSocket, req: Uint8Array): string[] {
  sock.send(req);
  const out: string[] = [];
  for (let d = sock.recv(); d !== null; d = sock.recv()) out.push(toHex(d));
  return out;
}

/** awaits a rejection with an ErrnoError and returns it */
export async function rejects(p: Promise<unknown>): Promise<ErrnoError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ErrnoError, `expected ErrnoError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}
