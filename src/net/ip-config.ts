/**
 * `IpConfig`: the `host.ip` facade — `ip addr`, `ip route`, `ip neigh` and `ping` for both
 * families, with text addresses in and out. IPv4 goes to the `Ipv4Stack`; IPv6 to the stack
 * attached with `attachV6` (without one, IPv6 calls fail with EAFNOSUPPORT). Configuration
 * errors throw `ErrnoError` (EINVAL for malformed text, ENODEV for unknown devices, and what the
 * stacks throw); `ping` rejects instead.
 */
import { InetAddr, parseCidr } from '../inet/index.js';
import type { NetDevice } from '../netdev/index.js';
import type { Netif } from '../netif/index.js';
import { ErrnoError } from '../uapi/index.js';
import { ipv4AddrToString, parseMac } from '../wire/addr.js';
import type { PingOptions, PingResult } from './ping.js';
import type { Ipv4Stack, RouteInfo } from './ipv4/stack.js';
import type { NeighState } from './neighbour.js';
import type { Ipv4Stats } from './types.js';

/** what `IpConfig` needs of the IPv6 stack (NET-B's `Ipv6Stack`) */
export interface Ipv6ConfigTarget {
  addAddress(dev: NetDevice, addr: InetAddr, prefixLen: number, opts?: { nodad?: boolean }): void;
  addresses(): { dev: string; address: InetAddr | string; prefixLen: number }[];
  addRoute?(dst: InetAddr, prefixLen: number, via: InetAddr | null, dev: NetDevice | null): void;
  routes?(): RouteInfo[];
  neighbours?(): { dev: string; addr: string; mac: number; state: NeighState }[];
  addNeighbour?(dev: NetDevice, addr: InetAddr, mac: number): void;
  ping6?(dst: InetAddr, opts?: PingOptions): Promise<PingResult>;
}

export interface IpAddressInfo {
  dev: string;
  family: 4 | 6;
  address: string;
  prefixLen: number;
}

export interface IpRouteInfo extends RouteInfo {
  family: 4 | 6;
}

export interface IpNeighbourInfo {
  dev: string;
  family: 4 | 6;
  addr: string;
  mac: number;
  state: NeighState;
}

function parseCidrOrThrow(s: string, sc: string): { addr: InetAddr; prefixLen: number } {
  try {
    return parseCidr(s);
  } catch {
    throw new ErrnoError('EINVAL', sc, { msg: `invalid address ${JSON.stringify(s)}` });
  }
}

export class IpConfig {
  private v6: Ipv6ConfigTarget | null = null;

  constructor(private readonly netif: Netif, readonly v4: Ipv4Stack) {}

  /** attaches the IPv6 stack */
  attachV6(s: Ipv6ConfigTarget): void {
    this.v6 = s;
  }

  /** IPv4 SNMP counters (`Ip`, `Icmp`, ARP) */
  get stats(): Ipv4Stats {
    return this.v4.stats;
  }

  private dev(name: string, sc: string): NetDevice {
    const d = this.netif.device(name);
    if (d === null) throw new ErrnoError('ENODEV', sc, { msg: `no device ${name}` });
    return d;
  }

  private need6(sc: string): Ipv6ConfigTarget {
    if (this.v6 === null) throw new ErrnoError('EAFNOSUPPORT', sc, { msg: 'no IPv6 stack' });
    return this.v6;
  }

  /**
   * `ip addr add CIDR dev DEV [nodad]` (IPv4 or IPv6; the prefix defaults to the full width). An
   * IPv6 address is tentative — not usable as a source — until duplicate address detection
   * passes (about 1 s), unless `nodad` is given, as with `ip -6 addr add … nodad`.
   */
  addAddress(devName: string, cidr: string, opts: { nodad?: boolean } = {}): void {
    const sc = 'addAddress';
    const dev = this.dev(devName, sc);
    const { addr, prefixLen } = parseCidrOrThrow(cidr, sc);
    if (addr.family === 4) this.v4.addAddress(dev, addr.v4, prefixLen);
    else this.need6(sc).addAddress(dev, addr, prefixLen, opts);
  }

  /** `ip addr show`: every address of both families (the loopback's included) */
  addresses(): IpAddressInfo[] {
    const out: IpAddressInfo[] = this.v4.addresses().map((a) => ({ dev: a.dev, family: 4 as const, address: ipv4AddrToString(a.address), prefixLen: a.prefixLen }));
    if (this.v6 !== null) {
      for (const a of this.v6.addresses()) out.push({ dev: a.dev, family: 6, address: String(a.address), prefixLen: a.prefixLen });
    }
    return out;
  }

  /** `ip route add DST [via GW] [dev DEV]` */
  addRoute(r: { dst: string; via?: string; dev?: string }): void {
    const sc = 'addRoute';
    const { addr, prefixLen } = parseCidrOrThrow(r.dst === 'default' ? '0.0.0.0/0' : r.dst, sc);
    const dev = r.dev !== undefined ? this.dev(r.dev, sc) : null;
    let via: InetAddr | null = null;
    if (r.via !== undefined) {
      via = parseCidrOrThrow(r.via, sc).addr;
      if (via.family !== addr.family) throw new ErrnoError('EINVAL', sc, { msg: 'gateway of another family' });
    }
    if (addr.family === 4) {
      this.v4.addRoute(addr.v4, prefixLen, via?.v4 ?? 0, dev);
      return;
    }
    const v6 = this.need6(sc);
    if (v6.addRoute === undefined) throw new ErrnoError('EOPNOTSUPP', sc);
    v6.addRoute(addr, prefixLen, via, dev);
  }

  /** `ip route show` for both families */
  routes(): IpRouteInfo[] {
    const out: IpRouteInfo[] = this.v4.routes().map((r) => ({ ...r, family: 4 as const }));
    if (this.v6?.routes !== undefined) for (const r of this.v6.routes()) out.push({ ...r, family: 6 });
    return out;
  }

  /** `ip neigh show` for both families */
  neighbours(): IpNeighbourInfo[] {
    const out: IpNeighbourInfo[] = this.v4.neighbours().map((n) => ({ ...n, family: 4 as const }));
    if (this.v6?.neighbours !== undefined) for (const n of this.v6.neighbours()) out.push({ ...n, family: 6 });
    return out;
  }

  /** `ip neigh replace ADDR lladdr MAC dev DEV nud permanent` (MAC as text or a number) */
  addNeighbour(devName: string, addr: string, mac: number | string): void {
    const sc = 'addNeighbour';
    const dev = this.dev(devName, sc);
    const a = parseCidrOrThrow(addr, sc).addr;
    let m: number;
    if (typeof mac === 'number') {
      m = mac;
    } else {
      try {
        m = parseMac(mac);
      } catch {
        throw new ErrnoError('EINVAL', sc, { msg: `invalid MAC ${JSON.stringify(mac)}` });
      }
    }
    if (a.family === 4) {
      this.v4.addNeighbour(dev, a.v4, m);
      return;
    }
    const v6 = this.need6(sc);
    if (v6.addNeighbour === undefined) throw new ErrnoError('EOPNOTSUPP', sc);
    v6.addNeighbour(dev, a, m);
  }

  /** ICMP / ICMPv6 echo to `dst` (text) */
  ping(dst: string, opts?: PingOptions): Promise<PingResult> {
    const a = InetAddr.tryParse(dst);
    if (a === null) return Promise.reject(new TypeError(`invalid IP address: ${JSON.stringify(dst)}`));
    if (a.family === 4) return this.v4.ping(a.v4, opts);
    const v6 = this.v6;
    if (v6 === null || v6.ping6 === undefined) return Promise.reject(new ErrnoError('EAFNOSUPPORT', 'ping'));
    return v6.ping6(a, opts);
  }
}
