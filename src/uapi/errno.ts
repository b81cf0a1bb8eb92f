/**
 * Linux errno values (x86-64 / asm-generic) and `ErrnoError`, the one error type the stack's
 * API throws for failed calls. Imports nothing. `.errno` is the positive Linux number, `.code`
 * its symbolic name, `.extack` the netlink extended-ack (message and/or offending attribute).
 */

export const ERRNO = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12,
  EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, ENOTDIR: 20, EINVAL: 22,
  ENFILE: 23, EMFILE: 24, ENOTTY: 25, ENOSPC: 28, EPIPE: 32, ERANGE: 34, ELOOP: 40, ENOMSG: 42, ENODATA: 61, ENOTSOCK: 88,
  EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93, ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95, EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100,
  ENETUNREACH: 101, ECONNABORTED: 103, ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106,
  ENOTCONN: 107, ESHUTDOWN: 108, ETIMEDOUT: 110, ECONNREFUSED: 111, EHOSTDOWN: 112,
  EHOSTUNREACH: 113, EALREADY: 114, EINPROGRESS: 115,
  /** kernel-internal, but reaches userspace from devmem recvmsg (spec 5.7) */
  ETOOSMALL: 525,
} as const;

export type ErrnoCode = keyof typeof ERRNO;

const NAMES = new Map<number, ErrnoCode>();
for (const [k, v] of Object.entries(ERRNO)) NAMES.set(v, k as ErrnoCode);

/** Name of a positive errno value, or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E${errno}`;
}

/** Netlink extended ack carried by a failed netlink request. */
export interface Extack {
  /** NLMSGERR_ATTR_MSG */
  msg?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute within the request message */
  badAttrOffset?: number;
  /** name of the offending attribute, for humans (not on the wire) */
  badAttr?: string;
  /** NLMSGERR_ATTR_MISS_TYPE: the missing attribute's type */
  missingAttr?: number;
}

/** A failed call: the Linux errno, its name, and (netlink) the extack. */
export class ErrnoError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  readonly extack: Extack | undefined;

  constructor(code: ErrnoCode | number, syscall: string, extack?: Extack) {
    const errno = typeof code === 'number' ? code : ERRNO[code];
    const name = errnoName(errno);
    const detail = extack?.msg ? `: ${extack.msg}` : extack?.badAttr ? ` (bad attribute ${extack.badAttr})` : '';
    super(`${syscall}: ${name}${detail}`);
    this.name = 'ErrnoError';
    this.errno = errno;
    this.code = name;
    this.syscall = syscall;
    this.extack = extack;
  }
}

/** Throws `ErrnoError(code, syscall)`; typed `never` for control flow. */
export function fail(code: ErrnoCode | number, syscall: string, extack?: Extack): never {
  throw new ErrnoError(code, syscall, extack);
}
