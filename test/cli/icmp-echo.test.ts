// The bench's link-only echo responder (src/cli/bench/icmp-echo.ts): byte-exact replies with
// checksums recomputed here from scratch, everything that is not an echo request ignored, a busy
// link counted as a drop.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IcmpEchoResponder } from '../../src/cli/bench/icmp-echo.js';
import type { FrameLink, FrameMeta, LinkReceiver } from '../../src/index.js';

class RecordingLink implements FrameLink {
  readonly kind = 'rec';
  readonly mtu = 1500;
  readonly offloads = {};
  readonly sent: Uint8Array[] = [];
  busy = false;
  attach(_rx: LinkReceiver): void {}
  send(frame: Uint8Array, _meta?: FrameMeta | null): boolean {
    if (this.busy) return false;
    this.sent.push(frame.slice());
    return true;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function sum16(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const A_MAC = [0x02, 0, 0, 0, 0, 0x0a];
const B_MAC = [0x02, 0, 0, 0, 0, 0x0b];
const A_IP = [198, 19, 9, 1];
const B_IP = [198, 19, 9, 2];

/** an Ethernet + IPv4 + ICMP frame from A to B, checksums computed here */
function frame(opts: { type?: number; proto?: number; payload?: number; ethType?: number; fragOff?: number; ident?: number; seq?: number } = {}): Uint8Array {
  const pay = opts.payload ?? 56;
  const f = new Uint8Array(14 + 20 + 8 + pay);
  f.set(B_MAC, 0);
  f.set(A_MAC, 6);
  const et = opts.ethType ?? 0x0800;
  f[12] = et >> 8;
  f[13] = et & 0xff;
  const ip = 14;
  f[ip] = 0x45;
  const tot = 20 + 8 + pay;
  f[ip + 2] = tot >> 8;
  f[ip + 3] = tot & 0xff;
  f[ip + 4] = 0x12;
  f[ip + 5] = 0x34;
  const fo = opts.fragOff ?? 0x4000;
  f[ip + 6] = fo >> 8;
  f[ip + 7] = fo & 0xff;
  f[ip + 8] = 64;
  f[ip + 9] = opts.proto ?? 1;
  f.set(A_IP, ip + 12);
  f.set(B_IP, ip + 16);
  const hc = ~sum16(f, ip, 20) & 0xffff;
  f[ip + 10] = hc >> 8;
  f[ip + 11] = hc & 0xff;
  const l4 = ip + 20;
  f[l4] = opts.type ?? 8;
  const ident = opts.ident ?? 0xbeef;
  const seq = opts.seq ?? 7;
  f[l4 + 4] = ident >> 8;
  f[l4 + 5] = ident & 0xff;
  f[l4 + 6] = seq >> 8;
  f[l4 + 7] = seq & 0xff;
  for (let i = 0; i < pay; i++) f[l4 + 8 + i] = (i * 7 + 3) & 0xff;
  const c = ~sum16(f, l4, 8 + pay) & 0xffff;
  f[l4 + 2] = c >> 8;
  f[l4 + 3] = c & 0xff;
  return f;
}

/** the reply Linux would send, built independently: B → A, type 0, checksums from scratch */
function expectedReply(req: Uint8Array): Uint8Array {
  const r = req.slice();
  r.set(A_MAC, 0);
  r.set(B_MAC, 6);
  r.set(B_IP, 14 + 12);
  r.set(A_IP, 14 + 16);
  r[14 + 10] = 0;
  r[14 + 11] = 0;
  const hc = ~sum16(r, 14, 20) & 0xffff;
  r[14 + 10] = hc >> 8;
  r[14 + 11] = hc & 0xff;
  const l4 = 34;
  r[l4] = 0;
  r[l4 + 2] = 0;
  r[l4 + 3] = 0;
  const c = ~sum16(r, l4, r.length - l4) & 0xffff;
  r[l4 + 2] = c >> 8;
  r[l4 + 3] = c & 0xff;
  return r;
}

/** checksum fields compared as one's-complement values (0x0000 and 0xffff are the same sum) */
function normalized(f: Uint8Array): Uint8Array {
  const r = f.slice();
  if (r[36] === 0xff && r[37] === 0xff) r[36] = r[37] = 0;
  return r;
}

describe('bench: the link-only ICMP echo responder', () => {
  it('answers echo requests byte for byte as a kernel would (odd and even payloads, many sequence numbers)', () => {
    const link = new RecordingLink();
    const rx = new IcmpEchoResponder(link);
    let n = 0;
    for (const payload of [0, 1, 56, 57, 1472]) {
      for (let seq = 0; seq < 300; seq += 37) {
        const req = frame({ payload, seq, ident: (seq * 2654435761) & 0xffff });
        rx.receive(req);
        n++;
        const got = link.sent.at(-1)!;
        assert.deepEqual(normalized(got), normalized(expectedReply(req)), `payload ${payload} seq ${seq}`);
        assert.equal(sum16(got, 14, 20), 0xffff, 'IPv4 header checksum verifies');
        assert.equal(sum16(got, 34, got.length - 34), 0xffff, 'ICMP checksum verifies');
      }
    }
    assert.equal(link.sent.length, n);
    assert.deepEqual(rx.stats, { answered: n, ignored: 0, dropped: 0, errors: 0 });
  });

  it('ignores everything that is not a whole IPv4 echo request, and sends nothing for it', () => {
    const link = new RecordingLink();
    const rx = new IcmpEchoResponder(link);
    const bad = [
      frame({ type: 0 }), // an echo reply
      frame({ type: 13 }), // a timestamp request
      frame({ proto: 17 }), // UDP
      frame({ ethType: 0x0806 }), // ARP's ethertype
      frame({ ethType: 0x86dd }), // IPv6's
      frame({ fragOff: 0x2000 }), // first fragment (MF)
      frame({ fragOff: 0x0010 }), // a later fragment
      frame().subarray(0, 14 + 20 + 7), // truncated ICMP header
      new Uint8Array(14 + 1500 + 1), // longer than the link's MTU
    ];
    const v6 = frame();
    v6[14] = 0x65;
    bad.push(v6);
    const shortIhl = frame();
    shortIhl[14] = 0x44;
    bad.push(shortIhl);
    for (const f of bad) rx.receive(f);
    assert.equal(link.sent.length, 0);
    assert.equal(rx.stats.ignored, bad.length);
    // positive control: the same responder does answer a well-formed request
    rx.receive(frame());
    assert.equal(link.sent.length, 1);
  });

  it('a busy link drops the reply (counted, not retried); errors are counted', () => {
    const link = new RecordingLink();
    const rx = new IcmpEchoResponder(link);
    link.busy = true;
    rx.receive(frame());
    link.busy = false;
    rx.drain();
    rx.flush();
    rx.error(new Error('EIO'));
    assert.equal(link.sent.length, 0);
    assert.deepEqual(rx.stats, { answered: 0, ignored: 0, dropped: 1, errors: 1 });
  });
});
