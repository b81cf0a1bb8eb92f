/**
 * Kernel-side netlink attribute validation (Linux `lib/nlattr.c`, strict mode as used by every
 * new generic-netlink family) and the kernel's error/ack/done encoding (`netlink_ack`,
 * `netlink_dump_done`) with extended-ack TLVs, including the `NLMSGERR_ATTR_POLICY` nest that
 * `wire/netlink.ts` does not emit. Byte layouts were checked against a 6.18 kernel.
 *
 * Errors are thrown as `NlOpError` (positive errno + kernel extack); the genl core turns them
 * into NLMSG_ERROR / NLMSG_DONE messages.
 */
import {
  NLA_ALIGN, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, NLMSGERR_ATTR_MISS_NEST, NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSGERR_ATTR_POLICY, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK_TLVS,
  NLM_F_CAPPED, NLM_F_MULTI, type NlAttr, type NlMsg, type NlMsgBuilder,
} from '../wire/netlink.js';
import { ERRNO, errnoName } from '../uapi/index.js';

/** attribute data types the netdev family uses (Linux `NLA_*`) */
export type NlaType = 'u8' | 'u16' | 'u32' | 'u64' | 'uint' | 'flag' | 'nested';

/** one entry of a Linux `struct nla_policy` array */
export interface NlaPolicy {
  readonly type: NlaType;
  /** NLA_POLICY_MIN / NLA_POLICY_FULL_RANGE lower bound (unsigned) */
  readonly min?: number;
  /** NLA_POLICY_MAX / NLA_POLICY_FULL_RANGE upper bound (unsigned) */
  readonly max?: number;
  /** NLA_POLICY_MASK: set bits outside the mask are rejected */
  readonly mask?: number;
  /** NLA_POLICY_NESTED: the policy the nest's content is validated against */
  readonly nested?: NlaPolicySet;
}

/** a policy array: `attrs[type]`, types 1..maxType; a hole is NLA_UNSPEC ("Unsupported attribute") */
export interface NlaPolicySet {
  readonly maxType: number;
  readonly attrs: Readonly<Partial<Record<number, NlaPolicy>>>;
}

/** `struct netlink_ext_ack` as the kernel fills it (offsets from the start of the request) */
export interface KernelExtack {
  msg?: string;
  badAttrOff?: number;
  policy?: NlaPolicy;
  missType?: number;
  missNestOff?: number;
}

/** a failed netlink operation: positive errno and the extack to report */
export class NlOpError extends Error {
  constructor(
    readonly errno: number,
    readonly extack: KernelExtack = {},
  ) {
    super(`netlink: ${errnoName(errno)}${extack.msg ? `: ${extack.msg}` : ''}`);
    this.name = 'NlOpError';
  }
}

// enum netlink_attribute_type (NL_ATTR_TYPE_*) and enum netlink_policy_type_attr
export const NL_ATTR_TYPE_FLAG = 1;
export const NL_ATTR_TYPE_U8 = 2;
export const NL_ATTR_TYPE_U16 = 3;
export const NL_ATTR_TYPE_U32 = 4;
export const NL_ATTR_TYPE_U64 = 5;
export const NL_ATTR_TYPE_NESTED = 13;
export const NL_ATTR_TYPE_UINT = 17;
export const NL_POLICY_TYPE_ATTR_TYPE = 1;
export const NL_POLICY_TYPE_ATTR_MIN_VALUE_U = 4;
export const NL_POLICY_TYPE_ATTR_MAX_VALUE_U = 5;
export const NL_POLICY_TYPE_ATTR_MASK = 12;

/** nla_attr_len[]: exact payload length of fixed-size types (strict validation) */
const FIXED_LEN: Partial<Record<NlaType, number>> = { u8: 1, u16: 2, u32: 4, u64: 8 };
const TYPE_MAX: Record<NlaType, bigint> = {
  u8: 0xffn, u16: 0xffffn, u32: 0xffffffffn, u64: 0xffffffffffffffffn, uint: 0xffffffffffffffffn, flag: 0n, nested: 0n,
};
const NL_ATTR_TYPE: Record<NlaType, number> = {
  u8: NL_ATTR_TYPE_U8, u16: NL_ATTR_TYPE_U16, u32: NL_ATTR_TYPE_U32, u64: NL_ATTR_TYPE_U64,
  uint: NL_ATTR_TYPE_UINT, flag: NL_ATTR_TYPE_FLAG, nested: NL_ATTR_TYPE_NESTED,
};

/** MAX_POLICY_RECURSION_DEPTH */
const MAX_DEPTH = 10;

function u16le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}

function u32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** integer payload of an attribute already checked for length, as a bigint */
function intValue(buf: Uint8Array, a: NlAttr): bigint {
  switch (a.len) {
    case 1: return BigInt(buf[a.payloadOff]!);
    case 2: return BigInt(u16le(buf, a.payloadOff));
    case 4: return BigInt(u32le(buf, a.payloadOff));
    default: return (BigInt(u32le(buf, a.payloadOff + 4)) << 32n) | BigInt(u32le(buf, a.payloadOff));
  }
}

/** attributes of one parsed area: `tb[type]` is the LAST attribute of that type, as in the kernel */
export interface ParsedAttrs {
  readonly tb: readonly (NlAttr | undefined)[];
  readonly all: readonly NlAttr[];
}

export const NO_ATTRS: ParsedAttrs = { tb: [], all: [] };

/**
 * `__nla_validate_parse` with NL_VALIDATE_STRICT over `[off, off+len)` of `buf`; `msgOff` is the
 * request message's start (extack offsets are relative to it). Throws `NlOpError`.
 */
export function nlaParseStrict(buf: Uint8Array, off: number, len: number, set: NlaPolicySet, msgOff: number, depth = 0): ParsedAttrs {
  if (depth >= MAX_DEPTH) throw new NlOpError(ERRNO.EINVAL, { msg: 'allowed policy recursion depth exceeded' });
  const tb: (NlAttr | undefined)[] = [];
  const all: NlAttr[] = [];
  let p = off;
  let rem = len;
  while (rem >= NLA_HDRLEN) {
    const alen = u16le(buf, p);
    if (alen < NLA_HDRLEN || alen > rem) break;
    const raw = u16le(buf, p + 2);
    const a: NlAttr = { type: raw & NLA_TYPE_MASK, nested: (raw & NLA_F_NESTED) !== 0, off: p, len: alen - NLA_HDRLEN, payloadOff: p + NLA_HDRLEN };
    if (a.type === 0 || a.type > set.maxType) {
      throw new NlOpError(ERRNO.EINVAL, { msg: 'Unknown attribute type', badAttrOff: p - msgOff });
    }
    const pol = set.attrs[a.type];
    if (pol === undefined) throw new NlOpError(ERRNO.EINVAL, { msg: 'Unsupported attribute', badAttrOff: p - msgOff });
    validateNla(buf, a, pol, msgOff, depth);
    tb[a.type] = a;
    all.push(a);
    const step = NLA_ALIGN(alen);
    p += step;
    rem -= step;
  }
  if (rem > 0) throw new NlOpError(ERRNO.EINVAL, { msg: 'bytes leftover after parsing attributes' });
  return { tb, all };
}

/** `validate_nla` in strict mode */
function validateNla(buf: Uint8Array, a: NlAttr, pol: NlaPolicy, msgOff: number, depth: number): void {
  const bad = a.off - msgOff;
  const polErr = (errno: number, msg: string): NlOpError => new NlOpError(errno, { msg, badAttrOff: bad, policy: pol });
  const fixed = FIXED_LEN[pol.type];
  if (fixed !== undefined && a.len !== fixed) throw polErr(ERRNO.EINVAL, 'invalid attribute length');
  if (pol.type === 'nested' && !a.nested) throw polErr(ERRNO.EINVAL, 'NLA_F_NESTED is missing');
  if (pol.type !== 'nested' && a.nested) throw polErr(ERRNO.EINVAL, 'NLA_F_NESTED not expected');
  switch (pol.type) {
    case 'flag':
      if (a.len > 0) throw polErr(ERRNO.ERANGE, 'Attribute failed policy validation');
      return;
    case 'nested':
      if (a.len === 0) return;
      if (a.len < NLA_HDRLEN) throw polErr(ERRNO.ERANGE, 'Attribute failed policy validation');
      if (pol.nested !== undefined) nlaParseStrict(buf, a.payloadOff, a.len, pol.nested, msgOff, depth + 1);
      return;
    case 'uint':
      if (a.len !== 4 && a.len !== 8) throw polErr(ERRNO.EINVAL, 'invalid attribute length');
      break;
    default:
      break;
  }
  if (pol.mask !== undefined) {
    if ((intValue(buf, a) & ~BigInt(pol.mask)) !== 0n) throw new NlOpError(ERRNO.EINVAL, { msg: 'reserved bit set', badAttrOff: bad });
  } else if (pol.min !== undefined || pol.max !== undefined) {
    const v = intValue(buf, a);
    if (v < BigInt(pol.min ?? 0) || v > (pol.max === undefined ? TYPE_MAX[pol.type] : BigInt(pol.max))) {
      throw polErr(ERRNO.ERANGE, 'integer out of range');
    }
  }
}

/** `netlink_policy_dump_write_attr` for the error-reporting case (no policy-dump state) */
export function putPolicy(b: NlMsgBuilder, attrType: number, pol: NlaPolicy): void {
  const n = b.beginNest(attrType);
  switch (pol.type) {
    case 'u8': case 'u16': case 'u32': case 'u64': case 'uint':
      if (pol.mask !== undefined) {
        b.putU64(NL_POLICY_TYPE_ATTR_MASK, BigInt(pol.mask));
      } else {
        b.putU64(NL_POLICY_TYPE_ATTR_MIN_VALUE_U, BigInt(pol.min ?? 0));
        b.putU64(NL_POLICY_TYPE_ATTR_MAX_VALUE_U, pol.max === undefined ? TYPE_MAX[pol.type] : BigInt(pol.max));
      }
      break;
    default:
      break;
  }
  b.putU32(NL_POLICY_TYPE_ATTR_TYPE, NL_ATTR_TYPE[pol.type]);
  b.endNest(n);
}

/** socket options that shape acks: NETLINK_EXT_ACK and NETLINK_CAP_ACK */
export interface AckOptions {
  extAck: boolean;
  capAck: boolean;
}

function hasTlvs(errno: number, ext: KernelExtack | undefined): ext is KernelExtack {
  if (ext === undefined) return false;
  if (ext.msg !== undefined) return true;
  if (errno === 0) return false;
  return ext.badAttrOff !== undefined || ext.policy !== undefined || ext.missType !== undefined || ext.missNestOff !== undefined;
}

/** `netlink_ack_tlv_fill`: MSG, then (errors only) OFFS, POLICY, MISS_TYPE, MISS_NEST */
function putTlvs(b: NlMsgBuilder, errno: number, ext: KernelExtack): void {
  if (ext.msg !== undefined) b.putString(NLMSGERR_ATTR_MSG, ext.msg);
  if (errno === 0) return;
  if (ext.badAttrOff !== undefined) b.putU32(NLMSGERR_ATTR_OFFS, ext.badAttrOff);
  if (ext.policy !== undefined) putPolicy(b, NLMSGERR_ATTR_POLICY, ext.policy);
  if (ext.missType !== undefined) b.putU32(NLMSGERR_ATTR_MISS_TYPE, ext.missType);
  if (ext.missNestOff !== undefined) b.putU32(NLMSGERR_ATTR_MISS_NEST, ext.missNestOff);
}

/**
 * `netlink_ack`: an NLMSG_ERROR answering `req` (found in `buf`) with `-errno` (0 = ACK). Errors
 * echo the whole request unless NETLINK_CAP_ACK is set; ACKs are always capped. Extack TLVs are
 * added only with NETLINK_EXT_ACK.
 */
export function emitAck(b: NlMsgBuilder, buf: Uint8Array, req: NlMsg, portid: number, errno: number, ext: KernelExtack | undefined, opts: AckOptions): void {
  const capped = errno === 0 || opts.capAck;
  const tlvs = opts.extAck && hasTlvs(errno, ext);
  const start = b.beginMsg(NLMSG_ERROR, (capped ? NLM_F_CAPPED : 0) | (tlvs ? NLM_F_ACK_TLVS : 0), req.seq, portid);
  b.putRawS32(-errno);
  b.putRaw(buf.subarray(req.off, req.off + NLMSG_HDRLEN));
  if (!capped && req.len > NLMSG_HDRLEN) b.putRaw(buf.subarray(req.off + NLMSG_HDRLEN, req.off + req.len));
  if (tlvs && ext !== undefined) putTlvs(b, errno, ext);
  b.endMsg(start);
}

/** `netlink_dump_done`: NLMSG_DONE (NLM_F_MULTI) carrying `-errno` and, with EXT_ACK, the extack */
export function emitDone(b: NlMsgBuilder, req: NlMsg, portid: number, errno: number, ext: KernelExtack | undefined, opts: AckOptions): void {
  const tlvs = opts.extAck && hasTlvs(errno, ext);
  const start = b.beginMsg(NLMSG_DONE, NLM_F_MULTI | (tlvs ? NLM_F_ACK_TLVS : 0), req.seq, portid);
  b.putRawS32(-errno);
  if (tlvs && ext !== undefined) putTlvs(b, errno, ext);
  b.endMsg(start);
}
