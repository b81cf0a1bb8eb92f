/**
 * `--link` and `--addr` on the command line: parsing into specs, and creating the links.
 *
 *   --link vxlan:local=IP[:PORT],remote=IP[:PORT],vni=N[,mtu=N]
 *   --link tap:NAME[,queues=N][,vnet=on|off][,mtu=N]
 *   --addr CIDR                      (repeatable; IPv4 a.b.c.d/len or IPv6 x::y/len)
 *
 * IPv6 endpoints are written in brackets when a port follows (`[::1]:4789`); a missing port is
 * 4789. Every mistake is a `UsageError` with one line naming the option, which the command prints
 * before exiting with status 2. `createLink` opens the link (binds the VXLAN sockets, opens the TAP
 * device); the caller attaches it with `host.addDevice(name, { link })` and owns its close. The
 * TAP link is loaded on first use, so a build or machine without it fails only when asked for.
 */
import net from 'node:net';
import { VxlanLink, type FrameLink } from '../index.js';
import { UsageError } from './args.js';

export const VXLAN_DEFAULT_PORT = 4789;

export interface EndpointSpec {
  address: string;
  port: number;
}

export interface VxlanLinkSpec {
  kind: 'vxlan';
  local: EndpointSpec;
  remote: EndpointSpec;
  vni: number;
  mtu?: number;
}

export interface TapLinkSpec {
  kind: 'tap';
  name: string;
  queues: number;
  vnetHdr: boolean;
  mtu?: number;
}

export type LinkSpec = VxlanLinkSpec | TapLinkSpec;

export interface AddrSpec {
  /** canonical `address/prefixLen`, what `host.ip.addAddress` takes */
  cidr: string;
  address: string;
  prefixLen: number;
  family: 4 | 6;
}

function intIn(v: string, what: string, lo: number, hi: number): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${what}: expected an integer in ${lo}..${hi}, got '${v}'`);
  const n = Number(v);
  if (n < lo || n > hi) throw new UsageError(`${what}: expected an integer in ${lo}..${hi}, got '${v}'`);
  return n;
}

/** `IP`, `IP:PORT`, `[IPv6]`, `[IPv6]:PORT`, or a bare IPv6 literal */
export function parseEndpoint(text: string, what: string): EndpointSpec {
  let host: string;
  let port: string | null = null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new UsageError(`${what}: missing ']' in '${text}'`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new UsageError(`${what}: expected ':PORT' after ']' in '${text}'`);
      port = rest.slice(1);
    }
    if (net.isIP(host.split('%')[0]!) !== 6) throw new UsageError(`${what}: not an IPv6 address: '${host}'`);
  } else if (net.isIP(text.split('%')[0]!) === 6) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon >= 0 ? text.slice(0, colon) : text;
    if (colon >= 0) port = text.slice(colon + 1);
    if (net.isIP(host) !== 4) throw new UsageError(`${what}: not an IP address: '${host}' (write IPv6 as [addr]:port)`);
  }
  return { address: host, port: port === null ? VXLAN_DEFAULT_PORT : intIn(port, `${what} port`, 1, 65535) };
}

/** `key=value,...` into a map; duplicate or unknown keys (not in `keys`) are errors */
function keyValues(text: string, what: string, keys: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  if (text === '') return m;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what}: expected key=value, got '${part}'`);
    const k = part.slice(0, eq);
    const v = part.slice(eq + 1);
    if (!keys.includes(k)) throw new UsageError(`${what}: unknown key '${k}' (known: ${keys.join(', ')})`);
    if (m.has(k)) throw new UsageError(`${what}: '${k}' given twice`);
    if (v === '') throw new UsageError(`${what}: '${k}' has no value`);
    m.set(k, v);
  }
  return m;
}

function parseVxlan(body: string, what: string): VxlanLinkSpec {
  const kv = keyValues(body, what, ['local', 'remote', 'vni', 'mtu']);
  for (const k of ['local', 'remote', 'vni']) {
    if (!kv.has(k)) throw new UsageError(`${what}: vxlan needs ${k}= (vxlan:local=IP:PORT,remote=IP:PORT,vni=N)`);
  }
  const local = parseEndpoint(kv.get('local')!, `${what} local`);
  const remote = parseEndpoint(kv.get('remote')!, `${what} remote`);
  if (net.isIP(local.address.split('%')[0]!) !== net.isIP(remote.address.split('%')[0]!)) {
    throw new UsageError(`${what}: local and remote must both be IPv4 or both IPv6`);
  }
  const vni = intIn(kv.get('vni')!, `${what} vni`, 0, 0xffffff);
  const spec: VxlanLinkSpec = { kind: 'vxlan', local, remote, vni };
  const mtu = kv.get('mtu');
  if (mtu !== undefined) spec.mtu = intIn(mtu, `${what} mtu`, 68, 65485);
  return spec;
}

function parseTap(body: string, what: string): TapLinkSpec {
  const comma = body.indexOf(',');
  const name = comma < 0 ? body : body.slice(0, comma);
  if (name === '' || name.includes('=')) throw new UsageError(`${what}: tap needs a device name first (tap:NAME[,queues=N])`);
  if (Buffer.byteLength(name) > 15 || !/^[A-Za-z0-9_.%-]+$/.test(name) || name === '.' || name === '..') {
    throw new UsageError(`${what}: bad interface name '${name}' (1..15 of A-Z a-z 0-9 _ . - %)`);
  }
  const kv = keyValues(comma < 0 ? '' : body.slice(comma + 1), what, ['queues', 'vnet', 'mtu']);
  const spec: TapLinkSpec = { kind: 'tap', name, queues: 1, vnetHdr: true };
  const q = kv.get('queues');
  if (q !== undefined) spec.queues = intIn(q, `${what} queues`, 1, 256);
  const vnet = kv.get('vnet');
  if (vnet !== undefined) {
    if (vnet !== 'on' && vnet !== 'off') throw new UsageError(`${what} vnet: expected on or off, got '${vnet}'`);
    spec.vnetHdr = vnet === 'on';
  }
  const mtu = kv.get('mtu');
  if (mtu !== undefined) spec.mtu = intIn(mtu, `${what} mtu`, 68, 65521);
  return spec;
}

/** parses one `--link` value */
export function parseLinkSpec(text: string, what = '--link'): LinkSpec {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const body = colon < 0 ? '' : text.slice(colon + 1);
  if (kind === 'vxlan') return parseVxlan(body, what);
  if (kind === 'tap') return parseTap(body, what);
  throw new UsageError(`${what}: unknown link kind '${kind}' (vxlan:local=IP:PORT,remote=IP:PORT,vni=N or tap:NAME[,queues=N])`);
}

/** parses one `--addr` value: an address with its prefix length, IPv4 or IPv6 */
export function parseAddrSpec(text: string, what = '--addr'): AddrSpec {
  const slash = text.indexOf('/');
  if (slash < 0) throw new UsageError(`${what}: expected ADDRESS/PREFIXLEN, got '${text}'`);
  const a = text.slice(0, slash);
  const fam = net.isIP(a);
  if (fam === 0) throw new UsageError(`${what}: not an IP address: '${a}'`);
  const family = fam === 4 ? 4 : 6;
  const prefixLen = intIn(text.slice(slash + 1), `${what} prefix length`, 0, family === 4 ? 32 : 128);
  const address = family === 6 ? new net.SocketAddress({ address: a, family: 'ipv6' }).address : a;
  return { cidr: `${address}/${prefixLen}`, address, prefixLen, family };
}

/** the shape of the TAP link's constructor this module relies on (src/link/tap) */
type TapLinkCtor = new (opts: { name: string; queues: number; vnetHdr: boolean; mtu?: number }) => FrameLink;

/** opens the link a spec describes; failures are thrown as they come (errno errors, EADDRINUSE) */
export async function createLink(spec: LinkSpec): Promise<FrameLink> {
  if (spec.kind === 'vxlan') {
    return VxlanLink.open({
      local: spec.local, remote: spec.remote, vni: spec.vni,
      ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    });
  }
  const mod = (await import('../index.js')) as unknown as { TapLink?: TapLinkCtor };
  if (typeof mod.TapLink !== 'function') throw new UsageError('--link: tap links are not available in this build');
  return new mod.TapLink({
    name: spec.name, queues: spec.queues, vnetHdr: spec.vnetHdr,
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
  });
}
