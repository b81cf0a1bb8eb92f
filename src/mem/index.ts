/**
 * Memory: host pages, device memory (the dma-buf exporter), net_iovs, `NetmemRef` handles, page
 * pools and memory providers (host pages; dmabuf binding). Contract: only this folder decodes a
 * `NetmemRef`; only `DeviceMemory` and its attachments touch device bytes, and every such access
 * is counted; reference counts follow `MemSpace.get/put`.
 */
export * from './netmem.js';
export { FRAG_PAGE_ORDER, FRAG_PAGE_SIZE, HostMemory, UserPages, pinUserPages } from './host-memory.js';
export { NcdevmemPattern } from './pattern.js';
export { DeviceMemory, type DeviceBackend, type DeviceMemoryStats, type SgEntry } from './device-memory.js';
export type { DmaBufAttachment } from './device-memory.js';
export { NetIovArea, NetIovTable, NET_IOV_DMABUF, NET_IOV_IOURING, type NetIovOwner } from './net-iov.js';
export { MemSpace, PageFragCarver } from './mem-space.js';
export * from './page-pool.js';
export { HostPageProvider } from './host-provider.js';
export { BindingError, BindingTable, ChunkAllocator, DmabufBinding, DmabufDevmemProvider, type DmaDirection } from './dmabuf-binding.js';
