/**
 * Typed clients (userspace side, like ynl): `GenlCtrlClient` resolves families by name through
 * `nlctrl`, `NetdevClient` speaks the `netdev` family. Every call ENCODES its request with
 * `NlMsgBuilder`, sends the bytes through the socket and DECODES the reply bytes, so the byte
 * path is always exercised. Requests are sent with NLM_F_REQUEST|NLM_F_ACK (plus NLM_F_DUMP for
 * dumps) and nlmsg_pid 0, as ynl does.
 *
 * Failures reject with `ErrnoError(errno, 'netlink netdev <op>', extack)`: `msg`,
 * `badAttrOffset` and `missingAttr` come from the kernel's extack TLVs; `badAttr` is the name of
 * the offending (or missing) attribute resolved against the request, e.g. 'ifindex' or
 * 'queues.type'.
 *
 * The client drains the socket's receive queue while it waits for its answer; datagrams that
 * belong to other requests are discarded.
 */
import { ERRNO, ErrnoError, type Extack } from '../uapi/index.js';
import type { PagePoolStats } from '../mem/index.js';
import {
  NLMSG_DONE, NLMSG_ERROR, NLMSGERR_ATTR_MISS_NEST, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS,
  NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_DUMP, NLM_F_REQUEST, NlMsgBuilder, attrString, attrU16, attrU32, attrU64, attrUint,
  parseAttrs, parseNlError, parseNlMsgs, type NlAttr, type NlMsg,
} from '../wire/netlink.js';
import {
  CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_HDRSIZE, CTRL_ATTR_MAXATTR, CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID, CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_OPS, CTRL_ATTR_OP_FLAGS, CTRL_ATTR_OP_ID, CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY, DEV_SET, DMABUF_SET, GENL_ID_CTRL, NAPI_SET, NETDEV_A_DEV, NETDEV_A_DMABUF, NETDEV_A_NAPI,
  NETDEV_A_PAGE_POOL, NETDEV_A_PAGE_POOL_STATS, NETDEV_A_QSTATS, NETDEV_A_QUEUE, NETDEV_CMD, NETDEV_FAMILY_NAME,
  NETDEV_FAMILY_VERSION, NETDEV_QSTATS_SCOPE_QUEUE, NETDEV_QUEUE_TYPE_RX, NETDEV_QUEUE_TYPE_TX, PAGE_POOL_SET,
  PAGE_POOL_STATS_SET, QSTATS_COUNTERS, QSTATS_SET, QUEUE_SET, type AttrSetSpec,
} from './netdev-spec.js';

/** what the clients need from a socket */
export interface NetlinkTransport {
  readonly pid: number;
  send(msg: Uint8Array): void;
  recv(): Uint8Array | null;
}

/** `Extack` plus the offset of the nest a missing attribute belongs in (NLMSGERR_ATTR_MISS_NEST) */
export interface NetlinkExtack extends Extack {
  missingNestOffset?: number;
}

export type QueueType = 'rx' | 'tx';
/** a dma-buf file descriptor, or a handle that carries one (the host's `DeviceMemory`) */
export type DmabufFd = number | { readonly fd: number };

export interface FamilyInfo {
  id: number;
  name: string;
  version: number;
  hdrsize: number;
  maxattr: number;
  ops: { id: number; flags: number }[];
  mcastGroups: { name: string; id: number }[];
}

export interface DevInfo {
  ifindex: number;
  xdpFeatures: number;
  xdpZcMaxSegs?: number;
  xdpRxMetadataFeatures: number;
  xskFeatures: number;
}

export interface QueueInfo {
  id: number;
  type: QueueType;
  ifindex: number;
  napiId?: number;
  /** binding id of the devmem provider installed on this rx queue */
  dmabuf?: number;
  ioUring?: true;
  xsk?: true;
}

export interface PagePoolInfo {
  id: number;
  /** absent once the pool's device is gone */
  ifindex?: number;
  napiId?: number;
  inflight: number;
  inflightMem: number;
  /** seconds; present once the driver destroyed the pool (it drains while inflight > 0) */
  detachTime?: number;
  /** binding id of the pool's dmabuf memory provider */
  dmabuf?: number;
  ioUring?: true;
}

/** page-pool-stats-get reply: the pool's identity and the kernel's stat names (camelCase) */
export interface PagePoolStatsInfo extends PagePoolStats {
  info: { id: number; ifindex?: number };
}

export interface QstatsCounters {
  rxPackets?: number;
  rxBytes?: number;
  txPackets?: number;
  txBytes?: number;
  rxAllocFail?: number;
  rxHwDrops?: number;
  rxHwDropOverruns?: number;
  rxCsumComplete?: number;
  rxCsumUnnecessary?: number;
  rxCsumNone?: number;
  rxCsumBad?: number;
  rxHwGroPackets?: number;
  rxHwGroBytes?: number;
  rxHwGroWirePackets?: number;
  rxHwGroWireBytes?: number;
  rxHwDropRatelimits?: number;
  txHwDrops?: number;
  txHwDropErrors?: number;
  txCsumNone?: number;
  txNeedsCsum?: number;
  txHwGsoPackets?: number;
  txHwGsoBytes?: number;
  txHwGsoWirePackets?: number;
  txHwGsoWireBytes?: number;
  txHwDropRatelimits?: number;
  txStop?: number;
  txWake?: number;
}

export interface QstatsInfo extends QstatsCounters {
  ifindex: number;
  queueType?: QueueType;
  queueId?: number;
}

export interface NapiInfo {
  id: number;
  ifindex: number;
  irq?: number;
  pid?: number;
  threaded?: number;
  deferHardIrqs?: number;
  groFlushTimeout?: number;
  irqSuspendTimeout?: number;
}

export interface NapiSetRequest {
  id: number;
  deferHardIrqs?: number;
  groFlushTimeout?: number;
  irqSuspendTimeout?: number;
  threaded?: number;
}

interface Reply {
  buf: Uint8Array;
  msg: NlMsg;
}

/** read access to the attributes of one message or nest */
class Attrs {
  private readonly tb = new Map<number, NlAttr>();

  constructor(readonly buf: Uint8Array, off: number, len: number) {
    const list = parseAttrs(buf, off, len);
    if (list === null) throw new ErrnoError('EIO', 'netlink: malformed attributes in reply');
    for (const a of list) this.tb.set(a.type, a);
  }

  static ofMsg(r: Reply): Attrs {
    return new Attrs(r.buf, r.msg.payloadOff + 4, r.msg.len - 20);
  }

  has(t: number): boolean {
    return this.tb.has(t);
  }
  private need(t: number): NlAttr {
    const a = this.tb.get(t);
    if (a === undefined) throw new ErrnoError('EIO', `netlink: attribute ${t} missing in reply`);
    return a;
  }
  u32(t: number): number {
    return attrU32(this.buf, this.need(t));
  }
  s32(t: number): number {
    return attrU32(this.buf, this.need(t)) | 0;
  }
  uint(t: number): number {
    return attrUint(this.buf, this.need(t));
  }
  u64(t: number): number {
    return Number(attrU64(this.buf, this.need(t)));
  }
  u16(t: number): number {
    return attrU16(this.buf, this.need(t));
  }
  str(t: number): string {
    return attrString(this.buf, this.need(t));
  }
  nest(t: number): Attrs {
    const a = this.need(t);
    return new Attrs(this.buf, a.payloadOff, a.len);
  }
  /** every attribute of the area, in order */
  list(): NlAttr[] {
    return [...this.tb.values()];
  }
  optU32(t: number): number | undefined {
    return this.has(t) ? this.u32(t) : undefined;
  }
  optUint(t: number): number | undefined {
    return this.has(t) ? this.uint(t) : undefined;
  }
}

function queueType(v: number): QueueType {
  return v === NETDEV_QUEUE_TYPE_TX ? 'tx' : 'rx';
}

function queueTypeValue(t: QueueType): number {
  return t === 'tx' ? NETDEV_QUEUE_TYPE_TX : NETDEV_QUEUE_TYPE_RX;
}

function fdOf(fd: DmabufFd): number {
  return typeof fd === 'number' ? fd : fd.fd;
}

/** drops undefined optional fields so results compare cleanly */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function u16le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}

/** dotted attribute path of the attribute starting at `target` (offset in `req`), or undefined */
export function attrPathAt(req: Uint8Array, off: number, end: number, target: number, set: AttrSetSpec, prefix = ''): string | undefined {
  let p = off;
  while (end - p >= 4) {
    const len = u16le(req, p);
    if (len < 4 || p + len > end) return undefined;
    const type = u16le(req, p + 2) & 0x3fff;
    const spec = set.attrs[type];
    const name = prefix + (spec?.name ?? `attr-${type}`);
    if (p === target) return name;
    if (target > p && target < p + len && spec?.nested !== undefined) {
      return attrPathAt(req, p + 4, p + len, target, spec.nested, `${name}.`);
    }
    p += (len + 3) & ~3;
  }
  return undefined;
}

/** sends requests and collects the answer for its sequence number (one per socket) */
export class GenlTransactor {
  private seq = 0;

  constructor(private readonly t: NetlinkTransport) {}

  run(familyId: number, cmd: number, version: number, dump: boolean, syscall: string, set: AttrSetSpec, build: (b: NlMsgBuilder) => void): Reply[] {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    const seq = this.seq;
    const b = new NlMsgBuilder(128);
    const s = b.beginMsg(familyId, NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0), seq, 0);
    b.genlHeader(cmd, version);
    build(b);
    b.endMsg(s);
    const req = b.bytes();
    this.t.send(req);
    const replies: Reply[] = [];
    for (;;) {
      const d = this.t.recv();
      if (d === null) throw new ErrnoError('EIO', `${syscall}: no answer from the kernel`);
      for (const m of parseNlMsgs(d)) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_ERROR) {
          const info = parseNlError(d, m);
          if (info.error < 0) {
            throw new ErrnoError(-info.error, syscall, extackOf(req, set, info.extackMsg, info.badAttrOff, info.missType, info.missNestOff));
          }
          return replies;
        }
        if (m.type === NLMSG_DONE) {
          const err = m.len >= 20 ? d[m.payloadOff]! | (d[m.payloadOff + 1]! << 8) | (d[m.payloadOff + 2]! << 16) | (d[m.payloadOff + 3]! << 24) : 0;
          if (err < 0) throw doneError(d, m, err, req, set, syscall);
          if (dump) return replies;
          continue;
        }
        replies.push({ buf: d, msg: m });
      }
    }
  }
}

function doneError(d: Uint8Array, m: NlMsg, err: number, req: Uint8Array, set: AttrSetSpec, syscall: string): ErrnoError {
  let msg: string | undefined;
  let off: number | undefined;
  let missType: number | undefined;
  let missNest: number | undefined;
  if ((m.flags & NLM_F_ACK_TLVS) !== 0) {
    for (const a of parseAttrs(d, m.payloadOff + 4, m.len - 20) ?? []) {
      if (a.type === NLMSGERR_ATTR_MSG) msg = attrString(d, a);
      else if (a.type === NLMSGERR_ATTR_OFFS && a.len >= 4) off = attrU32(d, a);
      else if (a.type === NLMSGERR_ATTR_MISS_TYPE && a.len >= 4) missType = attrU32(d, a);
      else if (a.type === NLMSGERR_ATTR_MISS_NEST && a.len >= 4) missNest = attrU32(d, a);
    }
  }
  return new ErrnoError(-err, syscall, extackOf(req, set, msg, off, missType, missNest));
}

function extackOf(req: Uint8Array, set: AttrSetSpec, msg?: string, badOff?: number, missType?: number, missNest?: number): NetlinkExtack | undefined {
  if (msg === undefined && badOff === undefined && missType === undefined) return undefined;
  const ex: NetlinkExtack = {};
  if (msg !== undefined) ex.msg = msg;
  if (badOff !== undefined) {
    ex.badAttrOffset = badOff;
    const name = attrPathAt(req, 20, req.length, badOff, set);
    if (name !== undefined) ex.badAttr = name;
  }
  if (missType !== undefined) {
    ex.missingAttr = missType;
    let where = set;
    let prefix = '';
    if (missNest !== undefined) {
      ex.missingNestOffset = missNest;
      const nestName = attrPathAt(req, 20, req.length, missNest, set);
      const nestSpec = req.length >= missNest + 4 ? set.attrs[u16le(req, missNest + 2) & 0x3fff] : undefined;
      if (nestName !== undefined && nestSpec?.nested !== undefined) {
        where = nestSpec.nested;
        prefix = `${nestName}.`;
      }
    }
    ex.badAttr ??= prefix + (where.attrs[missType]?.name ?? `attr-${missType}`);
  }
  return ex;
}

/** the generic-netlink controller: family resolution */
export class GenlCtrlClient {
  /** @internal shared with the family clients of the same socket */
  readonly tx: GenlTransactor;
  private readonly cache = new Map<string, FamilyInfo>();

  constructor(t: NetlinkTransport) {
    this.tx = new GenlTransactor(t);
  }

  /** CTRL_CMD_GETFAMILY by name (cached after the first success) */
  async getFamily(name: string): Promise<FamilyInfo> {
    return this.getFamilySync(name);
  }

  /** @internal */
  getFamilySync(name: string): FamilyInfo {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const set: AttrSetSpec = { name: 'ctrl', attrs: { 2: { name: 'family-name', kind: 'u32' } } };
    const r = this.tx.run(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, false, 'netlink nlctrl getfamily', set, (b) => b.putString(CTRL_ATTR_FAMILY_NAME, name));
    if (r.length !== 1) throw new ErrnoError('EIO', 'netlink nlctrl getfamily');
    const a = Attrs.ofMsg(r[0]!);
    const info: FamilyInfo = {
      id: a.u16(CTRL_ATTR_FAMILY_ID),
      name: a.str(CTRL_ATTR_FAMILY_NAME),
      version: a.u32(CTRL_ATTR_VERSION),
      hdrsize: a.u32(CTRL_ATTR_HDRSIZE),
      maxattr: a.u32(CTRL_ATTR_MAXATTR),
      ops: a.has(CTRL_ATTR_OPS) ? a.nest(CTRL_ATTR_OPS).list().map((o) => {
        const n = new Attrs(a.buf, o.payloadOff, o.len);
        return { id: n.u32(CTRL_ATTR_OP_ID), flags: n.u32(CTRL_ATTR_OP_FLAGS) };
      }) : [],
      mcastGroups: a.has(CTRL_ATTR_MCAST_GROUPS) ? a.nest(CTRL_ATTR_MCAST_GROUPS).list().map((g) => {
        const n = new Attrs(a.buf, g.payloadOff, g.len);
        return { name: n.str(CTRL_ATTR_MCAST_GRP_NAME), id: n.u32(CTRL_ATTR_MCAST_GRP_ID) };
      }) : [],
    };
    this.cache.set(name, info);
    return info;
  }
}

/** the `netdev` family, userspace side */
export class NetdevClient {
  constructor(private readonly ctrl: GenlCtrlClient) {}

  private run(cmd: number, op: string, dump: boolean, set: AttrSetSpec, build: (b: NlMsgBuilder) => void = () => {}): Reply[] {
    const syscall = `netlink netdev ${op}`;
    let familyId: number;
    try {
      familyId = this.ctrl.getFamilySync(NETDEV_FAMILY_NAME).id;
    } catch (e) {
      if (e instanceof ErrnoError && e.syscall !== syscall) throw new ErrnoError(e.errno, syscall, e.extack);
      throw e;
    }
    return this.ctrl.tx.run(familyId, cmd, NETDEV_FAMILY_VERSION, dump, syscall, set, build);
  }

  private one(r: Reply[], op: string): Reply {
    if (r.length !== 1) throw new ErrnoError(ERRNO.EIO, `netlink netdev ${op}`);
    return r[0]!;
  }

  // ---- bind ----

  /** `bind-rx`: binds a dma-buf to rx queues; the binding lives until the socket closes */
  async bindRx(req: {
    ifindex: number; fd: DmabufFd; queues: readonly { id: number; type: QueueType }[];
    /** Linux 7.3 `rx-buf-size` (the spec's rx-page-size): bytes per net_iov, a power of two ≥ 4096; omitted = a page */
    rxBufSize?: number;
  }): Promise<{ id: number }> {
    const r = this.run(NETDEV_CMD.BIND_RX, 'bind-rx', false, DMABUF_SET, (b) => {
      b.putU32(NETDEV_A_DMABUF.IFINDEX, req.ifindex);
      b.putU32(NETDEV_A_DMABUF.FD, fdOf(req.fd));
      for (const q of req.queues) {
        const n = b.beginNest(NETDEV_A_DMABUF.QUEUES);
        b.putU32(NETDEV_A_QUEUE.ID, q.id);
        b.putU32(NETDEV_A_QUEUE.TYPE, queueTypeValue(q.type));
        b.endNest(n);
      }
      if (req.rxBufSize !== undefined) b.putU32(NETDEV_A_DMABUF.RX_BUF_SIZE, req.rxBufSize >>> 0);
    });
    return { id: Attrs.ofMsg(this.one(r, 'bind-rx')).u32(NETDEV_A_DMABUF.ID) };
  }

  /** `bind-tx`: maps a dma-buf for devmem TX on a device; the binding lives until the socket closes */
  async bindTx(req: { ifindex: number; fd: DmabufFd }): Promise<{ id: number }> {
    const r = this.run(NETDEV_CMD.BIND_TX, 'bind-tx', false, DMABUF_SET, (b) => {
      b.putU32(NETDEV_A_DMABUF.IFINDEX, req.ifindex);
      b.putU32(NETDEV_A_DMABUF.FD, fdOf(req.fd));
    });
    return { id: Attrs.ofMsg(this.one(r, 'bind-tx')).u32(NETDEV_A_DMABUF.ID) };
  }

  // ---- dev ----

  async devGet(ifindex: number): Promise<DevInfo> {
    const r = this.run(NETDEV_CMD.DEV_GET, 'dev-get', false, DEV_SET, (b) => b.putU32(NETDEV_A_DEV.IFINDEX, ifindex));
    return decodeDev(this.one(r, 'dev-get'));
  }

  async devDump(): Promise<DevInfo[]> {
    return this.run(NETDEV_CMD.DEV_GET, 'dev-get', true, DEV_SET).map(decodeDev);
  }

  // ---- queues ----

  async queueGet(req: { ifindex: number; id: number; type: QueueType }): Promise<QueueInfo> {
    const r = this.run(NETDEV_CMD.QUEUE_GET, 'queue-get', false, QUEUE_SET, (b) => {
      b.putU32(NETDEV_A_QUEUE.IFINDEX, req.ifindex);
      b.putU32(NETDEV_A_QUEUE.TYPE, queueTypeValue(req.type));
      b.putU32(NETDEV_A_QUEUE.ID, req.id);
    });
    return decodeQueue(this.one(r, 'queue-get'));
  }

  async queueDump(ifindex?: number): Promise<QueueInfo[]> {
    return this.run(NETDEV_CMD.QUEUE_GET, 'queue-get', true, QUEUE_SET, (b) => {
      if (ifindex !== undefined) b.putU32(NETDEV_A_QUEUE.IFINDEX, ifindex);
    }).map(decodeQueue);
  }

  // ---- page pools ----

  async pagePoolGet(id: number): Promise<PagePoolInfo> {
    const r = this.run(NETDEV_CMD.PAGE_POOL_GET, 'page-pool-get', false, PAGE_POOL_SET, (b) => b.putUint(NETDEV_A_PAGE_POOL.ID, id));
    return decodePagePool(this.one(r, 'page-pool-get'));
  }

  async pagePoolDump(): Promise<PagePoolInfo[]> {
    return this.run(NETDEV_CMD.PAGE_POOL_GET, 'page-pool-get', true, PAGE_POOL_SET).map(decodePagePool);
  }

  async pagePoolStatsGet(id: number): Promise<PagePoolStatsInfo> {
    const r = this.run(NETDEV_CMD.PAGE_POOL_STATS_GET, 'page-pool-stats-get', false, PAGE_POOL_STATS_SET, (b) => {
      const n = b.beginNest(NETDEV_A_PAGE_POOL_STATS.INFO);
      b.putUint(NETDEV_A_PAGE_POOL.ID, id);
      b.endNest(n);
    });
    return decodePagePoolStats(this.one(r, 'page-pool-stats-get'));
  }

  async pagePoolStatsDump(): Promise<PagePoolStatsInfo[]> {
    return this.run(NETDEV_CMD.PAGE_POOL_STATS_GET, 'page-pool-stats-get', true, PAGE_POOL_STATS_SET).map(decodePagePoolStats);
  }

  // ---- qstats ----

  /** `qstats-get` dump: device totals, or one entry per queue with `scope: 'queue'` */
  async qstatsDump(req: { ifindex?: number; scope?: 'queue' } = {}): Promise<QstatsInfo[]> {
    return this.run(NETDEV_CMD.QSTATS_GET, 'qstats-get', true, QSTATS_SET, (b) => {
      if (req.ifindex !== undefined) b.putU32(NETDEV_A_QSTATS.IFINDEX, req.ifindex);
      if (req.scope === 'queue') b.putUint(NETDEV_A_QSTATS.SCOPE, NETDEV_QSTATS_SCOPE_QUEUE);
    }).map(decodeQstats);
  }

  // ---- napi ----

  async napiGet(id: number): Promise<NapiInfo> {
    const r = this.run(NETDEV_CMD.NAPI_GET, 'napi-get', false, NAPI_SET, (b) => b.putU32(NETDEV_A_NAPI.ID, id));
    return decodeNapi(this.one(r, 'napi-get'));
  }

  async napiDump(ifindex?: number): Promise<NapiInfo[]> {
    return this.run(NETDEV_CMD.NAPI_GET, 'napi-get', true, NAPI_SET, (b) => {
      if (ifindex !== undefined) b.putU32(NETDEV_A_NAPI.IFINDEX, ifindex);
    }).map(decodeNapi);
  }

  /** `napi-set` (CAP_NET_ADMIN) */
  async napiSet(req: NapiSetRequest): Promise<void> {
    this.run(NETDEV_CMD.NAPI_SET, 'napi-set', false, NAPI_SET, (b) => {
      b.putU32(NETDEV_A_NAPI.ID, req.id);
      if (req.deferHardIrqs !== undefined) b.putU32(NETDEV_A_NAPI.DEFER_HARD_IRQS, req.deferHardIrqs);
      if (req.groFlushTimeout !== undefined) b.putUint(NETDEV_A_NAPI.GRO_FLUSH_TIMEOUT, req.groFlushTimeout);
      if (req.irqSuspendTimeout !== undefined) b.putUint(NETDEV_A_NAPI.IRQ_SUSPEND_TIMEOUT, req.irqSuspendTimeout);
      if (req.threaded !== undefined) b.putU32(NETDEV_A_NAPI.THREADED, req.threaded);
    });
  }
}

// ---- decoders ----

function decodeDev(r: Reply): DevInfo {
  const a = Attrs.ofMsg(r);
  return compact({
    ifindex: a.u32(NETDEV_A_DEV.IFINDEX),
    xdpFeatures: a.u64(NETDEV_A_DEV.XDP_FEATURES),
    xdpZcMaxSegs: a.optU32(NETDEV_A_DEV.XDP_ZC_MAX_SEGS),
    xdpRxMetadataFeatures: a.u64(NETDEV_A_DEV.XDP_RX_METADATA_FEATURES),
    xskFeatures: a.u64(NETDEV_A_DEV.XSK_FEATURES),
  });
}

function decodeQueue(r: Reply): QueueInfo {
  const a = Attrs.ofMsg(r);
  return compact<QueueInfo>({
    id: a.u32(NETDEV_A_QUEUE.ID),
    type: queueType(a.u32(NETDEV_A_QUEUE.TYPE)),
    ifindex: a.u32(NETDEV_A_QUEUE.IFINDEX),
    napiId: a.optU32(NETDEV_A_QUEUE.NAPI_ID),
    dmabuf: a.optU32(NETDEV_A_QUEUE.DMABUF),
    ioUring: a.has(NETDEV_A_QUEUE.IO_URING) ? true : undefined,
    xsk: a.has(NETDEV_A_QUEUE.XSK) ? true : undefined,
  });
}

function decodePagePool(r: Reply): PagePoolInfo {
  const a = Attrs.ofMsg(r);
  return compact<PagePoolInfo>({
    id: a.uint(NETDEV_A_PAGE_POOL.ID),
    ifindex: a.optU32(NETDEV_A_PAGE_POOL.IFINDEX),
    napiId: a.optUint(NETDEV_A_PAGE_POOL.NAPI_ID),
    inflight: a.uint(NETDEV_A_PAGE_POOL.INFLIGHT),
    inflightMem: a.uint(NETDEV_A_PAGE_POOL.INFLIGHT_MEM),
    detachTime: a.optUint(NETDEV_A_PAGE_POOL.DETACH_TIME),
    dmabuf: a.optU32(NETDEV_A_PAGE_POOL.DMABUF),
    ioUring: a.has(NETDEV_A_PAGE_POOL.IO_URING) ? true : undefined,
  });
}

function decodePagePoolStats(r: Reply): PagePoolStatsInfo {
  const a = Attrs.ofMsg(r);
  const info = a.nest(NETDEV_A_PAGE_POOL_STATS.INFO);
  const S = NETDEV_A_PAGE_POOL_STATS;
  return {
    info: compact({ id: info.uint(NETDEV_A_PAGE_POOL.ID), ifindex: info.optU32(NETDEV_A_PAGE_POOL.IFINDEX) }),
    allocFast: a.uint(S.ALLOC_FAST),
    allocSlow: a.uint(S.ALLOC_SLOW),
    allocSlowHighOrder: a.uint(S.ALLOC_SLOW_HIGH_ORDER),
    allocEmpty: a.uint(S.ALLOC_EMPTY),
    allocRefill: a.uint(S.ALLOC_REFILL),
    allocWaive: a.uint(S.ALLOC_WAIVE),
    recycleCached: a.uint(S.RECYCLE_CACHED),
    recycleCacheFull: a.uint(S.RECYCLE_CACHE_FULL),
    recycleRing: a.uint(S.RECYCLE_RING),
    recycleRingFull: a.uint(S.RECYCLE_RING_FULL),
    recycleReleasedRefcnt: a.uint(S.RECYCLE_RELEASED_REFCNT),
  };
}

function decodeQstats(r: Reply): QstatsInfo {
  const a = Attrs.ofMsg(r);
  const out: QstatsInfo = compact<QstatsInfo>({
    ifindex: a.u32(NETDEV_A_QSTATS.IFINDEX),
    queueType: a.has(NETDEV_A_QSTATS.QUEUE_TYPE) ? queueType(a.u32(NETDEV_A_QSTATS.QUEUE_TYPE)) : undefined,
    queueId: a.optU32(NETDEV_A_QSTATS.QUEUE_ID),
  });
  const counters: Record<string, number> = {};
  for (const [type, , key] of QSTATS_COUNTERS) if (a.has(type)) counters[key] = a.uint(type);
  return Object.assign(out, counters);
}

function decodeNapi(r: Reply): NapiInfo {
  const a = Attrs.ofMsg(r);
  return compact<NapiInfo>({
    id: a.u32(NETDEV_A_NAPI.ID),
    ifindex: a.u32(NETDEV_A_NAPI.IFINDEX),
    irq: a.optU32(NETDEV_A_NAPI.IRQ),
    pid: a.optU32(NETDEV_A_NAPI.PID),
    threaded: a.optUint(NETDEV_A_NAPI.THREADED),
    deferHardIrqs: a.has(NETDEV_A_NAPI.DEFER_HARD_IRQS) ? a.s32(NETDEV_A_NAPI.DEFER_HARD_IRQS) : undefined,
    groFlushTimeout: a.optUint(NETDEV_A_NAPI.GRO_FLUSH_TIMEOUT),
    irqSuspendTimeout: a.optUint(NETDEV_A_NAPI.IRQ_SUSPEND_TIMEOUT),
  });
}
