// ByteView: the flyweight base class of every protocol View in src/wire.
//
// Contract:
// - A View is constructed once (no arguments) and re-pointed at bytes with rebind(); it never
//   copies. It aliases the caller's buffer: writes through setters land in that buffer and any
//   other alias of it sees them immediately. The View does not own the buffer.
// - `buf` and `dv` must view the SAME ArrayBuffer with the SAME byteOffset, so that an offset is
//   valid for both (`buf[i]` is the byte `dv.getUint8(i)`). `dataViewOf(buf)` builds such a dv.
// - `off` is where the header starts and `len` is how many bytes from `off` belong to this
//   packet; the caller guarantees 0 <= off and off + len <= buf.length.
// - Getters/setters do no bounds checking beyond what DataView does. Untrusted bytes must pass
//   the subclass's check() (which only looks at [off, off+len)) before any getter is used.

const EMPTY_BUF = new Uint8Array(0);
const EMPTY_DV = new DataView(EMPTY_BUF.buffer);

export class ByteView {
  /** Bytes of the packet's buffer (aliased, not owned). */
  buf: Uint8Array = EMPTY_BUF;
  /** DataView over the same ArrayBuffer as `buf`, with the same byteOffset. */
  dv: DataView = EMPTY_DV;
  /** Offset of the first header byte, relative to both `buf` and `dv`. */
  off = 0;
  /** Bytes available from `off` (the header plus whatever follows it). */
  len = 0;

  /** Point this View at `len` bytes starting at `off`. No allocation, no validation. */
  rebind(buf: Uint8Array, dv: DataView, off: number, len: number): this {
    this.buf = buf;
    this.dv = dv;
    this.off = off;
    this.len = len;
    return this;
  }

  /**
   * True when at least `need` bytes are available and the window [off, off+len) lies inside
   * `buf`. Used by subclasses' check() so a bad rebind cannot turn into an out-of-bounds read.
   */
  protected hasBytes(need: number): boolean {
    const off = this.off;
    const len = this.len;
    return len >= need && off >= 0 && off + len <= this.buf.length;
  }
}

/**
 * A DataView over exactly the bytes of `buf` (same ArrayBuffer, same byteOffset), suitable as the
 * `dv` argument alongside `buf`. Allocates: for tests and cold paths only.
 */
export function dataViewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
