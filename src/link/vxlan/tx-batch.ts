/**
 * `TxBatch`: the datagrams of one transmit burst, back to back in an `FfiUdp`'s send area, sent
 * with one `sendmsg` that the kernel cuts into datagrams (UDP GSO, `UDP_SEGMENT`). A TCP burst
 * over VXLAN is a run of equal-size frames, so a burst of up to `MAX_SEGMENTS` datagrams costs
 * one system call, and the kernel on the other side takes them in one softirq pass (its vxlan
 * device's GRO cell merges the inner TCP segments) instead of one pass and one reader wake-up
 * per frame. The link decides when a burst ends (`flush`): Linux's `xmit_more`.
 *
 * Contract:
 *  - `push(prefix, frame)` appends the datagram `prefix + frame`. The batch holds datagrams of
 *    one size, with at most one shorter datagram, last (UDP GSO's rule); one that does not fit
 *    (another size, no room, `MAX_SEGMENTS` reached, GSO off) first flushes the batch. true: the
 *    datagram is in the batch (or sent); false: that flush met a full socket buffer (EAGAIN) and
 *    the datagram was NOT taken — the batch waits for `flush()` once the socket is writable;
 *  - `flush()` sends what the batch holds: 0 (empty now), or -EAGAIN (nothing of what is left was
 *    sent; call again once writable). Any other error drops the rest of the batch and is
 *    reported through `onError(errno, datagramsLost)`;
 *  - when the kernel refuses GSO (EMSGSIZE — EINVAL before Linux 6.x — for datagrams longer
 *    than the path MTU; EINVAL: no `UDP_SEGMENT` in this kernel; EIO: no checksum offload on
 *    the way out; EOPNOTSUPP), the batch goes out one datagram per `sendmsg`, and so does
 *    everything after it for a back-off of `GSO_BACKOFF_MIN` datagrams, doubling with each
 *    refusal in a row up to `GSO_BACKOFF_MAX` (a path MTU that drops for a while, a kernel that
 *    never has UDP_SEGMENT); a GSO send that succeeds resets the back-off;
 *  - `discard()` drops what the batch holds (the link's close on a full socket) and says how many;
 *  - the counters go to the `TxBatchStats` object given at construction (the link's own stats);
 *  - `gso: false` at construction (or after a refusal): every datagram is sent at once, inside
 *    `push`, which returns false when the socket is full (the link's behaviour before
 *    batching). Nothing allocates per datagram.
 */
import { ERRNO } from '../../uapi/errno.js';

/** what a batch needs of its socket (`FfiUdp` has it; tests fake it) */
export interface TxAreaSocket {
  /** the buffer the batch fills; `sendArea` sends from it */
  readonly txArea: Uint8Array;
  /** whether `sendArea` can carry a segment size (UDP GSO) at all */
  readonly gsoCapable: boolean;
  /** `txArea[off..off+len)` in one send, cut into `segSize`-byte datagrams when > 0: bytes sent or -errno */
  sendArea(off: number, len: number, segSize: number): number;
}

/** datagrams in one GSO send (Linux's UDP_MAX_SEGMENTS; 6.x raised it from 64 to 128) */
export const MAX_SEGMENTS = 64;

/** single datagrams sent after a refusal before GSO is tried again: the first back-off, the longest */
export const GSO_BACKOFF_MIN = 1024;
export const GSO_BACKOFF_MAX = 65536;

/** counters a batch keeps up to date (field names as in the link's stats) */
export interface TxBatchStats {
  /** sendmsg calls that carried more than one datagram */
  txGsoSends: number;
  /** datagrams those calls carried */
  txGsoDatagrams: number;
  /** GSO sends the kernel refused (each starts a back-off of single sends) */
  txGsoRefused: number;
}

export class TxBatch {
  private readonly area: Uint8Array;
  private readonly areaBytes: number;
  /** GSO asked for and possible on this socket */
  private readonly gsoWanted: boolean;
  /** GSO in use now (off during a back-off) */
  private gso: boolean;
  /** single datagrams left to send before GSO is tried again, and the next back-off's length */
  private backoffLeft = 0;
  private backoff = GSO_BACKOFF_MIN;
  /** bytes in the batch; the first `sent` of them have left already (a fallback cut short by EAGAIN) */
  private end = 0;
  private sent = 0;
  /** size of the batch's datagrams (all but a shorter last one) */
  private seg = 0;
  private count = 0;
  /** a shorter datagram ended the batch */
  private closedTail = false;

  constructor(
    private readonly sock: TxAreaSocket,
    maxPayload: number,
    gso: boolean,
    private readonly stats: TxBatchStats,
    private readonly onError: (errno: number, datagramsLost: number) => void,
  ) {
    this.area = sock.txArea;
    this.areaBytes = Math.min(this.area.length, maxPayload);
    this.gsoWanted = this.gso = gso && sock.gsoCapable;
  }

  /** GSO is in use now (false when not wanted, not possible, or backing off after a refusal) */
  get gsoOn(): boolean {
    return this.gso;
  }

  /** drops what the batch holds; how many datagrams that was */
  discard(): number {
    const n = this.count;
    this.reset();
    return n;
  }

  /** datagrams waiting to be sent */
  get pending(): number {
    return this.count;
  }

  push(prefix: Uint8Array, frame: Uint8Array): boolean {
    const n = prefix.length + frame.length;
    if (this.count > 0 && !this.fits(n) && this.flush() !== 0) return false;
    const off = this.end;
    this.area.set(prefix, off);
    this.area.set(frame, off + prefix.length);
    this.end = off + n;
    if (this.count === 0) this.seg = n;
    else if (n < this.seg) this.closedTail = true;
    this.count++;
    if (!this.gso && this.flush() === -ERRNO.EAGAIN) {
      // one datagram at a time, and the socket is full: this one was not taken after all
      this.reset();
      return false;
    }
    return true;
  }

  private fits(n: number): boolean {
    return this.gso && !this.closedTail && n <= this.seg && this.count < MAX_SEGMENTS && this.end + n <= this.areaBytes;
  }

  flush(): number {
    while (this.count > 0) {
      if (this.count === 1 || !this.gso) {
        // single datagrams, from `sent` on (a batch after a GSO refusal, or GSO off)
        const len = Math.min(this.seg, this.end - this.sent);
        const r = this.sock.sendArea(this.sent, len, 0);
        if (r === -ERRNO.EAGAIN) return r;
        if (r < 0) return this.fail(r);
        this.sent += len;
        if (--this.count === 0) this.reset();
        if (!this.gso && this.gsoWanted && --this.backoffLeft <= 0) this.gso = true;
        continue;
      }
      // from `sent` on (0 unless part of this batch has left already)
      const r = this.sock.sendArea(this.sent, this.end - this.sent, this.seg);
      if (r >= 0) {
        this.stats.txGsoSends++;
        this.stats.txGsoDatagrams += this.count;
        this.backoff = GSO_BACKOFF_MIN;
        this.reset();
        return 0;
      }
      if (r === -ERRNO.EAGAIN) return r;
      if (r === -ERRNO.EMSGSIZE || r === -ERRNO.EINVAL || r === -ERRNO.EIO || r === -ERRNO.EOPNOTSUPP) {
        this.stats.txGsoRefused++;
        this.gso = false;
        this.backoffLeft = this.backoff;
        this.backoff = Math.min(this.backoff * 2, GSO_BACKOFF_MAX);
        continue; // the same datagrams, one by one
      }
      return this.fail(r);
    }
    return 0;
  }

  private fail(r: number): number {
    const lost = this.count;
    this.reset();
    this.onError(-r, lost);
    return 0;
  }

  private reset(): void {
    this.end = this.sent = this.seg = this.count = 0;
    this.closedTail = false;
  }
}
