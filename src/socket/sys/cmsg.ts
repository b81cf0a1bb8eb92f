/**
 * `msg_control` buffers, byte-exact with Linux on 64-bit little-endian hosts:
 * `struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }` (16 bytes), payload
 * aligned to 8 (`CMSG_ALIGN`).
 * - receive: `decodeCmsgs` turns what recvmsg wrote into typed cmsgs. Devmem cmsgs carry
 *   `struct dmabuf_cmsg` (24 bytes): frag_offset u64, frag_size u32, frag_token u32, dmabuf_id
 *   u32, flags u32.
 * - send: `sockCmsgSend` is Linux `sock_cmsg_send` + `__sock_cmsg_send`: walks the caller's
 *   control bytes (CMSG_FIRSTHDR / CMSG_NXTHDR, `CMSG_OK` → EINVAL), skips levels other than
 *   SOL_SOCKET and fills a `SockcmCookie` (the binding id of SCM_DEVMEM_DMABUF among others), or
 *   returns the first cmsg's errno. `encodeSendCmsg` builds such a buffer.
 */
import {
  CMSG_ALIGN, CMSG_HDR_LEN, CMSG_LEN, CMSG_SPACE, DMABUF_CMSG_LEN, ERRNO, SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR, SOL_SOCKET,
} from '../../uapi/index.js';

/** payload bytes that were copied into the iov (from an unreadable skb's linear area) */
export interface DevmemLinearCmsg {
  kind: 'linear';
  level: number;
  type: number;
  fragSize: number;
}

/** a payload piece left in device memory */
export interface DevmemDmabufCmsg {
  kind: 'dmabuf';
  level: number;
  type: number;
  /** byte offset into the dma-buf */
  fragOffset: number;
  fragSize: number;
  /** token to return with SO_DEVMEM_DONTNEED */
  fragToken: number;
  /** netlink binding id the piece lives in */
  dmabufId: number;
  flags: number;
}

export interface OtherCmsg {
  kind: 'other';
  level: number;
  type: number;
  data: Uint8Array;
}

export type Cmsg = DevmemLinearCmsg | DevmemDmabufCmsg | OtherCmsg;

/** parses every cmsg in `control` (the bytes the call wrote) */
export function decodeCmsgs(control: Uint8Array): Cmsg[] {
  const out: Cmsg[] = [];
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  while (off + CMSG_HDR_LEN <= control.length) {
    const len = dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 4294967296;
    if (len < CMSG_HDR_LEN || off + len > control.length) break;
    const level = dv.getInt32(off + 8, true);
    const type = dv.getInt32(off + 12, true);
    const p = off + CMSG_HDR_LEN;
    if (level === SOL_SOCKET && (type === SCM_DEVMEM_DMABUF || type === SCM_DEVMEM_LINEAR) && len - CMSG_HDR_LEN >= DMABUF_CMSG_LEN) {
      const fragOffset = dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 4294967296;
      const fragSize = dv.getUint32(p + 8, true);
      if (type === SCM_DEVMEM_LINEAR) {
        out.push({ kind: 'linear', level, type, fragSize });
      } else {
        out.push({
          kind: 'dmabuf', level, type, fragOffset, fragSize,
          fragToken: dv.getUint32(p + 12, true), dmabufId: dv.getUint32(p + 16, true), flags: dv.getUint32(p + 20, true),
        });
      }
    } else {
      out.push({ kind: 'other', level, type, data: control.slice(p, off + len) });
    }
    off += CMSG_ALIGN(len);
  }
  return out;
}

/** `struct dmabuf_token { __u32 token_start; __u32 token_count; }` */
export interface DmabufTokenRange {
  tokenStart: number;
  tokenCount: number;
}

/** encodes token ranges as the SO_DEVMEM_DONTNEED option bytes */
export function encodeDmabufTokens(ranges: readonly DmabufTokenRange[]): Uint8Array {
  const b = new Uint8Array(ranges.length * 8);
  const dv = new DataView(b.buffer);
  ranges.forEach((r, i) => {
    dv.setUint32(i * 8, r.tokenStart >>> 0, true);
    dv.setUint32(i * 8 + 4, r.tokenCount >>> 0, true);
  });
  return b;
}

// ---- send side (sock_cmsg_send) ----

/** SOL_SOCKET cmsg types __sock_cmsg_send knows (asm-generic/socket.h) */
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const SO_PRIORITY = 12;
const SO_MARK = 36;
const SO_TIMESTAMPING_OLD = 37;
const SCM_TXTIME = 61;
const SO_TIMESTAMPING_NEW = 65;
const SCM_TS_OPT_ID = 81;
/**
 * SOF_TIMESTAMPING_TX_RECORD_MASK: TX_HARDWARE | TX_SOFTWARE | TX_SCHED | TX_ACK |
 * TX_COMPLETION (6.16+)
 */
export const SOF_TIMESTAMPING_TX_RECORD_MASK = 0x1 | 0x2 | 0x100 | 0x200 | 0x40000;

/**
 * Linux `struct sockcm_cookie`: what a send's SOL_SOCKET cmsgs asked for. One per call (kept in
 * its MsgHdr, reset by `reset`); `has*` says which were given.
 */
export class SockcmCookie {
  /** SCM_DEVMEM_DMABUF: the TX binding id (0: none) */
  dmabufId = 0;
  /** SO_TIMESTAMPING: the TX record bits for this send (replacing the socket's) */
  tsflags = 0;
  hasTsflags = false;
  mark = 0;
  hasMark = false;
  priority = 0;
  hasPriority = false;

  reset(): void {
    this.dmabufId = 0;
    this.tsflags = 0;
    this.hasTsflags = false;
    this.mark = 0;
    this.hasMark = false;
    this.priority = 0;
    this.hasPriority = false;
  }
}

/** the socket facts `__sock_cmsg_send` looks at */
export interface CmsgSendSock {
  /** a TCP socket (SCM_TS_OPT_ID is refused on TCP) */
  readonly isTcp: boolean;
  /** SO_TXTIME is on (SCM_TXTIME needs it) */
  readonly txtime: boolean;
  /** the socket's SO_TIMESTAMPING flags (SCM_TS_OPT_ID needs SOF_TIMESTAMPING_OPT_ID) */
  readonly tsflags: number;
}

const SOF_TIMESTAMPING_OPT_ID = 1 << 7;

/**
 * `sock_cmsg_send` over `control[0, len)`: 0, or the errno of the first bad cmsg (EINVAL for a
 * header that does not fit or a payload of the wrong size, EINVAL for an unknown SOL_SOCKET
 * type). Cmsgs of other levels are skipped, as Linux does (the protocol reads them elsewhere).
 * The process is privileged (SO_MARK and SO_PRIORITY are allowed). Allocation-free.
 */
export function sockCmsgSend(control: Uint8Array, len: number, sk: CmsgSendSock, out: SockcmCookie): number {
  const end = Math.min(len, control.length);
  let off = 0;
  // for_each_cmsghdr: CMSG_FIRSTHDR needs a whole header; CMSG_NXTHDR stops when the next one does not fit
  while (off + CMSG_HDR_LEN <= end) {
    const b = control;
    const lo = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
    const hi = (b[off + 4]! | (b[off + 5]! << 8) | (b[off + 6]! << 16) | (b[off + 7]! << 24)) >>> 0;
    const cmsgLen = hi * 4294967296 + lo;
    // CMSG_OK
    if (cmsgLen < CMSG_HDR_LEN || cmsgLen > end - off) return -ERRNO.EINVAL;
    const level = b[off + 8]! | (b[off + 9]! << 8) | (b[off + 10]! << 16) | (b[off + 11]! << 24);
    if (level === SOL_SOCKET) {
      const type = b[off + 12]! | (b[off + 13]! << 8) | (b[off + 14]! << 16) | (b[off + 15]! << 24);
      const r = sockCmsgOne(b, off, cmsgLen, type, sk, out);
      if (r !== 0) return r;
    }
    off += CMSG_ALIGN(cmsgLen);
  }
  return 0;
}

function u32At(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** `__sock_cmsg_send` for one SOL_SOCKET cmsg */
function sockCmsgOne(b: Uint8Array, off: number, cmsgLen: number, type: number, sk: CmsgSendSock, out: SockcmCookie): number {
  const p = off + CMSG_HDR_LEN;
  switch (type) {
    case SO_MARK:
      if (cmsgLen !== CMSG_LEN(4)) return -ERRNO.EINVAL;
      out.mark = u32At(b, p);
      out.hasMark = true;
      return 0;
    case SO_TIMESTAMPING_OLD:
    case SO_TIMESTAMPING_NEW: {
      if (cmsgLen !== CMSG_LEN(4)) return -ERRNO.EINVAL;
      const ts = u32At(b, p);
      if ((ts & ~SOF_TIMESTAMPING_TX_RECORD_MASK) !== 0) return -ERRNO.EINVAL;
      out.tsflags = ts;
      out.hasTsflags = true;
      return 0;
    }
    case SCM_TXTIME:
      if (!sk.txtime) return -ERRNO.EINVAL;
      if (cmsgLen !== CMSG_LEN(8)) return -ERRNO.EINVAL;
      return 0;
    case SCM_TS_OPT_ID:
      if (sk.isTcp) return -ERRNO.EINVAL;
      if ((sk.tsflags & SOF_TIMESTAMPING_OPT_ID) === 0) return -ERRNO.EINVAL;
      if (cmsgLen !== CMSG_LEN(4)) return -ERRNO.EINVAL;
      return 0;
    case SCM_RIGHTS:
    case SCM_CREDENTIALS:
      // semantically SOL_UNIX: ignored here
      return 0;
    case SO_PRIORITY:
      if (cmsgLen !== CMSG_LEN(4)) return -ERRNO.EINVAL;
      out.priority = u32At(b, p);
      out.hasPriority = true;
      return 0;
    case SCM_DEVMEM_DMABUF:
      // exactly CMSG_LEN(sizeof(u32)); the id is a plain __u32 (the RFC's struct is gone)
      if (cmsgLen !== CMSG_LEN(4)) return -ERRNO.EINVAL;
      out.dmabufId = u32At(b, p);
      return 0;
  }
  return -ERRNO.EINVAL;
}

/** one cmsg to encode: level, type and payload bytes (cmsg_len = CMSG_LEN(data.length) unless `len` says otherwise) */
export interface SendCmsg {
  level: number;
  type: number;
  data: Uint8Array;
  /** a cmsg_len to write instead of CMSG_LEN(data.length) (tests of malformed headers) */
  len?: number;
}

/** builds a msg_control buffer: each cmsg at CMSG_SPACE spacing, as CMSG_NXTHDR walks it */
export function encodeSendCmsg(cmsgs: readonly SendCmsg[]): Uint8Array {
  let total = 0;
  for (const c of cmsgs) total += CMSG_SPACE(c.data.length);
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  let off = 0;
  for (const c of cmsgs) {
    const len = c.len ?? CMSG_LEN(c.data.length);
    dv.setUint32(off, len >>> 0, true);
    dv.setUint32(off + 4, Math.floor(len / 4294967296) >>> 0, true);
    dv.setInt32(off + 8, c.level, true);
    dv.setInt32(off + 12, c.type, true);
    b.set(c.data, off + CMSG_HDR_LEN);
    off += CMSG_SPACE(c.data.length);
  }
  return b;
}

/** the control buffer of a devmem send: one SCM_DEVMEM_DMABUF cmsg holding the TX binding id (24 bytes) */
export function devmemTxControl(dmabufId: number): Uint8Array {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, dmabufId >>> 0, true);
  return encodeSendCmsg([{ level: SOL_SOCKET, type: SCM_DEVMEM_DMABUF, data: id }]);
}
