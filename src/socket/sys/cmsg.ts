/**
 * Decoding of `msg_control` buffers into typed cmsgs, byte-exact with Linux on 64-bit
 * little-endian hosts: `struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }`
 * (16 bytes), payload aligned to 8 (`CMSG_ALIGN`). Devmem cmsgs carry `struct dmabuf_cmsg`
 * (24 bytes): frag_offset u64, frag_size u32, frag_token u32, dmabuf_id u32, flags u32.
 */
import {
  CMSG_ALIGN, CMSG_HDR_LEN, DMABUF_CMSG_LEN, SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR, SOL_SOCKET,
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
