/**
 * Opening a TAP device: `/dev/net/tun` once per queue (non-blocking), `TUNSETIFF` with
 * IFF_TAP|IFF_NO_PI (+IFF_VNET_HDR, +IFF_MULTI_QUEUE when queues > 1), then for vnet headers
 * `TUNSETVNETHDRSZ` 12 and `TUNSETOFFLOAD` CSUM|TSO4|TSO6, and an optional MTU (SIOCSIFMTU).
 * Owns nothing after it returns: the caller owns the fds (the device goes away with the last one,
 * being non-persistent). On failure every fd opened so far is closed and one `ErrnoError` says
 * which step failed, with the errno (ENOENT: no tun driver, EACCES/EPERM: not root /
 * no CAP_NET_ADMIN, EBUSY: the name is taken, EINVAL: a bad name).
 */
import { closeSync, constants as fsc, openSync } from 'node:fs';
import { ErrnoError, ERRNO } from '../../uapi/errno.js';
import { libc, type Libc } from './libc.js';
import { VNET_HDR_LEN } from './vnet-hdr.js';

export const TUNSETIFF = 0x400454ca;
export const TUNSETOFFLOAD = 0x400454d0;
export const TUNSETSNDBUF = 0x400454d4;
export const TUNSETVNETHDRSZ = 0x400454d8;
export const SIOCSIFMTU = 0x8922;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
export const IFF_MULTI_QUEUE = 0x0100;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const IFNAMSIZ = 16;
/** most queues a tun device takes (MAX_TAP_QUEUES) */
export const MAX_TAP_QUEUES = 256;

const HINT = 'TAP needs /dev/net/tun and root (CAP_NET_ADMIN)';

export interface TapOpenOptions {
  name: string;
  queues: number;
  vnetHdr: boolean;
  /** sets the kernel side's MTU when given */
  mtu?: number;
  devPath: string;
}

export interface OpenedTap {
  /** the name the kernel gave (a `%d` template resolved) */
  name: string;
  fds: number[];
}

export function openTap(o: TapOpenOptions): OpenedTap {
  const nameBytes = Buffer.from(o.name, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length >= IFNAMSIZ || nameBytes.includes(0) || nameBytes.includes(0x2f)) {
    throw new ErrnoError('EINVAL', `TAP name '${o.name}' (1..15 bytes, no '/')`);
  }
  if (!Number.isInteger(o.queues) || o.queues < 1 || o.queues > MAX_TAP_QUEUES) {
    throw new ErrnoError('EINVAL', `TAP queues=${o.queues} (1..${MAX_TAP_QUEUES})`);
  }
  const fds: number[] = [];
  let lib: Libc | null = null;
  try {
    lib = libc();
    const flags = IFF_TAP | IFF_NO_PI | (o.vnetHdr ? IFF_VNET_HDR : 0) | (o.queues > 1 ? IFF_MULTI_QUEUE : 0);
    const ifr = new Uint8Array(40);
    let name = o.name;
    for (let q = 0; q < o.queues; q++) {
      const fd = openDev(o.devPath);
      fds.push(fd);
      ifr.fill(0);
      ifr.set(Buffer.from(name, 'utf8'));
      ifr[16] = flags & 0xff;
      ifr[17] = flags >>> 8;
      check(lib, lib.ioctlPtr(fd, TUNSETIFF, ifr), `ioctl TUNSETIFF ${name}`);
      if (q === 0) name = Buffer.from(ifr.subarray(0, IFNAMSIZ)).toString('utf8').replace(/\0.*$/s, '');
      if (o.vnetHdr) check(lib, lib.ioctlPtr(fd, TUNSETVNETHDRSZ, new Int32Array([VNET_HDR_LEN])), `ioctl TUNSETVNETHDRSZ ${name}`);
    }
    if (o.vnetHdr) check(lib, lib.ioctlVal(fds[0]!, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6), `ioctl TUNSETOFFLOAD ${name}`);
    if (o.mtu !== undefined) setMtu(lib, name, o.mtu);
    return { name, fds };
  } catch (e) {
    for (const fd of fds) closeSync(fd);
    throw e;
  }
}

function openDev(path: string): number {
  try {
    return openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    const errno = (ERRNO as Record<string, number>)[code] ?? ERRNO.EIO;
    throw new ErrnoError(errno, `open ${path} (${HINT})`);
  }
}

function check(lib: Libc, rc: number, what: string): void {
  if (rc >= 0) return;
  const errno = lib.errno();
  const hint = errno === ERRNO.EPERM || errno === ERRNO.EACCES ? ` (${HINT})` : errno === ERRNO.EBUSY ? ' (name in use)' : '';
  throw new ErrnoError(errno, `${what}${hint}`);
}

/** SIOCSIFMTU through a throwaway AF_INET socket, in the caller's (= the device's) namespace */
function setMtu(lib: Libc, name: string, mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new ErrnoError('EINVAL', `TAP mtu=${mtu} (68..65535)`);
  const s = lib.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0);
  check(lib, s, 'socket AF_INET');
  try {
    const ifr = new Uint8Array(40);
    ifr.set(Buffer.from(name, 'utf8'));
    new DataView(ifr.buffer).setInt32(16, mtu, true);
    check(lib, lib.ioctlPtr(s, SIOCSIFMTU, ifr), `ioctl SIOCSIFMTU ${name} ${mtu}`);
  } finally {
    lib.close(s);
  }
}
