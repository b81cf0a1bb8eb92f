/**
 * Congestion-control registry and selection, as Linux net/ipv4/tcp_cong.c.
 *
 * Contract:
 *  - algorithms are registered process-wide (Linux's `tcp_cong_list`, modules): `reno` then
 *    `cubic` are built in, in that order, so `net.ipv4.tcp_available_congestion_control` reads
 *    "reno cubic" as on Linux; `registerCongestion` adds one (-EEXIST for a taken name, -EINVAL
 *    for a bad one), `unregisterCongestion` removes it (sockets keep their instance);
 *  - `CongestionConfig` is one host's (network namespace's) settings: the default algorithm
 *    (`net.ipv4.tcp_congestion_control`, cubic) and the non-restricted ones
 *    (`net.ipv4.tcp_allowed_congestion_control`, "reno cubic"). Linux keeps the allowed flag on
 *    the algorithm itself; we keep it per host so hosts in one process stay independent;
 *  - setsockopt `TCP_CONGESTION` (`tcpSetCongestion`) follows Linux do_tcp_setsockopt +
 *    tcp_set_congestion_control: EINVAL for an empty option, name cut at 15 bytes or a NUL,
 *    ENOENT for an unknown name, EPERM for a restricted one without CAP_NET_ADMIN, nothing done
 *    when the socket already runs it; getsockopt (`tcpGetCongestion`) returns
 *    min(len, TCP_CA_NAME_MAX) bytes of the NUL-padded name. Errors are negative errno values.
 */
import { ERRNO } from '../../uapi/errno.js';
import type { CongestionFactory, CongestionOps } from './types.js';
import { createReno } from './reno.js';
import { createCubic } from './cubic.js';

/** Linux TCP_CA_NAME_MAX (the name buffer, NUL included) */
export const TCP_CA_NAME_MAX = 16;
/** the algorithm a new host defaults to (Linux CONFIG_DEFAULT_TCP_CONG) */
export const DEFAULT_CONGESTION = 'cubic';

interface Entry { readonly name: string; readonly factory: CongestionFactory; }

/** process-wide algorithm list, registration order */
const algorithms: Entry[] = [
  { name: 'reno', factory: createReno },
  { name: 'cubic', factory: createCubic },
];

function validName(name: string): boolean {
  if (name.length === 0 || name.length >= TCP_CA_NAME_MAX) return false;
  // printable ASCII without blanks (the sysctl lists are space-separated)
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** Linux tcp_register_congestion_control: 0, -EEXIST (name taken) or -EINVAL (bad name) */
export function registerCongestion(name: string, factory: CongestionFactory): number {
  if (!validName(name)) return -ERRNO.EINVAL;
  if (findCongestion(name) !== null) return -ERRNO.EEXIST;
  algorithms.push({ name, factory });
  return 0;
}

/** Linux tcp_unregister_congestion_control (built-ins too, as rmmod would); true if removed */
export function unregisterCongestion(name: string): boolean {
  const i = algorithms.findIndex((e) => e.name === name);
  if (i < 0) return false;
  algorithms.splice(i, 1);
  return true;
}

/** Linux tcp_ca_find: the factory registered under `name`, or null */
export function findCongestion(name: string): CongestionFactory | null {
  for (const e of algorithms) if (e.name === name) return e.factory;
  return null;
}

/** `net.ipv4.tcp_available_congestion_control`: registered names, space-separated */
export function availableCongestionControl(): string {
  return algorithms.map((e) => e.name).join(' ');
}

/** what a socket holding a congestion-control instance lets `tcpSetCongestion` do */
export interface CongestionHolder {
  /** the socket's current algorithm instance */
  readonly caOps: CongestionOps;
  /**
   * Linux tcp_reinit_congestion_control: drop the old instance, take `ops`, and call
   * `ops.init` unless the socket is CLOSE or LISTEN (the core owns the CongSock)
   */
  replaceCongestion(ops: CongestionOps): void;
  /** Linux icsk_ca_setsockopt: set when the application chose the algorithm */
  caSetsockopt: boolean;
  /** Linux icsk_ca_dst_locked: the route fixed the algorithm (`congctl lock`) */
  readonly caDstLocked?: boolean;
}

/** one host's congestion-control settings (Linux per-netns default + allowed list) */
export class CongestionConfig {
  private defaultName = DEFAULT_CONGESTION;
  private readonly allowed = new Set<string>(['reno', DEFAULT_CONGESTION]);

  /** `net.ipv4.tcp_congestion_control` */
  get default(): string {
    return this.defaultName;
  }

  /** Linux tcp_set_default_congestion_control: 0 or -ENOENT; the default becomes allowed */
  setDefault(name: string): number {
    if (findCongestion(name) === null) return -ERRNO.ENOENT;
    this.defaultName = name;
    this.allowed.add(name);
    return 0;
  }

  /** `net.ipv4.tcp_allowed_congestion_control`: the allowed names in registration order */
  allowedList(): string {
    return algorithms.filter((e) => this.allowed.has(e.name)).map((e) => e.name).join(' ');
  }

  /**
   * Linux tcp_set_allowed_congestion_control: space-separated names (an empty string clears
   * the list); -ENOENT, changing nothing, if one is unknown
   */
  setAllowed(list: string): number {
    const names = list.split(' ');
    // Linux stops at the first empty token (strsep on a single blank)
    const end = names.indexOf('');
    const used = end < 0 ? names : names.slice(0, end);
    for (const n of used) if (findCongestion(n) === null) return -ERRNO.ENOENT;
    this.allowed.clear();
    for (const n of used) this.allowed.add(n);
    return 0;
  }

  /** whether sockets without CAP_NET_ADMIN may select `name` */
  isAllowed(name: string): boolean {
    return this.allowed.has(name);
  }

  /**
   * Linux tcp_assign_congestion_control: a fresh instance of the default for a new socket
   * (Reno if the default was unregistered meanwhile)
   */
  assign(): CongestionOps {
    const f = findCongestion(this.defaultName) ?? createReno;
    return f();
  }
}

/**
 * The name a `TCP_CONGESTION` option value carries (Linux strncpy_from_sockptr of at most
 * TCP_CA_NAME_MAX − 1 bytes, stopping at a NUL), or -EINVAL for an empty option.
 */
export function congestionNameFromOpt(optval: Uint8Array): string | number {
  if (optval.length < 1) return -ERRNO.EINVAL;
  const max = Math.min(TCP_CA_NAME_MAX - 1, optval.length);
  let s = '';
  for (let i = 0; i < max; i++) {
    const c = optval[i]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * setsockopt(IPPROTO_TCP, TCP_CONGESTION): 0 or a negative errno (see the module contract).
 * `capNetAdmin`: the caller may pick algorithms outside the allowed list.
 */
export function tcpSetCongestion(
  cfg: CongestionConfig, sk: CongestionHolder, optval: Uint8Array, capNetAdmin: boolean,
): number {
  const name = congestionNameFromOpt(optval);
  if (typeof name === 'number') return name;
  if (sk.caDstLocked) return -ERRNO.EPERM;
  const factory = findCongestion(name);
  // asking for the algorithm already in use changes nothing
  if (factory !== null && name === sk.caOps.name) {
    sk.caSetsockopt = true;
    return 0;
  }
  if (factory === null) return -ERRNO.ENOENT;
  if (!cfg.isAllowed(name) && !capNetAdmin) return -ERRNO.EPERM;
  sk.replaceCongestion(factory());
  sk.caSetsockopt = true;
  return 0;
}

/**
 * getsockopt(IPPROTO_TCP, TCP_CONGESTION) with buffer length `len` (≥ 0): the first
 * min(len, TCP_CA_NAME_MAX) bytes of the NUL-padded name; the returned length is the new optlen.
 */
export function tcpGetCongestion(sk: { readonly caOps: CongestionOps }, len: number): Uint8Array {
  const n = Math.max(0, Math.min(len, TCP_CA_NAME_MAX));
  const out = new Uint8Array(n);
  const name = sk.caOps.name;
  for (let i = 0; i < n && i < name.length; i++) out[i] = name.charCodeAt(i) & 0xff;
  return out;
}
