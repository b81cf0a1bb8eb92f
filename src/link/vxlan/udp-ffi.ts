/**
 * `FfiUdp`: one non-blocking UDP socket driven through libc (koffi) on the main thread, the
 * datagram transport of `VxlanLink` when koffi loads (`io: 'ffi'`, the default).
 *
 * Why not `node:dgram`: every dgram datagram costs a Buffer and an `rinfo` object on receive, and
 * on send a validation pass, a `SendWrap`, an array and a `process.nextTick` for the callback;
 * after an idle gap that cold JavaScript is most of a ping's round trip (measured: a bare dgram
 * echo 0.34–0.60 ms, the same echo through libc 0.18–0.27 ms, 50 ms between pings). Here a
 * datagram is one `recvfrom` into a reused buffer and one synchronous `sendto` from one.
 *
 * Contract:
 *  - `FfiUdp.open(family, address, port, scope)` creates, binds (no SO_REUSEADDR: a port in use
 *    is EADDRINUSE) and returns the socket, or throws `ErrnoError` with the syscall's errno;
 *  - `start(onReadable, onWritable)` watches the fd with libuv (`koffi.node.poll`, level
 *    triggered): `onReadable` runs from the event loop's I/O phase and reads with `recv` until
 *    it returns -EAGAIN (or its own budget); `wantWrite()` adds one `onWritable` call once the
 *    socket can take a datagram again (after a -EAGAIN from `send`);
 *  - `recv(buf)` returns the datagram's length (truncated to `buf.length`) or -errno; the
 *    source address is compared with `setPeer`'s by `fromPeer()` without building a string;
 *  - `send(buf, len)` sends `buf[0..len)` to the peer synchronously: the length, or -errno
 *    (-EAGAIN: the socket buffer is full, nothing was sent);
 *  - `txArea` is a send buffer whose address libc is given once: `sendArea(off, len, segSize)`
 *    sends `txArea[off..off+len)` to the peer with one `sendmsg`, cut by the kernel into
 *    datagrams of `segSize` bytes (the last may be shorter) when `segSize` > 0 (UDP GSO, the
 *    `UDP_SEGMENT` control message of Linux ≥ 4.18), else as one datagram. All or nothing: the
 *    bytes sent, or -errno (the kernel's refusals of GSO — EMSGSIZE, EINVAL, EIO — come back
 *    as such); `gsoCapable` is false where the layout of `struct msghdr` here is not LP64 (then
 *    no GSO, and `recvMany` reads one datagram per call);
 *  - `recvMany(max)` reads up to `max` datagrams (at most `rxSlots`) with one `recvmmsg` into
 *    per-slot buffers of `rxSlotBytes` each: their count, or -errno (-EAGAIN: none waiting).
 *    `slotBuf(i)` / `slotLen(i)` / `slotTruncated(i)` / `slotFromPeer(i)` describe datagram i
 *    until the next call (a datagram longer than a slot is truncated and flagged);
 *  - `close()` stops the watcher and closes the fd; idempotent. Nothing allocates per datagram.
 */
import { createRequire } from 'node:module';
import { InetAddr, writeAddr } from '../../inet/index.js';
import { ERRNO, ErrnoError } from '../../uapi/errno.js';

type Koffi = typeof import('koffi');

/** koffi 3.3's uv_poll wrapper calls back with (status, events) */
type PollCb = (status: number | PollEvents, ev?: PollEvents) => void;
interface PollEvents { readable: boolean; writable: boolean; disconnect: boolean }
interface PollHandle {
  start(opts: { readable?: boolean; writable?: boolean }, cb: PollCb): void;
  close(): void;
}

type Fn = (...args: unknown[]) => unknown;

interface UdpLibc {
  koffi: Koffi;
  socket: Fn;
  bind: Fn;
  getsockname: Fn;
  setsockopt: Fn;
  recvfrom: Fn;
  sendto: Fn;
  sendmsg: Fn;
  recvmmsg: Fn;
  close: Fn;
  ifIndex: Fn;
}

let cached: UdpLibc | null = null;
let loadError: string | null = null;

/** binds the few libc calls (once); null when koffi cannot load (`ffiUnavailable()` says why) */
function udpLibc(): UdpLibc | null {
  if (cached !== null || loadError !== null) return cached;
  try {
    const k = createRequire(import.meta.url)('koffi') as Koffi;
    const lib = k.load('libc.so.6');
    cached = {
      koffi: k,
      socket: lib.func('int socket(int domain, int type, int protocol)') as Fn,
      bind: lib.func('int bind(int fd, const void *addr, uint32_t len)') as Fn,
      getsockname: lib.func('int getsockname(int fd, void *addr, void *len)') as Fn,
      setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)') as Fn,
      recvfrom: lib.func('long recvfrom(int fd, void *buf, size_t n, int flags, void *addr, void *len)') as Fn,
      sendto: lib.func('long sendto(int fd, const void *buf, size_t n, int flags, const void *addr, uint32_t len)') as Fn,
      sendmsg: lib.func('long sendmsg(int fd, const void *msg, int flags)') as Fn,
      recvmmsg: lib.func('int recvmmsg(int fd, void *vec, unsigned int vlen, int flags, void *timeout)') as Fn,
      close: lib.func('int close(int fd)') as Fn,
      ifIndex: lib.func('unsigned int if_nametoindex(const char *name)') as Fn,
    };
  } catch (e) {
    loadError = e instanceof Error ? e.message : String(e);
  }
  return cached;
}

/** why the libc transport is not available (koffi failed to load), or null when it is */
export function ffiUnavailable(): string | null {
  udpLibc();
  return loadError;
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const MSG_DONTWAIT = 0x40;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
/** bytes of `txArea`: the largest UDP payload (IPv6: 65535 − 8) */
export const TX_AREA_BYTES = 65527;
/**
 * `ctl`: the LP64 layout of one `struct msghdr` (56 bytes at 0), its `struct iovec` (16 at 64),
 * a control buffer of CMSG_SPACE(2) (24 at 80) holding one `UDP_SEGMENT` message, and the peer's
 * sockaddr (28 at 112)
 */
const CTL_BYTES = 144;
const MSG_OFF = 0;
const IOV_OFF = 64;
const CMSG_OFF = 80;
const CMSG_SPACE_U16 = 24;
const CMSG_LEN_U16 = 18;
const SA_OFF = 112;
const TWO32 = 4294967296;
/** `struct mmsghdr` (LP64): a msghdr, then `msg_len`, padded to 64 bytes */
const MMSG_BYTES = 64;
const MMSG_LEN_OFF = 56;
const MSGHDR_FLAGS_OFF = 48;
const MSG_TRUNC = 0x20;
/** the most datagrams one `recvMany` reads, and the memory its slots may take */
export const RX_SLOTS_MAX = 64;
const RX_AREA_MAX = 1 << 20;
const EAGAIN = ERRNO.EAGAIN;
const EINTR = ERRNO.EINTR;

/** `struct sockaddr_in` / `sockaddr_in6` for `address` (text, no scope) and `port`, scope id given */
function sockaddr(family: 4 | 6, address: string, port: number, scopeId: number): Uint8Array {
  const a = InetAddr.parse(address);
  const sa = new Uint8Array(family === 4 ? 16 : 28);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, family === 4 ? AF_INET : AF_INET6, true);
  dv.setUint16(2, port);
  if (family === 4) {
    dv.setUint32(4, a.w3);
  } else {
    writeAddr(dv, 8, a);
    dv.setUint32(24, scopeId, true);
  }
  return sa;
}

export class FfiUdp {
  private handle: PollHandle | null = null;
  private closed = false;
  private wantW = false;
  private onReadable: (() => void) | null = null;
  private onWritable: (() => void) | null = null;
  /** the peer's sockaddr (sendto) and the bytes `fromPeer` compares (address only) */
  private peer: Uint8Array = new Uint8Array(0);
  private peerOff = 0;
  private peerLen = 0;
  /** recvfrom's source address and its length (reused) */
  private readonly from: Uint8Array;
  private readonly fromLen = new Int32Array(1);
  /** `sendArea`'s buffer; its address (and ctl's) are written into ctl once */
  readonly txArea = new Uint8Array(TX_AREA_BYTES);
  private readonly txAddr: number;
  private readonly ctl = new Uint8Array(CTL_BYTES);
  private readonly ctlDv = new DataView(this.ctl.buffer);
  readonly gsoCapable: boolean;

  /** `recvMany`: slots of `rxSlotBytes`, their source addresses, the mmsghdr/iovec vector */
  readonly rxSlots: number;
  readonly rxSlotBytes: number;
  private readonly rxArea: Uint8Array;
  private readonly rxSlotBufs: Uint8Array[] = [];
  private readonly rxNames: Uint8Array;
  private readonly rxVec: Uint8Array;
  private readonly rxVecDv: DataView;

  private constructor(private readonly lib: UdpLibc, readonly fd: number, readonly family: 4 | 6, rxSlotBytes: number) {
    this.from = new Uint8Array(family === 4 ? 16 : 28);
    this.rxSlotBytes = rxSlotBytes;
    this.rxSlots = Math.max(1, Math.min(RX_SLOTS_MAX, Math.floor(RX_AREA_MAX / rxSlotBytes)));
    this.rxArea = new Uint8Array(this.rxSlots * rxSlotBytes);
    for (let i = 0; i < this.rxSlots; i++) this.rxSlotBufs.push(this.rxArea.subarray(i * rxSlotBytes, (i + 1) * rxSlotBytes));
    this.rxNames = new Uint8Array(this.rxSlots * 32);
    // mmsghdrs, then one iovec per slot
    this.rxVec = new Uint8Array(this.rxSlots * (MMSG_BYTES + 16));
    this.rxVecDv = new DataView(this.rxVec.buffer);
    const k = lib.koffi;
    this.gsoCapable = k.sizeof('void *') === 8 && k.sizeof('size_t') === 8;
    // backing stores of ArrayBuffers this size never move: their addresses hold for the object's life
    this.txAddr = Number(k.address(this.txArea));
    if (this.gsoCapable) {
      const ctlAddr = Number(k.address(this.ctl));
      const dv = this.ctlDv;
      setPtr(dv, MSG_OFF, ctlAddr + SA_OFF); // msg_name (msg_namelen in setPeer)
      setPtr(dv, MSG_OFF + 16, ctlAddr + IOV_OFF); // msg_iov
      setPtr(dv, MSG_OFF + 24, 1); // msg_iovlen
      setPtr(dv, MSG_OFF + 32, ctlAddr + CMSG_OFF); // msg_control (msg_controllen per send)
      setPtr(dv, CMSG_OFF, CMSG_LEN_U16); // cmsg_len
      dv.setInt32(CMSG_OFF + 8, SOL_UDP, true);
      dv.setInt32(CMSG_OFF + 12, UDP_SEGMENT, true);
      const areaAddr = Number(k.address(this.rxArea));
      const namesAddr = Number(k.address(this.rxNames));
      const vecAddr = Number(k.address(this.rxVec));
      const v = this.rxVecDv;
      const iov0 = this.rxSlots * MMSG_BYTES;
      for (let i = 0; i < this.rxSlots; i++) {
        const m = i * MMSG_BYTES;
        setPtr(v, m, namesAddr + 32 * i); // msg_name
        setPtr(v, m + 16, vecAddr + iov0 + 16 * i); // msg_iov
        setPtr(v, m + 24, 1); // msg_iovlen
        setPtr(v, iov0 + 16 * i, areaAddr + i * rxSlotBytes); // iov_base
        setPtr(v, iov0 + 16 * i + 8, rxSlotBytes); // iov_len
      }
    }
  }

  /**
   * a bound socket whose `recvMany` slots hold `rxSlotBytes` each (the largest datagram its user
   * takes); throws `ErrnoError` (socket / bind / EOPNOTSUPP when koffi is missing)
   */
  static open(family: 4 | 6, address: string, port: number, scope: string, rxSlotBytes = 65536): FfiUdp {
    const lib = udpLibc();
    if (lib === null) throw new ErrnoError('EOPNOTSUPP', 'vxlan', { msg: `the libc transport needs koffi, which failed to load: ${loadError ?? ''}` });
    const fd = lib.socket(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
    if (fd < 0) throw new ErrnoError(lib.koffi.errno(), 'socket');
    const s = new FfiUdp(lib, fd, family, rxSlotBytes);
    try {
      if (family === 6) s.setInt(IPPROTO_IPV6, IPV6_V6ONLY, 1, 'setsockopt');
      const sa = sockaddr(family, address, port, s.scopeId(scope));
      if ((lib.bind(fd, sa, sa.length) as number) !== 0) throw new ErrnoError(lib.koffi.errno(), 'bind');
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** the interface index of a `%scope` (a name or a number); 0 when none */
  private scopeId(scope: string): number {
    if (scope === '') return 0;
    if (/^[0-9]+$/.test(scope)) return Number(scope);
    const idx = this.lib.ifIndex(scope) as number;
    if (idx === 0) throw new ErrnoError('ENODEV', 'if_nametoindex', { msg: `no interface '${scope}'` });
    return idx;
  }

  private setInt(level: number, name: number, v: number, what: string): void {
    const val = new Int32Array([v]);
    if ((this.lib.setsockopt(this.fd, level, name, val, 4) as number) !== 0) throw new ErrnoError(this.lib.koffi.errno(), what);
  }

  /** SO_RCVBUF / SO_SNDBUF requests (the kernel clamps); false when one failed */
  setBuffers(rcv: number, snd: number): boolean {
    try {
      this.setInt(SOL_SOCKET, SO_RCVBUF, rcv, 'setsockopt');
      this.setInt(SOL_SOCKET, SO_SNDBUF, snd, 'setsockopt');
      return true;
    } catch {
      return false;
    }
  }

  /** the bound port */
  localPort(): number {
    const sa = new Uint8Array(28);
    const len = new Int32Array([28]);
    if ((this.lib.getsockname(this.fd, sa, len) as number) !== 0) throw new ErrnoError(this.lib.koffi.errno(), 'getsockname');
    return (sa[2]! << 8) | sa[3]!;
  }

  /** where `send` goes, and whose datagrams `fromPeer` accepts */
  setPeer(address: string, port: number, scope: string): void {
    this.peer = sockaddr(this.family, address, port, this.scopeId(scope));
    this.peerOff = this.family === 4 ? 4 : 8;
    this.peerLen = this.family === 4 ? 4 : 16;
    this.ctl.set(this.peer, SA_OFF);
    this.ctlDv.setUint32(MSG_OFF + 8, this.peer.length, true);
  }

  start(onReadable: () => void, onWritable: () => void): void {
    if (this.closed || this.handle !== null) return;
    this.onReadable = onReadable;
    this.onWritable = onWritable;
    const poll = this.lib.koffi.node.poll as unknown as (fd: number, o: { readable: boolean }, cb: PollCb) => PollHandle;
    this.handle = poll(this.fd, { readable: true }, this.onEvent);
  }

  /** one `onWritable` once the socket can take a datagram again */
  wantWrite(): void {
    if (this.wantW || this.closed || this.handle === null) return;
    this.wantW = true;
    this.handle.start({ readable: true, writable: true }, this.onEvent);
  }

  private readonly onEvent = (status: number | PollEvents, events?: PollEvents): void => {
    if (this.closed) return;
    const ev = typeof status === 'object' ? status : events;
    if (ev === undefined) return;
    if (ev.writable && this.wantW) {
      this.wantW = false;
      this.handle?.start({ readable: true }, this.onEvent);
      this.onWritable?.();
    }
    if (ev.readable && !this.closed) this.onReadable?.();
  };


  /**
   * one datagram into `buf` (truncated to its length): its length, or -errno; with `trunc` the
   * datagram's real length even when longer than `buf` (MSG_TRUNC)
   */
  recv(buf: Uint8Array, trunc = false): number {
    if (this.closed) return -ERRNO.EBADF;
    const flags = trunc ? MSG_DONTWAIT | MSG_TRUNC : MSG_DONTWAIT;
    for (;;) {
      this.fromLen[0] = this.from.length;
      const n = this.lib.recvfrom(this.fd, buf, buf.length, flags, this.from, this.fromLen) as number;
      if (n >= 0) return n;
      const e = this.lib.koffi.errno();
      if (e !== EINTR) return -e;
    }
  }

  /** the last `recv`'s source address is the peer's */
  fromPeer(): boolean {
    return this.sameAsPeer(this.from, 0);
  }

  private sameAsPeer(f: Uint8Array, base: number): boolean {
    const p = this.peer;
    const off = this.peerOff;
    if (f[base] !== p[0] || f[base + 1] !== p[1]) return false;
    for (let i = 0; i < this.peerLen; i++) if (f[base + off + i] !== p[off + i]) return false;
    return true;
  }

  /** up to `max` datagrams (at most `rxSlots`) with one recvmmsg: how many, or -errno (-EAGAIN: none) */
  recvMany(max: number): number {
    if (this.closed) return -ERRNO.EBADF;
    if (!this.gsoCapable) {
      // no LP64 msghdr layout here: one recvfrom into slot 0
      const n = this.recv(this.rxSlotBufs[0]!, true);
      if (n < 0) return n;
      this.rxVecDv.setUint32(MMSG_LEN_OFF, n, true);
      this.rxVecDv.setInt32(MSGHDR_FLAGS_OFF, n > this.rxSlotBytes ? MSG_TRUNC : 0, true);
      this.rxNames.set(this.from, 0);
      return 1;
    }
    const vlen = Math.min(max, this.rxSlots);
    const v = this.rxVecDv;
    const nameLen = this.from.length;
    for (let i = 0; i < vlen; i++) v.setUint32(i * MMSG_BYTES + 8, nameLen, true); // msg_namelen in: the buffer's size
    for (;;) {
      const n = this.lib.recvmmsg(this.fd, this.rxVec, vlen, MSG_DONTWAIT, null) as number;
      if (n >= 0) return n;
      const e = this.lib.koffi.errno();
      if (e !== EINTR) return -e;
    }
  }

  /** slot `i`'s buffer (its datagram starts at 0) */
  slotBuf(i: number): Uint8Array {
    return this.rxSlotBufs[i]!;
  }

  /** the length of datagram `i` of the last `recvMany` (at most `rxSlotBytes`) */
  slotLen(i: number): number {
    return Math.min(this.rxVecDv.getUint32(i * MMSG_BYTES + MMSG_LEN_OFF, true), this.rxSlotBytes);
  }

  /** datagram `i` was longer than its slot (cut) */
  slotTruncated(i: number): boolean {
    return (this.rxVecDv.getInt32(i * MMSG_BYTES + MSGHDR_FLAGS_OFF, true) & MSG_TRUNC) !== 0;
  }

  /** datagram `i` came from the peer's address */
  slotFromPeer(i: number): boolean {
    return this.sameAsPeer(this.rxNames, 32 * i);
  }

  /** `buf[0..len)` to the peer, synchronously: the length sent, or -errno (-EAGAIN: buffer full) */
  send(buf: Uint8Array, len: number): number {
    if (this.closed) return -ERRNO.EBADF;
    for (;;) {
      const n = this.lib.sendto(this.fd, buf, len, MSG_DONTWAIT, this.peer, this.peer.length) as number;
      if (n >= 0) return n;
      const e = this.lib.koffi.errno();
      if (e !== EINTR) return -e;
    }
  }

  /**
   * `txArea[off..off+len)` to the peer with one sendmsg: datagrams of `segSize` bytes (UDP GSO)
   * when `segSize` > 0, else one datagram. The bytes sent, or -errno (-EAGAIN: nothing was sent)
   */
  sendArea(off: number, len: number, segSize: number): number {
    if (this.closed) return -ERRNO.EBADF;
    if (!this.gsoCapable) return segSize > 0 ? -ERRNO.EOPNOTSUPP : this.send(off === 0 ? this.txArea : this.txArea.subarray(off), len);
    const dv = this.ctlDv;
    setPtr(dv, IOV_OFF, this.txAddr + off);
    setPtr(dv, IOV_OFF + 8, len);
    if (segSize > 0) {
      setPtr(dv, MSG_OFF + 40, CMSG_SPACE_U16);
      dv.setUint16(CMSG_OFF + 16, segSize, true);
    } else {
      setPtr(dv, MSG_OFF + 40, 0);
    }
    for (;;) {
      const n = this.lib.sendmsg(this.fd, this.ctl, MSG_DONTWAIT) as number;
      if (n >= 0) return n;
      const e = this.lib.koffi.errno();
      if (e !== EINTR) return -e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle?.close();
    this.handle = null;
    this.onReadable = this.onWritable = null;
    this.lib.close(this.fd);
  }
}

/** a 64-bit little-endian pointer or size at `off` (values below 2^53) */
function setPtr(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % TWO32, true);
  dv.setUint32(off + 4, Math.floor(v / TWO32), true);
}

export { EAGAIN as FFI_EAGAIN };
