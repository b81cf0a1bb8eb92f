/**
 * `NetlinkSocket`: an AF_NETLINK / NETLINK_GENERIC socket of one host. `send()` hands a byte
 * buffer of netlink requests to the kernel side, which handles it synchronously and queues the
 * reply datagrams; `recv()` takes the next one (null when none is queued, like MSG_DONTWAIT
 * without the EAGAIN). `netdev` is the typed client for the `netdev` family, built on the same
 * byte path.
 *
 * Lifetime: every devmem binding made over the socket belongs to it (netdev sock-priv). `close()`
 * unbinds them all (spec §1.5) — the only way to unbind. Closing twice is a no-op; `send`/`recv`
 * after close fail with EBADF.
 */
import type { DmabufBinding } from '../mem/index.js';
import { AF_NETLINK, ErrnoError, NETLINK_GENERIC } from '../uapi/index.js';
import { GenlRegistry, type GenlSockState } from './genl.js';
import type { NetdevKernel } from './kernel.js';
import { NetdevClient, GenlCtrlClient, type NetlinkTransport } from './netdev-client.js';
import { netdevFamily, netdevSockPrivDestroy } from './netdev-family.js';

export interface NetlinkSocketOptions {
  /** the opener has CAP_NET_ADMIN (needed by bind-rx and napi-set); default false */
  capNetAdmin?: boolean;
  /** bind to this port id; default: the next free one of this kernel, from 1 */
  pid?: number;
  /** NETLINK_EXT_ACK (extended-ack TLVs in errors); default true, as ynl and iproute2 set it */
  extAck?: boolean;
  /** NETLINK_CAP_ACK (errors do not echo the request payload); default true, as ynl sets it */
  capAck?: boolean;
}

/** an nlmon-style tap: sees every datagram the socket sends (`tx`) and gets queued (`rx`) */
export type NetlinkTap = (dir: 'tx' | 'rx', bytes: Uint8Array) => void;

interface KernelNetlink {
  readonly registry: GenlRegistry;
  readonly portids: Set<number>;
  nextPortid: number;
}

const perKernel = new WeakMap<NetdevKernel, KernelNetlink>();

function kernelNetlink(k: NetdevKernel): KernelNetlink {
  let s = perKernel.get(k);
  if (s === undefined) {
    const registry = new GenlRegistry();
    registry.register(netdevFamily(k));
    s = { registry, portids: new Set(), nextPortid: 1 };
    perKernel.set(k, s);
  }
  return s;
}

export class NetlinkSocket implements NetlinkTransport {
  readonly family = AF_NETLINK;
  readonly protocol = NETLINK_GENERIC;
  /** the socket's port id (`nl_pid`); replies carry it in `nlmsg_pid` */
  readonly pid: number;
  /** typed client for the `netdev` family */
  readonly netdev: NetdevClient;
  /** typed client for the generic-netlink controller */
  readonly ctrl: GenlCtrlClient;
  tap: NetlinkTap | null = null;
  private readonly state: GenlSockState & { ack: { extAck: boolean; capAck: boolean } };
  private readonly rxQueue: Uint8Array[] = [];
  private readonly kn: KernelNetlink;
  private isClosed = false;

  constructor(
    readonly kernel: NetdevKernel,
    opts: NetlinkSocketOptions = {},
  ) {
    this.kn = kernelNetlink(kernel);
    let pid = opts.pid;
    if (pid !== undefined) {
      if (!Number.isInteger(pid) || pid < 0 || pid > 0xffffffff) throw new ErrnoError('EINVAL', 'bind');
      if (this.kn.portids.has(pid)) throw new ErrnoError('EADDRINUSE', 'bind');
    } else {
      while (this.kn.portids.has(this.kn.nextPortid)) this.kn.nextPortid++;
      pid = this.kn.nextPortid++;
    }
    this.kn.portids.add(pid);
    this.pid = pid;
    this.state = {
      portid: pid,
      capNetAdmin: opts.capNetAdmin ?? false,
      ack: { extAck: opts.extAck ?? true, capAck: opts.capAck ?? true },
      netdevBindings: [],
    };
    this.ctrl = new GenlCtrlClient(this);
    this.netdev = new NetdevClient(this.ctrl);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** NETLINK_EXT_ACK */
  get extAck(): boolean {
    return this.state.ack.extAck;
  }
  set extAck(v: boolean) {
    this.state.ack.extAck = v;
  }

  /** NETLINK_CAP_ACK */
  get capAck(): boolean {
    return this.state.ack.capAck;
  }
  set capAck(v: boolean) {
    this.state.ack.capAck = v;
  }

  /** sendmsg: the kernel handles every request in `msg` now and queues the replies */
  send(msg: Uint8Array): void {
    if (this.isClosed) throw new ErrnoError('EBADF', 'sendmsg');
    if (this.tap) this.tap('tx', msg);
    const replies = this.kn.registry.receive(this.state, msg);
    for (const d of replies) {
      this.rxQueue.push(d);
      if (this.tap) this.tap('rx', d);
    }
  }

  /** recvmsg: the next queued datagram, or null when none is queued */
  recv(): Uint8Array | null {
    if (this.isClosed) throw new ErrnoError('EBADF', 'recvmsg');
    return this.rxQueue.shift() ?? null;
  }

  /** datagrams waiting to be received */
  get pending(): number {
    return this.rxQueue.length;
  }

  /** the bindings this socket owns, oldest first */
  get bindings(): readonly DmabufBinding[] {
    return [...this.state.netdevBindings].reverse();
  }

  /**
   * close(): drops queued datagrams, then unbinds every binding of the socket (newest first):
   * unlist the id, take the provider off each bound rx queue and restart it with ordinary
   * pages, drop the netlink reference. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.rxQueue.length = 0;
    netdevSockPrivDestroy(this.state);
    this.kn.portids.delete(this.pid);
    const hook = this.onClose;
    this.onClose = null;
    if (hook !== null) hook();
  }

  /** the socket's fd in its host's fd table (-1 when it has none) */
  fd = -1;
  /** set by the owner of the fd: closes it when the socket is closed through this object */
  onClose: (() => void) | null = null;
}
