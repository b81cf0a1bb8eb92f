/**
 * `Host`: one machine — narrow user-facing interfaces (`ip` for IPv4 and IPv6 configuration,
 * `ethtool`, `sys` system calls, `socket()`, Node-style `net` and `dgram`, `netlink()`,
 * `snmp()` counters, device memory) composed over its `Kernel` (src/kernel.ts). Created by
 * `Network.addHost`. Every API failure is an `ErrnoError` with the Linux errno.
 */
import type { DeviceBackend, DeviceMemory } from './mem/index.js';
import { NetDevice, type NetDeviceOptions, type NtupleRule, type TcpDataSplit } from './netdev/index.js';
import { IpConfig, type ArpStats, type IcmpStats, type IpStats, type NeighStats } from './net/index.js';
import type { Icmp6Stats, Ipv6Stats } from './net/ipv6/index.js';
import type { NetifStats } from './netif/index.js';
import type { NetlinkSocket } from './netlink/index.js';
import type { Rng } from './rand/index.js';
import type { FrameLink, FramePortOptions } from './link/index.js';
import { InetAddr, parseCidr } from './inet/index.js';
import { createNetApi, type NetApi, type Socket, type Syscalls } from './socket/index.js';
import type { TcpMib } from './tcp/index.js';
import type { UdpMib } from './udp/index.js';
import {
  createSocket as createDgramSocket, type DgramSocket, type DgramSocketOptions, type DgramType, type RemoteInfo,
} from './socket/api/dgram.js';
import type { Scheduler } from './time/index.js';
import { ERRNO, ErrnoError, fail } from './uapi/index.js';
import { Kernel } from './kernel.js';
import type { Network } from './network.js';

/** `Host.snmp()`: every protocol's counters (a snapshot) */
export interface HostSnmp {
  ip: IpStats;
  icmp: IcmpStats;
  arp: ArpStats;
  neigh4: NeighStats & { entries: number };
  ip6: Omit<Ipv6Stats, 'icmp'>;
  icmp6: Icmp6Stats;
  neigh6: NeighStats & { entries: number };
  tcp: TcpMib;
  udp: UdpMib;
  netif: NetifStats;
}

export interface HostOptions {
  /** host memory limit in bytes (default 4 GiB) */
  memBytes?: number;
}

export interface AddDeviceOptions extends NetDeviceOptions {
  /** MAC address as 'aa:bb:cc:dd:ee:ff' or a number */
  macAddress?: string | number;
  /**
   * a user link (VXLAN, TAP, your own `FrameLink`) to attach the device to; the device MTU is
   * clamped to `link.mtu` (and defaults to it)
   */
  link?: FrameLink;
  /** the link port's queue sizes and poll budget (with `link`) */
  linkOptions?: FramePortOptions;
}

export interface RingsConfig {
  tcpDataSplit: TcpDataSplit;
  hdsThresh: number;
  /** the NIC splits at a fixed offset instead of the L4 payload (0 = parse headers) */
  hdsFixedSplit: number;
}

/** `ethtool`-style device configuration; names a device by interface name */
export class Ethtool {
  constructor(private readonly host: Host) {}

  private dev(name: string, op: string): NetDevice {
    const d = this.host.device(name);
    if (d === null) fail('ENODEV', op);
    return d;
  }

  private check(r: number, op: string, d?: NetDevice): void {
    if (r < 0) throw new ErrnoError(-r, op, d?.extack ? { msg: d.extack } : undefined);
  }

  /** `ethtool -G <dev> tcp-data-split on|off|auto hds-thresh N` */
  setRings(name: string, cfg: { tcpDataSplit?: TcpDataSplit; hdsThresh?: number; hdsFixedSplit?: number }): void {
    const d = this.dev(name, 'ethtool -G');
    this.check(d.setRings(cfg), 'ethtool -G', d);
    if (cfg.hdsFixedSplit !== undefined) {
      if (!Number.isInteger(cfg.hdsFixedSplit) || cfg.hdsFixedSplit < 0 || cfg.hdsFixedSplit > d.headerBufSize) fail('EINVAL', 'ethtool -G');
      d.hdsFixedSplit = cfg.hdsFixedSplit;
    }
  }

  getRings(name: string): RingsConfig {
    const d = this.dev(name, 'ethtool -g');
    return { tcpDataSplit: d.tcpDataSplit, hdsThresh: d.hdsThresh, hdsFixedSplit: d.hdsFixedSplit };
  }

  /** `ethtool -L <dev> rx N` */
  setChannels(name: string, cfg: { rx: number }): void {
    const d = this.dev(name, 'ethtool -L');
    this.check(d.setRxQueueCount(cfg.rx), 'ethtool -L', d);
  }

  getChannels(name: string): { rx: number; tx: number } {
    const d = this.dev(name, 'ethtool -l');
    return { rx: d.rxQueues.length, tx: d.txQueues.length };
  }

  /** `ethtool -X <dev> equal N` or a full indirection table */
  setRss(name: string, cfg: { equal: number } | { indir: readonly number[] }): void {
    const d = this.dev(name, 'ethtool -X');
    this.check('equal' in cfg ? d.setRssEqual(cfg.equal) : d.setRssIndir(cfg.indir), 'ethtool -X');
  }

  getRss(name: string): number[] {
    return Array.from(this.dev(name, 'ethtool -x').indir);
  }

  /** `ethtool -K <dev> ntuple on|off` */
  setNtuple(name: string, on: boolean): void {
    this.dev(name, 'ethtool -K').ntuple.enabled = on;
  }

  /**
   * `ethtool -N <dev> flow-type tcp4|udp4|tcp6|udp6 [src-ip] [dst-ip] [src-port] [dst-port]
   * action Q`; addresses may be `InetAddr`s, IPv4 numbers or text (IPv4 or IPv6, optionally
   * `addr/prefix`). Returns the rule location.
   */
  addNtupleRule(name: string, rule: Omit<NtupleRule, 'srcIp' | 'dstIp'> & { srcIp?: string | number | InetAddr; dstIp?: string | number | InetAddr }): number {
    const d = this.dev(name, 'ethtool -N');
    if (!d.ntuple.enabled) fail('EOPNOTSUPP', 'ethtool -N');
    if (!Number.isInteger(rule.action) || rule.action < -1 || rule.action >= d.rxQueues.length) fail('EINVAL', 'ethtool -N');
    const toAddr = (a: string | number | InetAddr | undefined): { addr?: InetAddr; prefix?: number } => {
      if (a === undefined || a instanceof InetAddr) return { addr: a };
      if (typeof a === 'number') return { addr: InetAddr.v4(a) };
      try {
        const c = parseCidr(a);
        return a.includes('/') ? { addr: c.addr, prefix: c.prefixLen } : { addr: c.addr };
      } catch {
        return fail('EINVAL', 'ethtool -N');
      }
    };
    const s = toAddr(rule.srcIp);
    const t = toAddr(rule.dstIp);
    const loc = d.ntuple.add({
      ...rule, srcIp: s.addr, dstIp: t.addr, srcPrefix: rule.srcPrefix ?? s.prefix, dstPrefix: rule.dstPrefix ?? t.prefix,
    });
    if (loc < 0) throw new ErrnoError(-loc, 'ethtool -N');
    return loc;
  }

  deleteNtupleRule(name: string, loc: number): void {
    if (!this.dev(name, 'ethtool -N').ntuple.delete(loc)) fail('ENOENT', 'ethtool -N');
  }

  ntupleRules(name: string): NtupleRule[] {
    return this.dev(name, 'ethtool -n').ntuple.rules.map((r) => ({ ...r }));
  }
}

/**
 * One machine: a composition of narrow, user-facing interfaces over its kernel. `ip` configures
 * addresses, routes and neighbours for both families; `ethtool` the NICs; `sys` is the fd-level
 * system-call interface; `socket()` / `net` / `dgram` are the promise, Node `net`-style and Node
 * `dgram`-style APIs on top of it; `netlink()` opens the `netdev` family; `snmp()` reads counters.
 * The kernel-facing pieces (memory, skb cache, netif, IPv4/IPv6, TCP, UDP, fd table, bindings)
 * live in the `Kernel`, which is not part of the public API.
 */
export class Host {
  /** `ip addr` / `ip route` / `ip neigh` / `ping` for both families (text addresses) */
  readonly ip: IpConfig;
  readonly ethtool: Ethtool;
  /** fd-numbered system calls with Linux semantics (numbers or negative errno, never throw) */
  readonly sys: Syscalls;
  /** `node:dgram`-style UDP sockets over this host's UDP */
  readonly dgram: {
    createSocket(type: DgramType | DgramSocketOptions, onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void): DgramSocket;
  };
  /** Node's `net` module over this host's TCP (readable traffic): see src/socket/api/net/ */
  readonly net: NetApi;
  /**
   * @internal The kernel-facing pieces: for the stack's own composition and its tests, not for
   * applications (stripped from the published type declarations).
   */
  readonly kernel: Kernel;

  constructor(
    readonly network: Network,
    readonly name: string,
    sched: Scheduler,
    rng: Rng,
    opts: HostOptions = {},
  ) {
    const k = new Kernel(sched, rng, opts);
    this.kernel = k;
    this.sys = k.sys;
    this.ip = new IpConfig(k.netif, k.ipv4);
    this.ip.attachV6(k.ipv6);
    this.dgram = { createSocket: (type, onMessage) => createDgramSocket({ sys: k.sys, sched }, type, onMessage) };
    this.ethtool = new Ethtool(this);
    this.net = createNetApi({ sys: k.sys, sched });
  }

  /** virtual or wall-clock time of this host, µs */
  get now(): number {
    return this.kernel.sched.now();
  }

  // ---- devices ----

  /** adds a NIC named `name` (interface index assigned from 2), attached to `opts.link` if given */
  addDevice(name: string, opts: AddDeviceOptions = {}): NetDevice {
    const { link, linkOptions, macAddress, ...devOpts } = opts;
    let mac = devOpts.mac;
    if (typeof macAddress === 'string') mac = parseMacText(macAddress);
    else if (typeof macAddress === 'number') mac = macAddress;
    let mtu = devOpts.mtu;
    if (link !== undefined) {
      const lm = link.mtu;
      if (!(Number.isInteger(lm) && lm >= 68 && lm <= 65535)) throw new ErrnoError('EINVAL', 'addDevice', { msg: `link mtu ${lm} outside 68..65535` });
      if (this.network.isAttached(link)) throw new ErrnoError('EBUSY', 'addDevice', { msg: 'the link is attached to another device' });
      mtu = Math.min(mtu ?? lm, lm);
    }
    const dev = this.kernel.addDevice(name, { ...devOpts, mac, mtu });
    if (link !== undefined) this.network.attachLink(dev, link, linkOptions);
    return dev;
  }

  device(name: string): NetDevice | null {
    return this.kernel.device(name);
  }

  devices(): readonly NetDevice[] {
    return this.kernel.devices();
  }

  // ---- device memory, sockets, netlink ----

  /**
   * Allocates device memory (a dma-buf, like a udmabuf or a GPU buffer) and returns its exporter
   * handle; `.fd` is its file descriptor for `bind-rx`. The host cannot read it: only device
   * operations and NIC DMA touch its bytes.
   */
  allocDeviceMemory(size: number, opts: { sgChunk?: number; backend?: DeviceBackend } = {}): DeviceMemory {
    return this.kernel.allocDeviceMemory(size, opts);
  }

  /** closes a dma-buf fd (the binding keeps its own reference, as in Linux) */
  closeDeviceMemory(dm: DeviceMemory): void {
    this.kernel.closeDeviceMemory(dm);
  }

  /** socket(family, type, protocol) */
  socket(family: number, type: number, protocol = 0): Socket {
    return this.kernel.socket(family, type, protocol);
  }

  /** a generic-netlink socket (NETLINK_GENERIC); closing it unbinds what it bound */
  netlink(opts: { capNetAdmin?: boolean } = {}): NetlinkSocket {
    return this.kernel.netlink(opts);
  }

  /** ICMP echo (IPv4) or ICMPv6 echo (IPv6) to `dst` */
  ping(dst: string, opts: { size?: number; timeoutUs?: number } = {}): Promise<{ rttUs: number; bytes: number; ttl: number }> {
    return this.ip.ping(dst, opts);
  }

  /**
   * The host's counters, as `/proc/net/snmp`, `/proc/net/snmp6`, `/proc/net/netstat` and
   * `/proc/net/stat/*` would show them (camelCase Linux names): a deep copy, safe to keep.
   */
  snmp(): HostSnmp {
    return this.kernel.snmp();
  }

  /**
   * Process exit: every socket fails with `errno` (pending calls settle with it, later calls
   * fail at once), every fd is closed, every netlink socket closed.
   */
  shutdown(errno: number = ERRNO.ENETDOWN): void {
    this.kernel.shutdown(errno);
  }
}

function parseMacText(s: string): number {
  const parts = s.split(':');
  if (parts.length !== 6) throw new ErrnoError('EINVAL', 'addDevice');
  let v = 0;
  for (const p of parts) {
    const b = parseInt(p, 16);
    if (!(b >= 0 && b <= 255) || !/^[0-9a-fA-F]{1,2}$/.test(p)) throw new ErrnoError('EINVAL', 'addDevice');
    v = v * 256 + b;
  }
  return v;
}
