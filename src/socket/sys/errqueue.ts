/**
 * The socket error queue (Linux `sk->sk_error_queue`): transmit notifications a socket owner
 * reads with `recvmsg(MSG_ERRQUEUE)`.
 *
 *  - zero-copy completions (`SO_EE_ORIGIN_ZEROCOPY`, ee_info = first id, ee_data = last id),
 *    merged into the tail notification when contiguous, as `__msg_zerocopy_callback` /
 *    `skb_zerocopy_notify_extend` do (the tail keeps its ee_code);
 *  - transmit timestamps (`SO_EE_ORIGIN_TIMESTAMPING`, ee_errno ENOMSG, ee_info = SCM_TSTAMP_*,
 *    ee_data = the key), each with the time it was taken and the bytes Linux clones with it.
 *
 * `recvErrqueue` is `ip_recv_error` / `ipv6_recv_error`: it dequeues one notification, copies its
 * bytes into the iov (MSG_TRUNC when they do not fit), writes `SCM_TIMESTAMPING` (when the socket
 * reports software timestamps) then the `IP_RECVERR` / `IPV6_RECVERR` cmsg — byte-exact
 * `struct sock_extended_err` followed by a zeroed `sockaddr_in` / `sockaddr_in6` offender — with
 * `put_cmsg`'s truncation rule (MSG_CTRUNC), and sets MSG_ERRQUEUE. An empty queue → -EAGAIN.
 *
 * Memory: each queued notification is charged to `omem` (`sk_omem_alloc`, the budget zero-copy
 * sends allocate their notification from); dequeuing, merging or purging uncharges it. Entries
 * are pooled. A queued notification wakes the socket with POLLERR (`sk_error_report`).
 */
import {
  AF_INET6, CMSG_HDR_LEN, CMSG_LEN, CMSG_SPACE, ERRNO, IP_RECVERR, IPV6_RECVERR, MSG_CTRUNC, MSG_ERRQUEUE, MSG_TRUNC,
  POLLERR, SCM_TIMESTAMPING, SCM_TIMESTAMPING_LEN, SOCKADDR_IN6_LEN, SOCKADDR_IN_LEN, SOCK_EXTENDED_ERR_LEN,
  SOF_TIMESTAMPING_OPT_ID, SOF_TIMESTAMPING_SOFTWARE, SOL_IP, SOL_IPV6, SOL_SOCKET, SO_EE_CODE_ZEROCOPY_COPIED,
  SO_EE_ORIGIN_TIMESTAMPING, SO_EE_ORIGIN_ZEROCOPY,
} from '../../uapi/index.js';
import type { MsgHdr } from './msghdr.js';

/** `SKB_TRUESIZE(0)` on x86-64: what one notification skb charges to sk_omem_alloc */
export const ERRQ_SKB_TRUESIZE = 576;
/** net.core.optmem_max default (Linux 6.9+) */
export const OPTMEM_MAX_DEFAULT = 131072;
/** timestamps beyond this many queued are dropped (sock_queue_err_skb's sk_rcvbuf check) */
const MAX_QUEUED_TSTAMPS = 4096;

/** one notification (an error-queue skb) */
export class ErrEntry {
  // struct sock_extended_err
  eeErrno = 0;
  origin = 0;
  type = 0;
  code = 0;
  info = 0;
  data = 0;
  /** when the timestamp was taken (µs of the stack's clock), -1 for none */
  tstampUs = -1;
  /** the bytes a read copies out (the cloned packet of a timestamp); length = skb->len */
  payload: Uint8Array | null = null;
  /** bytes charged to omem */
  charge = 0;
  next: ErrEntry | null = null;
}

/** who the queue wakes (the socket's wait queue) */
export interface ErrQueueWaker {
  wake(mask: number): void;
}

/** a decoded `struct sock_extended_err` */
export interface SockExtendedErr {
  eeErrno: number;
  origin: number;
  type: number;
  code: number;
  pad: number;
  info: number;
  data: number;
}

export class ErrQueue {
  private head: ErrEntry | null = null;
  private tail: ErrEntry | null = null;
  private free: ErrEntry | null = null;
  /** notifications queued */
  length = 0;
  /** timestamps queued (capped) */
  private tstamps = 0;
  /** sk_omem_alloc: bytes charged by live zero-copy notifications (queued or still in flight) */
  omem = 0;
  /** net.core.optmem_max */
  optmemMax = OPTMEM_MAX_DEFAULT;
  /** notifications dropped (queue full, socket dead) */
  dropped = 0;
  /**
   * When set, zero-copy completions go here instead of the queue (the promise API's
   * `send(data, { zerocopy: true })` consumes them itself); args as ee_info, ee_data, copied.
   * MsgZcUbuf.complete calls it.
   */
  zcListener: ((lo: number, hi: number, copied: boolean) => void) | null = null;

  constructor(private readonly waker: ErrQueueWaker) {}

  get empty(): boolean {
    return this.head === null;
  }

  /** charges one notification to omem: false when over optmem_max (the send fails ENOBUFS) */
  charge(): boolean {
    if (this.omem + ERRQ_SKB_TRUESIZE > this.optmemMax) return false;
    this.omem += ERRQ_SKB_TRUESIZE;
    return true;
  }

  uncharge(n: number): void {
    this.omem -= n;
  }

  private take(): ErrEntry {
    const e = this.free;
    if (e === null) return new ErrEntry();
    this.free = e.next;
    e.next = null;
    e.eeErrno = e.origin = e.type = e.code = e.info = e.data = 0;
    e.tstampUs = -1;
    e.payload = null;
    e.charge = 0;
    return e;
  }

  private recycle(e: ErrEntry): void {
    this.uncharge(e.charge);
    e.charge = 0;
    e.payload = null;
    e.next = this.free;
    this.free = e;
  }

  private append(e: ErrEntry): void {
    if (this.tail === null) this.head = e;
    else this.tail.next = e;
    this.tail = e;
    this.length++;
    // sk_error_report
    this.waker.wake(POLLERR);
  }

  /**
   * __msg_zerocopy_callback for ids [lo, lo + len): merges into the tail notification when it is a
   * zero-copy one whose range ends at lo - 1 (and the sum stays below 2^32), else queues a new one
   * that keeps `charge` bytes of omem (uncharged at once when merged).
   */
  queueZerocopy(lo: number, len: number, copied: boolean, charge: number): void {
    lo >>>= 0;
    const hi = (lo + len - 1) >>> 0;
    const t = this.tail;
    if (t !== null && t.origin === SO_EE_ORIGIN_ZEROCOPY) {
      const sum = ((t.data - t.info) >>> 0) + 1 + len;
      if (sum < 4294967296 && lo === ((t.data + 1) >>> 0)) {
        t.data = (t.data + len) >>> 0;
        this.uncharge(charge);
        // the merged skb is consumed; sk_error_report still runs
        this.waker.wake(POLLERR);
        return;
      }
    }
    const e = this.take();
    e.origin = SO_EE_ORIGIN_ZEROCOPY;
    e.info = lo;
    e.data = hi;
    if (copied) e.code = SO_EE_CODE_ZEROCOPY_COPIED;
    e.charge = charge;
    this.append(e);
  }

  /**
   * __skb_complete_tx_timestamp: a timestamp of kind `tstype` (SCM_TSTAMP_*) for `key`, taken at
   * `tstampUs`, with `payload` (null: OPT_TSONLY, an empty skb). ee_data is the key only under
   * SOF_TIMESTAMPING_OPT_ID (`tsflags` at completion), less `tskeyBase` for TCP.
   * Returns false when dropped (queue full).
   */
  queueTstamp(tstype: number, key: number, tsflags: number, tskeyBase: number, tstampUs: number, payload: Uint8Array | null): boolean {
    if (this.tstamps >= MAX_QUEUED_TSTAMPS) {
      this.dropped++;
      return false;
    }
    const e = this.take();
    e.eeErrno = ERRNO.ENOMSG;
    e.origin = SO_EE_ORIGIN_TIMESTAMPING;
    e.info = tstype;
    e.data = tsflags & SOF_TIMESTAMPING_OPT_ID ? (key - tskeyBase) >>> 0 : 0;
    e.tstampUs = tstampUs;
    e.payload = payload;
    this.tstamps++;
    this.append(e);
    return true;
  }

  /** takes the oldest notification (sock_dequeue_err_skb); the caller recycles it with `done` */
  dequeue(): ErrEntry | null {
    const e = this.head;
    if (e === null) return null;
    this.head = e.next;
    if (this.head === null) this.tail = null;
    e.next = null;
    this.length--;
    if (e.origin === SO_EE_ORIGIN_TIMESTAMPING) this.tstamps--;
    return e;
  }

  /** returns a dequeued entry to the pool (uncharging its omem) */
  done(e: ErrEntry): void {
    this.recycle(e);
  }

  /** drops every notification (socket destruction: skb_queue_purge(&sk->sk_error_queue)) */
  purge(): void {
    let e = this.head;
    this.head = this.tail = null;
    this.length = 0;
    this.tstamps = 0;
    while (e !== null) {
      const n = e.next;
      this.recycle(e);
      e = n;
    }
  }
}

/** writes `struct sock_extended_err` at `off` (little-endian, 16 bytes) */
export function encodeSockExtendedErr(dv: DataView, off: number, e: ErrEntry): void {
  dv.setUint32(off, e.eeErrno >>> 0, true);
  dv.setUint8(off + 4, e.origin);
  dv.setUint8(off + 5, e.type);
  dv.setUint8(off + 6, e.code);
  dv.setUint8(off + 7, 0);
  dv.setUint32(off + 8, e.info >>> 0, true);
  dv.setUint32(off + 12, e.data >>> 0, true);
}

/** reads a `struct sock_extended_err` (the first 16 bytes of an IP_RECVERR / IPV6_RECVERR cmsg's data) */
export function decodeSockExtendedErr(b: Uint8Array): SockExtendedErr | null {
  if (b.length < SOCK_EXTENDED_ERR_LEN) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    eeErrno: dv.getUint32(0, true), origin: b[4]!, type: b[5]!, code: b[6]!, pad: b[7]!,
    info: dv.getUint32(8, true), data: dv.getUint32(12, true),
  };
}

/** reads `struct scm_timestamping` (three timespecs) → [sec, nsec] pairs */
export function decodeScmTimestamping(b: Uint8Array): { sec: number; nsec: number }[] | null {
  if (b.length < SCM_TIMESTAMPING_LEN) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: { sec: number; nsec: number }[] = [];
  for (let i = 0; i < 3; i++) out.push({ sec: Number(dv.getBigInt64(i * 16, true)), nsec: Number(dv.getBigInt64(i * 16 + 8, true)) });
  return out;
}

/** the socket an error-queue read is for */
export interface ErrqueueSock {
  readonly family: number;
  /** SO_TIMESTAMPING flags now (sk_tsflags) */
  readonly tsflags: number;
}

/** put_cmsg into msg.control at msg.controlLen: truncates (MSG_CTRUNC) when it does not fit */
class CmsgOut {
  dv: DataView = new DataView(new ArrayBuffer(0));
  buf: Uint8Array = new Uint8Array(0);
  cap = 0;
  len = 0;
  flags = 0;

  reset(control: Uint8Array | null): void {
    if (control === null) {
      this.cap = 0;
    } else {
      if (control !== this.buf) {
        this.buf = control;
        this.dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
      }
      this.cap = control.length;
    }
    this.len = 0;
    this.flags = 0;
  }

  /** reserves a cmsg of `dataLen` bytes; → the data offset, or -1 when nothing was written */
  begin(level: number, type: number, dataLen: number): number {
    const room = this.cap - this.len;
    if (room < CMSG_HDR_LEN) {
      this.flags |= MSG_CTRUNC;
      return -1;
    }
    let cmlen = CMSG_LEN(dataLen);
    if (room < cmlen) {
      this.flags |= MSG_CTRUNC;
      cmlen = room;
    }
    const o = this.len;
    const dv = this.dv;
    dv.setUint32(o, cmlen, true);
    dv.setUint32(o + 4, 0, true);
    dv.setInt32(o + 8, level, true);
    dv.setInt32(o + 12, type, true);
    return o + CMSG_HDR_LEN;
  }

  /** finishes the cmsg begun at data offset `p` with `full` bytes of data written in scratch */
  end(p: number, scratch: Uint8Array, dataLen: number): void {
    const o = p - CMSG_HDR_LEN;
    const cmlen = this.dv.getUint32(o, true);
    const n = cmlen - CMSG_HDR_LEN;
    this.buf.set(scratch.subarray(0, n), p);
    this.len = Math.min(o + CMSG_SPACE(dataLen), this.cap);
  }
}

const out = new CmsgOut();
/** scratch for one cmsg's data (sock_extended_err + sockaddr_in6 = 44 bytes; scm_timestamping 48) */
const scratch = new Uint8Array(64);
const scratchDv = new DataView(scratch.buffer);

/**
 * recvmsg(MSG_ERRQUEUE): ip_recv_error / ipv6_recv_error over `q`. → bytes copied into the iov
 * (0 for a notification without payload), or -EAGAIN when the queue is empty. Sets msg.msgFlags
 * (MSG_ERRQUEUE, MSG_TRUNC, MSG_CTRUNC), msg.controlLen and msg.iovUsed.
 */
export function recvErrqueue(q: ErrQueue, sk: ErrqueueSock, msg: MsgHdr): number {
  const e = q.dequeue();
  if (e === null) return -ERRNO.EAGAIN;
  let flags = 0;
  const pl = e.payload;
  let copied = pl === null ? 0 : pl.length;
  if (copied > msg.iovLen) {
    flags |= MSG_TRUNC;
    copied = msg.iovLen;
  }
  if (copied > 0 && msg.iov !== null && pl !== null) msg.iov.set(pl.subarray(0, copied), msg.iovOff);
  out.reset(msg.control);
  // sock_recv_timestamp → __sock_recv_timestamp: the software stamp when the socket reports them
  if (e.tstampUs >= 0 && (sk.tsflags & SOF_TIMESTAMPING_SOFTWARE) !== 0) {
    const p = out.begin(SOL_SOCKET, SCM_TIMESTAMPING, SCM_TIMESTAMPING_LEN);
    if (p >= 0) {
      scratch.fill(0, 0, SCM_TIMESTAMPING_LEN);
      const sec = Math.floor(e.tstampUs / 1_000_000);
      scratchDv.setBigInt64(0, BigInt(sec), true);
      scratchDv.setBigInt64(8, BigInt((e.tstampUs - sec * 1_000_000) * 1000), true);
      out.end(p, scratch, SCM_TIMESTAMPING_LEN);
    }
  }
  // IP_RECVERR / IPV6_RECVERR: struct { sock_extended_err ee; sockaddr_in(6) offender; } — the
  // offender stays zeroed for zero-copy and timestamp notifications (no OPT_CMSG / ICMP source)
  const v6 = sk.family === AF_INET6;
  const dataLen = SOCK_EXTENDED_ERR_LEN + (v6 ? SOCKADDR_IN6_LEN : SOCKADDR_IN_LEN);
  const p = out.begin(v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_RECVERR : IP_RECVERR, dataLen);
  if (p >= 0) {
    scratch.fill(0, 0, dataLen);
    encodeSockExtendedErr(scratchDv, 0, e);
    out.end(p, scratch, dataLen);
  }
  msg.msgFlags = flags | out.flags | MSG_ERRQUEUE;
  msg.controlLen = out.len;
  msg.iovUsed = copied;
  q.done(e);
  return copied;
}
