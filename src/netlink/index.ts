/**
 * netlink: AF_NETLINK / NETLINK_GENERIC sockets with the generic-netlink controller and the
 * `netdev` family (dev-get, page-pool-get, page-pool-stats-get, queue-get, napi-get, napi-set,
 * qstats-get, bind-rx, bind-tx), byte-exact with Linux 6.18: requests are parsed and validated
 * from bytes, replies, errors (with extack) and dumps are written as the kernel writes them.
 *
 * Contract:
 * - A devmem binding's control lifetime is its netlink socket's lifetime: `bind-rx` / `bind-tx`
 *   put the binding on the socket, and the ONLY way to unbind is `NetlinkSocket.close()` (there is
 *   no unbind command). Close unlists the binding id at once (queue-get stops showing it, TX
 *   lookups fail), restarts bound rx queues with ordinary pages and drops the netlink's binding
 *   reference; buffers still in flight keep the binding alive through their (detached) page
 *   pools until the last one returns.
 * - Netdev unregister (`netdevUnregister`): the device's providers are uninstalled and its pools
 *   detached, every binding made for it loses its device; the binding itself is freed when its
 *   netlink socket has closed and the last buffer or TX frag referencing it is gone.
 * - The kernel side runs synchronously inside `send()`; replies are queued for `recv()`.
 * - `NetdevClient` always goes through the byte path (encode → send → recv → decode) and fails
 *   with `ErrnoError` carrying the kernel's errno and extack.
 */
export type { FdObject, NetdevKernel } from './kernel.js';
export * from './netdev-spec.js';
export { NlOpError, type KernelExtack, type NlaPolicy, type NlaPolicySet, type NlaType } from './nlattr.js';
export { DUMP_DATAGRAM_MAX, GenlRegistry, type GenlFamily, type GenlOp } from './genl.js';
export { netdevFamily, netdevUnregister } from './netdev-family.js';
export { NetlinkSocket, type NetlinkSocketOptions, type NetlinkTap } from './socket.js';
export {
  GenlCtrlClient, NetdevClient, attrPathAt,
  type DevInfo, type DmabufFd, type FamilyInfo, type NapiInfo, type NapiSetRequest, type NetlinkExtack,
  type NetlinkTransport, type PagePoolInfo, type PagePoolStatsInfo, type QstatsCounters, type QstatsInfo,
  type QueueInfo, type QueueType,
} from './netdev-client.js';
