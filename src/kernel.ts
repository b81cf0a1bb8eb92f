/**
 * `Kernel`: the kernel-facing pieces of one host, wired together — memory (`MemSpace`), the skb
 * cache, netif (devices, `lo`, ethertype dispatch), IPv4 and IPv6 behind one `InetLayer`, TCP,
 * UDP, the fd table and system calls, devmem bindings and netlink sockets. Not part of the public
 * API: `Host` exposes narrow interfaces over it; the stack's own tests reach it as `host.kernel`.
 *
 * Ownership: the kernel owns every device, socket, fd and binding of its host; `shutdown`
 * settles every pending call with an errno and closes every file and netlink socket.
 */
import { BindingTable, DeviceMemory, MemSpace, type DeviceBackend } from './mem/index.js';
import { NetDevice, type NetDeviceOptions } from './netdev/index.js';
import { InetLayer, Ipv4Stack, ProtocolTable, type IpStats, type Ipv4Stats } from './net/index.js';
import { Ipv6Stack, type Ipv6Stats } from './net/ipv6/index.js';
import { Netif } from './netif/index.js';
import { NetlinkSocket, netdevUnregister, type FdObject, type NetdevKernel } from './netlink/index.js';
import type { Rng } from './rand/index.js';
import { SkbCache } from './skb/index.js';
import {
  DmabufFile, FdTable, NetlinkFile, SockFile, Socket, Syscalls, type SocketHost, type SyscallHost,
} from './socket/index.js';
import { TcpProto } from './tcp/index.js';
import { UdpProto } from './udp/index.js';
import type { Scheduler } from './time/index.js';
import { ErrnoError, fail } from './uapi/index.js';
import type { HostOptions, HostSnmp } from './host.js';

export class Kernel implements NetdevKernel, SyscallHost, SocketHost {
  readonly mem: MemSpace;
  readonly skbs: SkbCache;
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
  /** the binding table lives with the memory it maps (`mem.bindings`), where sockets reach it */
  get bindings(): BindingTable {
    return this.mem.bindings;
  }
  /** the fd table: sockets, dma-bufs, netlink sockets, epoll instances (0–2 are stdio) */
  readonly files = new FdTable();
  readonly sys: Syscalls;
  private readonly devs: NetDevice[] = [];
  private nextIfindex = 2;
  private readonly netlinks = new Set<NetlinkSocket>();

  constructor(readonly sched: Scheduler, readonly rng: Rng, opts: HostOptions = {}) {
    this.mem = new MemSpace({ maxHostBytes: opts.memBytes });
    this.skbs = new SkbCache(this.mem);
    this.netif = new Netif(this.mem, this.skbs, sched);
    this.inet = new InetLayer(new ProtocolTable());
    this.ipv4 = new Ipv4Stack({ sched, skbs: this.skbs, rng: rng.fork('ip'), netif: this.netif, protos: this.inet.protos });
    this.inet.attach(this.ipv4);
    this.ipv6 = new Ipv6Stack({ sched, skbs: this.skbs, rng: rng.fork('ipv6'), netif: this.netif, protos: this.inet.protos });
    this.inet.attach(this.ipv6);
    this.tcp = new TcpProto(this.inet, this.skbs, this.mem, sched, rng.fork('tcp'));
    this.udp = new UdpProto(this.inet, this.skbs, rng.fork('udp').nextU32());
    this.sys = new Syscalls(this);
  }

  // ---- devices ----

  /** registers a NIC (interface index assigned from 2; `lo` is 1) */
  addDevice(name: string, opts: NetDeviceOptions): NetDevice {
    if (this.device(name) !== null) fail('EEXIST', 'addDevice');
    const ifindex = this.nextIfindex++;
    const mac = opts.mac ?? 0x020000000000 + ((this.rng.nextU32() & 0xffff) * 0x100) + ifindex;
    const dev = new NetDevice(this.mem, this.skbs, this.sched, name, ifindex, { ...opts, mac });
    this.devs.push(dev);
    // a link-driven poll ends with the ACKs TCP deferred during it (one per socket per batch)
    dev.napiDoneHook = this.tcp;
    this.netif.addDevice(dev);
    this.ipv6.addDevice(dev);
    return dev;
  }

  /**
   * Netdev unregister (spec §1.5): the device stops, its rx queues' memory providers are
   * uninstalled and their pools detached, and bindings made for it lose their device. The device
   * stays in `devices()` with `registered` false; lookups by index no longer find it.
   */
  unregisterDevice(name: string): void {
    const d = this.device(name);
    if (d === null || !d.registered) fail('ENODEV', 'unregisterDevice');
    netdevUnregister(this, d);
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

  allocDeviceMemory(size: number, opts: { sgChunk?: number; backend?: DeviceBackend } = {}): DeviceMemory {
    const dm = new DeviceMemory(size, opts);
    const fd = this.files.install(new DmabufFile(dm));
    if (fd < 0) throw new ErrnoError(-fd, 'allocDeviceMemory');
    dm.fd = fd;
    return dm;
  }

  closeDeviceMemory(dm: DeviceMemory): void {
    const f = dm.fd >= 0 ? this.files.get(dm.fd) : null;
    if (f instanceof DmabufFile && f.dmabuf === dm) this.files.close(dm.fd);
    dm.fd = -1;
  }

  socket(family: number, type: number, protocol = 0): Socket {
    const fd = this.sys.socket(family, type, protocol);
    if (fd < 0) throw new ErrnoError(-fd, 'socket');
    return new Socket(this, this.files.get(fd) as SockFile, fd);
  }

  netlink(opts: { capNetAdmin?: boolean } = {}): NetlinkSocket {
    const nl = new NetlinkSocket(this, { capNetAdmin: opts.capNetAdmin ?? true });
    const file = new NetlinkFile(nl);
    const fd = this.files.install(file);
    if (fd < 0) {
      nl.close();
      throw new ErrnoError(-fd, 'socket');
    }
    nl.fd = fd;
    // closing the socket object closes its fd too (the fd's release closes the socket: idempotent)
    nl.onClose = () => {
      if (this.files.get(fd) === file) this.files.close(fd);
    };
    this.netlinks.add(nl);
    return nl;
  }

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

  shutdown(errno: number): void {
    this.sys.shutdownAll(errno);
    this.ipv4.close(errno);
    this.ipv6.close(errno);
    for (const nl of this.netlinks) nl.close();
    this.netlinks.clear();
  }
}
