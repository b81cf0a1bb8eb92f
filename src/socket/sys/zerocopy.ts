/**
 * MSG_ZEROCOPY notification objects (Linux `struct ubuf_info_msgzc`, net/core/skbuff.c
 * `msg_zerocopy_realloc` / `msg_zerocopy_callback` / `msg_zerocopy_put_abort`).
 *
 * Every zero-copy send (user pages or device memory) takes the next value of the socket's u32
 * counter (`ZcSock.zckey`). A send whose bytes would join the write-queue tail skb extends that
 * skb's notification by one id instead of allocating another (while its ids end at the counter,
 * its bytes stay ≤ 512 KiB and its id count below 65535); otherwise a new `MsgZcUbuf` is made.
 * The sendmsg call holds one reference for its duration and gives it back with `netZcopyPut`
 * (bytes were queued) or `netZcopyPutAbort` (nothing was: the id is returned to the counter).
 * When the last reference goes (`UbufInfo` contract, src/skb/ubuf.ts) the range is queued on the
 * socket's error queue, merged with a contiguous tail notification, with
 * SO_EE_CODE_ZEROCOPY_COPIED when some holder copied the bytes. A socket closed by its owner
 * (`dead`) queues nothing, but every object still completes and releases what it holds.
 *
 * Memory: a notification is charged to the socket's `omem` (sk_omem_alloc) from allocation until
 * it is merged, dropped or read; over `optmem_max` the allocation fails and the send gets ENOBUFS.
 */
import type { UbufInfo } from '../../skb/index.js';
import { ERRQ_SKB_TRUESIZE, type ErrQueue } from './errqueue.js';

/** msg_zerocopy_realloc's byte_limit: a notification covers at most a few TSO packets */
export const MSG_ZC_BYTE_LIMIT = 1 << 19;
/** uarg->len is a u16 and stops at USHRT_MAX - 1 */
const MSG_ZC_MAX_LEN = 0xffff - 1;

/** the per-socket zero-copy state (sk_zckey, sk_error_queue, SOCK_DEAD) */
export class ZcSock {
  /** sk_zckey: the id the next new notification takes (u32) */
  zckey = 0;
  /** SOCK_DEAD: the owner closed the socket; completions are dropped */
  dead = false;
  /** notifications not yet completed */
  live = 0;
  /** completions seen (queued, merged or dropped) */
  completed = 0;

  constructor(
    readonly errq: ErrQueue,
    /** SOCK_STREAM (TCP: an extension takes a reference for the call) vs datagram */
    readonly stream: boolean,
  ) {}
}

export class MsgZcUbuf implements UbufInfo {
  refcnt = 1;
  zerocopy = true;
  /** first id */
  id: number;
  /** ids covered (0 after an aborted first send) */
  len = 1;
  /** bytes of the sends covered */
  bytelen: number;
  /** device-memory send (nothing pinned; same notifications) */
  readonly devmem: boolean;
  private done = false;

  constructor(readonly sk: ZcSock, size: number, devmem: boolean) {
    this.id = sk.zckey;
    sk.zckey = (sk.zckey + 1) >>> 0;
    this.bytelen = size;
    this.devmem = devmem;
    sk.live++;
  }

  /** msg_zerocopy_complete → __msg_zerocopy_callback */
  complete(): void {
    if (this.done) throw new Error('zerocopy notification completed twice');
    this.done = true;
    const sk = this.sk;
    sk.live--;
    sk.completed++;
    const q = sk.errq;
    if (this.len === 0) {
      q.uncharge(ERRQ_SKB_TRUESIZE);
      return;
    }
    const l = q.zcListener;
    if (l !== null) {
      // the promise API takes its completions directly (even after close: its buffer is free)
      q.uncharge(ERRQ_SKB_TRUESIZE);
      l(this.id, (this.id + this.len - 1) >>> 0, !this.zerocopy);
      return;
    }
    if (sk.dead) {
      q.uncharge(ERRQ_SKB_TRUESIZE);
      q.dropped++;
      return;
    }
    q.queueZerocopy(this.id, this.len, !this.zerocopy, ERRQ_SKB_TRUESIZE);
  }
}

/**
 * msg_zerocopy_realloc: the notification for a send of `size` bytes. `tail` is the uarg of the
 * write-queue tail skb the bytes would join (null if none). → an extended `tail` (with one more
 * reference for this call on stream sockets), a new object (one reference: the call's), or null
 * (ENOBUFS: optmem exhausted; for datagrams also when the tail cannot be extended).
 */
export function msgZerocopyRealloc(sk: ZcSock, size: number, tail: UbufInfo | null, devmem = false): MsgZcUbuf | null {
  if (tail !== null && tail instanceof MsgZcUbuf && tail.sk === sk) {
    const bytelen = tail.bytelen + size;
    if (tail.len === MSG_ZC_MAX_LEN || bytelen > MSG_ZC_BYTE_LIMIT) {
      if (!sk.stream) return null;
    } else if (((tail.id + tail.len) >>> 0) === sk.zckey) {
      tail.len++;
      tail.bytelen = bytelen;
      sk.zckey = (sk.zckey + 1) >>> 0;
      // no extra reference when appending to a datagram (MSG_MORE)
      if (sk.stream) tail.refcnt++;
      return tail;
    }
  }
  if (!sk.errq.charge()) return null;
  return new MsgZcUbuf(sk, size, devmem);
}

/** net_zcopy_put: the end of a call that queued bytes drops the call's reference */
export function netZcopyPut(u: UbufInfo): void {
  if (u.refcnt <= 0) throw new Error('ubuf reference underflow');
  if (--u.refcnt === 0) u.complete();
}

/**
 * net_zcopy_put_abort → msg_zerocopy_put_abort: the call queued nothing; its id goes back to the
 * counter (zckey--, len--) and, with `haveUref`, the call's reference is dropped.
 */
export function netZcopyPutAbort(u: UbufInfo, haveUref: boolean): void {
  if (u instanceof MsgZcUbuf) {
    const sk = u.sk;
    sk.zckey = (sk.zckey - 1) >>> 0;
    u.len--;
  }
  if (haveUref) netZcopyPut(u);
}
