/**
 * `PcapWriter`: a buffered classic-libpcap writer (microsecond timestamps, little-endian,
 * LINKTYPE_ETHERNET by default). Records are assembled in a 1 MiB chunk and written with
 * `writeSync` when the chunk fills and on `flush()`/`close()`; `PcapWriter.memory()` keeps the
 * chunks in memory instead (tests, tools) and `bytes()` returns the whole file.
 *
 * What a record holds for an skb (`write`): a readable skb is captured whole (capLen = origLen =
 * skb.len); an UNREADABLE (devmem) skb is captured only up to its linear head (capLen =
 * skb.headlen, origLen = skb.len). That is what tcpdump / AF_PACKET shows on Linux for devmem
 * skbs: packet_rcv() caps the snap length to skb_headlen() for unreadable skbs, so a capture on a
 * header-split devmem queue shows the headers and not the payload bytes, which the host never
 * sees. The snap length caps every record as well.
 *
 * Deterministic: timestamps are whatever the caller passes (the scheduler's virtual µs); nothing
 * reads the wall clock.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { skbCopyBits, type SkBuff } from '../skb/index.js';
import {
  LINKTYPE_ETHERNET, PCAP_DEFAULT_SNAPLEN, PCAP_GLOBAL_HEADER_LEN, PCAP_RECORD_HEADER_LEN,
  writePcapGlobalHeader, writePcapRecordHeader,
} from '../wire/pcap.js';

/** size of the write buffer (and of each write to the file) */
export const PCAP_CHUNK_SIZE = 1 << 20;

export interface PcapWriterOptions {
  /** snap length written in the global header and applied to every record; default 262144 */
  snaplen?: number;
  /** link type; default LINKTYPE_ETHERNET */
  linktype?: number;
}

export class PcapWriter {
  /** records written so far */
  records = 0;
  /** file bytes produced so far (header + records), flushed or not */
  totalBytes = 0;
  readonly snaplen: number;
  readonly linktype: number;
  private buf: Uint8Array;
  private dv: DataView;
  private pos = 0;
  private fd: number;
  private readonly chunks: Uint8Array[] | null;
  private closed = false;

  private constructor(fd: number, chunks: Uint8Array[] | null, opts: PcapWriterOptions) {
    const snaplen = opts.snaplen ?? PCAP_DEFAULT_SNAPLEN;
    if (!Number.isInteger(snaplen) || snaplen <= 0) throw new RangeError(`snaplen must be a positive integer, got ${snaplen}`);
    this.snaplen = snaplen;
    this.linktype = opts.linktype ?? LINKTYPE_ETHERNET;
    this.fd = fd;
    this.chunks = chunks;
    this.buf = new Uint8Array(PCAP_CHUNK_SIZE);
    this.dv = new DataView(this.buf.buffer);
    this.pos = writePcapGlobalHeader(this.dv, 0, this.linktype, snaplen);
    this.totalBytes = PCAP_GLOBAL_HEADER_LEN;
  }

  /** creates (truncates) `path` and writes the global header to it on the first flush */
  static open(path: string, opts: PcapWriterOptions = {}): PcapWriter {
    const fd = openSync(path, 'w');
    return new PcapWriter(fd, null, opts);
  }

  /** a writer that keeps the file in memory; read it with `bytes()` */
  static memory(opts: PcapWriterOptions = {}): PcapWriter {
    return new PcapWriter(-1, [], opts);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Records frame `skb` (borrowed; its bytes from `skb.data`) at `tsUs`: the whole frame when
   * readable, only the linear head when unreadable (see the module comment).
   */
  write(tsUs: number, skb: SkBuff): void {
    const origLen = skb.len;
    let capLen = skb.unreadable ? skb.headlen : origLen;
    if (capLen > this.snaplen) capLen = this.snaplen;
    const at = this.reserve(PCAP_RECORD_HEADER_LEN + capLen);
    writePcapRecordHeader(this.dv, at, tsUs, capLen, origLen);
    if (skbCopyBits(skb, 0, this.buf, at + PCAP_RECORD_HEADER_LEN, capLen) !== 0) {
      // cannot happen for capLen ≤ headlen or a readable skb; keep the file well-formed anyway
      this.buf.fill(0, at + PCAP_RECORD_HEADER_LEN, at + PCAP_RECORD_HEADER_LEN + capLen);
    }
    this.commit(PCAP_RECORD_HEADER_LEN + capLen);
  }

  /** records `bytes` (the captured part) of a frame that was `origLen` bytes long at `tsUs` */
  writeBytes(tsUs: number, bytes: Uint8Array, origLen: number = bytes.length): void {
    let capLen = bytes.length;
    if (capLen > this.snaplen) capLen = this.snaplen;
    if (origLen < capLen) throw new RangeError(`origLen ${origLen} < captured length ${capLen}`);
    const at = this.reserve(PCAP_RECORD_HEADER_LEN + capLen);
    writePcapRecordHeader(this.dv, at, tsUs, capLen, origLen);
    this.buf.set(capLen === bytes.length ? bytes : bytes.subarray(0, capLen), at + PCAP_RECORD_HEADER_LEN);
    this.commit(PCAP_RECORD_HEADER_LEN + capLen);
  }

  /** writes the buffered bytes out (file) or moves them to the chunk list (memory) */
  flush(): void {
    if (this.pos === 0) return;
    if (this.chunks !== null) {
      this.chunks.push(this.buf.slice(0, this.pos));
    } else if (this.fd >= 0) {
      let off = 0;
      while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    }
    this.pos = 0;
  }

  /** flushes and closes the file; further writes throw. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** the whole file so far (memory writers only) */
  bytes(): Uint8Array {
    if (this.chunks === null) throw new TypeError('bytes() is only available on a PcapWriter.memory() writer');
    const out = new Uint8Array(this.totalBytes);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    out.set(this.buf.subarray(0, this.pos), off);
    return out;
  }

  /** makes room for `n` bytes and returns their offset in `buf` */
  private reserve(n: number): number {
    if (this.closed) throw new Error('PcapWriter is closed');
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        // a record larger than a chunk (huge snaplen): grow the buffer for it
        this.buf = new Uint8Array(n);
        this.dv = new DataView(this.buf.buffer);
      }
    }
    return this.pos;
  }

  private commit(n: number): void {
    this.pos += n;
    this.totalBytes += n;
    this.records++;
  }
}
