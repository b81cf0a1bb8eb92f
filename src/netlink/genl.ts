/**
 * The generic-netlink core, kernel side (`net/netlink/genetlink.c` + `netlink_rcv_skb`): splits a
 * sendmsg buffer into requests, finds the family and operation, checks permissions, validates
 * attributes against the operation's policy, runs do/dump handlers and queues the replies,
 * ACKs, errors and NLMSG_DONE exactly as Linux lays them out. Also the controller family
 * (`nlctrl`, id 0x10) so that clients resolve families by name.
 *
 * Datagrams: a do-reply and its ACK are separate datagrams (separate skbs in Linux); a dump is
 * packed into datagrams of at most `DUMP_DATAGRAM_MAX` bytes with NLMSG_DONE appended to the last
 * one when it fits.
 */
import type { DmabufBinding } from '../mem/index.js';
import { ERRNO } from '../uapi/index.js';
import {
  GENL_HDRLEN, NLMSG_ALIGN, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST, NlMsgBuilder, parseAttrs,
  type NlAttr, type NlMsg,
} from '../wire/netlink.js';
import {
  CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_HDRSIZE, CTRL_ATTR_MAXATTR, CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID, CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_OPS, CTRL_ATTR_OP_FLAGS, CTRL_ATTR_OP_ID, CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY, CTRL_CMD_NEWFAMILY, GENL_ADMIN_PERM, GENL_CMD_CAP_DO, GENL_CMD_CAP_DUMP, GENL_CMD_CAP_HASPOL, GENL_CTRL_MCGRP_NOTIFY_ID,
  GENL_CTRL_NAME, GENL_CTRL_VERSION, GENL_ID_CTRL,
} from './netdev-spec.js';
import {
  NO_ATTRS, NlOpError, emitAck, emitDone, nlaParseStrict, type AckOptions, type KernelExtack, type NlaPolicySet, type ParsedAttrs,
} from './nlattr.js';

/** NLMSG_MIN_TYPE: types below are netlink control messages */
export const NLMSG_MIN_TYPE = 0x10;
/** largest dump datagram (the kernel sizes dump skbs from the reader's buffer, up to 32 KiB) */
export const DUMP_DATAGRAM_MAX = 32768;

/** per-socket state the kernel keeps (portid, credentials, ack options, family sock-priv) */
export interface GenlSockState {
  readonly portid: number;
  readonly capNetAdmin: boolean;
  readonly ack: AckOptions;
  /** netdev sock-priv: the bindings made over this socket, newest first (`list_add`) */
  readonly netdevBindings: DmabufBinding[];
}

/** one request as a handler sees it (Linux `genl_info`) */
export interface GenlRequest {
  /** the whole sendmsg buffer */
  readonly buf: Uint8Array;
  readonly msg: NlMsg;
  readonly cmd: number;
  /** validated attributes (empty when the operation has no policy) */
  readonly attrs: ParsedAttrs;
  readonly sock: GenlSockState;
}

/** collects the reply messages of one request; every message gets the same header fields */
export class GenlReplies {
  readonly msgs: Uint8Array[] = [];
  constructor(
    private readonly familyId: number,
    private readonly version: number,
    private readonly cmd: number,
    private readonly seq: number,
    private readonly portid: number,
    private readonly flags: number,
  ) {}

  /** appends one message: nlmsghdr + genlmsghdr, then whatever `fill` writes */
  add(fill: (b: NlMsgBuilder) => void, cmd = this.cmd): void {
    const b = new NlMsgBuilder(128);
    const s = b.beginMsg(this.familyId, this.flags, this.seq, this.portid);
    b.genlHeader(cmd, this.version);
    fill(b);
    b.endMsg(s);
    this.msgs.push(b.bytes());
  }
}

export interface GenlOp {
  readonly cmd: number;
  readonly name: string;
  /** GENL_ADMIN_PERM and friends */
  readonly flags?: number;
  readonly doit?: (req: GenlRequest, out: GenlReplies) => void;
  /** strict policy of the do operation; none = attributes are not parsed */
  readonly doPolicy?: NlaPolicySet;
  readonly dumpit?: (req: GenlRequest, out: GenlReplies) => void;
  readonly dumpPolicy?: NlaPolicySet;
  /** a family-specific (liberal) attribute parser instead of a strict policy */
  readonly parse?: (buf: Uint8Array, off: number, len: number, msgOff: number) => ParsedAttrs;
  /** reply messages of dumps carry NLM_F_MULTI (nlctrl); netdev uses genlmsg_iput → flags 0 */
  readonly dumpMulti?: boolean;
}

export interface GenlFamily {
  readonly name: string;
  readonly id: number;
  readonly version: number;
  readonly hdrsize: number;
  readonly maxattr: number;
  readonly ops: readonly GenlOp[];
  readonly mcgrps: readonly { readonly name: string; readonly id: number }[];
}

export function opFlags(op: GenlOp): number {
  let f = op.flags ?? 0;
  if (op.doit) f |= GENL_CMD_CAP_DO;
  if (op.dumpit) f |= GENL_CMD_CAP_DUMP;
  if (op.doPolicy || op.dumpPolicy || op.parse) f |= GENL_CMD_CAP_HASPOL;
  return f;
}

function u32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function u16le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}

/** the families one kernel has registered */
export class GenlRegistry {
  private readonly families: GenlFamily[] = [];

  constructor() {
    this.families.push(ctrlFamily(this));
  }

  register(f: GenlFamily): void {
    if (this.byId(f.id) || this.byName(f.name)) throw new Error(`genl: family ${f.name}/${f.id} already registered`);
    this.families.push(f);
    this.families.sort((a, b) => a.id - b.id);
  }

  byId(id: number): GenlFamily | null {
    return this.families.find((f) => f.id === id) ?? null;
  }

  byName(name: string): GenlFamily | null {
    return this.families.find((f) => f.name === name) ?? null;
  }

  all(): readonly GenlFamily[] {
    return this.families;
  }

  /**
   * `netlink_rcv_skb` + `genl_rcv_msg`: handles every complete request in `buf` (a malformed
   * header ends processing silently, as in Linux) and returns the datagrams to queue.
   */
  receive(sock: GenlSockState, buf: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let p = 0;
    while (buf.length - p >= NLMSG_HDRLEN) {
      const len = u32le(buf, p);
      if (len < NLMSG_HDRLEN || len > buf.length - p) break;
      const msg: NlMsg = {
        len, off: p, payloadOff: p + NLMSG_HDRLEN,
        type: u16le(buf, p + 4), flags: u16le(buf, p + 6), seq: u32le(buf, p + 8), pid: u32le(buf, p + 12),
      };
      this.receiveOne(sock, buf, msg, out);
      p += Math.min(NLMSG_ALIGN(len), buf.length - p);
    }
    return out;
  }

  private receiveOne(sock: GenlSockState, buf: Uint8Array, msg: NlMsg, out: Uint8Array[]): void {
    let errno = 0;
    let ext: KernelExtack | undefined;
    if ((msg.flags & NLM_F_REQUEST) !== 0 && msg.type >= NLMSG_MIN_TYPE) {
      try {
        if (this.rcvMsg(sock, buf, msg, out) === 'dump') return;
      } catch (e) {
        if (!(e instanceof NlOpError)) throw e;
        errno = e.errno;
        ext = e.extack;
      }
    }
    if ((msg.flags & NLM_F_ACK) !== 0 || errno !== 0) {
      const b = new NlMsgBuilder(64);
      emitAck(b, buf, msg, sock.portid, errno, ext, sock.ack);
      out.push(b.bytes());
    }
  }

  /** `genl_family_rcv_msg`; returns 'dump' when a dump ran (no ACK follows a dump) */
  private rcvMsg(sock: GenlSockState, buf: Uint8Array, msg: NlMsg, out: Uint8Array[]): 'do' | 'dump' {
    const family = this.byId(msg.type);
    if (family === null) throw new NlOpError(ERRNO.ENOENT);
    const hdrlen = GENL_HDRLEN + family.hdrsize;
    if (msg.len < NLMSG_HDRLEN + hdrlen) throw new NlOpError(ERRNO.EINVAL);
    const cmd = buf[msg.payloadOff]!;
    const dump = (msg.flags & NLM_F_DUMP) === NLM_F_DUMP;
    const op = family.ops.find((o) => o.cmd === cmd && (dump ? o.dumpit !== undefined : o.doit !== undefined));
    if (op === undefined) throw new NlOpError(ERRNO.EOPNOTSUPP);
    if ((opFlags(op) & GENL_ADMIN_PERM) !== 0 && !sock.capNetAdmin) throw new NlOpError(ERRNO.EPERM);
    const aoff = msg.payloadOff + hdrlen;
    const alen = msg.off + msg.len - aoff;
    const policy = dump ? op.dumpPolicy : op.doPolicy;
    let attrs = NO_ATTRS;
    if (op.parse) attrs = op.parse(buf, aoff, alen, msg.off);
    else if (policy) attrs = nlaParseStrict(buf, aoff, alen, policy, msg.off);
    const req: GenlRequest = { buf, msg, cmd, attrs, sock };
    if (!dump) {
      const replies = new GenlReplies(family.id, family.version, cmd, msg.seq, sock.portid, 0);
      op.doit!(req, replies);
      out.push(...replies.msgs);
      return 'do';
    }
    const replies = new GenlReplies(family.id, family.version, cmd, msg.seq, sock.portid, op.dumpMulti ? NLM_F_MULTI : 0);
    let errno = 0;
    let ext: KernelExtack | undefined;
    try {
      op.dumpit!(req, replies);
    } catch (e) {
      if (!(e instanceof NlOpError)) throw e;
      errno = e.errno;
      ext = e.extack;
    }
    const done = new NlMsgBuilder(64);
    emitDone(done, msg, sock.portid, errno, ext, sock.ack);
    packDatagrams(replies.msgs, done.bytes(), out);
    return 'dump';
  }
}

/** packs dump messages into datagrams of at most DUMP_DATAGRAM_MAX bytes; DONE joins the last */
function packDatagrams(msgs: readonly Uint8Array[], done: Uint8Array, out: Uint8Array[]): void {
  let cur: Uint8Array[] = [];
  let size = 0;
  const flush = (): void => {
    if (cur.length === 0) return;
    const d = new Uint8Array(size);
    let o = 0;
    for (const m of cur) {
      d.set(m, o);
      o += m.length;
    }
    out.push(d);
    cur = [];
    size = 0;
  };
  for (const m of [...msgs, done]) {
    if (size > 0 && size + m.length > DUMP_DATAGRAM_MAX) flush();
    cur.push(m);
    size += m.length;
  }
  flush();
}

// ---- nlctrl ----

/** `ctrl_fill_info`: the family description (nests without NLA_F_NESTED, as the kernel writes them) */
function ctrlFillInfo(b: NlMsgBuilder, f: GenlFamily): void {
  b.putString(CTRL_ATTR_FAMILY_NAME, f.name);
  b.putU16(CTRL_ATTR_FAMILY_ID, f.id);
  b.putU32(CTRL_ATTR_VERSION, f.version);
  b.putU32(CTRL_ATTR_HDRSIZE, f.hdrsize);
  b.putU32(CTRL_ATTR_MAXATTR, f.maxattr);
  if (f.ops.length > 0) {
    const ops = b.putFlag(CTRL_ATTR_OPS);
    f.ops.forEach((op, i) => {
      const n = b.putFlag(i + 1);
      b.putU32(CTRL_ATTR_OP_ID, op.cmd);
      b.putU32(CTRL_ATTR_OP_FLAGS, opFlags(op));
      b.endNest(n);
    });
    b.endNest(ops);
  }
  if (f.mcgrps.length > 0) {
    const grps = b.putFlag(CTRL_ATTR_MCAST_GROUPS);
    f.mcgrps.forEach((g, i) => {
      const n = b.putFlag(i + 1);
      b.putU32(CTRL_ATTR_MCAST_GRP_ID, g.id);
      b.putString(CTRL_ATTR_MCAST_GRP_NAME, g.name);
      b.endNest(n);
    });
    b.endNest(grps);
  }
}

/** nlctrl validates liberally (GENL_DONT_VALIDATE_STRICT): unknown attributes are ignored */
function ctrlParse(buf: Uint8Array, off: number, len: number, msgOff: number): ParsedAttrs {
  const tb: (NlAttr | undefined)[] = [];
  const all: NlAttr[] = [];
  let p = off;
  let rem = len;
  while (rem >= 4) {
    const alen = u16le(buf, p);
    if (alen < 4 || alen > rem) break;
    const one = parseAttrs(buf, p, alen);
    const a = one?.[0];
    if (a !== undefined) {
      if (a.type === CTRL_ATTR_FAMILY_ID && a.len < 2) {
        throw new NlOpError(ERRNO.ERANGE, { msg: 'Attribute failed policy validation', badAttrOff: p - msgOff });
      }
      if (a.type === CTRL_ATTR_FAMILY_NAME && !buf.subarray(a.payloadOff, a.payloadOff + Math.min(a.len, 16)).includes(0)) {
        throw new NlOpError(ERRNO.EINVAL, { msg: 'Attribute failed policy validation', badAttrOff: p - msgOff });
      }
      tb[a.type] = a;
      all.push(a);
    }
    const step = (alen + 3) & ~3;
    p += step;
    rem -= step;
  }
  return { tb, all };
}

function cString(buf: Uint8Array, a: NlAttr): string {
  let e = a.payloadOff;
  while (e < a.payloadOff + a.len && buf[e] !== 0) e++;
  return new TextDecoder().decode(buf.subarray(a.payloadOff, e));
}

function ctrlFamily(reg: GenlRegistry): GenlFamily {
  const getFamily: GenlOp = {
    cmd: CTRL_CMD_GETFAMILY,
    name: 'getfamily',
    parse: ctrlParse,
    dumpMulti: true,
    doit(req, out) {
      let found: GenlFamily | null = null;
      let errno: number = ERRNO.EINVAL;
      const idAttr = req.attrs.tb[CTRL_ATTR_FAMILY_ID];
      const nameAttr = req.attrs.tb[CTRL_ATTR_FAMILY_NAME];
      if (idAttr) {
        found = reg.byId(u16le(req.buf, idAttr.payloadOff));
        errno = ERRNO.ENOENT;
      }
      if (nameAttr) {
        found = reg.byName(cString(req.buf, nameAttr));
        errno = ERRNO.ENOENT;
      }
      if (found === null) throw new NlOpError(errno);
      const f = found;
      out.add((b) => ctrlFillInfo(b, f), CTRL_CMD_NEWFAMILY);
    },
    dumpit(_req, out) {
      for (const f of reg.all()) out.add((b) => ctrlFillInfo(b, f), CTRL_CMD_NEWFAMILY);
    },
  };
  return {
    name: GENL_CTRL_NAME,
    id: GENL_ID_CTRL,
    version: GENL_CTRL_VERSION,
    hdrsize: 0,
    maxattr: 0,
    ops: [getFamily],
    mcgrps: [{ name: 'notify', id: GENL_CTRL_MCGRP_NOTIFY_ID }],
  };
}
