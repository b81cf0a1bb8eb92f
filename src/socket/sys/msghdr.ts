/**
 * `MsgHdr`: one sendmsg / recvmsg call (Linux `struct msghdr` plus the call's progress). Every
 * call owns its MsgHdr: a call that has to wait keeps its progress here (bytes covered so far,
 * the TCP receive state, the devmem control writer) and is resumed with the same object, so two
 * outstanding calls never share state. A MsgHdr may be reused for the next call once the
 * previous one returned (`begin` resets it); the hot path allocates nothing.
 */
import { RecvState } from '../../tcp/index.js';
import { sockaddrLen, type SockAddr } from './sockaddr.js';

export class MsgHdr {
  /** data: the iov (recvmsg fills it; sendmsg reads iov[iovOff, iovOff + iovLen)) */
  iov: Uint8Array | null = null;
  iovOff = 0;
  iovLen = 0;
  /** msg_control for recvmsg (cmsgs are written here), or null */
  control: Uint8Array | null = null;
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
    this.name = name;
    this.nameLen = name === null ? 0 : sockaddrLen(name);
    return this.begin();
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
