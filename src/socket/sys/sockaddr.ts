/**
 * Socket addresses: the `SockAddr` object the syscall layer and the promise API take and return,
 * and byte-exact `struct sockaddr_in` (16 bytes) / `struct sockaddr_in6` (28 bytes) encoding for
 * callers that hold raw buffers (the packetdrill interpreter). Layouts (Linux, little-endian
 * host): `sa_family` u16 host order; `sin_port` u16 network order; `sin_addr` 4 bytes network
 * order; 8 zero bytes. `sin6_flowinfo` u32 network order; `sin6_addr` 16 bytes; `sin6_scope_id`
 * u32 host order.
 *
 * An IPv4 peer of an `AF_INET6` socket appears as a v4-mapped address in a sockaddr_in6 (family
 * AF_INET6): the `InetAddr` is the same object either way (IPv4 is stored v4-mapped), only the
 * `family` field of the SockAddr differs. Ownership: a decoded SockAddr is the caller's.
 */
import { InetAddr } from '../../inet/index.js';
import {
  AF_INET, AF_INET6, AF_UNSPEC, SIN6_LEN_RFC2133, SOCKADDR_IN6_LEN, SOCKADDR_IN_LEN,
} from '../../uapi/index.js';

/** `struct sockaddr_in` / `struct sockaddr_in6` as an object */
export interface SockAddr {
  /** AF_INET or AF_INET6 (AF_UNSPEC only as a connect/bind argument) */
  family: number;
  addr: InetAddr;
  port: number;
  /** sin6_flowinfo (AF_INET6) */
  flowinfo?: number;
  /** sin6_scope_id (AF_INET6): interface index for link-local addresses */
  scopeId?: number;
}

/** the size of the C structure that `sa` stands for (its natural `addrlen`) */
export function sockaddrLen(sa: SockAddr): number {
  return sa.family === AF_INET6 ? SOCKADDR_IN6_LEN : sa.family === AF_INET ? SOCKADDR_IN_LEN : 2;
}

/**
 * Writes `sa` at `off` of `buf` as its C structure; returns the bytes written (16 or 28), or
 * −1 when `buf` is too short (the caller truncates as Linux `move_addr_to_user` does).
 */
export function encodeSockaddr(sa: SockAddr, buf: Uint8Array, off = 0): number {
  const len = sockaddrLen(sa);
  if (buf.length - off < len) return -1;
  const dv = new DataView(buf.buffer, buf.byteOffset + off, len);
  buf.fill(0, off, off + len);
  dv.setUint16(0, sa.family, true);
  if (len === 2) return 2;
  dv.setUint16(2, sa.port & 0xffff);
  if (sa.family === AF_INET) {
    dv.setUint32(4, sa.addr.w3);
    return len;
  }
  dv.setUint32(4, (sa.flowinfo ?? 0) >>> 0);
  dv.setUint32(8, sa.addr.w0);
  dv.setUint32(12, sa.addr.w1);
  dv.setUint32(16, sa.addr.w2);
  dv.setUint32(20, sa.addr.w3);
  dv.setUint32(24, (sa.scopeId ?? 0) >>> 0, true);
  return len;
}

/** `sa` as a fresh buffer of its natural length */
export function sockaddrBytes(sa: SockAddr): Uint8Array {
  const b = new Uint8Array(sockaddrLen(sa));
  encodeSockaddr(sa, b, 0);
  return b;
}

/**
 * Parses a `struct sockaddr` of `len` bytes. Returns null when the bytes cannot hold even a
 * family field or the family's fields (length checks against a socket are the caller's: Linux
 * compares addrlen with `sizeof(struct sockaddr_in)` / SIN6_LEN_RFC2133 per call). A
 * sockaddr_in6 of the RFC 2133 size (24 bytes) has scope id 0. Unknown families decode with
 * family set and the wildcard address, so the caller can answer EAFNOSUPPORT.
 */
export function decodeSockaddr(buf: Uint8Array, off = 0, len = buf.length - off): SockAddr | null {
  if (len < 2 || off + len > buf.length) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset + off, len);
  const family = dv.getUint16(0, true);
  if (family === AF_INET) {
    if (len < SOCKADDR_IN_LEN) return null;
    return { family, addr: InetAddr.v4(dv.getUint32(4)), port: dv.getUint16(2) };
  }
  if (family === AF_INET6) {
    if (len < SIN6_LEN_RFC2133) return null;
    return {
      family, port: dv.getUint16(2), flowinfo: dv.getUint32(4),
      addr: InetAddr.of(dv.getUint32(8), dv.getUint32(12), dv.getUint32(16), dv.getUint32(20)),
      scopeId: len >= SOCKADDR_IN6_LEN ? dv.getUint32(24, true) : 0,
    };
  }
  // AF_UNSPEC and the rest: connect() treats AF_UNSPEC as "disconnect"; bind() on AF_INET allows
  // AF_UNSPEC with INADDR_ANY (a sockaddr_in-shaped buffer)
  const addr = len >= SOCKADDR_IN_LEN ? InetAddr.v4(dv.getUint32(4)) : InetAddr.ANY4;
  return { family, addr, port: len >= 4 ? dv.getUint16(2) : 0 };
}

/** a SockAddr from text: `'10.0.0.1'`, `'fd00::1'`, `'::ffff:10.0.0.1'` (null when malformed) */
export function sockaddrFrom(family: number, address: string, port: number, scopeId = 0): SockAddr | null {
  let a: InetAddr | null;
  if (address === '' || address === 'any') a = family === AF_INET6 ? InetAddr.ANY6 : InetAddr.ANY4;
  else a = InetAddr.tryParse(address);
  if (a === null) return null;
  return family === AF_INET6 ? { family, addr: a, port, flowinfo: 0, scopeId } : { family: family === AF_UNSPEC ? AF_UNSPEC : AF_INET, addr: a, port };
}

/** the address a socket of `sockFamily` reports for `addr` (v4-mapped sockaddr_in6 on AF_INET6) */
export function sockaddrFor(sockFamily: number, addr: InetAddr, port: number, scopeId = 0): SockAddr {
  return sockFamily === AF_INET6 ? { family: AF_INET6, addr, port, flowinfo: 0, scopeId } : { family: AF_INET, addr, port };
}
