/**
 * TCP receive for the socket layer: `tcpRecvmsg` (Linux `tcp_recvmsg_locked`) with the devmem
 * copier (`tcp_recvmsg_dmabuf`, spec §5.3), and `SO_DEVMEM_DONTNEED` (spec §6.2).
 *
 * A call covers readable skbs by copying into the caller's iov, and unreadable skbs (with
 * `MSG_SOCK_DEVMEM`) by writing `SCM_DEVMEM_LINEAR` / `SCM_DEVMEM_DMABUF` cmsgs — byte-exact
 * `struct cmsghdr` + `struct dmabuf_cmsg` — into the caller's control buffer, minting one token
 * per frag piece. A token's user reference on the net_iov is taken only after its cmsg was
 * written; a cmsg that does not fit fails with ETOOSMALL and is never written truncated. One call
 * never mixes readable and unreadable data.
 */
import { netmemIsNetIov, type MemSpace } from '../mem/index.js';
import { skbCopyBits, skbFree, type SkBuff } from '../skb/index.js';
import {
  CMSG_HDR_LEN, CMSG_LEN, CMSG_SPACE, DMABUF_CMSG_LEN, ERRNO, MAX_DONTNEED_FRAGS, MAX_DONTNEED_TOKENS, MSG_PEEK,
  MSG_SOCK_DEVMEM, MSG_TRUNC, SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR, SOL_SOCKET,
} from '../uapi/index.js';
import { TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT } from './constants.js';
import type { TcpSock } from './sock.js';

/** a `msg_control` buffer being filled with cmsgs (host byte order: little-endian) */
export class CmsgWriter {
  buf: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(new ArrayBuffer(0));
  /** bytes written so far (the resulting msg_controllen) */
  len = 0;
  /** capacity (msg_controllen on entry) */
  cap = 0;

  reset(buf: Uint8Array | null, dv: DataView | null): void {
    if (buf === null || dv === null) {
      this.cap = 0;
    } else {
      this.buf = buf;
      this.dv = dv;
      this.cap = buf.length;
    }
    this.len = 0;
  }

  /** `put_cmsg` of one int (e.g. TCP_CM_INQ); false when it does not fit (left out) */
  putIntCmsg(level: number, type: number, value: number): boolean {
    if (this.cap - this.len < CMSG_LEN(4)) return false;
    const dv = this.dv;
    const o = this.len;
    dv.setUint32(o, CMSG_LEN(4), true);
    dv.setUint32(o + 4, 0, true);
    dv.setInt32(o + 8, level, true);
    dv.setInt32(o + 12, type, true);
    dv.setInt32(o + CMSG_HDR_LEN, value | 0, true);
    this.len = Math.min(o + CMSG_SPACE(4), this.cap);
    return true;
  }

  /** `put_cmsg_notrunc` of a `struct dmabuf_cmsg`: false (ETOOSMALL) when it does not fit */
  putDmabufCmsg(type: number, fragOffset: number, fragSize: number, token: number, dmabufId: number): boolean {
    if (this.cap - this.len < CMSG_LEN(DMABUF_CMSG_LEN)) return false;
    const dv = this.dv;
    const o = this.len;
    // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }
    dv.setUint32(o, CMSG_LEN(DMABUF_CMSG_LEN), true);
    dv.setUint32(o + 4, 0, true);
    dv.setInt32(o + 8, SOL_SOCKET, true);
    dv.setInt32(o + 12, type, true);
    // struct dmabuf_cmsg { __u64 frag_offset; __u32 frag_size; __u32 frag_token; __u32 dmabuf_id; __u32 flags; }
    const p = o + CMSG_HDR_LEN;
    dv.setUint32(p, fragOffset >>> 0, true);
    dv.setUint32(p + 4, Math.floor(fragOffset / 4294967296), true);
    dv.setUint32(p + 8, fragSize, true);
    dv.setUint32(p + 12, token, true);
    dv.setUint32(p + 16, dmabufId, true);
    dv.setUint32(p + 20, 0, true);
    this.len = o + CMSG_SPACE(DMABUF_CMSG_LEN);
    return true;
  }
}

const KIND_NONE = 0;
const KIND_READABLE = 1;
const KIND_UNREADABLE = 2;

/** per-call state of a recvmsg that may span several `tcpRecvmsg` passes (MSG_WAITALL) */
export class RecvState {
  /** bytes covered so far (return value) */
  copied = 0;
  /** bytes written into the iov so far */
  iovUsed = 0;
  lastKind = KIND_NONE;
  /** the readable/unreadable boundary ended the call */
  boundary = false;
  /**
   * the call must end now although it covered less than asked: the devmem copier covered a
   * skb only in part or failed after bytes were covered (control buffer full, token space
   * exhausted). Linux `break`s out of `tcp_recvmsg_locked` here, so MSG_WAITALL does not wait.
   */
  stopped = false;
  readonly control = new CmsgWriter();
  /** tokens minted in this call (statistics) */
  tokens = 0;

  reset(control: Uint8Array | null, controlDv: DataView | null): void {
    this.copied = 0;
    this.iovUsed = 0;
    this.lastKind = KIND_NONE;
    this.boundary = false;
    this.stopped = false;
    this.tokens = 0;
    this.control.reset(control, controlDv);
  }
}

/**
 * One pass over the receive queue. Covers at most `len − st.copied` more bytes. Returns the
 * bytes covered in this pass (≥ 0) or a negative errno when nothing could be covered in the
 * whole call (st.copied === 0): EFAULT for unreadable data without MSG_SOCK_DEVMEM, ETOOSMALL
 * when the control buffer cannot take a single cmsg, ENODEV for a page frag in an unreadable
 * skb. 0 with data pending never happens; 0 means "nothing available now". Sets `st.boundary`
 * or `st.stopped` when the call must end even though it covered less than asked.
 */
export function tcpRecvmsg(tp: TcpSock, iov: Uint8Array | null, len: number, flags: number, st: RecvState): number {
  if (tp.state === TCP_LISTEN) return -ERRNO.ENOTCONN;
  const peek = (flags & MSG_PEEK) !== 0;
  const trunc = (flags & MSG_TRUNC) !== 0;
  const devmem = (flags & MSG_SOCK_DEVMEM) !== 0;
  // MSG_PEEK starts at copied_seq + the peek offset (SO_PEEK_OFF, which already includes what
  // earlier passes of this call peeked) or, without one, after what this call peeked so far
  let seq = peek ? (tp.copiedSeq + (tp.peekOff >= 0 ? tp.peekOff : st.copied)) | 0 : tp.copiedSeq;
  let covered = 0;
  let skb = tp.rcvHead;
  const mem = tp.proto.mem;
  while (skb !== null && st.copied + covered < len) {
    const offset = (seq - skb.seq) | 0;
    if (offset >= skb.len) {
      skb = skb.next;
      continue;
    }
    const want = len - st.copied - covered;
    let used = skb.len - offset;
    if (used > want) used = want;
    if (!trunc) {
      const kind = skb.unreadable ? KIND_UNREADABLE : KIND_READABLE;
      if (st.lastKind !== KIND_NONE && st.lastKind !== kind) {
        st.boundary = true;
        break;
      }
      if (kind === KIND_READABLE) {
        if (iov !== null) {
          if (st.iovUsed + used > iov.length) used = iov.length - st.iovUsed;
          if (used <= 0) break;
          if (skbCopyBits(skb, offset, iov, st.iovUsed, used) !== 0) {
            if (st.copied + covered === 0) return -ERRNO.EFAULT;
            st.stopped = true;
            break;
          }
          st.iovUsed += used;
        }
      } else if (!devmem) {
        if (st.copied + covered === 0) return -ERRNO.EFAULT;
        st.stopped = true;
        break;
      } else {
        const n = dmabufCopy(tp, mem, skb, offset, used, iov, st);
        if (n <= 0) {
          if (st.copied + covered === 0) return n < 0 ? n : -ERRNO.EFAULT;
          st.stopped = true;
          break;
        }
        // a short cover (control buffer or token space ran out): the retry Linux makes on
        // the rest of this skb fails the same way and ends the call
        if (n < used) st.stopped = true;
        used = n;
      }
      st.lastKind = kind;
    }
    covered += used;
    seq = (seq + used) | 0;
    if (!peek) {
      tp.copiedSeq = seq;
      if (offset + used >= skb.len) {
        const next: SkBuff | null = skb.next;
        tp.rcvHead = next;
        if (next === null) tp.rcvTail = null;
        tp.rcvQueueBytes -= skb.len;
        skb.next = null;
        skbFree(skb);
        skb = next;
        continue;
      }
      break; // partially consumed: the caller's length ran out
    }
    if (offset + used < skb.len) break;
    skb = skb.next;
  }
  st.copied += covered;
  if (covered > 0) {
    // sk_peek_offset_fwd / sk_peek_offset_bwd
    if (tp.peekOff >= 0) tp.peekOff = peek ? tp.peekOff + covered : Math.max(tp.peekOff - covered, 0);
    if (!peek) tp.proto.cleanupRbuf(tp);
  }
  return covered;
}

/**
 * The devmem copier for one unreadable skb: linear bytes are copied into the iov and reported
 * with SCM_DEVMEM_LINEAR; each frag piece gets a token and an SCM_DEVMEM_DMABUF cmsg. Returns
 * bytes covered, or -errno when nothing was covered.
 */
function dmabufCopy(tp: TcpSock, mem: MemSpace, skb: SkBuff, offset: number, remaining: number, iov: Uint8Array | null, st: RecvState): number {
  if (!skb.unreadable) return -ERRNO.ENODEV;
  const cw = st.control;
  let sent = 0;
  const headlen = skb.tail - skb.data;
  if (offset < headlen) {
    let copy = headlen - offset;
    if (copy > remaining) copy = remaining;
    if (iov === null || st.iovUsed + copy > iov.length) return sent > 0 ? sent : -ERRNO.EFAULT;
    skbCopyBits(skb, offset, iov, st.iovUsed, copy);
    if (!cw.putDmabufCmsg(SCM_DEVMEM_LINEAR, 0, copy, 0, 0)) return -ERRNO.ETOOSMALL;
    st.iovUsed += copy;
    offset += copy;
    remaining -= copy;
    sent += copy;
  }
  let start = headlen;
  for (let i = 0; i < skb.nrFrags && remaining > 0; i++) {
    const ref = skb.fragRef[i]!;
    const flen = skb.fragLen[i]!;
    const end = start + flen;
    if (!netmemIsNetIov(ref)) return sent > 0 ? sent : -ERRNO.ENODEV;
    if (offset < end) {
      let copy = end - offset;
      if (copy > remaining) copy = remaining;
      const fragOffset = mem.niovDmabufOffset(ref) + skb.fragOff[i]! + (offset - start);
      const token = tp.tokens.alloc(ref);
      if (token < 0) return sent > 0 ? sent : -ERRNO.EBUSY;
      if (!cw.putDmabufCmsg(SCM_DEVMEM_DMABUF, fragOffset, copy, token, mem.niovBindingId(ref))) {
        tp.tokens.erase(token);
        return sent > 0 ? sent : -ERRNO.ETOOSMALL;
      }
      // the user reference, taken only once the cmsg is out
      mem.get(ref);
      st.tokens++;
      offset += copy;
      remaining -= copy;
      sent += copy;
    }
    start = end;
  }
  return sent;
}

/**
 * `setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED, struct dmabuf_token[], optlen)`: returns the
 * number of frags freed, or -errno. `optval` holds the raw option bytes (host byte order).
 * Validation order of net/core/sock.c: optlen < 4 → EINVAL; not TCP → EBADF (checked by the
 * caller); optlen % 8 or > 1024 → EINVAL. At most 1024 indices are probed per call.
 */
export function tcpDevmemDontneed(tp: TcpSock, optval: Uint8Array): number {
  const optlen = optval.length;
  if (optlen < 4) return -ERRNO.EINVAL;
  if (optlen % 8 !== 0 || optlen > 8 * MAX_DONTNEED_TOKENS) return -ERRNO.EINVAL;
  const dv = new DataView(optval.buffer, optval.byteOffset, optval.byteLength);
  const mem = tp.proto.mem;
  let freed = 0;
  let probes = 0;
  for (let i = 0; i < optlen; i += 8) {
    const start = dv.getUint32(i, true);
    const count = dv.getUint32(i + 4, true);
    for (let j = 0; j < count; j++) {
      if (++probes > MAX_DONTNEED_FRAGS) return freed;
      const ref = tp.tokens.erase((start + j) >>> 0);
      if (ref < 0) continue;
      if (!netmemIsNetIov(ref)) continue;
      mem.put(ref);
      freed++;
    }
  }
  return freed;
}

/** true when `recv` should report end of stream: FIN received and every byte before it read */
export function tcpAtEof(tp: TcpSock): boolean {
  return tp.finReceived && tp.copiedSeq === tp.finSeq;
}

/** true while the handshake is still running */
export function tcpConnecting(tp: TcpSock): boolean {
  return tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV;
}
