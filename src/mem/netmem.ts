/**
 * `NetmemRef`: the integer handle for one page-sized unit of network memory, either a host page
 * (readable) or a `net_iov` (device memory, unreadable). Encoding follows the kernel's tagged
 * `netmem_ref`: bit 0 set means net_iov. `(index << 1) | NET_IOV`, index < 2^30, so refs stay
 * small integers in V8. Decoding happens only here and in `MemSpace`.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** branded integer; -1 (`NETMEM_NONE`) means "no netmem" */
export type NetmemRef = number;
export const NETMEM_NONE: NetmemRef = -1;
export const NET_IOV = 1;

export function netmemIsNetIov(ref: NetmemRef): boolean {
  return (ref & NET_IOV) !== 0;
}
export function netIovRef(index: number): NetmemRef {
  return (index << 1) | NET_IOV;
}
export function hostPageRef(index: number): NetmemRef {
  return index << 1;
}
/** index of the host page or net_iov behind `ref` */
export function netmemIndex(ref: NetmemRef): number {
  return ref >>> 1;
}
