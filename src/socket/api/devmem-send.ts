/**
 * The argument shapes of `Socket.sendDevmem` (devmem TX, spec §7): pieces of a TX binding's
 * dma-buf named by offset and length, turned into the (iov_base, iov_len) pairs and the
 * SCM_DEVMEM_DMABUF control buffer of one `sendmsg(MSG_ZEROCOPY)` call. The bytes never pass
 * through the host: the NIC reads them from device memory when it transmits, and the send's
 * completion (`MSG_ERRQUEUE`, origin SO_EE_ORIGIN_ZEROCOPY) says when the region may be rewritten.
 */
import { MSG_ZEROCOPY } from '../../uapi/index.js';
import { devmemTxControl } from '../sys/cmsg.js';
import type { MsgHdr } from '../sys/msghdr.js';

/** one piece of the dma-buf: `length` bytes at `offset` */
export interface DevmemIov {
  offset: number;
  length: number;
}

/** what `Socket.sendDevmem` accepts: one piece, several, or (offset, length) pairs */
export type DevmemIovInput = DevmemIov | readonly DevmemIov[] | Float64Array;

/** sets up `msg` for a devmem send of `iov` from binding `dmabufId`; returns the flags to use */
export function setupDevmemSend(msg: MsgHdr, dmabufId: number, iov: DevmemIovInput, flags: number): number {
  let v: Float64Array;
  if (iov instanceof Float64Array) {
    v = iov;
  } else {
    const list: readonly DevmemIov[] = Array.isArray(iov) ? (iov as readonly DevmemIov[]) : [iov as DevmemIov];
    v = new Float64Array(list.length * 2);
    for (let i = 0; i < list.length; i++) {
      v[2 * i] = list[i]!.offset;
      v[2 * i + 1] = list[i]!.length;
    }
  }
  msg.setSendIov(v, v.length >> 1, devmemTxControl(dmabufId));
  return flags | MSG_ZEROCOPY;
}
