/**
 * The queueing half of Linux tcp_sendmsg_locked and tcp_push, over the write queue's records:
 * `tcpSendMss` (tcp_send_mss: the MSS and the size goal of new records), `tcpSendmsg` (copy
 * bytes in: the tail record grows up to the size goal, a full record is pushed — forced_push /
 * tcp_push_one — and a new one starts only while sk_stream_memory_free allows), `tcpPush` (the
 * end of a write: tcp_mark_push unless MSG_MORE, then tcp_write_xmit with the socket's Nagle
 * mode) and the entry points for caller-owned memory (`tcpSendmsgBegin`, `tcpSendSpace`,
 * `tcpSendmsgFrag`, `tcpSendmsgEnd`: MSG_ZEROCOPY pages and devmem TX net_iovs).
 *
 * Contract: results are byte counts or negative errno values, never exceptions; a send short of
 * send buffer or host memory queues what it can and returns it, or -EAGAIN with nothing queued
 * (`tp.memWait` set when host memory was the cause: `tcpWritable` follows when it frees).
 */
import { PAGE_SIZE } from '../../mem/index.js';
import type { UbufInfo } from '../../skb/index.js';
import { ERRNO } from '../../uapi/index.js';
import type { NetmemRef } from '../../mem/index.js';
import { TCP_CHRONO_SNDBUF_LIMITED, tcpChronoStart, tcpChronoStop } from '../chrono.js';
import { TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_SYN_RECV, TCP_SYN_SENT } from '../constants.js';
import { tcpSlowStartAfterIdleCheck, tcpWriteXmitNagle, TCP_NAGLE_CORK, TCP_NAGLE_PUSH, tcpNonagle, tcpSizeGoal } from '../output/xmit.js';
import { tcpNotsentBelowLowat } from '../poll.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';
import type { WqSkb } from './write-queue.js';

/** host pages a send never takes (headers, ACKs, retransmissions need them) */
export const TCP_MEM_RESERVE_PAGES = 32;

/** sendmsg flags the queue acts on (uapi values) */
const MSG_MORE = 0x8000;
const MSG_EOR = 0x80;

/**
 * Linux tcp_send_mss: the current MSS; stores the size goal of new records in the write queue
 * (tcp_xmit_size_goal: the GSO size bounded to half the largest window the peer offered, in
 * whole MSS; one MSS without TSO)
 */
export function tcpSendMss(tcp: TcpProto, tp: TcpSock): number {
  const mss = tp.mss;
  const dev = tp.routeDev;
  let goal = mss;
  // GSO whether or not the device has TSO (see output/xmit.ts)
  if (dev !== null) {
    let g = tcpSizeGoal(tcp, tp, dev.gsoMaxSize);
    // tcp_bound_to_half_wnd
    const cutoff = tp.maxWindow > 536 ? tp.maxWindow >> 1 : tp.maxWindow;
    if (cutoff > 0 && g > cutoff) g = Math.max(cutoff, 68 - 20);
    goal = g - (g % mss);
    if (goal < mss) goal = mss;
  }
  tp.sendBuf.sizeGoal = goal;
  return mss;
}

/** Linux tcp_mark_push: the record ends a push; later bytes count from here for forced_push */
export function tcpMarkPush(tp: TcpSock, r: WqSkb): void {
  r.psh = true;
  tp.pushSeq = tp.sendBuf.endSeq;
}

/** Linux forced_push: more than half the largest peer window was written since the last push */
export function tcpForcedPush(tp: TcpSock): boolean {
  return ((tp.sendBuf.endSeq - ((tp.pushSeq + (tp.maxWindow >>> 1)) | 0)) | 0) > 0;
}

/** Linux sk_stream_memory_free: queued truesize below SO_SNDBUF and unsent bytes below TCP_NOTSENT_LOWAT */
export function tcpStreamMemoryFree(tp: TcpSock): boolean {
  return tp.sendBuf.wmemQueued < tp.sndBuf && tcpNotsentBelowLowat(tp, 0);
}

/**
 * Linux sk_stream_wait_connect / the checks at the top of tcp_sendmsg_locked: 0 when the socket
 * may queue data, else -errno (a pending error, EPIPE after shutdown, ENOTCONN before connect,
 * EAGAIN while the handshake runs). Refreshes the size goal.
 */
export function tcpSendmsgBegin(tcp: TcpProto, tp: TcpSock): number {
  if (tp.error !== 0) return -tp.error;
  if (tp.shutWr || tp.finQueued) return -ERRNO.EPIPE;
  const st = tp.state;
  if (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT) {
    if (st === TCP_SYN_SENT || st === TCP_SYN_RECV) return -ERRNO.EAGAIN;
    return st === TCP_CLOSE ? -ERRNO.ENOTCONN : -ERRNO.EPIPE;
  }
  tcpSendMss(tcp, tp);
  return 0;
}

/**
 * Bytes a caller may queue now without waiting: up to the size goal of room in the tail record,
 * plus a new record's worth while sk_stream_memory_free holds; 0 → wait for `tcpWritable`.
 */
export function tcpSendSpace(tp: TcpSock): number {
  const q = tp.sendBuf;
  const t = q.tail;
  const room = t !== null && q.sendHead !== null && !t.eor ? Math.max(0, q.sizeGoal - t.len) : 0;
  return room + (tcpStreamMemoryFree(tp) ? q.sizeGoal : 0);
}

/**
 * Queues caller-owned memory (`appendFrag`) for `tp` after `tcpSendmsgBegin`; a full record is
 * pushed as tcp_sendmsg does. False when the range is invalid.
 */
export function tcpSendmsgFrag(tcp: TcpProto, tp: TcpSock, ref: NetmemRef, off: number, len: number, uarg: UbufInfo | null): boolean {
  const q = tp.sendBuf;
  const before = q.tail;
  if (before === null || q.sendHead === null) tcpSlowStartAfterIdleCheck(tcp, tp);
  if (!q.appendFrag(ref, off, len, uarg)) return false;
  const r = q.tail!;
  if (r !== before) {
    // a new record (tcp_skb_entail): TCP_NAGLE_PUSH ends; a record closed for full frag slots was pushed
    tp.nonaglePush = false;
    if (before !== null && before.psh) tp.pushSeq = before.endSeq;
  }
  if (r.len >= q.sizeGoal) tcpPushFull(tcp, tp, r);
  return true;
}

/** the end of a send of caller-owned memory: MSG_EOR, then tcp_push with the send's flags */
export function tcpSendmsgEnd(tcp: TcpProto, tp: TcpSock, flags: number): void {
  if (flags & MSG_EOR) tp.sendBuf.markEor();
  tcpPush(tcp, tp, flags);
}

/** a record reached the size goal inside a send: forced push, or send it if it heads the queue */
function tcpPushFull(tcp: TcpProto, tp: TcpSock, r: WqSkb): void {
  if (tcpForcedPush(tp)) {
    tcpMarkPush(tp, r);
    tcpWriteXmitNagle(tcp, tp, TCP_NAGLE_PUSH, false);
  } else if (r === tp.sendBuf.sendHead) {
    tcpWriteXmitNagle(tcp, tp, TCP_NAGLE_PUSH, true);
  }
}

/**
 * Linux tcp_push: the end of a write. The unsent tail record is marked PSH unless MSG_MORE
 * (or a forced push), then everything the windows allow goes out (MSG_MORE corks).
 */
export function tcpPush(tcp: TcpProto, tp: TcpSock, flags: number): void {
  const q = tp.sendBuf;
  const t = q.tail;
  if (t === null || q.sendHead === null) return;
  if (!(flags & MSG_MORE) || tcpForcedPush(tp)) tcpMarkPush(tp, t);
  tcpWriteXmitNagle(tcp, tp, flags & MSG_MORE ? TCP_NAGLE_CORK : tcpNonagle(tp), false);
}

/**
 * tcp_sendmsg_locked for copied bytes: queues up to `len` bytes of `src[off..]`; returns bytes
 * queued, or -EAGAIN when nothing could be (send buffer / not-sent low-water mark: wait for
 * POLLOUT; host memory: `tp.memWait` set). `flags`: MSG_MORE, MSG_EOR. `resumed`: this call
 * continues a write that already queued bytes (a blocking send after a wait), so the tail's
 * PSH is kept as Linux keeps it within one call.
 */
export function tcpSendmsg(
  tcp: TcpProto, tp: TcpSock, src: Uint8Array, off: number, len: number, flags: number, resumed: boolean,
): number {
  const err = tcpSendmsgBegin(tcp, tp);
  if (err < 0) return err;
  const q = tp.sendBuf;
  const goal = q.sizeGoal;
  // keep a reserve of host pages for headers, ACKs and retransmissions (Linux keeps sends
  // under tcp_wmem / sk_wmem_schedule): a write queue that ate the last page would deadlock
  const host = tcp.mem.host;
  let room = (host.maxPages - host.inUse - TCP_MEM_RESERVE_PAGES) * PAGE_SIZE;
  let copied = 0;
  let memShort = false;
  let noSpace = false;
  while (copied < len) {
    let r = q.tail;
    let copy = r !== null && q.canJoin(r, null, false) && r.nrFrags < q.maxFrags ? goal - r.len : 0;
    if (copy <= 0) {
      // new_segment
      if (!tcpStreamMemoryFree(tp)) {
        noSpace = true;
        break;
      }
      // Linux tcp_skb_entail: TCP_NAGLE_PUSH ends, the idle check runs
      tp.nonaglePush = false;
      tcpSlowStartAfterIdleCheck(tcp, tp);
      r = q.newRecord(null, false);
      copy = goal;
    }
    r = r!;
    if (copy > len - copied) copy = len - copied;
    if (copy > room) copy = room > 0 ? room : 0;
    if (!resumed && copied === 0) r.psh = false;
    const n = copy > 0 ? q.copyInto(r, src, off + copied, copy) : 0;
    if (n === 0) {
      if (r.len > 0 && r.nrFrags >= q.maxFrags) {
        // frag slots full: push this record and start another (Linux tcp_mark_push + new_segment)
        tcpMarkPush(tp, r);
        continue;
      }
      q.dropEmptyTail();
      memShort = true;
      break;
    }
    room -= n;
    copied += n;
    if (copied === len) {
      if (flags & MSG_EOR) q.markEor();
      break;
    }
    if (r.len < goal) continue;
    tcpPushFull(tcp, tp, r);
  }
  if (memShort) {
    if (!tp.memWait) tcp.stats.memWaits++;
    tcp.memWait.add(tp);
  } else if (copied === len) {
    tcp.memWait.remove(tp);
  }
  // SOCK_NOSPACE and the sndbuf-limited chrono (tcpi_sndbuf_limited): from the send that found no
  // room to the one that finds it again
  const now = tcp.sched.now();
  if (noSpace) {
    if (!tp.sndNoSpace) tcpChronoStart(tp, TCP_CHRONO_SNDBUF_LIMITED, now);
    tp.sndNoSpace = true;
  } else if (tp.sndNoSpace && copied > 0) {
    tp.sndNoSpace = false;
    tcpChronoStop(tp, TCP_CHRONO_SNDBUF_LIMITED, now);
  }
  if (copied === 0) return -ERRNO.EAGAIN;
  // out / wait_for_space: tcp_push (a write that must wait is pushed without MSG_MORE)
  tcpPush(tcp, tp, copied === len ? flags : flags & ~MSG_MORE);
  return copied;
}
