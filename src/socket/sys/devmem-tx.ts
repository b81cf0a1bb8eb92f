/**
 * Devmem TX in `sendmsg` (spec §7; Linux `tcp_sendmsg_locked` with a `sockc.dmabuf_id`,
 * `net_devmem_get_binding`, `zerocopy_fill_skb_from_devmem`). A TCP send whose msg_control
 * carries cmsgs goes through `tcpSendmsgCmsg` first; it returns null when the call is an ordinary
 * one (valid cmsgs, no SCM_DEVMEM_DMABUF) and the caller carries on with the copy path.
 *
 * Validation order, as Linux 6.16–6.18 (each step's errno is what the call returns when nothing
 * was queued yet):
 *  0. (syscall) more than UIO_MAXIOV iovecs → EMSGSIZE; a negative iov_len → EINVAL; an iovec
 *     outside the user address space (access_ok) → EFAULT, nothing sent; a control buffer the
 *     socket's optmem cannot hold (sock_kmalloc: omem + len < optmem_max) → ENOBUFS;
 *  1. `sock_cmsg_send`: a bad cmsg is remembered, not returned (Fast Open may still succeed);
 *  2. MSG_ZEROCOPY, size > 0 and SO_ZEROCOPY: the completion (`msg_zerocopy_realloc`, ENOBUFS),
 *     then the binding: unknown id, an RX binding, one being unbound → EINVAL; the socket's
 *     route missing and not rebuildable → EHOSTUNREACH; route device ≠ binding device (or the
 *     device went away, or an unconnected socket) → ENODEV;
 *  3. a binding id without MSG_ZEROCOPY or without SO_ZEROCOPY → EINVAL;
 *  4. the connection wait (EPIPE / pending error / EAGAIN), as every TCP send;
 *  5. the remembered cmsg error (EINVAL for a wrong SCM_DEVMEM_DMABUF cmsg_len);
 *  6. EPIPE after shutdown or a socket error;
 *  7. frags: for each byte range, `virt = iov_base + progress`; `virt ≥ dma-buf size` → EFAULT
 *     (the record being filled loses this call's bytes; those of records completed before win:
 *     a short count); one frag per net_iov piece
 *     `(niov, virt % niov_size, min(rest of the net_iov, rest of the iovec))`, each holding a
 *     net_iov reference.
 * The binding reference and the call's completion reference are held until the call returns
 * (also across waits for space: `devmemSendRelease` drops them if a waiting call is abandoned).
 */
import type { DmabufBinding } from '../../mem/index.js';
import type { UbufInfo } from '../../skb/index.js';
import { TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, type TcpProto, type TcpSock } from '../../tcp/index.js';
import { tcpPush, tcpSendmsgBegin, tcpSendmsgEnd, tcpSendmsgFrag, tcpSendSpace } from '../../tcp/write-queue/index.js';
import { ERRNO, MSG_MORE, MSG_ZEROCOPY } from '../../uapi/index.js';
import { sockCmsgSend, type CmsgSendSock } from './cmsg.js';
import { UIO_MAXIOV, type DevmemSendState, type MsgHdr } from './msghdr.js';
import { msgZerocopyRealloc, netZcopyPut, netZcopyPutAbort, type ZcSock } from './zerocopy.js';

/** Linux net.core.optmem_max default (6.x): the largest msg_control a send may copy in */
export const OPTMEM_MAX = 131072;
/** Linux MAX_RW_COUNT: a call covers at most this many bytes (INT_MAX & PAGE_MASK) */
export const MAX_RW_COUNT = 0x7ffff000;
/** x86-64 USER_PTR_MAX (4-level paging: TASK_SIZE_MAX - 1): the last byte access_ok accepts */
export const USER_PTR_MAX = 0x7fffffffefff;
/** ____sys_sendmsg's on-stack control buffer (sizeof(struct cmsghdr) + 20): larger ones are sock_kmalloc'd */
const CTL_ONSTACK = 36;

/** what the devmem path needs from the TCP socket file */
export interface DevmemSendSock {
  readonly tp: TcpSock;
  readonly tcp: TcpProto;
  /** takes the pending hard error (sock_error): positive errno or 0 */
  takeError(): number;
  /** SEND_SHUTDOWN is set (shutdown(SHUT_WR) by the user or TCP) */
  readonly sendShutdown: boolean;
  /** the socket's zero-copy state (notification ids, error queue) */
  readonly zc: ZcSock;
  /** tcp_tx_timestamp at `out:`: the call's last queued byte is a timestamp key (when enabled) */
  tsPartialSend(): void;
}

/** what __sock_cmsg_send checks, for a TCP socket (no SO_TXTIME; SCM_TS_OPT_ID refused on TCP anyway) */
const TCP_CMSG_SOCK: CmsgSendSock = { isTcp: true, txtime: false, tsflags: 0 };

/**
 * The cmsg-carrying TCP sendmsg. Returns null when the call is not a devmem send (the caller
 * continues with the ordinary path), otherwise what `TcpSockFile.sendmsg` returns: the bytes
 * queued, -EAGAIN (blocking callers wait and call again with the same MsgHdr), or -errno.
 */
export function tcpSendmsgCmsg(sk: DevmemSendSock, msg: MsgHdr, flags: number, nonblock: boolean): number | null {
  const first = !msg.started;
  const st = msg.devmemState();
  const tp = sk.tp;
  if (!first && !st.owned) return null;
  if (first) {
    // ---- ____sys_sendmsg: iovecs and control buffer ----
    const cnt = msg.devIov === null ? 0 : msg.devIovCnt;
    if (cnt > UIO_MAXIOV || cnt < 0) return -ERRNO.EMSGSIZE;
    const size = iovTotal(msg, cnt);
    if (size < 0) return size;
    const control = msg.control;
    const clen = control === null ? 0 : control.length;
    // sock_kmalloc of the control buffer (beyond the on-stack one): omem + len < optmem_max
    const q = sk.zc.errq;
    if (clen > CTL_ONSTACK && (clen > q.optmemMax || q.omem + clen >= q.optmemMax)) return -ERRNO.ENOBUFS;
    // ---- tcp_sendmsg_locked ----
    st.size = size;
    st.sockcErr = clen > 0 ? sockCmsgSend(control!, clen, TCP_CMSG_SOCK, st.sockc) : 0;
    const dmabufId = st.sockcErr === 0 ? st.sockc.dmabufId : 0;
    if (st.sockcErr === 0 && dmabufId === 0 && msg.devIov === null) return null;
    msg.started = true;
    st.owned = true;
    if ((flags & MSG_ZEROCOPY) !== 0 && size > 0 && tp.zerocopy) {
      const uarg = msgZerocopyRealloc(sk.zc, size, tailUarg(sk), dmabufId !== 0);
      if (uarg === null) return -ERRNO.ENOBUFS;
      st.uarg = uarg;
      if (dmabufId !== 0) {
        const r = getBinding(sk, dmabufId, st);
        if (r !== 0) return outErr(st, r);
      }
    }
    if (dmabufId !== 0 && ((flags & MSG_ZEROCOPY) === 0 || !tp.zerocopy)) return outErr(st, ERRNO.EINVAL);
  }
  // ---- the connection wait (sk_stream_wait_connect) ----
  const state = tp.state;
  if (state !== TCP_ESTABLISHED && state !== TCP_CLOSE_WAIT) {
    const e = sk.takeError();
    if (e !== 0) return doError(sk, msg, st, flags, e);
    if (state !== TCP_SYN_SENT && state !== TCP_SYN_RECV) return doError(sk, msg, st, flags, ERRNO.EPIPE);
    if (nonblock) return doError(sk, msg, st, flags, ERRNO.EAGAIN);
    return -ERRNO.EAGAIN;
  }
  if (st.sockcErr !== 0) return outErr(st, -st.sockcErr);
  if (tp.error !== 0 || sk.sendShutdown || tp.shutWr) {
    const e = tp.error !== 0 ? sk.takeError() : ERRNO.EPIPE;
    return doError(sk, msg, st, flags, e);
  }
  if (st.binding === null) {
    // iovecs of host addresses (no devmem cmsg): our model has no user memory behind them
    if (st.size > 0 && st.sockc.dmabufId === 0) return doError(sk, msg, st, flags, ERRNO.EFAULT);
    // a devmem send of 0 bytes: nothing looked up, nothing queued
    return finish(sk, msg, st, flags);
  }
  return fillFromDevmem(sk, msg, st, flags, nonblock);
}

/**
 * import_iovec: the sum of the iovec lengths (capped at MAX_RW_COUNT), -EINVAL for a bad length
 * (every iovec is copied in and checked first), then -EFAULT for an iovec outside the user
 * address space (access_ok: iov_base + iov_len ≤ USER_PTR_MAX; an iov_base no pointer can have —
 * fractional, NaN, negative — is one). Nothing is sent when any iovec is bad.
 */
function iovTotal(msg: MsgHdr, cnt: number): number {
  const v = msg.devIov;
  if (v === null) return msg.iovLen;
  let total = 0;
  for (let i = 0; i < cnt; i++) {
    const len = v[2 * i + 1]!;
    if (!(len >= 0) || !Number.isInteger(len)) return -ERRNO.EINVAL;
  }
  for (let i = 0; i < cnt; i++) {
    const base = v[2 * i]!;
    const len = v[2 * i + 1]!;
    if (!Number.isInteger(base) || base < 0 || base + len > USER_PTR_MAX) return -ERRNO.EFAULT;
    total += len;
  }
  return Math.min(total, MAX_RW_COUNT);
}

/**
 * `net_devmem_get_binding`: a TX binding by id (reference taken) whose device is the one the
 * socket's route leaves through. 0 or a positive errno.
 */
function getBinding(sk: DevmemSendSock, id: number, st: DevmemSendState): number {
  const tp = sk.tp;
  const binding = sk.tcp.mem.bindings.getTx(id);
  if (binding === null) return ERRNO.EINVAL;
  let dev = tp.routeDev;
  if (dev === null && tp.state !== TCP_CLOSE && tp.state !== TCP_LISTEN) {
    // the cached route expired: rebuild it (inet_sk_rebuild_header)
    const rt = tp.oif !== 0 ? sk.tcp.ip.route(tp.raddr, tp.oif) : sk.tcp.ip.route(tp.raddr);
    if (rt === null) {
      binding.put();
      return ERRNO.EHOSTUNREACH;
    }
    tp.routeDev = rt.dev;
    dev = rt.dev;
  }
  // the binding's DMA addresses work on its own device only; an unconnected socket routes to lo
  if (dev === null || binding.dev === null || dev !== binding.dev) {
    binding.put();
    return ERRNO.ENODEV;
  }
  st.binding = binding;
  return 0;
}

/**
 * `zerocopy_fill_skb_from_devmem` over what is left of the iovecs, appended to the write queue
 * piece by piece (each piece inside one net_iov; the queue cuts records at its size goal and
 * frag slots, as `skb_zerocopy_iter_stream`'s EMSGSIZE → new_segment does).
 */
function fillFromDevmem(sk: DevmemSendSock, msg: MsgHdr, st: DevmemSendState, flags: number, nonblock: boolean): number {
  const tp = sk.tp;
  const tcp = sk.tcp;
  const binding = st.binding!;
  const vec = msg.devIov;
  const cnt = msg.devIovCnt;
  const size = binding.dmabuf.size;
  const niovSize = binding.niovSize;
  // iov_base of a byte buffer is a host address, far past any dma-buf
  if (vec === null) return doError(sk, msg, st, flags, ERRNO.EFAULT);
  // refreshes the size goal (tcp_send_mss); the state was checked above
  const e = tcpSendmsgBegin(tcp, tp);
  if (e < 0) return doError(sk, msg, st, flags, -e);
  // an iteration of tcp_sendmsg_locked's loop starts here (call start, or resumed after a wait)
  const entrySeq = tp.sendBuf.endSeq;
  // the iterator starts ON a leading empty iovec (iov_iter_init skips nothing; advancing skips
  // the later ones): zerocopy_fill_skb_from_devmem looks its iov_base up (a 0-byte frag) first
  if (msg.done === 0 && st.iovIdx === 0 && st.iovPos === 0 && cnt > 1 && vec[1] === 0 && !(vec[0]! < size)) {
    return doError(sk, msg, st, flags, ERRNO.EFAULT);
  }
  while (msg.done < st.size) {
    if (st.iovIdx >= cnt) break;
    const base = vec[2 * st.iovIdx]!;
    const ilen = vec[2 * st.iovIdx + 1]!;
    if (st.iovPos >= ilen) {
      st.iovIdx++;
      st.iovPos = 0;
      continue;
    }
    const virt = base + st.iovPos;
    // net_devmem_get_niov_at: nothing at or past the end of the dma-buf
    const ref = virt < size ? binding.niovAt(virt) : -1;
    if (ref < 0) return fault(sk, msg, st, flags, entrySeq);
    if (tcpSendSpace(tp) <= 0) {
      // wait_for_space: what was queued goes out first (tcp_push without MSG_MORE)
      if (msg.done > 0) tcpPush(tcp, tp, flags & ~MSG_MORE);
      if (nonblock) return doError(sk, msg, st, flags, ERRNO.EAGAIN);
      return -ERRNO.EAGAIN;
    }
    const off = virt % niovSize;
    const len = Math.min(niovSize - off, ilen - st.iovPos, st.size - msg.done);
    // the write queue takes its own net_iov reference per frag (get_netmem)
    if (!tcpSendmsgFrag(tcp, tp, ref, off, len, st.uarg)) return fault(sk, msg, st, flags, entrySeq);
    st.iovPos += len;
    msg.done += len;
  }
  return finish(sk, msg, st, flags);
}

/**
 * EFAULT while filling: `skb_zerocopy_iter_stream` trims the skb being filled back to its length
 * before this iteration (so a fault inside the first skb of a call queues nothing: EFAULT), and
 * the call returns the bytes of the skbs it completed before (a short count), if any. The skb
 * being filled is the tail record when the next piece would still join it; the iteration began
 * at the later of its start and `entrySeq`.
 */
function fault(sk: DevmemSendSock, msg: MsgHdr, st: DevmemSendState, flags: number, entrySeq: number): number {
  const q = sk.tp.sendBuf;
  const t = q.tail;
  if (msg.done > 0 && t !== null && q.canJoin(t, st.uarg, true) && t.len < q.sizeGoal && t.nrFrags < q.maxFrags) {
    msg.done -= q.trimTail(((t.seq - entrySeq) | 0) > 0 ? t.seq : entrySeq);
  }
  return doError(sk, msg, st, flags, ERRNO.EFAULT);
}

/** `skb_zcopy(tcp_write_queue_tail(sk))`: the unsent tail record's completion, or null */
function tailUarg(sk: DevmemSendSock): UbufInfo | null {
  const q = sk.tp.sendBuf;
  const t = q.tail;
  return t !== null && q.sendHead !== null ? t.uarg : null;
}

/** out: the end of a call (maybe 0 bytes): tcp_push what was queued, drop the call's references */
function finish(sk: DevmemSendSock, msg: MsgHdr, st: DevmemSendState, flags: number): number {
  if (msg.done > 0) {
    sk.tsPartialSend();
    tcpSendmsgEnd(sk.tcp, sk.tp, flags);
  }
  release(st, msg.done === 0);
  return msg.done;
}

/** do_error: bytes already queued win over the error */
function doError(sk: DevmemSendSock, msg: MsgHdr, st: DevmemSendState, flags: number, e: number): number {
  if (msg.done > 0) return finish(sk, msg, st, flags);
  return outErr(st, e);
}

/** out_err: nothing queued; the completion is aborted (no notification), the binding dropped */
function outErr(st: DevmemSendState, e: number): number {
  release(st, true);
  return -e;
}

function release(st: DevmemSendState, abort: boolean): void {
  const u = st.uarg;
  if (u !== null) {
    st.uarg = null;
    if (abort) netZcopyPutAbort(u, true);
    else netZcopyPut(u);
  }
  const b: DmabufBinding | null = st.binding;
  if (b !== null) {
    st.binding = null;
    b.put();
  }
}

/**
 * A devmem call that waited is abandoned (its socket closed, the promise gave up): drop the
 * binding and completion references it still holds. Idempotent.
 */
export function devmemSendRelease(msg: MsgHdr): void {
  const st = msg.devmem;
  if (st !== null) release(st, msg.done === 0);
}
