/**
 * A `bind-rx` request written byte by byte, for what the typed client cannot express: ncdevmem's
 * first negative test hands ynl a zeroed `netdev_queue_id` array, and ynl then emits a
 * `queues` nest per entry with neither `id` nor `type` inside. The request goes through the
 * public `NetlinkSocket.send` / `recv` like any other generic-netlink message; the answer is
 * decoded here (the error code, the extack message, and the id should the bind succeed).
 */
import type { NetlinkSocket } from '../../index.js';

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLMSG_ERROR = 0x2;
const NLMSG_DONE = 0x3;
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_MISS_TYPE = 5;
const NLMSGERR_ATTR_MISS_NEST = 6;
const NLA_F_NESTED = 0x8000;
/** netdev family: cmd `bind-rx`, family version, `dmabuf` attributes */
const NETDEV_CMD_BIND_RX = 13;
const NETDEV_FAMILY_VERSION = 1;
const NETDEV_A_DMABUF_IFINDEX = 1;
const NETDEV_A_DMABUF_QUEUES = 2;
const NETDEV_A_DMABUF_FD = 3;
const NETDEV_A_DMABUF_ID = 4;

export interface RawBindResult {
  /** 0 on success, else the positive errno */
  errno: number;
  /** the extack message, when the kernel sent one */
  msg?: string;
  /** NLMSGERR_ATTR_MISS_TYPE: the attribute the kernel found missing */
  missingAttr?: number;
  /** NLMSGERR_ATTR_MISS_NEST: offset in the request of the nest it was missing from */
  missingNest?: number;
  /** the binding id (success only) */
  id?: number;
}

/** builds the request: ifindex, fd, then `emptyQueues` empty `queues` nests (ynl's order) */
export function buildEmptyQueuesBindRx(familyId: number, ifindex: number, fd: number, emptyQueues: number): Uint8Array {
  const len = 16 + 4 + 8 + 8 + 4 * emptyQueues;
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, familyId, true);
  dv.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, true);
  dv.setUint32(8, 1, true);
  dv.setUint32(12, 0, true);
  b[16] = NETDEV_CMD_BIND_RX;
  b[17] = NETDEV_FAMILY_VERSION;
  let p = 20;
  dv.setUint16(p, 8, true);
  dv.setUint16(p + 2, NETDEV_A_DMABUF_IFINDEX, true);
  dv.setUint32(p + 4, ifindex, true);
  p += 8;
  dv.setUint16(p, 8, true);
  dv.setUint16(p + 2, NETDEV_A_DMABUF_FD, true);
  dv.setUint32(p + 4, fd, true);
  p += 8;
  for (let i = 0; i < emptyQueues; i++, p += 4) {
    dv.setUint16(p, 4, true);
    dv.setUint16(p + 2, NETDEV_A_DMABUF_QUEUES | NLA_F_NESTED, true);
  }
  return b;
}

/** sends the request on `nl` and decodes the answer */
export async function bindRxEmptyQueues(nl: NetlinkSocket, ifindex: number, fd: number, emptyQueues: number): Promise<RawBindResult> {
  const fam = await nl.ctrl.getFamily('netdev');
  nl.send(buildEmptyQueuesBindRx(fam.id, ifindex, fd, emptyQueues));
  const out: RawBindResult = { errno: 0 };
  for (let d = nl.recv(); d !== null; d = nl.recv()) {
    if (decodeReply(d, fam.id, out)) return out;
  }
  return { errno: 5, msg: 'no answer to bind-rx' };
}

/** walks one datagram; true once the final ack (or error) was seen */
export function decodeReply(d: Uint8Array, familyId: number, out: RawBindResult): boolean {
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let p = 0; p + 16 <= d.length; ) {
    const len = dv.getUint32(p, true);
    if (len < 16 || p + len > d.length) return false;
    const type = dv.getUint16(p + 4, true);
    const flags = dv.getUint16(p + 6, true);
    if (type === NLMSG_ERROR && len >= 20) {
      const err = dv.getInt32(p + 16, true);
      out.errno = -err;
      if ((flags & NLM_F_ACK_TLVS) !== 0 && len >= 36) {
        // the echoed request: its header only when capped, else the whole of it
        const echoed = (flags & NLM_F_CAPPED) !== 0 ? 16 : dv.getUint32(p + 20, true);
        for (let a = p + 20 + ((echoed + 3) & ~3); a + 4 <= p + len; ) {
          const alen = dv.getUint16(a, true);
          if (alen < 4 || a + alen > p + len) break;
          const t = dv.getUint16(a + 2, true) & 0x3fff;
          if (t === NLMSGERR_ATTR_MSG) {
            let end = a + alen;
            while (end > a + 4 && d[end - 1] === 0) end--;
            out.msg = new TextDecoder().decode(d.subarray(a + 4, end));
          } else if (t === NLMSGERR_ATTR_MISS_TYPE && alen >= 8) {
            out.missingAttr = dv.getUint32(a + 4, true);
          } else if (t === NLMSGERR_ATTR_MISS_NEST && alen >= 8) {
            out.missingNest = dv.getUint32(a + 4, true);
          }
          a += (alen + 3) & ~3;
        }
      }
      return true;
    }
    if (type === NLMSG_DONE) return true;
    if (type === familyId) {
      for (let a = p + 20; a + 8 <= p + len; ) {
        const alen = dv.getUint16(a, true);
        if (alen < 4) break;
        if ((dv.getUint16(a + 2, true) & 0x3fff) === NETDEV_A_DMABUF_ID) out.id = dv.getUint32(a + 4, true);
        a += (alen + 3) & ~3;
      }
    }
    p += (len + 3) & ~3;
  }
  return false;
}
