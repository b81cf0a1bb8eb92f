/**
 * `Host`: one machine with one network stack — its memory, devices, IPv4, TCP, file-descriptor
 * table, devmem bindings, netlink sockets and ethtool-style configuration. Created by
 * `Network.addHost`. Every API failure is an `ErrnoError` with the Linux errno.
 */
import {
  BindingTable, DeviceMemory, MemSpace, type DeviceBackend,
} from './mem/index.js';
import { NetDevice, type NetDeviceOptions, type NtupleRule, type TcpDataSplit } from './netdev/index.js';
import {
  InetLayer, IpConfig, Ipv4Stack, ProtocolTable, type ArpStats, type IcmpStats, type IpStats, type Ipv4Stats, type NeighStats,
} from './net/index.js';
import { Ipv6Stack, type Icmp6Stats, type Ipv6Stats } from './net/ipv6/index.js';
import { Netif, type NetifStats } from './netif/index.js';
import { NetlinkSocket, type FdObject, type NetdevKernel } from './netlink/index.js';
import type { Rng } from './rand/index.js';
import { SkbCache } from './skb/index.js';
import { InetAddr, parseCidr } from './inet/index.js';
import {
  DmabufFile, FdTable, NetSocket, NetServer, NetlinkFile, SockFile, Socket, Syscalls, connect, createServer,
  type SocketHost, type SyscallHost,
} from './socket/index.js';
import { TcpProto, type TcpMib } from './tcp/index.js';
import { UdpProto, type UdpMib } from './udp/index.js';
import {
  createSocket as createDgramSocket, type DgramSocket, type DgramSocketOptions, type DgramType, type RemoteInfo,
} from './socket/dgram.js';
import type { Scheduler } from './time/index.js';
import { ERRNO, ErrnoError, fail } from './uapi/index.js';
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

  private check(r: number, op: string): void {
    if (r < 0) throw new ErrnoError(-r, op);
  }

  /** `ethtool -G <dev> tcp-data-split on|off|auto hds-thresh N` */
  setRings(name: string, cfg: { tcpDataSplit?: TcpDataSplit; hdsThresh?: number; hdsFixedSplit?: number }): void {
    const d = this.dev(name, 'ethtool -G');
    this.check(d.setRings(cfg), 'ethtool -G');
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
    const r = d.setRxQueueCount(cfg.rx);
    if (r < 0) {
      const bound = d.rxQueues.findIndex((q, i) => i >= cfg.rx && q.mpProvider !== null);
      throw new ErrnoError(-r, 'ethtool -L', bound >= 0 ? { msg: `channel count too low for the existing memory provider setting (${bound})` } : undefined);
    }
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

export class Host implements NetdevKernel, SyscallHost, SocketHost {
  readonly mem: MemSpace;
  readonly skbs: SkbCache;
  /** `ip addr` / `ip route` / `ip neigh` / `ping` for both families (text addresses) */
  readonly ip: IpConfig;
  /** link layer: devices (with `lo`), ethertype dispatch */
  readonly netif: Netif;
  /** what transports see of IPv4 + IPv6 */
  readonly inet: InetLayer;
  readonly ipv4: Ipv4Stack;
  /** IPv6: addresses (link-local + DAD), NDP, ICMPv6, routes, fragments */
  readonly ipv6: Ipv6Stack;
  readonly tcp: TcpProto;
  /** UDP over IPv4 and IPv6 (the syscall layer's SOCK_DGRAM sockets and `dgram` sit on it) */
  readonly udp: UdpProto;
  /** `node:dgram`-style UDP sockets over this host's UDP */
  readonly dgram: {
    createSocket(type: DgramType | DgramSocketOptions, onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void): DgramSocket;
  };
  readonly bindings = new BindingTable();
  readonly ethtool: Ethtool;
  /** Node `net`-style streams over this host's TCP (readable traffic) */
  readonly net: {
    createServer(onConnection?: (s: NetSocket) => void): NetServer;
    connect(opts: { host: string; port: number }): NetSocket;
  };
  private readonly devs: NetDevice[] = [];
  /** the fd table: sockets, dma-bufs, netlink sockets, epoll instances (0–2 are stdio) */
  readonly files = new FdTable();
  /** fd-numbered system calls with Linux semantics (numbers or negative errno, never throw) */
  readonly sys: Syscalls = new Syscalls(this);
  private nextIfindex = 2;
  private readonly netlinks = new Set<NetlinkSocket>();

  constructor(
    readonly network: Network,
    readonly name: string,
    readonly sched: Scheduler,
    readonly rng: Rng,
    opts: HostOptions = {},
  ) {
    this.mem = new MemSpace({ maxHostBytes: opts.memBytes });
    this.skbs = new SkbCache(this.mem);
    this.netif = new Netif(this.mem, this.skbs, sched);
    this.inet = new InetLayer(new ProtocolTable());
    this.ipv4 = new Ipv4Stack({ sched, skbs: this.skbs, rng: rng.fork('ip'), netif: this.netif, protos: this.inet.protos });
    this.inet.attach(this.ipv4);
    this.ipv6 = new Ipv6Stack({ sched, skbs: this.skbs, rng: rng.fork('ipv6'), netif: this.netif, protos: this.inet.protos });
    this.inet.attach(this.ipv6);
    this.ip = new IpConfig(this.netif, this.ipv4);
    this.ip.attachV6(this.ipv6);
    this.tcp = new TcpProto(this.inet, this.skbs, this.mem, sched, rng.fork('tcp'));
    this.udp = new UdpProto(this.inet, this.skbs, rng.fork('udp').nextU32());
    this.dgram = { createSocket: (type, onMessage) => createDgramSocket({ sys: this.sys, sched }, type, onMessage) };
    this.ethtool = new Ethtool(this);
    this.net = {
      createServer: (onConnection) => createServer(this, onConnection),
      connect: (opts) => connect(this, opts),
    };
  }

  // ---- devices ----

  /** adds a NIC named `name` (interface index assigned from 2) */
  addDevice(name: string, opts: AddDeviceOptions = {}): NetDevice {
    if (this.device(name) !== null) fail('EEXIST', 'addDevice');
    const ifindex = this.nextIfindex++;
    let mac = opts.mac;
    if (typeof opts.macAddress === 'string') mac = parseMacText(opts.macAddress);
    else if (typeof opts.macAddress === 'number') mac = opts.macAddress;
    if (mac === undefined) mac = 0x020000000000 + ((this.rng.nextU32() & 0xffff) * 0x100) + ifindex;
    const dev = new NetDevice(this.mem, this.skbs, this.sched, name, ifindex, { ...opts, mac });
    this.devs.push(dev);
    this.netif.addDevice(dev);
    this.ipv6.addDevice(dev);
    return dev;
  }

  device(name: string): NetDevice | null {
    return this.devs.find((d) => d.name === name) ?? null;
  }

  devices(): readonly NetDevice[] {
    return this.devs;
  }

  deviceByIndex(ifindex: number): NetDevice | null {
    return this.devs.find((d) => d.ifindex === ifindex && d.present) ?? null;
  }

  // ---- files ----

  fdLookup(fd: number): FdObject | null {
    const f = this.files.get(fd);
    if (f === null) return null;
    return f instanceof DmabufFile ? { kind: 'dmabuf', dmabuf: f.dmabuf } : { kind: 'other' };
  }

  /**
   * Allocates device memory (a dma-buf, like a udmabuf or a GPU buffer) and returns its exporter
   * handle; `.fd` is its file descriptor for `bind-rx`. The host cannot read it: only device
   * operations and NIC DMA touch its bytes.
   */
  allocDeviceMemory(size: number, opts: { sgChunk?: number; backend?: DeviceBackend } = {}): DeviceMemory {
    const dm = new DeviceMemory(size, opts);
    const fd = this.files.install(new DmabufFile(dm));
    if (fd < 0) throw new ErrnoError(-fd, 'allocDeviceMemory');
    dm.fd = fd;
    return dm;
  }

  /** closes a dma-buf fd (the binding keeps its own reference, as in Linux) */
  closeDeviceMemory(dm: DeviceMemory): void {
    const f = dm.fd >= 0 ? this.files.get(dm.fd) : null;
    if (f instanceof DmabufFile && f.dmabuf === dm) this.files.close(dm.fd);
    dm.fd = -1;
  }

  // ---- sockets ----

  /** socket(family, type, protocol) */
  socket(family: number, type: number, protocol = 0): Socket {
    const fd = this.sys.socket(family, type, protocol);
    if (fd < 0) throw new ErrnoError(-fd, 'socket');
    return new Socket(this, this.files.get(fd) as SockFile, fd);
  }

  /** a generic-netlink socket (NETLINK_GENERIC); closing it unbinds what it bound */
  netlink(opts: { capNetAdmin?: boolean } = {}): NetlinkSocket {
    const nl = new NetlinkSocket(this, { capNetAdmin: opts.capNetAdmin ?? true });
    this.files.install(new NetlinkFile(nl));
    this.netlinks.add(nl);
    return nl;
  }

  /**
   * The host's counters, as `/proc/net/snmp`, `/proc/net/snmp6`, `/proc/net/netstat` and
   * `/proc/net/stat/*` would show them (camelCase Linux names): a deep copy, safe to keep.
   */
  snmp(): HostSnmp {
    const ip = { ...this.ipv4.stats } as Partial<Ipv4Stats>;
    delete ip.arp;
    delete ip.icmp;
    const ip6 = { ...this.ipv6.stats } as Partial<Ipv6Stats>;
    delete ip6.icmp;
    return {
      ip: ip as IpStats,
      icmp: { ...this.ipv4.stats.icmp },
      arp: { ...this.ipv4.stats.arp },
      neigh4: { ...this.ipv4.neigh.stats, entries: this.ipv4.neigh.size },
      ip6: ip6 as Omit<Ipv6Stats, 'icmp'>,
      icmp6: { ...this.ipv6.stats.icmp },
      neigh6: { ...this.ipv6.neigh.stats, entries: this.ipv6.neigh.size },
      tcp: { ...this.tcp.stats },
      udp: { ...this.udp.mib },
      netif: { ...this.netif.stats },
    };
  }

  /** ICMP echo to `dst` */
  ping(dst: string, opts: { size?: number; timeoutUs?: number } = {}): Promise<{ rttUs: number; bytes: number; ttl: number }> {
    return this.ip.ping(dst, opts);
  }

  /**
   * Process exit: every socket fails with `errno` (pending calls settle with it, later calls
   * fail at once), every fd is closed, every netlink socket closed.
   */
  shutdown(errno: number = ERRNO.ENETDOWN): void {
    this.sys.shutdownAll(errno);
    this.ipv6.close(errno);
    for (const nl of this.netlinks) nl.close();
    this.netlinks.clear();
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
