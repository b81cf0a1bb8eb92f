/**
 * `MsgHdr`: one sendmsg / recvmsg call (Linux `struct msghdr` plus the call's progress). Every
 * call owns its MsgHdr: a call that has to wait keeps its progress here (bytes covered so far,
 * the TCP receive state, the devmem control writer) and is resumed with the same object, so two
 * outstanding calls never share state. A MsgHdr may be reused for the next call once the
 * previous one returned (`begin` resets it); the hot path allocates nothing.
 *
 * Sends may carry `msg_control` (`control`: SOL_SOCKET cmsgs such as SCM_DEVMEM_DMABUF) and, for
 * devmem TX, an iovec list (`devIov`: (iov_base, iov_len) pairs, iov_base a byte offset into the
 * TX binding's dma-buf, spec §7.2) instead of bytes. A devmem call that waits keeps its binding
 * and completion references in `devmem` until it returns; `devmemSendRelease` (devmem-tx.ts) drops
 * them when a waiting call is abandoned.
 */
import type { DmabufBinding } from '../../mem/index.js';
import type { UbufInfo } from '../../skb/index.js';
import { RecvState } from '../../tcp/index.js';
import { SockcmCookie } from './cmsg.js';
import { sockaddrLen, type SockAddr } from './sockaddr.js';
import type { ZcSendState } from './zerocopy-send.js';

const EMPTY_IOV = new Uint8Array(0);

/** the progress of one devmem sendmsg (kept while it waits) */
/** Linux UIO_MAXIOV: the most iovecs one sendmsg takes (more: EMSGSIZE in __copy_msghdr) */
export const UIO_MAXIOV = 1024;

export class DevmemSendState {
  /** the devmem path took this call (a resumed call goes back to it) */
  owned = false;
  readonly sockc = new SockcmCookie();
  /** sock_cmsg_send's result, reported after the connection wait (Linux order) */
  sockcErr = 0;
  /** TX binding reference held for the call (net_devmem_get_binding), or null */
  binding: DmabufBinding | null = null;
  /** the call's zerocopy completion reference (msg_zerocopy_realloc), or null */
  uarg: UbufInfo | null = null;
  /** total iov bytes (msg_data_left at the start) */
  size = 0;
  /** iovec index and offset inside it where the next piece starts */
  iovIdx = 0;
  iovPos = 0;

  reset(): void {
    this.owned = false;
    this.sockc.reset();
    this.sockcErr = 0;
    this.binding = null;
    this.uarg = null;
    this.size = 0;
    this.iovIdx = 0;
    this.iovPos = 0;
  }
}

export class MsgHdr {
  /** data: the iov (recvmsg fills it; sendmsg reads iov[iovOff, iovOff + iovLen)) */
  iov: Uint8Array | null = null;
  iovOff = 0;
  iovLen = 0;
  /** msg_control: recvmsg writes cmsgs here; sendmsg reads them from here (all of it); or null */
  control: Uint8Array | null = null;
  /**
   * sendmsg iovecs as (iov_base, iov_len) pairs, `devIovCnt` of them; used instead of `iov` when
   * not null (devmem TX: iov_base is an offset into the TX binding's dma-buf)
   */
  devIov: Float64Array | null = null;
  devIovCnt = 0;
  /** devmem sendmsg progress, created on first use */
  devmem: DevmemSendState | null = null;
  /**
   * sendmsg iovec list of caller buffers (MSG_ZEROCOPY pins each element separately); used
   * instead of `iov` when not null (helper "zerocopy")
   */
  iovecs: Uint8Array[] | null = null;
  /** MSG_ZEROCOPY / iovec sendmsg progress (zerocopy-send.ts: notification, pins, position), created on first use */
  zc: ZcSendState | null = null;
  private controlDv: DataView | null = null;
  /** msg_name: destination for sendmsg; source filled by recvmsg when `wantName` */
  name: SockAddr | null = null;
  /** msg_namelen of `name` on a send */
  nameLen = 0;
  wantName = false;

  // ---- results ----
  /** msg_flags (MSG_TRUNC, MSG_CTRUNC …) */
  msgFlags = 0;
  /** msg_controllen after the call */
  controlLen = 0;
  /** bytes written into the iov (readable data or SCM_DEVMEM_LINEAR bytes) */
  iovUsed = 0;

  // ---- progress of a call that waits (owned by the protocol) ----
  /** the call has started (target computed, state reset) */
  started = false;
  /** bytes covered / sent so far */
  done = 0;
  /** recvmsg: bytes the call must cover before it returns (SO_RCVLOWAT, MSG_WAITALL) */
  target = 0;
  /** TCP receive state, created on first use and reused by every later call with this MsgHdr */
  private rs: RecvState | null = null;

  /** sets up a receive into `iov` (and `control`) and resets the progress */
  setRecv(iov: Uint8Array | null, control: Uint8Array | null): this {
    this.iov = iov;
    this.iovOff = 0;
    this.iovLen = iov === null ? 0 : iov.length;
    if (control !== this.control) {
      this.control = control;
      this.controlDv = control === null ? null : new DataView(control.buffer, control.byteOffset, control.byteLength);
    }
    this.name = null;
    return this.begin();
  }

  /** sets up a send of `data[off, off + len)` to `name` (null: the connected peer) */
  setSend(data: Uint8Array, off: number, len: number, name: SockAddr | null = null): this {
    this.iov = data;
    this.iovOff = off;
    this.iovLen = len;
    this.devIov = null;
    this.devIovCnt = 0;
    this.iovecs = null;
    this.setControl(null);
    this.name = name;
    this.nameLen = name === null ? 0 : sockaddrLen(name);
    return this.begin();
  }

  /**
   * sets up a send of iovecs given as (iov_base, iov_len) pairs (`count` of them) with
   * `control` as msg_control (devmem TX: an SCM_DEVMEM_DMABUF cmsg, see `devmemTxControl`)
   */
  setSendIov(vecs: Float64Array, count: number, control: Uint8Array | null, name: SockAddr | null = null): this {
    this.iov = null;
    this.iovOff = 0;
    this.iovLen = 0;
    this.devIov = vecs;
    this.devIovCnt = count;
    this.iovecs = null;
    this.setControl(control);
    this.name = name;
    this.nameLen = name === null ? 0 : sockaddrLen(name);
    return this.begin();
  }

  /** sets up a send of a list of caller buffers (iovecs) to `name` (null: the connected peer) */
  setSendIovecs(vecs: Uint8Array[], name: SockAddr | null = null): this {
    this.setSend(EMPTY_IOV, 0, 0, name);
    this.iovecs = vecs;
    return this;
  }

  /**
   * A send's iovec list as one contiguous `iov` (for protocols that copy the payload anyway, such
   * as UDP building its datagram: one copy of the list into a new buffer). No-op without a list.
   */
  gatherIovecs(): void {
    const v = this.iovecs;
    if (v === null) return;
    let n = 0;
    for (const b of v) n += b.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const b of v) {
      out.set(b, o);
      o += b.length;
    }
    this.iov = out;
    this.iovOff = 0;
    this.iovLen = n;
    this.iovecs = null;
  }

  /** sets msg_control (a send's cmsgs; for receives use `setRecv`) */
  setControl(control: Uint8Array | null): this {
    if (control !== this.control) {
      this.control = control;
      this.controlDv = control === null ? null : new DataView(control.buffer, control.byteOffset, control.byteLength);
    }
    return this;
  }

  /** the devmem send state of this call, reset on the call's first pass */
  devmemState(): DevmemSendState {
    let d = this.devmem;
    if (d === null) d = this.devmem = new DevmemSendState();
    if (!this.started) d.reset();
    return d;
  }

  /** resets the progress and results for a new call */
  begin(): this {
    this.started = false;
    this.done = 0;
    this.target = 0;
    this.msgFlags = 0;
    this.controlLen = 0;
    this.iovUsed = 0;
    return this;
  }

  /** the TCP receive state of this call, reset on the call's first pass */
  tcpState(): RecvState {
    let rs = this.rs;
    if (rs === null) rs = this.rs = new RecvState();
    if (!this.started) rs.reset(this.control, this.controlDv);
    return rs;
  }
}
