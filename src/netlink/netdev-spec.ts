/**
 * The generic-netlink `netdev` family, byte-exact with Linux `include/uapi/linux/netdev.h`
 * (Documentation/netlink/specs/netdev.yaml) as of 6.18, the per-operation attribute policies of
 * `net/core/netdev-genl-gen.c`, and the generic-netlink controller (`nlctrl`) constants. Values
 * were cross-checked against a running 6.18 kernel (family id, op flags, mcast groups, policies
 * reported in extacks).
 */
import type { NlaPolicy, NlaPolicySet } from './nlattr.js';

export {
  GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_VERSION,
  CTRL_ATTR_HDRSIZE, CTRL_ATTR_MAXATTR, CTRL_ATTR_OPS, CTRL_ATTR_MCAST_GROUPS, CTRL_ATTR_OP_ID, CTRL_ATTR_OP_FLAGS,
} from '../wire/netlink.js';

// ---- generic netlink controller ----

export const GENL_CTRL_NAME = 'nlctrl';
export const GENL_CTRL_VERSION = 2;
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_GETPOLICY = 10;
export const CTRL_ATTR_MCAST_GRP_NAME = 1;
export const CTRL_ATTR_MCAST_GRP_ID = 2;
/** nlctrl's own multicast group "notify" */
export const GENL_CTRL_MCGRP_NOTIFY_ID = 0x10;
/** `genl_ops.flags` / CTRL_ATTR_OP_FLAGS bits */
export const GENL_ADMIN_PERM = 0x01;
export const GENL_CMD_CAP_DO = 0x02;
export const GENL_CMD_CAP_DUMP = 0x04;
export const GENL_CMD_CAP_HASPOL = 0x08;
export const GENL_UNS_ADMIN_PERM = 0x10;

// ---- the netdev family ----

export const NETDEV_FAMILY_NAME = 'netdev';
export const NETDEV_FAMILY_VERSION = 1;
/** the id the family got on the reference 6.18 kernel (ids are assigned at registration) */
export const NETDEV_FAMILY_ID = 0x14;
export const NETDEV_MCGRP_MGMT = 'mgmt';
export const NETDEV_MCGRP_PAGE_POOL = 'page-pool';
/** multicast group ids as the reference kernel assigned them */
export const NETDEV_MCGRP_MGMT_ID = 4;
export const NETDEV_MCGRP_PAGE_POOL_ID = 5;

/** `NETDEV_CMD_*` */
export const NETDEV_CMD = {
  DEV_GET: 1,
  DEV_ADD_NTF: 2,
  DEV_DEL_NTF: 3,
  DEV_CHANGE_NTF: 4,
  PAGE_POOL_GET: 5,
  PAGE_POOL_ADD_NTF: 6,
  PAGE_POOL_DEL_NTF: 7,
  PAGE_POOL_CHANGE_NTF: 8,
  PAGE_POOL_STATS_GET: 9,
  QUEUE_GET: 10,
  NAPI_GET: 11,
  QSTATS_GET: 12,
  BIND_RX: 13,
  NAPI_SET: 14,
  BIND_TX: 15,
} as const;

/** attribute set `dev` (`NETDEV_A_DEV_*`) */
export const NETDEV_A_DEV = { IFINDEX: 1, PAD: 2, XDP_FEATURES: 3, XDP_ZC_MAX_SEGS: 4, XDP_RX_METADATA_FEATURES: 5, XSK_FEATURES: 6 } as const;

/** attribute set `page-pool` (`NETDEV_A_PAGE_POOL_*`) */
export const NETDEV_A_PAGE_POOL = {
  ID: 1, IFINDEX: 2, NAPI_ID: 3, INFLIGHT: 4, INFLIGHT_MEM: 5, DETACH_TIME: 6, DMABUF: 7, IO_URING: 8,
} as const;

/** attribute set `page-pool-stats` (`NETDEV_A_PAGE_POOL_STATS_*`; 2..7 reserved) */
export const NETDEV_A_PAGE_POOL_STATS = {
  INFO: 1,
  ALLOC_FAST: 8,
  ALLOC_SLOW: 9,
  ALLOC_SLOW_HIGH_ORDER: 10,
  ALLOC_EMPTY: 11,
  ALLOC_REFILL: 12,
  ALLOC_WAIVE: 13,
  RECYCLE_CACHED: 14,
  RECYCLE_CACHE_FULL: 15,
  RECYCLE_RING: 16,
  RECYCLE_RING_FULL: 17,
  RECYCLE_RELEASED_REFCNT: 18,
} as const;

/** attribute set `napi` (`NETDEV_A_NAPI_*`) */
export const NETDEV_A_NAPI = {
  IFINDEX: 1, ID: 2, IRQ: 3, PID: 4, DEFER_HARD_IRQS: 5, GRO_FLUSH_TIMEOUT: 6, IRQ_SUSPEND_TIMEOUT: 7, THREADED: 8,
} as const;

/** attribute set `queue` (`NETDEV_A_QUEUE_*`) */
export const NETDEV_A_QUEUE = { ID: 1, IFINDEX: 2, TYPE: 3, NAPI_ID: 4, DMABUF: 5, IO_URING: 6, XSK: 7 } as const;

/** attribute set `qstats` (`NETDEV_A_QSTATS_*`; 5..7 unused) */
export const NETDEV_A_QSTATS = {
  IFINDEX: 1,
  QUEUE_TYPE: 2,
  QUEUE_ID: 3,
  SCOPE: 4,
  RX_PACKETS: 8,
  RX_BYTES: 9,
  TX_PACKETS: 10,
  TX_BYTES: 11,
  RX_ALLOC_FAIL: 12,
  RX_HW_DROPS: 13,
  RX_HW_DROP_OVERRUNS: 14,
  RX_CSUM_COMPLETE: 15,
  RX_CSUM_UNNECESSARY: 16,
  RX_CSUM_NONE: 17,
  RX_CSUM_BAD: 18,
  RX_HW_GRO_PACKETS: 19,
  RX_HW_GRO_BYTES: 20,
  RX_HW_GRO_WIRE_PACKETS: 21,
  RX_HW_GRO_WIRE_BYTES: 22,
  RX_HW_DROP_RATELIMITS: 23,
  TX_HW_DROPS: 24,
  TX_HW_DROP_ERRORS: 25,
  TX_CSUM_NONE: 26,
  TX_NEEDS_CSUM: 27,
  TX_HW_GSO_PACKETS: 28,
  TX_HW_GSO_BYTES: 29,
  TX_HW_GSO_WIRE_PACKETS: 30,
  TX_HW_GSO_WIRE_BYTES: 31,
  TX_HW_DROP_RATELIMITS: 32,
  TX_STOP: 33,
  TX_WAKE: 34,
} as const;

/** attribute set `dmabuf` (`NETDEV_A_DMABUF_*`) */
/** `RX_BUF_SIZE` (5): Linux 7.3 `rx-buf-size` (the spec's "rx-page-size"), bind-rx only */
export const NETDEV_A_DMABUF = { IFINDEX: 1, QUEUES: 2, FD: 3, ID: 4, RX_BUF_SIZE: 5 } as const;

/** enum `queue-type` */
export const NETDEV_QUEUE_TYPE_RX = 0;
export const NETDEV_QUEUE_TYPE_TX = 1;
/** flags `qstats-scope` */
export const NETDEV_QSTATS_SCOPE_QUEUE = 1;
/** enum `napi-threaded` */
export const NETDEV_NAPI_THREADED_DISABLED = 0;
export const NETDEV_NAPI_THREADED_ENABLED = 1;
/** flags `xdp-act` */
export const NETDEV_XDP_ACT = {
  BASIC: 1, REDIRECT: 2, NDO_XMIT: 4, XSK_ZEROCOPY: 8, HW_OFFLOAD: 16, RX_SG: 32, NDO_XMIT_SG: 64,
} as const;
/** flags `xdp-rx-metadata` */
export const NETDEV_XDP_RX_METADATA = { TIMESTAMP: 1, HASH: 2, VLAN_TAG: 4 } as const;
/** flags `xsk-flags` */
export const NETDEV_XSK_FLAGS = { TX_TIMESTAMP: 1, TX_CHECKSUM: 2, TX_LAUNCH_TIME_FIFO: 4 } as const;

// ---- extack messages of the 6.18 kernel (net/core/netdev-genl.c, netdev_rx_queue.c, devmem.c) ----

export const EXTACK_RXQ_OUT_OF_RANGE = 'rx queue index out of range';
export const EXTACK_HDS_DISABLED = 'tcp-data-split is disabled';
export const EXTACK_HDS_THRESH = 'hds-thresh is not zero';
export const EXTACK_XDP_ATTACHED = 'unable to custom memory provider to device with XDP program attached';
export const EXTACK_QUEUE_BOUND = 'designated queue already memory provider bound';
export const EXTACK_NO_NETMEM_TX = 'Driver does not support netmem TX';
export const EXTACK_NO_DMA = "Device doesn't support DMA";
export const EXTACK_PP_STATS_BY_IFINDEX = 'selecting by ifindex not supported';
/** 7.3 `rx-buf-size` (netdev_nl_bind_rx_doit, netif_mp_open_rxq) */
export const extackRxBufSize = (v: number): string => `rx_buf_size ${v} must be a power of 2 >= page size (4096)`;
export const EXTACK_RX_BUF_SIZE_UNSUPPORTED = 'device does not support: rx_page_size';

// ---- attribute sets, for names and decoding (client side) ----

export type AttrKind = 'u8' | 'u16' | 'u32' | 'u64' | 'uint' | 's32' | 'nest' | 'flag' | 'pad';

export interface AttrSpec {
  /** kernel (yaml) name */
  readonly name: string;
  readonly kind: AttrKind;
  readonly nested?: AttrSetSpec;
}

export interface AttrSetSpec {
  readonly name: string;
  readonly attrs: Readonly<Partial<Record<number, AttrSpec>>>;
}

const EMPTY_SET: AttrSetSpec = { name: 'empty', attrs: {} };

export const DEV_SET: AttrSetSpec = {
  name: 'dev',
  attrs: {
    1: { name: 'ifindex', kind: 'u32' },
    2: { name: 'pad', kind: 'pad' },
    3: { name: 'xdp-features', kind: 'u64' },
    4: { name: 'xdp-zc-max-segs', kind: 'u32' },
    5: { name: 'xdp-rx-metadata-features', kind: 'u64' },
    6: { name: 'xsk-features', kind: 'u64' },
  },
};

export const PAGE_POOL_SET: AttrSetSpec = {
  name: 'page-pool',
  attrs: {
    1: { name: 'id', kind: 'uint' },
    2: { name: 'ifindex', kind: 'u32' },
    3: { name: 'napi-id', kind: 'uint' },
    4: { name: 'inflight', kind: 'uint' },
    5: { name: 'inflight-mem', kind: 'uint' },
    6: { name: 'detach-time', kind: 'uint' },
    7: { name: 'dmabuf', kind: 'u32' },
    8: { name: 'io-uring', kind: 'nest', nested: EMPTY_SET },
  },
};

export const PAGE_POOL_STATS_SET: AttrSetSpec = {
  name: 'page-pool-stats',
  attrs: {
    1: { name: 'info', kind: 'nest', nested: PAGE_POOL_SET },
    8: { name: 'alloc-fast', kind: 'uint' },
    9: { name: 'alloc-slow', kind: 'uint' },
    10: { name: 'alloc-slow-high-order', kind: 'uint' },
    11: { name: 'alloc-empty', kind: 'uint' },
    12: { name: 'alloc-refill', kind: 'uint' },
    13: { name: 'alloc-waive', kind: 'uint' },
    14: { name: 'recycle-cached', kind: 'uint' },
    15: { name: 'recycle-cache-full', kind: 'uint' },
    16: { name: 'recycle-ring', kind: 'uint' },
    17: { name: 'recycle-ring-full', kind: 'uint' },
    18: { name: 'recycle-released-refcnt', kind: 'uint' },
  },
};

export const NAPI_SET: AttrSetSpec = {
  name: 'napi',
  attrs: {
    1: { name: 'ifindex', kind: 'u32' },
    2: { name: 'id', kind: 'u32' },
    3: { name: 'irq', kind: 'u32' },
    4: { name: 'pid', kind: 'u32' },
    5: { name: 'defer-hard-irqs', kind: 's32' },
    6: { name: 'gro-flush-timeout', kind: 'uint' },
    7: { name: 'irq-suspend-timeout', kind: 'uint' },
    8: { name: 'threaded', kind: 'uint' },
  },
};

export const QUEUE_SET: AttrSetSpec = {
  name: 'queue',
  attrs: {
    1: { name: 'id', kind: 'u32' },
    2: { name: 'ifindex', kind: 'u32' },
    3: { name: 'type', kind: 'u32' },
    4: { name: 'napi-id', kind: 'u32' },
    5: { name: 'dmabuf', kind: 'u32' },
    6: { name: 'io-uring', kind: 'nest', nested: EMPTY_SET },
    7: { name: 'xsk', kind: 'nest', nested: EMPTY_SET },
  },
};

/** qstats counters in attribute order: [attribute, yaml name, camelCase key] */
export const QSTATS_COUNTERS: readonly (readonly [number, string, string])[] = [
  [8, 'rx-packets', 'rxPackets'],
  [9, 'rx-bytes', 'rxBytes'],
  [10, 'tx-packets', 'txPackets'],
  [11, 'tx-bytes', 'txBytes'],
  [12, 'rx-alloc-fail', 'rxAllocFail'],
  [13, 'rx-hw-drops', 'rxHwDrops'],
  [14, 'rx-hw-drop-overruns', 'rxHwDropOverruns'],
  [15, 'rx-csum-complete', 'rxCsumComplete'],
  [16, 'rx-csum-unnecessary', 'rxCsumUnnecessary'],
  [17, 'rx-csum-none', 'rxCsumNone'],
  [18, 'rx-csum-bad', 'rxCsumBad'],
  [19, 'rx-hw-gro-packets', 'rxHwGroPackets'],
  [20, 'rx-hw-gro-bytes', 'rxHwGroBytes'],
  [21, 'rx-hw-gro-wire-packets', 'rxHwGroWirePackets'],
  [22, 'rx-hw-gro-wire-bytes', 'rxHwGroWireBytes'],
  [23, 'rx-hw-drop-ratelimits', 'rxHwDropRatelimits'],
  [24, 'tx-hw-drops', 'txHwDrops'],
  [25, 'tx-hw-drop-errors', 'txHwDropErrors'],
  [26, 'tx-csum-none', 'txCsumNone'],
  [27, 'tx-needs-csum', 'txNeedsCsum'],
  [28, 'tx-hw-gso-packets', 'txHwGsoPackets'],
  [29, 'tx-hw-gso-bytes', 'txHwGsoBytes'],
  [30, 'tx-hw-gso-wire-packets', 'txHwGsoWirePackets'],
  [31, 'tx-hw-gso-wire-bytes', 'txHwGsoWireBytes'],
  [32, 'tx-hw-drop-ratelimits', 'txHwDropRatelimits'],
  [33, 'tx-stop', 'txStop'],
  [34, 'tx-wake', 'txWake'],
];

const qstatsAttrs: Record<number, AttrSpec> = {
  1: { name: 'ifindex', kind: 'u32' },
  2: { name: 'queue-type', kind: 'u32' },
  3: { name: 'queue-id', kind: 'u32' },
  4: { name: 'scope', kind: 'uint' },
};
for (const [t, name] of QSTATS_COUNTERS) qstatsAttrs[t] = { name, kind: 'uint' };
export const QSTATS_SET: AttrSetSpec = { name: 'qstats', attrs: qstatsAttrs };

/** `queue-id`: the subset of `queue` used inside bind-rx `queues` nests */
export const QUEUE_ID_SET: AttrSetSpec = {
  name: 'queue-id',
  attrs: { 1: { name: 'id', kind: 'u32' }, 3: { name: 'type', kind: 'u32' } },
};

export const DMABUF_SET: AttrSetSpec = {
  name: 'dmabuf',
  attrs: {
    1: { name: 'ifindex', kind: 'u32' },
    2: { name: 'queues', kind: 'nest', nested: QUEUE_ID_SET },
    3: { name: 'fd', kind: 'u32' },
    4: { name: 'id', kind: 'u32' },
    5: { name: 'rx-buf-size', kind: 'u32' },
  },
};

/** the attribute set each command's request and reply use */
export const NETDEV_CMD_SET: Readonly<Record<number, AttrSetSpec>> = {
  [NETDEV_CMD.DEV_GET]: DEV_SET,
  [NETDEV_CMD.PAGE_POOL_GET]: PAGE_POOL_SET,
  [NETDEV_CMD.PAGE_POOL_STATS_GET]: PAGE_POOL_STATS_SET,
  [NETDEV_CMD.QUEUE_GET]: QUEUE_SET,
  [NETDEV_CMD.NAPI_GET]: NAPI_SET,
  [NETDEV_CMD.QSTATS_GET]: QSTATS_SET,
  [NETDEV_CMD.BIND_RX]: DMABUF_SET,
  [NETDEV_CMD.NAPI_SET]: NAPI_SET,
  [NETDEV_CMD.BIND_TX]: DMABUF_SET,
};

// ---- request policies (net/core/netdev-genl-gen.c, 6.18) ----

const U32: NlaPolicy = { type: 'u32' };
/** ifindex checks: min 1 */
const IFINDEX: NlaPolicy = { type: 'u32', min: 1 };
/** page-pool ifindex checks: min 1, max s32-max */
const PP_IFINDEX: NlaPolicy = { type: 'u32', min: 1, max: 0x7fffffff };
/** page-pool id checks: min 1, max u32-max */
const PP_ID: NlaPolicy = { type: 'uint', min: 1, max: 0xffffffff };
const QUEUE_TYPE: NlaPolicy = { type: 'u32', max: 1 };

export const PAGE_POOL_INFO_POLICY: NlaPolicySet = { maxType: 2, attrs: { 1: PP_ID, 2: PP_IFINDEX } };
export const QUEUE_ID_POLICY: NlaPolicySet = { maxType: 3, attrs: { 1: U32, 3: QUEUE_TYPE } };

export const DEV_GET_POLICY: NlaPolicySet = { maxType: 1, attrs: { 1: IFINDEX } };
export const PAGE_POOL_GET_POLICY: NlaPolicySet = { maxType: 1, attrs: { 1: PP_ID } };
export const PAGE_POOL_STATS_GET_POLICY: NlaPolicySet = { maxType: 1, attrs: { 1: { type: 'nested', nested: PAGE_POOL_INFO_POLICY } } };
export const QUEUE_GET_DO_POLICY: NlaPolicySet = { maxType: 3, attrs: { 1: U32, 2: IFINDEX, 3: QUEUE_TYPE } };
export const QUEUE_GET_DUMP_POLICY: NlaPolicySet = { maxType: 2, attrs: { 2: IFINDEX } };
export const NAPI_GET_DO_POLICY: NlaPolicySet = { maxType: 2, attrs: { 2: U32 } };
export const NAPI_GET_DUMP_POLICY: NlaPolicySet = { maxType: 1, attrs: { 1: IFINDEX } };
export const QSTATS_GET_POLICY: NlaPolicySet = { maxType: 4, attrs: { 1: IFINDEX, 4: { type: 'uint', mask: NETDEV_QSTATS_SCOPE_QUEUE } } };
export const BIND_RX_POLICY: NlaPolicySet = {
  maxType: 5,
  attrs: { 1: IFINDEX, 2: { type: 'nested', nested: QUEUE_ID_POLICY }, 3: U32, 5: U32 },
};
export const NAPI_SET_POLICY: NlaPolicySet = {
  maxType: 8,
  attrs: {
    2: U32,
    5: { type: 'u32', max: 0x7fffffff },
    6: { type: 'uint' },
    7: { type: 'uint' },
    8: { type: 'u32', max: NETDEV_NAPI_THREADED_ENABLED },
  },
};
export const BIND_TX_POLICY: NlaPolicySet = { maxType: 3, attrs: { 1: IFINDEX, 3: U32 } };
