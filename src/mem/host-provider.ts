/**
 * The default memory provider: ordinary host pages from the host's `MemSpace` (readable).
 */
import type { MemSpace } from './mem-space.js';
import { NETMEM_NONE, type NetmemRef } from './netmem.js';
import type { MemoryProvider, PagePool } from './page-pool.js';

export class HostPageProvider implements MemoryProvider {
  readonly kind = 'host' as const;
  constructor(private readonly mem: MemSpace) {}
  init(_pool: PagePool): number {
    return 0;
  }
  destroy(_pool: PagePool): void {}
  allocNetmem(_pool: PagePool): NetmemRef {
    const ref = this.mem.allocPage();
    if (ref === NETMEM_NONE) return NETMEM_NONE;
    return ref;
  }
  releaseNetmem(_pool: PagePool, ref: NetmemRef): boolean {
    this.mem.host.release(ref >>> 1);
    return false;
  }
  dmabufId(): number {
    return 0;
  }
  uninstall(_rxq: object): void {}
  bufOrder(): number {
    return 0;
  }
}
