/**
 * Files for the host objects that are not sockets of this layer: a dma-buf (`DeviceMemory`, what
 * `bind-rx` looks up by fd) and a generic-netlink socket. Closing the fd marks the dma-buf's fd
 * closed (a binding keeps its own reference, as in Linux) and closes the netlink socket, which
 * unbinds what it bound. Neither can be polled here (epoll_ctl answers EPERM).
 */
import type { DeviceMemory } from '../../mem/index.js';
import { File } from './file.js';
import type { WaitQueue } from './waitqueue.js';

export class DmabufFile extends File {
  readonly kind = 'dmabuf';
  constructor(readonly dmabuf: DeviceMemory) {
    super();
  }
  get wq(): WaitQueue | null {
    return null;
  }
  protected release(): void {
    this.dmabuf.fdClosed = true;
    this.dmabuf.fd = -1;
  }
}

/** what the fd table needs of a netlink socket (the netlink layer sits beside this one) */
export interface NetlinkEndpoint {
  readonly closed: boolean;
  close(): void;
}

export class NetlinkFile extends File {
  readonly kind = 'netlink';
  constructor(readonly nl: NetlinkEndpoint) {
    super();
  }
  get wq(): WaitQueue | null {
    return null;
  }
  override get defunct(): boolean {
    return this.nl.closed;
  }
  protected release(): void {
    this.nl.close();
  }
}
