/**
 * `WriteQueue`: a connection's send-side byte stream as Linux keeps it (sk_write_queue plus the
 * payload of tcp_rtx_queue): a list of skb RECORDS (`WqSkb`: [seq, endSeq), PSH, EOR, the
 * transmit completion `uarg`, readable or not) over a ring of FRAGS (netmem reference, offset in
 * its page, length, first sequence number). Bytes come in two ways: `append` copies user bytes
 * into host pages the queue owns; `appendFrag` references memory the caller owns (a pinned user
 * page, a TX-binding net_iov). A record stays until every byte of it is acknowledged; `sendHead`
 * is the first record with unsent bytes (tcp_send_head).
 *
 * Hard boundaries (a frag run never crosses them when it goes into one outgoing skb, new data or
 * retransmission): a change of `uarg`, a change of readability, the end of an EOR record.
 * `segLimit` measures the distance to the next one; `attachFrags` stops there.
 *
 * Ownership: every frag entry holds one reference on its netmem (`mem.get` when added, `mem.put`
 * when ACKed or released); the copy page being filled holds one more. Every record with a `uarg`
 * holds one reference on it (`ubufGet`), dropped when the record is freed. Outgoing skbs get
 * their own frag references and `skbZcopySet` from `attachFrags`. Records and frag slots are
 * pooled / ring-allocated: steady-state sending and acknowledging allocate nothing.
 */
import { FRAG_PAGE_SIZE, NETMEM_NONE, PAGE_SIZE, netmemIsNetIov, type MemSpace, type NetmemRef } from '../../mem/index.js';
import { MAX_SKB_FRAGS, skbAddFrag, skbZcopySet, ubufGet, ubufPut, type SkBuff, type UbufInfo } from '../../skb/index.js';

/**
 * Linux SKB_TRUESIZE of an empty TCP skb (MAX_TCP_HEADER head, struct sk_buff and
 * skb_shared_info, x86-64): what each record costs sk_wmem_queued before its payload
 */
export const WQ_SKB_OVERHEAD = 1280;

/** a frag's flag: the record that ends with this frag is EOR-closed (a hard boundary after it) */
const F_EOR_END = 1;

/** one write-queue skb (payload lives in the queue's frag ring) */
export class WqSkb {
  seq = 0;
  endSeq = 0;
  /** TCPHDR_PSH of TCP_SKB_CB(skb)->tcp_flags (tcp_mark_push) */
  psh = false;
  /** MSG_EOR: nothing joins this record and no outgoing skb crosses its end */
  eor = false;
  /** transmit completion of caller-owned bytes (one reference held while the record lives) */
  uarg: UbufInfo | null = null;
  /** frags are net_iovs (device memory the host may not read) */
  unreadable = false;
  /** frag entries appended to this record (frag slot accounting while it is the tail) */
  nrFrags = 0;
  /** Linux skb->truesize as counted in sk_wmem_queued */
  truesize = 0;
  next: WqSkb | null = null;

  get len(): number {
    return (this.endSeq - this.seq) | 0;
  }
}

export class WriteQueue {
  // ---- frag ring ----
  private cap = 16;
  private fRef = new Int32Array(16);
  private fOff = new Int32Array(16);
  private fLen = new Int32Array(16);
  private fSeq = new Int32Array(16);
  private fFlags = new Uint8Array(16);
  private fUarg: (UbufInfo | null)[] = new Array<UbufInfo | null>(16).fill(null);
  private fHead = 0;
  private fCount = 0;
  /** index (relative to fHead) of the frag the last lookup found: sequential sends hit it */
  private cursor = 0;

  // ---- copy page ----
  /**
   * the socket's page frag (Linux sk_page_frag): a 32 KiB frag page, or a 4 KiB page when none
   * could be had (skb_page_frag_refill's order-0 fallback); `copyCap` is its size
   */
  private copyPage: NetmemRef = NETMEM_NONE;
  private copyFill = 0;
  private copyCap = 0;

  // ---- records ----
  head: WqSkb | null = null;
  tail: WqSkb | null = null;
  /** first record with unsent bytes (Linux tcp_send_head), null when everything was sent */
  sendHead: WqSkb | null = null;
  private free: WqSkb | null = null;
  /** records in the queue */
  count = 0;

  /** sequence number of the first byte held */
  startSeq = 0;
  /** bytes held (acknowledged bytes are removed) */
  bytes = 0;
  /** Linux sk_wmem_queued: record overheads plus payload bytes (copied or referenced) */
  wmemQueued = 0;
  /**
   * Linux size_goal for new records (tcp_send_mss → tcp_xmit_size_goal), bytes; the TCP core
   * refreshes it before appending
   */
  sizeGoal = 0x7fffffff;

  constructor(private readonly mem: MemSpace, readonly maxFrags = MAX_SKB_FRAGS) {}

  /** sequence number just past the last byte held (Linux write_seq) */
  get endSeq(): number {
    return (this.startSeq + this.bytes) | 0;
  }

  /** empties the queue and starts the stream at `seq` */
  reset(seq: number): void {
    this.release();
    this.startSeq = seq | 0;
  }

  // =====================================================================================
  // appending
  // =====================================================================================

  /**
   * Copies up to `len` bytes of `src[off..]` in (the one copy of the plain send path), filling
   * the tail record up to `sizeGoal` and starting new records after it. Never joins a record
   * that references caller-owned or unreadable memory, an EOR-closed or already sent one.
   * Returns bytes taken (fewer when host memory runs out).
   */
  append(src: Uint8Array, off: number, len: number): number {
    let done = 0;
    while (done < len) {
      let r = this.tail;
      if (r === null || !this.canJoin(r, null, false) || r.len >= this.sizeGoal || r.nrFrags >= this.maxFrags) {
        r = this.newRecord(null, false);
      }
      const n = this.copyInto(r, src, off + done, Math.min(len - done, this.sizeGoal - r.len));
      if (n === 0) {
        if (r.nrFrags >= this.maxFrags) continue;
        this.dropEmptyTail();
        break;
      }
      done += n;
    }
    return done;
  }

  /**
   * Copies at most `len` bytes into the tail record `r` (at most what fits its size goal);
   * returns bytes copied (0 when host memory is short or the record's frag slots are full)
   */
  copyInto(r: WqSkb, src: Uint8Array, off: number, len: number): number {
    const mem = this.mem;
    let done = 0;
    while (done < len) {
      if (this.copyPage === NETMEM_NONE || this.copyFill === this.copyCap) {
        if (this.copyPage !== NETMEM_NONE) mem.put(this.copyPage);
        this.copyFill = 0;
        this.copyPage = mem.allocFragPage();
        this.copyCap = FRAG_PAGE_SIZE;
        if (this.copyPage === NETMEM_NONE) {
          this.copyPage = mem.allocPage();
          this.copyCap = PAGE_SIZE;
        }
        if (this.copyPage === NETMEM_NONE) break;
      }
      const ref = this.copyPage;
      const n = Math.min(this.copyCap - this.copyFill, len - done);
      // extend the tail frag when it ends where this copy starts (skb_can_coalesce)
      const lastK = (this.fHead + this.fCount - 1) & (this.cap - 1);
      const extend = this.fCount > 0 && r.nrFrags > 0 && this.fRef[lastK] === ref && this.fUarg[lastK] === null &&
        (this.fFlags[lastK]! & F_EOR_END) === 0 && this.fOff[lastK]! + this.fLen[lastK]! === this.copyFill;
      if (!extend && r.nrFrags >= this.maxFrags) break;
      mem.buf(ref).set(src.subarray(off + done, off + done + n), mem.offset(ref) + this.copyFill);
      if (extend) this.fLen[lastK] = this.fLen[lastK]! + n;
      else {
        mem.get(ref);
        this.pushFrag(ref, this.copyFill, n, null);
        r.nrFrags++;
      }
      this.copyFill += n;
      r.endSeq = (r.endSeq + n) | 0;
      r.truesize += n;
      this.wmemQueued += n;
      this.bytes += n;
      done += n;
    }
    return done;
  }

  /**
   * Appends `len` bytes at `off` of `ref` (memory the caller owns: a pinned user page, or a
   * TX-binding net_iov) with completion `uarg`. The queue takes its own reference on `ref`.
   * Joins the tail record only when it is unsent, not EOR-closed, has the same `uarg` and the
   * same readability, and has room (size goal, frag slots); else starts a new record. False for
   * an invalid range (nothing appended).
   */
  appendFrag(ref: NetmemRef, off: number, len: number, uarg: UbufInfo | null): boolean {
    if (!(len > 0) || off < 0 || off + len > PAGE_SIZE || ref === NETMEM_NONE) return false;
    const unreadable = netmemIsNetIov(ref);
    let r = this.tail;
    if (r === null || !this.canJoin(r, uarg, unreadable) || r.len >= this.sizeGoal || r.nrFrags >= this.maxFrags) {
      // a record whose frag slots ran out is pushed (Linux tcp_mark_push before new_segment)
      if (r !== null && r.nrFrags >= this.maxFrags && this.canJoin(r, uarg, unreadable)) r.psh = true;
      r = this.newRecord(uarg, unreadable);
    }
    const lastK = (this.fHead + this.fCount - 1) & (this.cap - 1);
    // a contiguous piece of the same page joins the last frag (skb_can_coalesce), except a
    // net_iov: zerocopy_fill_skb_from_devmem gives every piece its own frag slot (audit8)
    if (!unreadable && r.nrFrags > 0 && this.fRef[lastK] === ref && this.fOff[lastK]! + this.fLen[lastK]! === off &&
      this.fUarg[lastK] === uarg && (this.fFlags[lastK]! & F_EOR_END) === 0) {
      this.fLen[lastK] = this.fLen[lastK]! + len;
    } else {
      this.mem.get(ref);
      this.pushFrag(ref, off, len, uarg);
      r.nrFrags++;
    }
    r.endSeq = (r.endSeq + len) | 0;
    // charged to sk_wmem_queued like copied bytes (Linux __zerocopy_sg_from_iter adds the frags'
    // truesize for stream sockets): SO_SNDBUF bounds zerocopy and devmem sends too
    r.truesize += len;
    this.wmemQueued += len;
    this.bytes += len;
    return true;
  }

  /** MSG_EOR: closes the tail record (no later byte joins it, no skb crosses its end) */
  markEor(): void {
    const r = this.tail;
    if (r === null || r.len === 0) return;
    r.eor = true;
    if (this.fCount > 0) {
      const k = (this.fHead + this.fCount - 1) & (this.cap - 1);
      this.fFlags[k] = this.fFlags[k]! | F_EOR_END;
    }
  }

  /** true when `r` may take more bytes of this kind (Linux tcp_skb_can_collapse_to + zc checks) */
  canJoin(r: WqSkb, uarg: UbufInfo | null, unreadable: boolean): boolean {
    // the tail is unsent exactly when some record is (records are split where a send ends)
    return r === this.tail && this.sendHead !== null && !r.eor && r.uarg === uarg && r.unreadable === unreadable;
  }

  /** a new empty record at the tail (Linux tcp_stream_alloc_skb + tcp_skb_entail) */
  newRecord(uarg: UbufInfo | null, unreadable: boolean): WqSkb {
    let r = this.free;
    if (r === null) r = new WqSkb();
    else this.free = r.next;
    r.seq = r.endSeq = this.endSeq;
    r.psh = false;
    r.eor = false;
    r.uarg = uarg;
    if (uarg !== null) ubufGet(uarg);
    r.unreadable = unreadable;
    r.nrFrags = 0;
    r.truesize = WQ_SKB_OVERHEAD;
    this.wmemQueued += WQ_SKB_OVERHEAD;
    r.next = null;
    if (this.tail === null) this.head = r;
    else this.tail.next = r;
    this.tail = r;
    if (this.sendHead === null) this.sendHead = r;
    this.count++;
    return r;
  }

  /**
   * skb_zerocopy_iter_stream's revert after EFAULT (___pskb_trim of the skb being filled): drops
   * the bytes of the unsent tail record from `seq` on (frag references put, accounting given
   * back) and the record itself when it is left empty. Only for records of caller-owned memory
   * (a uarg); returns the bytes dropped. (audit8, for devmem-tx.ts)
   */
  trimTail(seq: number): number {
    const r = this.tail;
    if (r === null || r.uarg === null || this.sendHead === null || r.eor) return 0;
    const n = (r.endSeq - seq) | 0;
    if (n <= 0 || ((seq - r.seq) | 0) < 0) return 0;
    const mask = this.cap - 1;
    let left = n;
    while (left > 0 && this.fCount > 0) {
      const k = (this.fHead + this.fCount - 1) & mask;
      const l = this.fLen[k]!;
      if (l > left) {
        this.fLen[k] = l - left;
        break;
      }
      this.mem.put(this.fRef[k]!);
      this.fUarg[k] = null;
      this.fCount--;
      r.nrFrags--;
      left -= l;
    }
    r.endSeq = seq | 0;
    r.truesize -= n;
    this.wmemQueued -= n;
    this.bytes -= n;
    if (this.cursor >= this.fCount) this.cursor = 0;
    if (r.len === 0) this.dropEmptyTail();
    return n;
  }

  /** removes an empty tail record (Linux tcp_remove_empty_skb) */
  dropEmptyTail(): void {
    const r = this.tail;
    if (r === null || r.len !== 0) return;
    let p: WqSkb | null = null;
    for (let q = this.head; q !== r; q = q!.next) p = q;
    if (p === null) this.head = null;
    else p.next = null;
    this.tail = p;
    if (this.sendHead === r) this.sendHead = null;
    this.freeRecord(r);
  }

  // =====================================================================================
  // transmit-side record operations (tcp_write_xmit)
  // =====================================================================================

  /**
   * Linux tso_fragment / tcp_fragment on a record: `r` keeps its first `len` bytes, a new record
   * after it takes the rest and the PSH / EOR marks (they belong to the end). No bytes move.
   */
  split(r: WqSkb, len: number): void {
    if (len <= 0 || len >= r.len) return;
    let n = this.free;
    if (n === null) n = new WqSkb();
    else this.free = n.next;
    n.seq = (r.seq + len) | 0;
    n.endSeq = r.endSeq;
    n.psh = r.psh;
    n.eor = r.eor;
    n.uarg = r.uarg;
    if (n.uarg !== null) ubufGet(n.uarg);
    n.unreadable = r.unreadable;
    n.nrFrags = r.nrFrags;
    // payload truesize follows the bytes; the new record brings its own overhead (as Linux)
    const moved = r.len - len;
    n.truesize = WQ_SKB_OVERHEAD + moved;
    r.truesize -= moved;
    this.wmemQueued += WQ_SKB_OVERHEAD;
    n.next = r.next;
    r.endSeq = n.seq;
    r.psh = false;
    r.eor = false;
    r.next = n;
    if (this.tail === r) this.tail = n;
    this.count++;
  }

  /**
   * Linux tcp_grow_skb: the send head `r` is shorter than the packet the windows allow; move up
   * to `amount` bytes of the next record into it when they may share an skb (same kind, no EOR,
   * no caller-owned memory: skb_shift refuses zerocopy skbs). A record emptied this way is freed
   * and its PSH / EOR marks move to `r`.
   */
  grow(r: WqSkb, amount: number): void {
    const n = r.next;
    if (n === null || amount <= 0 || r.eor || r.uarg !== null || n.uarg !== null || r.unreadable !== n.unreadable) return;
    const len = n.len;
    const take = amount < len ? amount : len;
    if (take <= 0) return;
    r.endSeq = (r.endSeq + take) | 0;
    n.seq = (n.seq + take) | 0;
    r.truesize += take;
    n.truesize -= take;
    if (take === len) {
      r.psh = r.psh || n.psh;
      r.eor = n.eor;
      r.next = n.next;
      if (this.tail === n) this.tail = r;
      if (this.sendHead === n) this.sendHead = r;
      this.freeRecord(n);
    }
  }

  /** `r` went out whole: the send head moves past it */
  advanceSendHead(r: WqSkb): void {
    if (this.sendHead === r) this.sendHead = r.next;
  }

  /** the record holding byte `seq` (sent or not), or null; walks from the head */
  recordAt(seq: number): WqSkb | null {
    for (let r = this.head; r !== null; r = r.next) {
      if (((seq - r.seq) | 0) >= 0 && ((seq - r.endSeq) | 0) < 0) return r;
    }
    return null;
  }

  // =====================================================================================
  // segments: frags for an outgoing skb
  // =====================================================================================

  /**
   * Bytes from `seq` up to the next hard boundary (uarg change, readability change, end of an
   * EOR record) or the end of the queue, capped at `max`; with `maxFrags` > 0 also capped to what
   * that many frag slots hold. What one outgoing skb may carry from `seq`.
   */
  segLimit(seq: number, max: number, maxFrags = 0): number {
    let i = this.findFrag(seq);
    if (i < 0) return 0;
    const mask = this.cap - 1;
    let k = (this.fHead + i) & mask;
    let done = this.fLen[k]! - ((seq - this.fSeq[k]!) | 0);
    let frags = 1;
    for (;;) {
      if (done >= max) return max;
      if (this.fFlags[k]! & F_EOR_END) return done;
      if (++i >= this.fCount) return done;
      const nk = (this.fHead + i) & mask;
      if (this.fUarg[nk] !== this.fUarg[k] || (this.fRef[nk]! & 1) !== (this.fRef[k]! & 1)) return done;
      if (maxFrags > 0 && ++frags > maxFrags) return done;
      done += this.fLen[nk]!;
      k = nk;
    }
  }

  /**
   * Adds frags covering [seq, seq+len) to `skb`, each taking a netmem reference, and attaches the
   * range's transmit completion (`skbZcopySet`). Stops early at a hard boundary, when the skb's
   * frag slots run out or when the skb already holds frags of another kind; returns the bytes
   * attached. Works for first transmissions and retransmissions alike.
   */
  attachFrags(skb: SkBuff, seq: number, len: number): number {
    let i = this.findFrag(seq);
    if (i < 0 || len <= 0) return 0;
    const mem = this.mem;
    const mask = this.cap - 1;
    let done = 0;
    let prev = -1;
    while (done < len && i < this.fCount) {
      const k = (this.fHead + i) & mask;
      if (prev >= 0) {
        if (this.fFlags[prev]! & F_EOR_END) break;
        if (this.fUarg[k] !== this.fUarg[prev] || (this.fRef[k]! & 1) !== (this.fRef[prev]! & 1)) break;
      }
      const u = this.fUarg[k]!;
      if (u !== skb.uarg) {
        if (skb.uarg !== null || skb.nrFrags > 0) break;
        skbZcopySet(skb, u);
      }
      if (skb.nrFrags >= skb.maxFrags) break;
      const at = (((seq + done) | 0) - this.fSeq[k]!) | 0;
      const fl = this.fLen[k]!;
      const n = Math.min(fl - at, len - done);
      const ref = this.fRef[k]!;
      mem.get(ref);
      if (!skbAddFrag(skb, ref, this.fOff[k]! + at, n)) {
        mem.put(ref);
        break;
      }
      done += n;
      prev = k;
      if (at + n === fl) i++;
    }
    this.cursor = i < this.fCount ? i : this.fCount - 1;
    return done;
  }

  // =====================================================================================
  // acknowledgement and teardown
  // =====================================================================================

  /** frees bytes before `seq` (an ACK): frag references, records fully covered, uarg references */
  ackTo(seq: number): void {
    let n = (seq - this.startSeq) | 0;
    if (n <= 0) return;
    if (n > this.bytes) n = this.bytes;
    const una = (this.startSeq + n) | 0;
    const mem = this.mem;
    const mask = this.cap - 1;
    while (this.fCount > 0) {
      const k = this.fHead;
      const end = (this.fSeq[k]! + this.fLen[k]!) | 0;
      if (((end - una) | 0) <= 0) {
        mem.put(this.fRef[k]!);
        this.fUarg[k] = null;
        this.fHead = (k + 1) & mask;
        this.fCount--;
        continue;
      }
      const cut = (una - this.fSeq[k]!) | 0;
      if (cut > 0) {
        this.fOff[k] = this.fOff[k]! + cut;
        this.fLen[k] = this.fLen[k]! - cut;
        this.fSeq[k] = una | 0;
      }
      break;
    }
    this.cursor = 0;
    // records (Linux tcp_clean_rtx_queue frees whole skbs, tcp_trim_head trims a partial one)
    let r = this.head;
    while (r !== null && ((r.endSeq - una) | 0) <= 0) {
      const next = r.next;
      if (this.sendHead === r) this.sendHead = next;
      this.freeRecord(r);
      r = next;
    }
    this.head = r;
    if (r === null) this.tail = null;
    else if (((una - r.seq) | 0) > 0 && ((r.endSeq - una) | 0) > 0) {
      const cut = (una - r.seq) | 0;
      r.truesize -= cut;
      this.wmemQueued -= cut;
      r.seq = una;
    }
    this.startSeq = una;
    this.bytes -= n;
  }

  /** drops every byte, record and reference (close, abort, disconnect) */
  release(): void {
    const mem = this.mem;
    const mask = this.cap - 1;
    while (this.fCount > 0) {
      const k = this.fHead;
      mem.put(this.fRef[k]!);
      this.fUarg[k] = null;
      this.fHead = (k + 1) & mask;
      this.fCount--;
    }
    this.fHead = 0;
    this.cursor = 0;
    if (this.copyPage !== NETMEM_NONE) {
      mem.put(this.copyPage);
      this.copyPage = NETMEM_NONE;
    }
    this.copyFill = 0;
    let r = this.head;
    while (r !== null) {
      const next = r.next;
      this.freeRecord(r);
      r = next;
    }
    this.head = this.tail = this.sendHead = null;
    this.count = 0;
    this.startSeq = this.endSeq;
    this.bytes = 0;
    this.wmemQueued = 0;
  }

  // =====================================================================================
  // internals
  // =====================================================================================

  private freeRecord(r: WqSkb): void {
    this.wmemQueued -= r.truesize;
    const u = r.uarg;
    r.uarg = null;
    r.next = this.free;
    this.free = r;
    this.count--;
    if (u !== null) ubufPut(u);
  }

  private pushFrag(ref: NetmemRef, off: number, len: number, uarg: UbufInfo | null): void {
    if (this.fCount === this.cap) this.growRing();
    const k = (this.fHead + this.fCount) & (this.cap - 1);
    this.fRef[k] = ref;
    this.fOff[k] = off;
    this.fLen[k] = len;
    this.fSeq[k] = this.endSeq | 0;
    this.fFlags[k] = 0;
    this.fUarg[k] = uarg;
    this.fCount++;
  }

  private growRing(): void {
    const cap = this.cap * 2;
    const mask = this.cap - 1;
    const ref = new Int32Array(cap);
    const off = new Int32Array(cap);
    const len = new Int32Array(cap);
    const seq = new Int32Array(cap);
    const flags = new Uint8Array(cap);
    const uarg = new Array<UbufInfo | null>(cap).fill(null);
    for (let i = 0; i < this.fCount; i++) {
      const k = (this.fHead + i) & mask;
      ref[i] = this.fRef[k]!;
      off[i] = this.fOff[k]!;
      len[i] = this.fLen[k]!;
      seq[i] = this.fSeq[k]!;
      flags[i] = this.fFlags[k]!;
      uarg[i] = this.fUarg[k]!;
    }
    this.fRef = ref;
    this.fOff = off;
    this.fLen = len;
    this.fSeq = seq;
    this.fFlags = flags;
    this.fUarg = uarg;
    this.fHead = 0;
    this.cap = cap;
  }

  /** index (relative to fHead) of the frag holding byte `seq`, or -1 */
  private findFrag(seq: number): number {
    const rel = (seq - this.startSeq) | 0;
    if (rel < 0 || rel >= this.bytes || this.fCount === 0) return -1;
    const mask = this.cap - 1;
    const base = this.startSeq | 0;
    // the cursor (where the last attach ended) or the one after it: sequential sends
    let c = this.cursor;
    if (c >= this.fCount) c = this.fCount - 1;
    for (let t = 0; t < 2 && c + t < this.fCount; t++) {
      const k = (this.fHead + c + t) & mask;
      const s = (this.fSeq[k]! - base) | 0;
      if (s <= rel && rel < s + this.fLen[k]!) return c + t;
    }
    let lo = 0;
    let hi = this.fCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const s = (this.fSeq[(this.fHead + mid) & mask]! - base) | 0;
      if (s <= rel) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
