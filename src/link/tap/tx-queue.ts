/**
 * Which queue fd a transmitted frame is written on, for a multi-queue TAP. The kernel's tun
 * "automq" remembers, per flow hash, the queue userspace last wrote that flow on and sends the
 * flow's return traffic to the same queue; so writing each flow on a stable queue spreads the
 * kernel → us direction over our rx queues by flow. The hash covers the IPv4/IPv6 addresses and,
 * for unfragmented TCP/UDP, the ports; anything else goes to queue 0. Reads only the frame.
 */

export function txQueueOf(frame: Uint8Array, queues: number): number {
  if (queues <= 1 || frame.length < 14) return 0;
  let off = 12;
  let type = (frame[off]! << 8) | frame[off + 1]!;
  if (type === 0x8100 && frame.length >= 18) {
    off += 4;
    type = (frame[off]! << 8) | frame[off + 1]!;
  }
  off += 2;
  let h = 0x9e3779b9;
  let l4 = -1;
  let proto = 0;
  if (type === 0x0800 && frame.length >= off + 20) {
    const ihl = (frame[off]! & 0x0f) * 4;
    proto = frame[off + 9]!;
    h = mix(h, read32(frame, off + 12));
    h = mix(h, read32(frame, off + 16));
    const fragOff = ((frame[off + 6]! & 0x3f) << 8) | frame[off + 7]!;
    if (fragOff === 0) l4 = off + ihl;
  } else if (type === 0x86dd && frame.length >= off + 40) {
    proto = frame[off + 6]!;
    for (let i = 8; i < 40; i += 4) h = mix(h, read32(frame, off + i));
    l4 = off + 40;
  } else {
    return 0;
  }
  h = mix(h, proto);
  if ((proto === 6 || proto === 17) && l4 >= 0 && frame.length >= l4 + 4) h = mix(h, read32(frame, l4));
  return (fmix(h) >>> 0) % queues;
}

function read32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0xcc9e2d51);
  return ((h << 15) | (h >>> 17)) | 0;
}

/** murmur3's finalizer: every input bit reaches the low bits the modulo keeps */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
