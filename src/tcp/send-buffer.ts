/**
 * `SendBuffer`: a socket's unacknowledged and unsent byte stream, kept in host pages. `append`
 * copies user bytes in (the one copy on the TX path); `attachFrags` adds frag references for a
 * sequence range to an outgoing skb (each frag takes a page reference, so a segment on the wire
 * stays valid after the ACK frees the buffer's own reference); `ackTo` drops fully acknowledged
 * pages. Byte `seq` lives at position `startOff + (seq - startSeq)` of the page ring.
 */
import { NETMEM_NONE, PAGE_SHIFT, PAGE_SIZE, type MemSpace } from '../mem/index.js';
import { skbAddFrag, type SkBuff } from '../skb/index.js';

export class SendBuffer {
  private pages = new Int32Array(16);
  private head = 0;
  private count = 0;
  /** sequence number of the first byte held */
  startSeq = 0;
  /** offset of that byte in the first page */
  private startOff = 0;
  /** bytes held (acked bytes are removed) */
  bytes = 0;

  constructor(private readonly mem: MemSpace) {}

  reset(seq: number): void {
    this.release();
    this.startSeq = seq | 0;
    this.startOff = 0;
  }

  /** sequence number just past the last byte held */
  get endSeq(): number {
    return (this.startSeq + this.bytes) | 0;
  }

  /**
   * Copies up to `len` bytes of `src[off..]` in; returns bytes taken (fewer when host memory
   * runs out).
   */
  append(src: Uint8Array, off: number, len: number): number {
    const mem = this.mem;
    let done = 0;
    while (done < len) {
      const pos = this.startOff + this.bytes;
      const inPage = pos & (PAGE_SIZE - 1);
      const pageIdx = pos >>> PAGE_SHIFT;
      if (pageIdx >= this.count) {
        const ref = mem.allocPage();
        if (ref === NETMEM_NONE) break;
        this.push(ref);
      }
      const ref = this.pages[(this.head + pageIdx) % this.pages.length]!;
      const n = Math.min(PAGE_SIZE - inPage, len - done);
      const at = mem.offset(ref) + inPage;
      mem.buf(ref).set(src.subarray(off + done, off + done + n), at);
      done += n;
      this.bytes += n;
    }
    return done;
  }

  /**
   * Adds frags covering [seq, seq+len) to `skb`, each taking a page reference. Returns the
   * bytes attached (less than `len` only when the skb's frag slots, `skb.maxFrags`, run out).
   */
  attachFrags(skb: SkBuff, seq: number, len: number): number {
    const mem = this.mem;
    let pos = this.startOff + ((seq - this.startSeq) | 0);
    let done = 0;
    const maxFrags = skb.maxFrags;
    while (done < len && skb.nrFrags < maxFrags) {
      const pageIdx = pos >>> PAGE_SHIFT;
      const inPage = pos & (PAGE_SIZE - 1);
      const ref = this.pages[(this.head + pageIdx) % this.pages.length]!;
      const n = Math.min(PAGE_SIZE - inPage, len - done);
      mem.get(ref);
      skbAddFrag(skb, ref, inPage, n);
      done += n;
      pos += n;
    }
    return done;
  }

  /** frees bytes before `seq` (an ACK) */
  ackTo(seq: number): void {
    let n = (seq - this.startSeq) | 0;
    if (n <= 0) return;
    if (n > this.bytes) n = this.bytes;
    const pos = this.startOff + n;
    let drop = pos >>> PAGE_SHIFT;
    this.bytes -= n;
    this.startSeq = (this.startSeq + n) | 0;
    this.startOff = pos & (PAGE_SIZE - 1);
    if (this.bytes === 0 && this.startOff === 0 && drop < this.count) {
      // the last page is exactly consumed; keep nothing
      drop = this.count;
    }
    while (drop-- > 0 && this.count > 0) this.shift();
    if (this.count === 0) this.startOff = 0;
  }

  /** drops every page */
  release(): void {
    while (this.count > 0) this.shift();
    this.bytes = 0;
    this.startOff = 0;
  }

  private push(ref: number): void {
    if (this.count === this.pages.length) {
      const np = new Int32Array(this.pages.length * 2);
      for (let i = 0; i < this.count; i++) np[i] = this.pages[(this.head + i) % this.pages.length]!;
      this.pages = np;
      this.head = 0;
    }
    this.pages[(this.head + this.count) % this.pages.length] = ref;
    this.count++;
  }

  private shift(): void {
    const ref = this.pages[this.head]!;
    this.head = (this.head + 1) % this.pages.length;
    this.count--;
    this.mem.put(ref);
  }
}
