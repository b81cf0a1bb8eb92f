/**
 * The `netdev` generic-netlink family, kernel side (`net/core/netdev-genl.c`,
 * `net/core/page_pool_user.c`, `net/core/devmem.c`, `net/core/netdev_rx_queue.c`, 6.18): the
 * do/dump handlers, `bind-rx` / `bind-tx` with the kernel's validation order, errno values and
 * extack messages, and the implicit unbind run when the netlink socket closes.
 *
 * Deliberate deviations from 6.18, each because the model has no counterpart: no AF_XDP pools
 * (no EBUSY check), a single DMA device per NIC (the multi-PF check never fires), no per-socket
 * mutexes (everything runs synchronously), and no netns (every device is visible).
 */
import {
  BindingError, DmabufBinding, DmabufDevmemProvider, PAGE_SHIFT, PAGE_SIZE, type PagePool,
} from '../mem/index.js';
import { RxQueue, type NetDevice } from '../netdev/index.js';
import { ERRNO } from '../uapi/index.js';
import { attrU32, attrUint, type NlAttr, type NlMsgBuilder } from '../wire/netlink.js';
import { GenlReplies, type GenlFamily, type GenlOp, type GenlRequest, type GenlSockState } from './genl.js';
import type { FdObject, NetdevKernel } from './kernel.js';
import {
  BIND_RX_POLICY, BIND_TX_POLICY, DEV_GET_POLICY, EXTACK_HDS_DISABLED, EXTACK_HDS_THRESH, EXTACK_NO_NETMEM_TX,
  EXTACK_PP_STATS_BY_IFINDEX, EXTACK_QUEUE_BOUND, EXTACK_RXQ_OUT_OF_RANGE, EXTACK_RX_BUF_SIZE_UNSUPPORTED, EXTACK_XDP_ATTACHED,
  GENL_ADMIN_PERM, extackRxBufSize,
  NAPI_GET_DO_POLICY, NAPI_GET_DUMP_POLICY, NAPI_SET_POLICY, NETDEV_A_DEV, NETDEV_A_DMABUF, NETDEV_A_NAPI,
  NETDEV_A_PAGE_POOL, NETDEV_A_PAGE_POOL_STATS, NETDEV_A_QSTATS, NETDEV_A_QUEUE, NETDEV_CMD, NETDEV_FAMILY_ID,
  NETDEV_FAMILY_NAME, NETDEV_FAMILY_VERSION, NETDEV_MCGRP_MGMT, NETDEV_MCGRP_MGMT_ID, NETDEV_MCGRP_PAGE_POOL,
  NETDEV_MCGRP_PAGE_POOL_ID, NETDEV_QSTATS_SCOPE_QUEUE, NETDEV_QUEUE_TYPE_RX, NETDEV_QUEUE_TYPE_TX,
  PAGE_POOL_GET_POLICY, PAGE_POOL_INFO_POLICY, PAGE_POOL_STATS_GET_POLICY, QSTATS_COUNTERS, QSTATS_GET_POLICY,
  QUEUE_GET_DO_POLICY, QUEUE_GET_DUMP_POLICY,
} from './netdev-spec.js';
import { NlOpError, nlaParseStrict, type KernelExtack } from './nlattr.js';

// ---- small helpers ----

function fail(errno: number, extack?: KernelExtack): never {
  throw new NlOpError(errno, extack);
}

/** offset of `a` from the start of the request message (NL_SET_BAD_ATTR) */
function badAttr(req: GenlRequest, a: NlAttr): KernelExtack {
  return { badAttrOff: a.off - req.msg.off };
}

/** GENL_REQ_ATTR_CHECK: the attribute or EINVAL with a missing-attribute extack */
function required(req: GenlRequest, type: number): NlAttr {
  const a = req.attrs.tb[type];
  if (a === undefined) fail(ERRNO.EINVAL, { missType: type });
  return a;
}

/** present devices in ifindex order (`for_each_netdev_dump`) */
function presentDevices(k: NetdevKernel): NetDevice[] {
  return k.devices().filter((d) => d.present).sort((a, b) => a.ifindex - b.ifindex);
}

/**
 * `netdev_get_by_index` for the bind ops: a registered device (present or not), else null. The
 * caller reports a registered device that is not present (`netif_device_present`) as ENODEV with
 * the ifindex attribute as the bad one, an unknown ifindex as plain ENODEV.
 */
function registeredDevice(k: NetdevKernel, ifindex: number): NetDevice | null {
  return k.devices().find((d) => d.ifindex === ifindex && d.registered) ?? null;
}

/** a registered device by ifindex (`netdev_get_by_index`) */
function lookupDevice(k: NetdevKernel, ifindex: number): NetDevice | null {
  const d = k.deviceByIndex(ifindex);
  return d !== null && d.present ? d : null;
}

function statValue(stats: object, key: string): number | undefined {
  const v = (stats as Record<string, unknown>)[key];
  return typeof v === 'number' ? v : undefined;
}

// ---- napi config (napi-set), kept per rx queue ----

interface NapiConfig {
  deferHardIrqs: number;
  groFlushTimeout: number;
  irqSuspendTimeout: number;
  threaded: number;
}

const napiConfigs = new WeakMap<RxQueue, NapiConfig>();

function napiConfig(rxq: RxQueue): NapiConfig {
  let c = napiConfigs.get(rxq);
  if (c === undefined) {
    c = { deferHardIrqs: 0, groFlushTimeout: 0, irqSuspendTimeout: 0, threaded: 0 };
    napiConfigs.set(rxq, c);
  }
  return c;
}

// ---- the family ----

/** the netdev family bound to one kernel */
export function netdevFamily(k: NetdevKernel): GenlFamily {
  const ops: GenlOp[] = [
    { cmd: NETDEV_CMD.DEV_GET, name: 'dev-get', doPolicy: DEV_GET_POLICY, doit: (r, o) => devGetDo(k, r, o), dumpit: (r, o) => devGetDump(k, r, o) },
    {
      cmd: NETDEV_CMD.PAGE_POOL_GET, name: 'page-pool-get', doPolicy: PAGE_POOL_GET_POLICY,
      doit: (r, o) => pagePoolGetDo(k, r, o), dumpit: (r, o) => pagePoolDump(k, o, fillPagePool),
    },
    {
      cmd: NETDEV_CMD.PAGE_POOL_STATS_GET, name: 'page-pool-stats-get', doPolicy: PAGE_POOL_STATS_GET_POLICY,
      doit: (r, o) => pagePoolStatsGetDo(k, r, o), dumpit: (r, o) => pagePoolDump(k, o, fillPagePoolStats),
    },
    {
      cmd: NETDEV_CMD.QUEUE_GET, name: 'queue-get', doPolicy: QUEUE_GET_DO_POLICY, dumpPolicy: QUEUE_GET_DUMP_POLICY,
      doit: (r, o) => queueGetDo(k, r, o), dumpit: (r, o) => queueGetDump(k, r, o),
    },
    {
      cmd: NETDEV_CMD.NAPI_GET, name: 'napi-get', doPolicy: NAPI_GET_DO_POLICY, dumpPolicy: NAPI_GET_DUMP_POLICY,
      doit: (r, o) => napiGetDo(k, r, o), dumpit: (r, o) => napiGetDump(k, r, o),
    },
    { cmd: NETDEV_CMD.QSTATS_GET, name: 'qstats-get', dumpPolicy: QSTATS_GET_POLICY, dumpit: (r, o) => qstatsGetDump(k, r, o) },
    { cmd: NETDEV_CMD.BIND_RX, name: 'bind-rx', flags: GENL_ADMIN_PERM, doPolicy: BIND_RX_POLICY, doit: (r, o) => bindRxDo(k, r, o) },
    { cmd: NETDEV_CMD.NAPI_SET, name: 'napi-set', flags: GENL_ADMIN_PERM, doPolicy: NAPI_SET_POLICY, doit: (r) => napiSetDo(k, r) },
    // bind-tx has no admin-perm in 6.16..6.18 (added after 6.18)
    { cmd: NETDEV_CMD.BIND_TX, name: 'bind-tx', doPolicy: BIND_TX_POLICY, doit: (r, o) => bindTxDo(k, r, o) },
  ];
  return {
    name: NETDEV_FAMILY_NAME,
    id: NETDEV_FAMILY_ID,
    version: NETDEV_FAMILY_VERSION,
    hdrsize: 0,
    maxattr: 0,
    ops,
    mcgrps: [{ name: NETDEV_MCGRP_MGMT, id: NETDEV_MCGRP_MGMT_ID }, { name: NETDEV_MCGRP_PAGE_POOL, id: NETDEV_MCGRP_PAGE_POOL_ID }],
  };
}

// ---- dev-get ----

/** `netdev_nl_dev_fill`; xdp-zc-max-segs only for XSK zero-copy devices (none here) */
function fillDev(b: NlMsgBuilder, dev: NetDevice): void {
  b.putU32(NETDEV_A_DEV.IFINDEX, dev.ifindex);
  b.putU64(NETDEV_A_DEV.XDP_FEATURES, 0n);
  b.putU64(NETDEV_A_DEV.XDP_RX_METADATA_FEATURES, 0n);
  b.putU64(NETDEV_A_DEV.XSK_FEATURES, 0n);
}

function devGetDo(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const ifindex = attrU32(req.buf, required(req, NETDEV_A_DEV.IFINDEX));
  const dev = lookupDevice(k, ifindex);
  if (dev === null) fail(ERRNO.ENODEV);
  out.add((b) => fillDev(b, dev));
}

function devGetDump(k: NetdevKernel, _req: GenlRequest, out: GenlReplies): void {
  for (const dev of presentDevices(k)) out.add((b) => fillDev(b, dev));
}

// ---- page pools ----

interface ListedPool {
  pool: PagePool;
  /** the pool's device, or null once it is gone (the kernel re-homes such pools to loopback) */
  dev: NetDevice | null;
}

/** pools the kernel lists: tied to a netdev, in dump order (device by ifindex, newest pool first) */
function listedPools(k: NetdevKernel): ListedPool[] {
  const byIfindex = new Map<number, NetDevice>();
  for (const d of presentDevices(k)) byIfindex.set(d.ifindex, d);
  const out: ListedPool[] = [];
  for (const pool of k.mem.livePools()) {
    if (pool.ifindex === 0 || pool.freed) continue;
    out.push({ pool, dev: byIfindex.get(pool.ifindex) ?? null });
  }
  // orphans sort first, as loopback (ifindex 1) does in Linux
  const key = (p: ListedPool): number => (p.dev === null ? 1 : p.dev.ifindex);
  return out.sort((a, b) => key(a) - key(b) || b.pool.id - a.pool.id);
}

/** `page_pool_nl_fill` */
function fillPagePool(b: NlMsgBuilder, lp: ListedPool): void {
  const pool = lp.pool;
  b.putUint(NETDEV_A_PAGE_POOL.ID, pool.id);
  if (lp.dev !== null) b.putU32(NETDEV_A_PAGE_POOL.IFINDEX, lp.dev.ifindex);
  if (pool.napiId > 0) b.putUint(NETDEV_A_PAGE_POOL.NAPI_ID, pool.napiId);
  const inflight = pool.inflight();
  b.putUint(NETDEV_A_PAGE_POOL.INFLIGHT, inflight);
  b.putUint(NETDEV_A_PAGE_POOL.INFLIGHT_MEM, inflight * pool.bufSize);
  if (pool.detachTime > 0) b.putUint(NETDEV_A_PAGE_POOL.DETACH_TIME, pool.detachTime);
  const dmabuf = pool.provider.dmabufId();
  if (dmabuf > 0) b.putU32(NETDEV_A_PAGE_POOL.DMABUF, dmabuf);
}

/** `page_pool_nl_stats_fill` */
function fillPagePoolStats(b: NlMsgBuilder, lp: ListedPool): void {
  const pool = lp.pool;
  const n = b.beginNest(NETDEV_A_PAGE_POOL_STATS.INFO);
  b.putUint(NETDEV_A_PAGE_POOL.ID, pool.id);
  if (lp.dev !== null) b.putU32(NETDEV_A_PAGE_POOL.IFINDEX, lp.dev.ifindex);
  b.endNest(n);
  const s = pool.stats;
  const A = NETDEV_A_PAGE_POOL_STATS;
  b.putUint(A.ALLOC_FAST, s.allocFast);
  b.putUint(A.ALLOC_SLOW, s.allocSlow);
  b.putUint(A.ALLOC_SLOW_HIGH_ORDER, s.allocSlowHighOrder);
  b.putUint(A.ALLOC_EMPTY, s.allocEmpty);
  b.putUint(A.ALLOC_REFILL, s.allocRefill);
  b.putUint(A.ALLOC_WAIVE, s.allocWaive);
  b.putUint(A.RECYCLE_CACHED, s.recycleCached);
  b.putUint(A.RECYCLE_CACHE_FULL, s.recycleCacheFull);
  b.putUint(A.RECYCLE_RING, s.recycleRing);
  b.putUint(A.RECYCLE_RING_FULL, s.recycleRingFull);
  b.putUint(A.RECYCLE_RELEASED_REFCNT, s.recycleReleasedRefcnt);
}

/** `netdev_nl_page_pool_get_do`: unknown or unlisted id → ENOENT */
function pagePoolGet(k: NetdevKernel, id: number, out: GenlReplies, fill: (b: NlMsgBuilder, lp: ListedPool) => void): void {
  const lp = listedPools(k).find((p) => p.pool.id === id);
  if (lp === undefined) fail(ERRNO.ENOENT);
  out.add((b) => fill(b, lp));
}

function pagePoolGetDo(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const id = attrUint(req.buf, required(req, NETDEV_A_PAGE_POOL.ID));
  pagePoolGet(k, id, out, fillPagePool);
}

function pagePoolStatsGetDo(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const nest = required(req, NETDEV_A_PAGE_POOL_STATS.INFO);
  const tb = nlaParseStrict(req.buf, nest.payloadOff, nest.len, PAGE_POOL_INFO_POLICY, req.msg.off).tb;
  const idAttr = tb[NETDEV_A_PAGE_POOL.ID];
  if (idAttr === undefined) fail(ERRNO.EINVAL, { missType: NETDEV_A_PAGE_POOL.ID, missNestOff: nest.off - req.msg.off });
  const ifAttr = tb[NETDEV_A_PAGE_POOL.IFINDEX];
  if (ifAttr !== undefined) fail(ERRNO.EINVAL, { msg: EXTACK_PP_STATS_BY_IFINDEX, ...badAttr(req, ifAttr) });
  pagePoolGet(k, attrUint(req.buf, idAttr), out, fillPagePoolStats);
}

function pagePoolDump(k: NetdevKernel, out: GenlReplies, fill: (b: NlMsgBuilder, lp: ListedPool) => void): void {
  for (const lp of listedPools(k)) out.add((b) => fill(b, lp));
}

// ---- queue-get ----

/** `netdev_nl_queue_fill_one` */
function fillQueue(b: NlMsgBuilder, dev: NetDevice, type: number, idx: number): void {
  b.putU32(NETDEV_A_QUEUE.ID, idx);
  b.putU32(NETDEV_A_QUEUE.TYPE, type);
  b.putU32(NETDEV_A_QUEUE.IFINDEX, dev.ifindex);
  if (type !== NETDEV_QUEUE_TYPE_RX) return; // tx queues have no napi of their own here
  const rxq = dev.rxQueues[idx]!;
  if (rxq.napiId > 0) b.putU32(NETDEV_A_QUEUE.NAPI_ID, rxq.napiId);
  // mp_ops->nl_fill(mp_priv, rsp, rxq): the devmem provider reports its binding id
  const mp = rxq.mpProvider;
  if (mp !== null && mp.dmabufId() > 0) b.putU32(NETDEV_A_QUEUE.DMABUF, mp.dmabufId());
}

function queueGetDo(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const id = attrU32(req.buf, required(req, NETDEV_A_QUEUE.ID));
  const type = attrU32(req.buf, required(req, NETDEV_A_QUEUE.TYPE));
  const ifindex = attrU32(req.buf, required(req, NETDEV_A_QUEUE.IFINDEX));
  const dev = lookupDevice(k, ifindex);
  if (dev === null) fail(ERRNO.ENODEV);
  // netdev_nl_queue_fill: a device that is down has no queues to show
  if (!dev.up) fail(ERRNO.ENOENT);
  // netdev_nl_queue_validate: plain EINVAL, no extack
  const count = type === NETDEV_QUEUE_TYPE_RX ? dev.rxQueues.length : dev.txQueues.length;
  if (id >= count) fail(ERRNO.EINVAL);
  out.add((b) => fillQueue(b, dev, type, id));
}

function queueDumpOne(dev: NetDevice, out: GenlReplies): void {
  if (!dev.up) return;
  for (let i = 0; i < dev.rxQueues.length; i++) out.add((b) => fillQueue(b, dev, NETDEV_QUEUE_TYPE_RX, i));
  for (let i = 0; i < dev.txQueues.length; i++) out.add((b) => fillQueue(b, dev, NETDEV_QUEUE_TYPE_TX, i));
}

function queueGetDump(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const a = req.attrs.tb[NETDEV_A_QUEUE.IFINDEX];
  if (a !== undefined) {
    const dev = lookupDevice(k, attrU32(req.buf, a));
    if (dev === null) fail(ERRNO.ENODEV);
    queueDumpOne(dev, out);
    return;
  }
  for (const dev of presentDevices(k)) queueDumpOne(dev, out);
}

// ---- napi ----

/** `netdev_nl_napi_fill_one` (no irq, no kthread pid in the model) */
function fillNapi(b: NlMsgBuilder, dev: NetDevice, rxq: RxQueue): void {
  const c = napiConfig(rxq);
  b.putU32(NETDEV_A_NAPI.ID, rxq.napiId);
  b.putU32(NETDEV_A_NAPI.IFINDEX, dev.ifindex);
  b.putUint(NETDEV_A_NAPI.THREADED, c.threaded);
  b.putS32(NETDEV_A_NAPI.DEFER_HARD_IRQS, c.deferHardIrqs);
  b.putUint(NETDEV_A_NAPI.IRQ_SUSPEND_TIMEOUT, c.irqSuspendTimeout);
  b.putUint(NETDEV_A_NAPI.GRO_FLUSH_TIMEOUT, c.groFlushTimeout);
}

/** a device's napis, highest id first (the kernel keeps `napi_list` sorted that way) */
function napisOf(dev: NetDevice): RxQueue[] {
  return dev.rxQueues.filter((q) => q.napiId > 0).sort((a, b) => b.napiId - a.napiId);
}

function napiById(k: NetdevKernel, id: number): { dev: NetDevice; rxq: RxQueue } | null {
  for (const dev of presentDevices(k)) {
    for (const rxq of dev.rxQueues) if (rxq.napiId === id && id > 0) return { dev, rxq };
  }
  return null;
}

function napiGetDo(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const idAttr = required(req, NETDEV_A_NAPI.ID);
  const n = napiById(k, attrU32(req.buf, idAttr));
  if (n === null) fail(ERRNO.ENOENT, badAttr(req, idAttr));
  out.add((b) => fillNapi(b, n.dev, n.rxq));
}

function napiDumpOne(dev: NetDevice, out: GenlReplies): void {
  if (!dev.up) return;
  for (const rxq of napisOf(dev)) out.add((b) => fillNapi(b, dev, rxq));
}

function napiGetDump(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const a = req.attrs.tb[NETDEV_A_NAPI.IFINDEX];
  if (a !== undefined) {
    const dev = lookupDevice(k, attrU32(req.buf, a));
    if (dev === null) fail(ERRNO.ENODEV);
    napiDumpOne(dev, out);
    return;
  }
  for (const dev of presentDevices(k)) napiDumpOne(dev, out);
}

function napiSetDo(k: NetdevKernel, req: GenlRequest): void {
  const idAttr = required(req, NETDEV_A_NAPI.ID);
  const n = napiById(k, attrU32(req.buf, idAttr));
  if (n === null) fail(ERRNO.ENOENT, badAttr(req, idAttr));
  const c = napiConfig(n.rxq);
  const tb = req.attrs.tb;
  const th = tb[NETDEV_A_NAPI.THREADED];
  if (th) c.threaded = attrU32(req.buf, th);
  const defer = tb[NETDEV_A_NAPI.DEFER_HARD_IRQS];
  if (defer) c.deferHardIrqs = attrU32(req.buf, defer);
  const gro = tb[NETDEV_A_NAPI.GRO_FLUSH_TIMEOUT];
  if (gro) c.groFlushTimeout = attrUint(req.buf, gro);
  const irq = tb[NETDEV_A_NAPI.IRQ_SUSPEND_TIMEOUT];
  if (irq) c.irqSuspendTimeout = attrUint(req.buf, irq);
}

// ---- qstats ----

const RX_COUNTERS = QSTATS_COUNTERS.filter(([, n]) => n.startsWith('rx-'));
const TX_COUNTERS = QSTATS_COUNTERS.filter(([, n]) => n.startsWith('tx-'));

/** `netdev_nl_stats_write_rx/tx`: every counter the driver reports, in attribute order */
function putCounters(b: NlMsgBuilder, counters: readonly (readonly [number, string, string])[], values: ReadonlyMap<string, number>): void {
  for (const [type, , key] of counters) {
    const v = values.get(key);
    if (v !== undefined) b.putUint(type, v);
  }
}

function sumStats(into: Map<string, number>, stats: object, counters: readonly (readonly [number, string, string])[]): void {
  for (const [, , key] of counters) {
    const v = statValue(stats, key);
    if (v !== undefined) into.set(key, (into.get(key) ?? 0) + v);
  }
}

function qstatsDumpOne(dev: NetDevice, scope: number, out: GenlReplies): void {
  if (scope === 0) {
    // netdev_nl_stats_by_netdev: device totals (sum over the queues)
    const rx = new Map<string, number>();
    const tx = new Map<string, number>();
    for (const q of dev.rxQueues) sumStats(rx, q.stats, RX_COUNTERS);
    for (const q of dev.txQueues) sumStats(tx, q.stats, TX_COUNTERS);
    if (rx.size === 0 && tx.size === 0) return;
    out.add((b) => {
      b.putU32(NETDEV_A_QSTATS.IFINDEX, dev.ifindex);
      putCounters(b, RX_COUNTERS, rx);
      putCounters(b, TX_COUNTERS, tx);
    });
    return;
  }
  // netdev_nl_stats_by_queue: only while the device is up
  if (!dev.up) return;
  const perQueue = (type: number, idx: number, stats: object, counters: readonly (readonly [number, string, string])[]): void => {
    const m = new Map<string, number>();
    sumStats(m, stats, counters);
    if (m.size === 0) return;
    out.add((b) => {
      b.putU32(NETDEV_A_QSTATS.IFINDEX, dev.ifindex);
      b.putU32(NETDEV_A_QSTATS.QUEUE_TYPE, type);
      b.putU32(NETDEV_A_QSTATS.QUEUE_ID, idx);
      putCounters(b, counters, m);
    });
  };
  dev.rxQueues.forEach((q, i) => perQueue(NETDEV_QUEUE_TYPE_RX, i, q.stats, RX_COUNTERS));
  dev.txQueues.forEach((q, i) => perQueue(NETDEV_QUEUE_TYPE_TX, i, q.stats, TX_COUNTERS));
}

function qstatsGetDump(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const tb = req.attrs.tb;
  const scopeAttr = tb[NETDEV_A_QSTATS.SCOPE];
  const scope = scopeAttr ? attrUint(req.buf, scopeAttr) : 0;
  const ifAttr = tb[NETDEV_A_QSTATS.IFINDEX];
  if (ifAttr !== undefined) {
    const dev = lookupDevice(k, attrU32(req.buf, ifAttr));
    // every NetDevice has stat_ops; a device without them would be EOPNOTSUPP here
    if (dev === null) fail(ERRNO.ENODEV, badAttr(req, ifAttr));
    qstatsDumpOne(dev, scope & NETDEV_QSTATS_SCOPE_QUEUE, out);
    return;
  }
  for (const dev of presentDevices(k)) qstatsDumpOne(dev, scope & NETDEV_QSTATS_SCOPE_QUEUE, out);
}

// ---- bind-rx / bind-tx ----

/** `dma_buf_get(fd)`: EBADF for a bad fd, EINVAL for a file that is not a dma-buf */
function dmaBufGet(k: NetdevKernel, fd: number): Extract<FdObject, { kind: 'dmabuf' }> {
  const f = k.fdLookup(fd);
  if (f === null) fail(ERRNO.EBADF);
  if (f.kind !== 'dmabuf') fail(ERRNO.EINVAL);
  return f;
}

/**
 * `__net_mp_open_rxq` + recording the rxq in `bound_rxqs`: installs the binding's provider on rx
 * queue `idx` and restarts it; throws `NlOpError` with the kernel's errno and extack.
 */
function openRxq(dev: NetDevice, idx: number, binding: DmabufBinding): void {
  if (!dev.queueMgmt) fail(ERRNO.EOPNOTSUPP);
  if (idx >= dev.rxQueues.length) fail(ERRNO.ERANGE, { msg: EXTACK_RXQ_OUT_OF_RANGE });
  // 7.3: net_iovs larger than a page need a driver that takes rx_page_size from the queue config
  if (binding.niovShift !== PAGE_SHIFT && dev.maxRxPageOrder === 0) fail(ERRNO.EOPNOTSUPP, { msg: EXTACK_RX_BUF_SIZE_UNSUPPORTED });
  if (dev.tcpDataSplit !== 'on') fail(ERRNO.EINVAL, { msg: EXTACK_HDS_DISABLED });
  if (dev.hdsThresh !== 0) fail(ERRNO.EINVAL, { msg: EXTACK_HDS_THRESH });
  if (dev.xdpAttached) fail(ERRNO.EEXIST, { msg: EXTACK_XDP_ATTACHED });
  const rxq = dev.rxQueues[idx]!;
  if (rxq.mpProvider !== null) fail(ERRNO.EEXIST, { msg: EXTACK_QUEUE_BOUND });
  rxq.mpProvider = new DmabufDevmemProvider(binding);
  const err = dev.restartRxQueue(idx);
  if (err !== 0) {
    rxq.mpProvider = null;
    fail(-err);
  }
  binding.boundRxQueues.add(rxq);
}

/**
 * `net_devmem_unbind_dmabuf` (6.18 order): unlist the id so lookups fail, unlink from the
 * socket, close the provider on every bound rx queue (restart with ordinary pages; errors only
 * WARN in Linux and are ignored here), then drop the netlink reference. Memory still in flight
 * keeps the binding alive through its page pools.
 */
export function unbindDmabuf(binding: DmabufBinding, sock: GenlSockState | null): void {
  binding.unlist();
  if (sock !== null) {
    const i = sock.netdevBindings.indexOf(binding);
    if (i >= 0) sock.netdevBindings.splice(i, 1);
  }
  for (const q of [...binding.boundRxQueues]) {
    if (!(q instanceof RxQueue)) continue;
    const mp = q.mpProvider;
    if (!(mp instanceof DmabufDevmemProvider) || mp.binding !== binding) {
      // WARN_ON_ONCE in __net_mp_close_rxq: the queue no longer holds this binding
      binding.boundRxQueues.delete(q);
      continue;
    }
    mp.uninstall(q);
    q.mpProvider = null;
    if (q.dev.present && q.dev.rxQueues[q.idx] === q) q.dev.restartRxQueue(q.idx);
  }
  binding.put();
}

/** `netdev_nl_sock_priv_destroy`: unbind everything the socket bound, newest first */
export function netdevSockPrivDestroy(sock: GenlSockState): void {
  while (sock.netdevBindings.length > 0) unbindDmabuf(sock.netdevBindings[0]!, sock);
}

function bindRxDo(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  // (1) required attributes, in the kernel's order
  const ifAttr = required(req, NETDEV_A_DMABUF.IFINDEX);
  const fdAttr = required(req, NETDEV_A_DMABUF.FD);
  required(req, NETDEV_A_DMABUF.QUEUES);
  const ifindex = attrU32(req.buf, ifAttr);
  const fd = attrU32(req.buf, fdAttr);
  // (1b) 7.3 rx-buf-size: a power of two >= PAGE_SIZE, else EINVAL before anything is looked up
  let niovShift = PAGE_SHIFT;
  const rbs = req.attrs.tb[NETDEV_A_DMABUF.RX_BUF_SIZE];
  if (rbs !== undefined) {
    const v = attrU32(req.buf, rbs);
    if (v === 0 || (v & (v - 1)) !== 0 || v < PAGE_SIZE) fail(ERRNO.EINVAL, { msg: extackRxBufSize(v) });
    niovShift = Math.log2(v);
  }
  // (3) the device: absent → ENODEV; not present → ENODEV on ifindex; (4) no queue-mgmt ops
  const dev = registeredDevice(k, ifindex);
  if (dev === null) fail(ERRNO.ENODEV);
  if (!dev.present) fail(ERRNO.ENODEV, badAttr(req, ifAttr));
  if (!dev.queueMgmt) fail(ERRNO.EOPNOTSUPP, badAttr(req, ifAttr));
  // (5) netdev_nl_read_rxq_bitmap
  const nrx = dev.rxQueues.length;
  const wanted = new Set<number>();
  for (const nest of req.attrs.all) {
    if (nest.type !== NETDEV_A_DMABUF.QUEUES) continue;
    const tb = nlaParseStrict(req.buf, nest.payloadOff, nest.len, BIND_RX_POLICY.attrs[NETDEV_A_DMABUF.QUEUES]!.nested!, req.msg.off).tb;
    const missNestOff = nest.off - req.msg.off;
    const idAttr = tb[NETDEV_A_QUEUE.ID];
    if (idAttr === undefined) fail(ERRNO.EINVAL, { missType: NETDEV_A_QUEUE.ID, missNestOff });
    const typeAttr = tb[NETDEV_A_QUEUE.TYPE];
    if (typeAttr === undefined) fail(ERRNO.EINVAL, { missType: NETDEV_A_QUEUE.TYPE, missNestOff });
    if (attrU32(req.buf, typeAttr) !== NETDEV_QUEUE_TYPE_RX) fail(ERRNO.EINVAL, badAttr(req, typeAttr));
    const idx = attrU32(req.buf, idAttr);
    if (idx >= nrx) fail(ERRNO.EINVAL, badAttr(req, idAttr));
    wanted.add(idx);
  }
  // (6) netdev_nl_get_dma_dev: every queue of a NetDevice shares the NIC's DMA device
  // (7) net_devmem_bind_dmabuf
  const f = dmaBufGet(k, fd);
  const binding = newBinding(k, f.dmabuf, dev, 'rx', niovShift);
  req.sock.netdevBindings.unshift(binding);
  // (8) per queue, ascending; (9) any failure unbinds the whole binding
  for (const idx of [...wanted].sort((a, b) => a - b)) {
    try {
      openRxq(dev, idx, binding);
    } catch (e) {
      unbindDmabuf(binding, req.sock);
      throw e;
    }
  }
  out.add((b) => b.putU32(NETDEV_A_DMABUF.ID, binding.id));
}

/** `net_devmem_bind_dmabuf`: the binding, or the binding's own refusal as an NlOpError with its extack */
function newBinding(k: NetdevKernel, dmabuf: DmabufBinding['dmabuf'], dev: NetDevice, dir: 'rx' | 'tx', niovShift = PAGE_SHIFT): DmabufBinding {
  try {
    return new DmabufBinding(k.mem, k.bindings, dmabuf, dev, dev.name, dir, niovShift);
  } catch (e) {
    if (e instanceof BindingError) fail(e.errno, { msg: e.extack });
    throw e;
  }
}

function bindTxDo(k: NetdevKernel, req: GenlRequest, out: GenlReplies): void {
  const ifAttr = required(req, NETDEV_A_DMABUF.IFINDEX);
  const fdAttr = required(req, NETDEV_A_DMABUF.FD);
  const dev = registeredDevice(k, attrU32(req.buf, ifAttr));
  if (dev === null) fail(ERRNO.ENODEV);
  if (!dev.present) fail(ERRNO.ENODEV, badAttr(req, ifAttr));
  if (!dev.netmemTx) fail(ERRNO.EOPNOTSUPP, { msg: EXTACK_NO_NETMEM_TX });
  const f = dmaBufGet(k, attrU32(req.buf, fdAttr));
  const binding = newBinding(k, f.dmabuf, dev, 'tx');
  req.sock.netdevBindings.unshift(binding);
  out.add((b) => b.putU32(NETDEV_A_DMABUF.ID, binding.id));
}

/**
 * Netdev unregister as the netdev family sees it: the device tears down its queues (providers
 * uninstalled, pools detached: `NetDevice.unregister`), and every binding made for it loses its
 * device (TX sends then fail ENODEV, its frags are dropped at transmit). Bindings stay listed
 * until their netlink socket closes; each is freed when its last reference goes.
 */
export function netdevUnregister(k: NetdevKernel, dev: NetDevice): void {
  dev.unregister();
  k.bindings.deviceGone(dev);
}
