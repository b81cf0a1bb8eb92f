// Link and network addresses as plain numbers.
//
// Contract: an IPv4 address is an unsigned 32-bit number (`>>> 0`, network order: 10.0.0.1 is
// 0x0a000001); a MAC address is a 48-bit non-negative integer number (exact in a double;
// 02:00:00:00:00:01 is 0x020000000001). readMac/writeMac are allocation-free and read/write
// big-endian through the caller's DataView. The text parsers/formatters are cold paths; the
// parsers throw TypeError on malformed text (text is configuration, not packet input).

const TWO32 = 4294967296;

/** Parse dotted-quad text ("192.0.2.1") to a uint32. Rejects leading zeros and out-of-range parts. */
export function parseIpv4Addr(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) throw new TypeError(`invalid IPv4 address: ${JSON.stringify(s)}`);
  let a = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) throw new TypeError(`invalid IPv4 address: ${JSON.stringify(s)}`);
    const n = Number(p);
    if (n > 255) throw new TypeError(`invalid IPv4 address: ${JSON.stringify(s)}`);
    a = a * 256 + n;
  }
  return a >>> 0;
}

/** Dotted-quad text of a uint32 address. */
export function ipv4AddrToString(a: number): string {
  const v = a >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** Alias of ipv4AddrToString. */
export const ipv4ToString = ipv4AddrToString;

/** Parse "aa:bb:cc:dd:ee:ff" (or '-' separated), exactly two hex digits per byte. */
export function parseMac(s: string): number {
  if (!/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(s)) {
    throw new TypeError(`invalid MAC address: ${JSON.stringify(s)}`);
  }
  let m = 0;
  for (let i = 0; i < 6; i++) m = m * 256 + parseInt(s.slice(i * 3, i * 3 + 2), 16);
  return m;
}

/** Lower-case colon-separated text of a 48-bit MAC number. */
export function macToString(m: number): string {
  const hi = Math.floor(m / TWO32) & 0xffff;
  const lo = m >>> 0;
  const h = (n: number): string => (n < 16 ? '0' : '') + n.toString(16);
  return `${h(hi >>> 8)}:${h(hi & 0xff)}:${h(lo >>> 24)}:${h((lo >>> 16) & 0xff)}:${h((lo >>> 8) & 0xff)}:${h(lo & 0xff)}`;
}

/** Read a 6-byte big-endian MAC at `off` of `dv`. */
export function readMac(dv: DataView, off: number): number {
  return dv.getUint16(off) * TWO32 + dv.getUint32(off + 2);
}

/** Write a 48-bit MAC number big-endian as 6 bytes at `off` of `dv`. */
export function writeMac(dv: DataView, off: number, mac: number): void {
  dv.setUint16(off, Math.floor(mac / TWO32) & 0xffff);
  dv.setUint32(off + 2, mac >>> 0);
}
