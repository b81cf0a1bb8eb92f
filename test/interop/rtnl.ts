// A tiny rtnetlink client for what iproute2 6.1 cannot say: VXLAN `nolocalbypass`
// (IFLA_VXLAN_LOCALBYPASS = 31, kernel >= 6.3). Without it a vxlan device whose remote is a local
// address (127.0.0.1, ::1) hands frames to a local vxlan device of the same VNI instead of sending
// UDP, finds none and drops them. Uses koffi for socket(AF_NETLINK); runs in the caller's network
// namespace (the harness sets the flag before it moves the device).
// CLI: node dist/test/interop/rtnl.js localbypass IFNAME [0|1]   (sets, then prints the value read back)
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

type Koffi = typeof import('koffi');

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLMSG_ERROR = 2;
const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const IFLA_IFNAME = 3;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const NLA_F_NESTED = 0x8000;
export const IFLA_VXLAN_LOCALBYPASS = 31;

interface Rtnl {
  socket(d: number, t: number, p: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
  errno(): number;
}

let lib: Rtnl | null = null;
function rtnl(): Rtnl {
  if (lib) return lib;
  const k = createRequire(import.meta.url)('koffi') as Koffi;
  const c = k.load('libc.so.6');
  const socket = c.func('int socket(int, int, int)');
  const bind = c.func('int bind(int, void *, unsigned int)');
  const send = c.func('long send(int, void *, size_t, int)');
  const recv = c.func('long recv(int, void *, size_t, int)');
  const close = c.func('int close(int)');
  lib = {
    socket: (d, t, p) => socket(d, t, p) as number,
    bind: (fd, a, l) => bind(fd, a, l) as number,
    send: (fd, b, l, f) => send(fd, b, l, f) as number,
    recv: (fd, b, l, f) => recv(fd, b, l, f) as number,
    close: (fd) => close(fd) as number,
    errno: () => k.errno(),
  };
  return lib;
}

/** one netlink attribute, padded to 4 bytes */
function nla(type: number, payload: Uint8Array): Uint8Array {
  const len = 4 + payload.length;
  const out = new Uint8Array((len + 3) & ~3);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, len, true);
  dv.setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function cstr(s: string): Uint8Array {
  return concat([new TextEncoder().encode(s), new Uint8Array(1)]);
}

/** attributes of `buf` from `off`, type (without flags) → payload */
function parseAttrs(buf: Uint8Array, off: number, end: number): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (off + 4 <= end) {
    const len = dv.getUint16(off, true);
    if (len < 4 || off + len > end) break;
    m.set(dv.getUint16(off + 2, true) & 0x3fff, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return m;
}

/** sends one request and collects replies until the ACK / error; returns [errno, messages] */
function request(type: number, body: Uint8Array): [number, Uint8Array[]] {
  const c = rtnl();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new Error(`socket(AF_NETLINK): errno ${c.errno()}`);
  try {
    const sa = new Uint8Array(12);
    new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
    if (c.bind(fd, sa, 12) < 0) throw new Error(`bind(AF_NETLINK): errno ${c.errno()}`);
    const msg = new Uint8Array(NLMSG_HDRLEN + body.length);
    const dv = new DataView(msg.buffer);
    dv.setUint32(0, msg.length, true);
    dv.setUint16(4, type, true);
    dv.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, true);
    dv.setUint32(8, 1, true);
    msg.set(body, NLMSG_HDRLEN);
    if (c.send(fd, msg, msg.length, 0) !== msg.length) throw new Error(`send(netlink): errno ${c.errno()}`);
    const out: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = c.recv(fd, buf, buf.length, 0);
      if (n < 0) throw new Error(`recv(netlink): errno ${c.errno()}`);
      const rdv = new DataView(buf.buffer, 0, n);
      let off = 0;
      while (off + NLMSG_HDRLEN <= n) {
        const len = rdv.getUint32(off, true);
        const t = rdv.getUint16(off + 4, true);
        if (len < NLMSG_HDRLEN) return [0, out];
        if (t === NLMSG_ERROR) return [-rdv.getInt32(off + 16, true), out];
        out.push(buf.slice(off + NLMSG_HDRLEN, off + len));
        off += (len + 3) & ~3;
      }
    }
  } finally {
    c.close(fd);
  }
}

function ifinfo(): Uint8Array {
  return new Uint8Array(IFINFOMSG_LEN); // family 0, ifindex 0: the name selects the device
}

/** reads IFLA_VXLAN_LOCALBYPASS of `ifname` (null when the kernel does not report it) */
export function getLocalBypass(ifname: string): number | null {
  const [err, msgs] = request(RTM_GETLINK, concat([ifinfo(), nla(IFLA_IFNAME, cstr(ifname))]));
  if (err !== 0) throw new Error(`RTM_GETLINK ${ifname}: errno ${err}`);
  for (const m of msgs) {
    const top = parseAttrs(m, IFINFOMSG_LEN, m.length);
    const li = top.get(IFLA_LINKINFO);
    if (!li) continue;
    const data = parseAttrs(li, 0, li.length).get(IFLA_INFO_DATA);
    if (!data) continue;
    const v = parseAttrs(data, 0, data.length).get(IFLA_VXLAN_LOCALBYPASS);
    if (v && v.length >= 1) return v[0]!;
  }
  return null;
}

/** sets IFLA_VXLAN_LOCALBYPASS on the vxlan device `ifname` and returns the value read back */
export function setLocalBypass(ifname: string, on: boolean): number | null {
  const body = concat([
    ifinfo(),
    nla(IFLA_IFNAME, cstr(ifname)),
    nla(IFLA_LINKINFO | NLA_F_NESTED, concat([
      nla(IFLA_INFO_KIND, cstr('vxlan')),
      nla(IFLA_INFO_DATA | NLA_F_NESTED, nla(IFLA_VXLAN_LOCALBYPASS, Uint8Array.of(on ? 1 : 0))),
    ])),
  ]);
  const [err] = request(RTM_NEWLINK, body);
  if (err !== 0) throw new Error(`RTM_NEWLINK ${ifname} localbypass=${on ? 1 : 0}: errno ${err}`);
  return getLocalBypass(ifname);
}

// a command-line tool when run directly; `node --test dist/test/` also runs this file (with no
// arguments, under NODE_TEST_CONTEXT): then it is only a module. Tests spawn it with arguments
// (and inherit NODE_TEST_CONTEXT), so arguments always mean the command
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && (process.argv.length > 2 || process.env.NODE_TEST_CONTEXT === undefined)) {
  const [cmd, ifname, val] = process.argv.slice(2);
  if (cmd !== 'localbypass' || !ifname || (val !== undefined && val !== '0' && val !== '1')) {
    console.error('usage: node rtnl.js localbypass IFNAME [0|1]');
    process.exit(2);
  }
  try {
    const got = val === undefined ? getLocalBypass(ifname) : setLocalBypass(ifname, val === '1');
    console.log(`${ifname}: localbypass=${got === null ? 'unreported (kernel < 6.3?)' : got}`);
    if (val !== undefined && got !== null && got !== Number(val)) process.exit(1);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
