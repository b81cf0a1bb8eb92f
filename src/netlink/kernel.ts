/**
 * What the netlink layer needs from the host it runs in (the "kernel" side of AF_NETLINK): its
 * memory, its binding-id table, a clock, its devices and its file-descriptor table. `Host`
 * implements it; tests build a small one from the real classes.
 */
import type { BindingTable, DeviceMemory, MemSpace } from '../mem/index.js';
import type { NetDevice } from '../netdev/index.js';
import type { Clock } from '../time/index.js';

/** what a file descriptor refers to, as far as `dma_buf_get(fd)` cares */
export type FdObject = { kind: 'dmabuf'; dmabuf: DeviceMemory } | { kind: 'other' };

export interface NetdevKernel {
  readonly mem: MemSpace;
  readonly bindings: BindingTable;
  /** µs; page-pool `detach-time` is reported in seconds */
  readonly sched: Clock;
  /** the registered device with this ifindex, or null */
  deviceByIndex(ifindex: number): NetDevice | null;
  /** every device (the netlink layer skips those that are not `present`) */
  devices(): readonly NetDevice[];
  /** null = bad fd (EBADF) */
  fdLookup(fd: number): FdObject | null;
}
