// Classic libpcap capture files (microsecond timestamps), written little-endian.
//
// Contract: the writers fill caller-provided bytes through a DataView (no allocation) and return
// the number of bytes written (24 or 16); the caller appends the packet bytes after each record
// header. pcap headers are host-order data, so these are the only fields in src/wire written
// little-endian on purpose. readPcap() is a cold-path reader for tests/tools: it accepts both
// byte orders and the nanosecond variant (converted to microseconds), throws TypeError on a bad
// magic and RangeError on a truncated file, and returns record data as subarrays aliasing
// `bytes`.

export const PCAP_MAGIC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_DEFAULT_SNAPLEN = 262144;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** Write the 24-byte global header at `off`. Returns PCAP_GLOBAL_HEADER_LEN. */
export function writePcapGlobalHeader(dv: DataView, off: number, linktype: number, snaplen: number): number {
  dv.setUint32(off, PCAP_MAGIC, true);
  dv.setUint16(off + 4, PCAP_VERSION_MAJOR, true);
  dv.setUint16(off + 6, PCAP_VERSION_MINOR, true);
  dv.setInt32(off + 8, 0, true); // thiszone
  dv.setUint32(off + 12, 0, true); // sigfigs
  dv.setUint32(off + 16, snaplen, true);
  dv.setUint32(off + 20, linktype, true);
  return PCAP_GLOBAL_HEADER_LEN;
}

/**
 * Write a 16-byte record header at `off` for a packet at `tsUs` microseconds since the epoch
 * (ts_sec = floor(tsUs / 1e6), ts_usec = tsUs mod 1e6). Returns PCAP_RECORD_HEADER_LEN.
 */
export function writePcapRecordHeader(dv: DataView, off: number, tsUs: number, capLen: number, origLen: number): number {
  const us = Math.floor(tsUs);
  const sec = Math.floor(us / 1e6);
  dv.setUint32(off, sec, true);
  dv.setUint32(off + 4, us - sec * 1e6, true);
  dv.setUint32(off + 8, capLen, true);
  dv.setUint32(off + 12, origLen, true);
  return PCAP_RECORD_HEADER_LEN;
}

export interface PcapRecord {
  tsUs: number;
  capLen: number;
  origLen: number;
  /** The captured bytes; aliases the input. */
  data: Uint8Array;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  records: PcapRecord[];
}

/** Parse a whole classic pcap file. Cold path; throws on bad magic or truncation. */
export function readPcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < PCAP_GLOBAL_HEADER_LEN) throw new RangeError('pcap: truncated global header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  let nsec: boolean;
  const m = dv.getUint32(0, true);
  if (m === PCAP_MAGIC || m === PCAP_MAGIC_NSEC) {
    le = true;
    nsec = m === PCAP_MAGIC_NSEC;
  } else {
    const mb = dv.getUint32(0, false);
    if (mb !== PCAP_MAGIC && mb !== PCAP_MAGIC_NSEC) {
      throw new TypeError(`pcap: bad magic 0x${m.toString(16).padStart(8, '0')}`);
    }
    le = false;
    nsec = mb === PCAP_MAGIC_NSEC;
  }
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le);
  const records: PcapRecord[] = [];
  let p = PCAP_GLOBAL_HEADER_LEN;
  while (p < bytes.length) {
    if (bytes.length - p < PCAP_RECORD_HEADER_LEN) throw new RangeError(`pcap: truncated record header at ${p}`);
    const sec = dv.getUint32(p, le);
    const frac = dv.getUint32(p + 4, le);
    const capLen = dv.getUint32(p + 8, le);
    const origLen = dv.getUint32(p + 12, le);
    p += PCAP_RECORD_HEADER_LEN;
    if (capLen > bytes.length - p) throw new RangeError(`pcap: truncated record data at ${p}`);
    records.push({
      tsUs: sec * 1e6 + (nsec ? Math.floor(frac / 1000) : frac),
      capLen,
      origLen,
      data: bytes.subarray(p, p + capLen),
    });
    p += capLen;
  }
  return { linktype, snaplen, records };
}
