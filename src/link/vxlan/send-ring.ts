/**
 * SendRing: the byte arena that outgoing VXLAN datagrams are built in. `node:dgram` may keep a
 * datagram's bytes until its send callback runs (libuv queues it when the socket would block), and
 * the stack only lends a frame for the duration of `send`, so each datagram is copied into the
 * arena once and its space is released when the send completes.
 *
 * Contract: a UDP socket completes its sends in submission order (libuv's send queue is FIFO and a
 * synchronous `uv_udp_try_send` is refused while anything is queued), so the arena is a ring:
 * `reserve` takes space at the head, `release` frees the oldest reservation. Allocation-free after
 * construction. `reserve` returns -1 when the arena or the in-flight count is full (the link is
 * busy); it never overwrites bytes of a datagram not yet released.
 */
export class SendRing {
  readonly buf: Buffer;
  /** end offset of each in-flight datagram, oldest first (ring of `ends.length`) */
  private readonly ends: Uint32Array;
  private head = 0;
  private tail = 0;
  private first = 0;
  private count = 0;

  constructor(bytes: number, maxInflight: number) {
    this.buf = Buffer.allocUnsafeSlow(bytes);
    this.ends = new Uint32Array(maxInflight);
  }

  /** datagrams reserved and not yet released */
  get inflight(): number {
    return this.count;
  }

  /** bytes between the oldest in-flight datagram and the head (0 when idle) */
  get usedBytes(): number {
    if (this.count === 0) return 0;
    return this.head > this.tail ? this.head - this.tail : this.buf.length - this.tail + this.head;
  }

  /** offset of `n` contiguous bytes reserved for one datagram, or -1 when full */
  reserve(n: number): number {
    if (this.count === this.ends.length || n > this.buf.length) return -1;
    let off: number;
    if (this.count === 0) {
      off = 0;
    } else if (this.head > this.tail) {
      // in use: [tail, head); free: [head, end of arena) and [0, tail)
      if (this.buf.length - this.head >= n) off = this.head;
      else if (this.tail > n) off = 0; // wrap; the gap at the end is freed with this datagram
      else return -1;
    } else if (this.tail - this.head > n) {
      // wrapped, in use: [tail, end of arena) and [0, head); free: [head, tail); equal means full
      off = this.head;
    } else {
      return -1;
    }
    const end = off + n;
    this.ends[(this.first + this.count) % this.ends.length] = end;
    this.count++;
    this.head = end;
    return off;
  }

  /** frees the oldest reservation; false when nothing was in flight */
  release(): boolean {
    if (this.count === 0) return false;
    this.tail = this.ends[this.first]!;
    this.first = (this.first + 1) % this.ends.length;
    this.count--;
    if (this.count === 0) this.head = this.tail = 0;
    return true;
  }
}
