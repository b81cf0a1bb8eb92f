/**
 * `sendmsg(MSG_ZEROCOPY)` of caller buffers on a TCP socket (the zero-copy half of Linux
 * `tcp_sendmsg_locked`): with SO_ZEROCOPY on and bytes to send, the call gets a notification
 * (`msgZerocopyRealloc`, extending the unsent tail record's when it can; ENOBUFS when it cannot
 * be had), pins each iovec as user pages (page i of an iovec = its bytes [i*4096, (i+1)*4096)),
 * and queues page pieces as frags of the write queue (`tcpSendmsgFrag`: each frag entry takes
 * its own page reference; records never mix notifications). The bytes are never copied; the
 * notification completes when the write queue and every skb built from the records let go
 * (after the ACK and the NIC, retransmissions included). At the end of the call the pins are
 * dropped, the tail is pushed, and the call's notification reference is given back
 * (`netZcopyPut`, or `netZcopyPutAbort` when nothing was queued: the id returns to the counter).
 *
 * A blocking call that must wait keeps its notification, pins and position in the MsgHdr
 * (`ZcSendState`) and is resumed with it; `zcSendAbandon` releases them if it never is.
 * Iovec lists without MSG_ZEROCOPY (or with SO_ZEROCOPY off) are copied like a plain send.
 */
import { pinUserPages, PAGE_SHIFT, PAGE_SIZE, type UserPages } from '../../mem/index.js';
import { TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_SYN_RECV, TCP_SYN_SENT } from '../../tcp/index.js';
import { tcpSendMss, tcpSendSpace, tcpSendmsgEnd, tcpSendmsgFrag } from '../../tcp/write-queue/index.js';
import { ERRNO, MSG_DONTWAIT, MSG_EOR, MSG_MORE, MSG_ZEROCOPY } from '../../uapi/index.js';
import { UIO_MAXIOV, type MsgHdr } from './msghdr.js';
import type { TcpSockFile } from './tcp-sock.js';
import { msgZerocopyRealloc, netZcopyPut, netZcopyPutAbort, type MsgZcUbuf } from './zerocopy.js';

/** one zero-copy sendmsg's progress, kept in its MsgHdr across waits */
export class ZcSendState {
  /** the call took the zero-copy path (a resumed call goes back to it) */
  owned = false;
  /** the call's notification reference (null: an iovec copy) */
  uarg: MsgZcUbuf | null = null;
  /** the pin of each iovec, made when the call first reaches it */
  pins: (UserPages | null)[] = [];
  /** total bytes of the call */
  size = 0;
  /** iovec and offset where the next piece starts */
  vec = 0;
  pos = 0;

  reset(): void {
    this.owned = false;
    this.uarg = null;
    this.pins.length = 0;
    this.size = 0;
    this.vec = 0;
    this.pos = 0;
  }
}

/** the iovecs of a send: `msg.iovecs`, or the one range of `msg.iov` */
function iovecsOf(msg: MsgHdr): readonly Uint8Array[] {
  if (msg.iovecs !== null) return msg.iovecs;
  return msg.iov === null ? [] : [msg.iov.subarray(msg.iovOff, msg.iovOff + msg.iovLen)];
}

/**
 * The zero-copy (or iovec-list) form of TcpSockFile.sendmsg. → bytes queued, -errno, -EAGAIN /
 * -ENOBUFS for a blocking caller to wait; null when the call is an ordinary contiguous send.
 */
export function tcpSendmsgZerocopy(f: TcpSockFile, msg: MsgHdr, flags: number, nonblock: boolean): number | null {
  const tp = f.tp;
  let st = msg.zc;
  if (msg.started && (st === null || !st.owned)) return null;
  if (!msg.started) {
    const zc = (flags & MSG_ZEROCOPY) !== 0 && tp.zerocopy;
    if (!zc && msg.iovecs === null) return null;
    // __copy_msghdr: more than UIO_MAXIOV iovecs is EMSGSIZE before anything else
    if (msg.iovecs !== null && msg.iovecs.length > UIO_MAXIOV) return -ERRNO.EMSGSIZE;
    if (st === null) st = msg.zc = new ZcSendState();
    st.reset();
    st.owned = true;
    msg.started = true;
    for (const v of iovecsOf(msg)) st.size += v.length;
    if (zc && st.size > 0) {
      // msg_zerocopy_realloc with the unsent tail record's notification
      const q = tp.sendBuf;
      const tail = q.tail !== null && q.sendHead !== null ? q.tail.uarg : null;
      const u = msgZerocopyRealloc(f.zc, st.size, tail);
      if (u === null) return finish(f, msg, st, -ERRNO.ENOBUFS);
      st.uarg = u;
    }
  }
  st = st!;
  nonblock = nonblock || (flags & MSG_DONTWAIT) !== 0;
  const s = tp.state;
  if (s !== TCP_ESTABLISHED && s !== TCP_CLOSE_WAIT) {
    // sk_stream_wait_connect
    const e = f.takeError();
    if (e !== 0) return finish(f, msg, st, -e);
    if (s !== TCP_SYN_SENT && s !== TCP_SYN_RECV) return finish(f, msg, st, -ERRNO.EPIPE);
    if (nonblock) return finish(f, msg, st, -ERRNO.EAGAIN);
    return -ERRNO.EAGAIN;
  }
  if (tp.error !== 0 || f.sendShutdown || tp.shutWr) {
    const e = tp.error !== 0 ? f.takeError() : ERRNO.EPIPE;
    return finish(f, msg, st, -e);
  }
  // tcp_send_mss: the size goal of new records
  if (st.uarg !== null) tcpSendMss(f.tcp, tp);
  const r = st.uarg === null ? copyIovecs(f, msg, st, flags) : queueZerocopy(f, msg, st);
  if (r < 0 && r !== -ERRNO.EAGAIN && r !== -ERRNO.ENOBUFS) {
    if (tp.error !== 0 && r === -tp.error) f.takeError();
    return finish(f, msg, st, r);
  }
  if (msg.done < st.size) {
    // wait_for_space: what is queued goes out (tcp_push without MSG_MORE)
    if (msg.done > 0 && st.uarg !== null) tcpSendmsgEnd(f.tcp, tp, flags & ~(MSG_MORE | MSG_EOR));
    if (nonblock) return finish(f, msg, st, -ERRNO.EAGAIN);
    return r < 0 ? r : -ERRNO.EAGAIN;
  }
  if (st.uarg !== null && msg.done > 0) tcpSendmsgEnd(f.tcp, tp, flags);
  return finish(f, msg, st, msg.done);
}

/** queues page pieces of the iovecs from the call's position while the send buffer has room */
function queueZerocopy(f: TcpSockFile, msg: MsgHdr, st: ZcSendState): number {
  const tp = f.tp;
  const tcp = f.tcp;
  const vecs = iovecsOf(msg);
  const host = tcp.mem.host;
  while (st.vec < vecs.length) {
    const v = vecs[st.vec]!;
    if (st.pos >= v.length) {
      st.vec++;
      st.pos = 0;
      continue;
    }
    let up = st.pins[st.vec] ?? null;
    if (up === null) {
      up = pinUserPages(host, v);
      if (up === null) return -ERRNO.ENOBUFS;
      st.pins[st.vec] = up;
    }
    let space = tcpSendSpace(tp);
    if (space <= 0) return -ERRNO.EAGAIN;
    while (st.pos < v.length && space > 0) {
      const page = st.pos >>> PAGE_SHIFT;
      const off = st.pos & (PAGE_SIZE - 1);
      const n = Math.min(PAGE_SIZE - off, v.length - st.pos, space);
      // tcp_tx_timestamp: the call's last byte is a key before it can go out
      const last = msg.done + n === st.size;
      const key = last ? f.tsKeyForLast(n) : -1;
      if (!tcpSendmsgFrag(tcp, tp, up.ref(page), off, n, st.uarg)) {
        if (key >= 0) f.txTstamp!.dropLastKey(key);
        return -ERRNO.EFAULT;
      }
      st.pos += n;
      msg.done += n;
      space -= n;
    }
  }
  return msg.done;
}

/** an iovec list without zero-copy: each iovec goes through the copy path */
function copyIovecs(f: TcpSockFile, msg: MsgHdr, st: ZcSendState, flags: number): number {
  const vecs = iovecsOf(msg);
  const more = (flags & MSG_MORE) !== 0;
  while (st.vec < vecs.length) {
    const v = vecs[st.vec]!;
    const left = v.length - st.pos;
    if (left <= 0) {
      st.vec++;
      st.pos = 0;
      continue;
    }
    const lastVec = msg.done + left === st.size;
    const key = lastVec ? f.tsKeyForLast(left) : -1;
    // MSG_MORE holds back all but the last iovec's tail; MSG_EOR applies to the end
    const r = f.tcp.userSend(f.tp, v, st.pos, left, more || !lastVec, lastVec && (flags & MSG_EOR) !== 0, msg.done > 0);
    if (key >= 0 && r !== left) f.txTstamp!.dropLastKey(key);
    if (r <= 0) return r;
    st.pos += r;
    msg.done += r;
  }
  return msg.done;
}

/**
 * The end of the call: pins dropped (frags keep what they reference), the notification reference
 * given back — an abort (id returned) when nothing was queued. Bytes queued win over the error.
 */
function finish(f: TcpSockFile, msg: MsgHdr, st: ZcSendState, ret: number): number {
  // a partial send: its last queued byte is the timestamp key (tcp_tx_timestamp at `out:`)
  if (msg.done > 0 && msg.done < st.size) f.tsPartialSend();
  for (const up of st.pins) if (up !== null && up !== undefined) up.unpin();
  st.pins.length = 0;
  const u = st.uarg;
  st.uarg = null;
  if (u !== null) {
    if (msg.done > 0) netZcopyPut(u);
    else netZcopyPutAbort(u, true);
  }
  st.owned = false;
  return msg.done > 0 ? msg.done : ret;
}

/** releases a waiting call's notification reference and pins when it will not be resumed */
export function zcSendAbandon(f: TcpSockFile, msg: MsgHdr): void {
  const st = msg.zc;
  if (st === null || !st.owned) return;
  if (msg.done > 0) tcpSendmsgEnd(f.tcp, f.tp, 0);
  finish(f, msg, st, 0);
}
