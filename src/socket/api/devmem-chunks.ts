/**
 * `devmemChunks(socket)`: an async iterator over device-memory data, for applications that would
 * rather not walk control buffers. Each step is one `recvmsg(MSG_SOCK_DEVMEM)`; it yields a
 * `DevmemBatch` whose chunks name bytes in device memory (`dmabuf`) or carry the bytes the NIC
 * left in host memory (`linear`). The batch owns the tokens of its chunks until `release()`
 * returns them with SO_DEVMEM_DONTNEED (coalesced into token ranges); with `autoRelease` the
 * iterator releases each batch when the next one is requested. Unreleased batches keep their
 * device buffers pinned until the socket closes, exactly like leaked tokens in Linux.
 */
import {
  CMSG_HDR_LEN, MAX_DONTNEED_FRAGS, MAX_DONTNEED_TOKENS, MSG_SOCK_DEVMEM, SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR,
  SOL_SOCKET, SO_DEVMEM_DONTNEED,
} from '../../uapi/index.js';
import { RecvInfo, type Socket } from './socket.js';

export interface DevmemChunk {
  kind: 'dmabuf' | 'linear';
  /** byte offset in the dma-buf (dmabuf chunks) */
  offset: number;
  size: number;
  /** token (dmabuf chunks), 0 for linear */
  token: number;
  /** binding id (dmabuf chunks), 0 for linear */
  dmabufId: number;
  /** the bytes, for linear chunks (a view into a copy owned by the batch), else null */
  bytes: Uint8Array | null;
}

export class DevmemBatch {
  private released = false;
  constructor(
    private readonly socket: Socket,
    readonly chunks: readonly DevmemChunk[],
    /** bytes the recvmsg covered */
    readonly length: number,
  ) {}

  get isReleased(): boolean {
    return this.released;
  }

  /** returns every token of the batch; returns the number freed (idempotent: 0 the second time) */
  release(): number {
    if (this.released) return 0;
    this.released = true;
    const tokens = this.chunks.filter((c) => c.kind === 'dmabuf').map((c) => c.token).sort((a, b) => a - b);
    let freed = 0;
    const buf = new Uint8Array(8 * MAX_DONTNEED_TOKENS);
    const dv = new DataView(buf.buffer);
    let ranges = 0;
    let frags = 0;
    const flush = (): void => {
      if (ranges > 0) freed += this.socket.setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED, buf.subarray(0, ranges * 8));
      ranges = 0;
      frags = 0;
    };
    for (let i = 0; i < tokens.length; ) {
      let j = i + 1;
      while (j < tokens.length && tokens[j] === tokens[j - 1]! + 1 && j - i < MAX_DONTNEED_FRAGS) j++;
      const count = j - i;
      if (ranges === MAX_DONTNEED_TOKENS || frags + count > MAX_DONTNEED_FRAGS) flush();
      dv.setUint32(ranges * 8, tokens[i]!, true);
      dv.setUint32(ranges * 8 + 4, count, true);
      ranges++;
      frags += count;
      i = j;
    }
    flush();
    return freed;
  }
}

export interface DevmemChunksOptions {
  /** recvmsg iov length (default 800 KiB, like ncdevmem) */
  iovLen?: number;
  /** control buffer length (default 80 000, like ncdevmem) */
  controlLen?: number;
  /** release each batch when the next one is requested (default false) */
  autoRelease?: boolean;
}

/** iterates device-memory data until the peer closes; see the module comment */
export async function* devmemChunks(socket: Socket, opts: DevmemChunksOptions = {}): AsyncGenerator<DevmemBatch, void, undefined> {
  const iov = new Uint8Array(opts.iovLen ?? 800 * 1024);
  const control = new Uint8Array(opts.controlLen ?? 80_000);
  const dv = new DataView(control.buffer);
  const info = new RecvInfo();
  let prev: DevmemBatch | null = null;
  for (;;) {
    if (opts.autoRelease && prev !== null) prev.release();
    const n = await socket.recvmsgInto(iov, control, MSG_SOCK_DEVMEM, info);
    if (n === 0) return;
    const chunks: DevmemChunk[] = [];
    let linearOff = 0;
    for (let off = 0; off + CMSG_HDR_LEN <= info.controlLen; ) {
      const len = dv.getUint32(off, true);
      const level = dv.getInt32(off + 8, true);
      const type = dv.getInt32(off + 12, true);
      const p = off + CMSG_HDR_LEN;
      off += (len + 7) & ~7;
      if (level !== SOL_SOCKET) continue;
      const size = dv.getUint32(p + 8, true);
      if (type === SCM_DEVMEM_LINEAR) {
        chunks.push({ kind: 'linear', offset: 0, size, token: 0, dmabufId: 0, bytes: iov.slice(linearOff, linearOff + size) });
        linearOff += size;
      } else if (type === SCM_DEVMEM_DMABUF) {
        chunks.push({
          kind: 'dmabuf', offset: dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 4294967296, size,
          token: dv.getUint32(p + 12, true), dmabufId: dv.getUint32(p + 16, true), bytes: null,
        });
      }
    }
    if (chunks.length === 0 && n > 0) {
      // readable data (the flow is not on a devmem queue): hand it over as one linear chunk
      chunks.push({ kind: 'linear', offset: 0, size: info.iovUsed, token: 0, dmabufId: 0, bytes: iov.slice(0, info.iovUsed) });
    }
    prev = new DevmemBatch(socket, chunks, n);
    yield prev;
  }
}
