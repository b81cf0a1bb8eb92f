/**
 * The ping-socket pieces ICMPv4 and ICMPv6 share (Linux `net/ipv4/ping.c`, reduced): the table of
 * pings in flight keyed by echo identifier and sequence (each with its timeout timer), the
 * default identifier / sequence numbering, and the echo reply buffer (`echoReplySkb`). The
 * family code builds and sends the request, matches replies and errors to their peer, and calls
 * `resolve` / `reject` here.
 *
 * Ownership: a `PendingPing` belongs to its table from `start` until it settles (reply, error,
 * timeout, `abort`); settling removes it and cancels its timer.
 */
import { CHECKSUM_NONE, skbCopyBits, skbFree, skbPut, type SkBuff, type SkbCache } from '../skb/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';
import { ErrnoError } from '../uapi/index.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { MAX_HEADER } from './types.js';

export interface PingOptions {
  /** payload bytes after the 8-byte ICMP header, default 56 (max `PING_MAX_SIZE`) */
  size?: number;
  /** echo identifier, default one per stack */
  ident?: number;
  /** echo sequence, default 1, 2, 3, ... per stack */
  seq?: number;
  /** default 10 s */
  timeoutUs?: number;
  /** IP TTL, default 64 */
  ttl?: number;
}

export interface PingResult {
  /** round-trip time in virtual/real µs */
  rttUs: number;
  /** ICMP message length of the reply (what ping prints as "N bytes from") */
  bytes: number;
  /** IP TTL of the reply */
  ttl: number;
}

export class PendingPing<D> implements TimerTarget {
  readonly timer: Timer;
  constructor(
    readonly table: PingTable<D>,
    readonly key: number,
    /** where the request went (the family's address form) */
    readonly dst: D,
    readonly sentAt: number,
    readonly resolve: (r: PingResult) => void,
    readonly reject: (e: Error) => void,
  ) {
    this.timer = new Timer(this, 0);
  }

  onTimer(_t: Timer): void {
    this.table.timeout(this);
  }
}

/** pings in flight of one family; `who` names the errors ('ping', 'ping6') */
export class PingTable<D> {
  private readonly pending = new Map<number, PendingPing<D>>();
  private nextSeq = 0;

  constructor(private readonly sched: Scheduler, private readonly defaultIdent: number, private readonly who: string) {}

  /** the table key of a new request: `opts.ident` / `opts.seq` or the defaults (which advances the sequence) */
  nextKey(opts: PingOptions): number {
    const ident = (opts.ident ?? this.defaultIdent) & 0xffff;
    let seq: number;
    if (opts.seq !== undefined) seq = opts.seq & 0xffff;
    else seq = this.nextSeq = (this.nextSeq + 1) & 0xffff;
    return ident * 65536 + seq;
  }

  has(key: number): boolean {
    return this.pending.has(key);
  }

  /** the ping waiting for echo `ident` / `seq` */
  lookup(ident: number, seq: number): PendingPing<D> | undefined {
    return this.pending.get(ident * 65536 + seq);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Registers a ping to `dst`, arms its timeout and calls `send` (0 or a negative errno); a send
   * error rejects at once.
   */
  start(key: number, dst: D, timeoutUs: number, send: () => number): Promise<PingResult> {
    const sched = this.sched;
    return new Promise<PingResult>((resolve, reject) => {
      const p = new PendingPing(this, key, dst, sched.now(), resolve, reject);
      this.pending.set(key, p);
      sched.arm(p.timer, sched.now() + timeoutUs);
      const rc = send();
      if (rc < 0) {
        this.finish(p);
        reject(new ErrnoError(-rc, this.who));
      }
    });
  }

  /** the reply came: resolves `p` with its RTT */
  resolve(p: PendingPing<D>, bytes: number, ttl: number): void {
    const rttUs = this.sched.now() - p.sentAt;
    this.finish(p);
    p.resolve({ rttUs, bytes, ttl });
    this.sched.noteWakeup();
  }

  /** an ICMP error about the request: rejects `p` with `errno` */
  reject(p: PendingPing<D>, errno: number): void {
    this.finish(p);
    p.reject(new ErrnoError(errno, this.who));
    this.sched.noteWakeup();
  }

  timeout(p: PendingPing<D>): void {
    if (this.pending.get(p.key) !== p) return;
    this.pending.delete(p.key);
    p.reject(new ErrnoError('ETIMEDOUT', this.who));
    this.sched.noteWakeup();
  }

  /** rejects every ping in flight with `errno`; returns how many there were */
  abort(errno: number): number {
    const n = this.pending.size;
    if (n === 0) return 0;
    for (const p of [...this.pending.values()]) {
      this.finish(p);
      p.reject(new ErrnoError(errno, this.who));
    }
    return n;
  }

  private finish(p: PendingPing<D>): void {
    this.pending.delete(p.key);
    this.sched.cancel(p.timer);
  }
}

/** linear echo replies up to this ICMP length; longer ones are answered in place */
const REPLY_COPY_MAX = 4096 - MAX_HEADER;

/**
 * The buffer of an echo reply to `req` (data at its ICMP header; taken): a linear copy when it
 * fits one buffer, else `req` itself turned around in place (its frags are readable; its
 * headroom must hold the `nhLen`-byte network header and Ethernet). null (req freed) when
 * neither works; the caller counts the failure.
 */
export function echoReplySkb(req: SkBuff, skbs: SkbCache, nhLen: number): SkBuff | null {
  const len = req.len;
  if (len <= REPLY_COPY_MAX) {
    const n = skbs.alloc(MAX_HEADER + len, MAX_HEADER);
    if (n !== null) skbCopyBits(req, 0, n.buf, skbPut(n, len), len);
    skbFree(req);
    return n;
  }
  if (req.data - req.head < nhLen + ETH_HLEN) {
    skbFree(req);
    return null;
  }
  req.networkHeader = req.transportHeader = req.macHeader = -1;
  req.ipSummed = CHECKSUM_NONE;
  req.next = null;
  return req;
}
