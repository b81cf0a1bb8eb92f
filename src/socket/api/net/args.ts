/**
 * Argument normalisation for `host.net`, as Node's `net` does it: `normalizeArgs` turns every
 * `connect()` / `listen()` form into `[options, cb]`; the name "lookup" for IP literals and
 * 'localhost' (there is no resolver: any other name is ENOTFOUND); sockaddrs and Node's address
 * objects (`{ address, family: 'IPv4' | 'IPv6', port }`).
 */
import { isIP } from 'node:net';
import { InetAddr, addrToString, isV4 } from '../../../inet/index.js';
import { AF_INET, AF_INET6 } from '../../../uapi/index.js';
import type { SockAddr } from '../../sys/sockaddr.js';

export type ConnectCallback = () => void;

/** net.connect / socket.connect options (TCP) */
export interface NetConnectOpts {
  port?: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: number | string;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
  allowHalfOpen?: boolean;
  /** IPC paths are not supported (no AF_UNIX): a non-empty path fails */
  path?: string | null;
  /** options Node accepts that mean nothing here are ignored */
  [key: string]: unknown;
}

/** server.listen options */
export interface NetListenOpts {
  port?: number | string | null;
  host?: string;
  backlog?: number;
  ipv6Only?: boolean;
  exclusive?: boolean;
  path?: string;
  [key: string]: unknown;
}

/** Node's AddressInfo */
export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

/**
 * Node's normalizeArgs: (options[...][, cb]) | ([port][, host][...][, cb]) → [options, cb].
 * A string that is not a number would be a pipe path.
 */
export function normalizeArgs(args: readonly unknown[]): [Record<string, unknown>, ((...a: unknown[]) => void) | null] {
  if (args.length === 0) return [{}, null];
  const arg0 = args[0];
  let options: Record<string, unknown> = {};
  if (typeof arg0 === 'object' && arg0 !== null) {
    options = arg0 as Record<string, unknown>;
  } else if (typeof arg0 === 'string' && !(Number(arg0) >= 0)) {
    options.path = arg0;
  } else {
    options.port = arg0;
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const cb = args[args.length - 1];
  return [options, typeof cb === 'function' ? (cb as (...a: unknown[]) => void) : null];
}

/** the result of resolving a host: an address literal, its family, and whether a lookup ran */
export interface Resolved {
  ip: string;
  family: 4 | 6;
  /** 'localhost' went through the (local) lookup: Node emits 'lookup' */
  looked: boolean;
}

/** dns.lookup for what this stack knows: IP literals and 'localhost'; null → ENOTFOUND */
export function resolveHost(host: string, family: unknown): Resolved | null {
  const t = isIP(host);
  if (t === 4 || t === 6) return { ip: host, family: t, looked: false };
  if (host.toLowerCase() === 'localhost') {
    const want6 = family === 6 || family === 'IPv6';
    return want6 ? { ip: '::1', family: 6, looked: true } : { ip: '127.0.0.1', family: 4, looked: true };
  }
  return null;
}

/** the sockaddr for a literal of `family` (an IPv4 literal on an AF_INET6 socket is v4-mapped) */
export function sockaddrOf(sockFamily: number, ip: string, port: number): SockAddr | null {
  const a = InetAddr.tryParse(ip);
  if (a === null) return null;
  return { family: sockFamily === AF_INET6 ? AF_INET6 : AF_INET, addr: a, port };
}

/** Node's address object for a sockaddr of a socket of `sockFamily` */
export function addressInfo(sockFamily: number, sa: SockAddr): AddressInfo {
  const s = addrToString(sa.addr);
  if (sockFamily === AF_INET6) {
    return { address: isV4(sa.addr) ? `::ffff:${s}` : s, family: 'IPv6', port: sa.port };
  }
  return { address: s, family: 'IPv4', port: sa.port };
}
