/**
 * The two baselines every bench run measures next to the simulated rows, so that figures from
 * different machines can be compared through ratios:
 *  - the CPU floor: one JavaScript copy of every payload byte at the simulated rows' packet size
 *    (`Uint8Array.prototype.set` of MSS-sized pieces from a 64 MiB source ring into a 64 MiB
 *    destination ring: memory bandwidth plus a per-packet call, no protocol work);
 *  - Node's own `net` over 127.0.0.1, both ends in this process, 64 KiB writes (the Linux
 *    kernel's TCP over loopback: MTU 65536, GSO/GRO, no checksums).
 */
import net from 'node:net';

const RING = 64 << 20;

/** source and destination rings, allocated once per process (outside the timed part) */
let rings: { src: Uint8Array; dst: Uint8Array } | null = null;

/** sink for a byte of every run, so the copies cannot be optimised away */
export let floorSink = 0;

export function floorCopy(total: number, packet: number): { bytes: number; seconds: number } {
  if (rings === null) {
    const src = new Uint8Array(RING);
    for (let i = 0; i < RING; i++) src[i] = (i * 31 + (i >>> 11)) & 0xff;
    rings = { src, dst: new Uint8Array(RING) };
  }
  const { src, dst } = rings;
  const t0 = process.hrtime.bigint();
  let off = 0;
  let pos = 0;
  while (off < total) {
    const n = Math.min(packet, total - off);
    if (pos + n > RING) pos = 0;
    dst.set(src.subarray(pos, pos + n), pos);
    pos += n;
    off += n;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  floorSink = (floorSink + dst[pos - 1]!) & 0xff;
  return { bytes: total, seconds };
}

/** Node `net` over 127.0.0.1, both ends in this process */
export function nodeNetLoopback(total: number): Promise<{ bytes: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
    let received = 0;
    let t0 = 0n;
    const server = net.createServer((sock) => {
      sock.on('data', (buf: Buffer) => {
        received += buf.length;
        if (received >= total) {
          const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
          sock.destroy();
          server.close();
          resolve({ bytes: received, seconds });
        }
      });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no address'));
      const client = net.connect(addr.port, '127.0.0.1', () => {
        client.setNoDelay(true);
        t0 = process.hrtime.bigint();
        let sent = 0;
        const pump = (): void => {
          while (sent < total) {
            const n = Math.min(chunk.length, total - sent);
            sent += n;
            if (!client.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              client.once('drain', pump);
              return;
            }
          }
          client.end();
        };
        pump();
      });
      client.on('error', () => {});
    });
  });
}
