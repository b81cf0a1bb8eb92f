// Adversarial input: valid IPv6 frames built from Reprs (extension-header chains, fragments, NDP,
// ICMPv6 errors, UDP), then mutated at random. The stack must never throw, and once the timers
// have run, every skb, reassembly byte and queue is back to zero and the host goes quiet.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../../src/inet/index.js';
import { IP6FRAG_TIME_US } from '../../../src/net/ipv6/index.js';
import { Rng } from '../../../src/rand/index.js';
import { VirtualScheduler } from '../../../src/time/index.js';
import {
  GA, GB, Hub, MAC_A, MAC_B, Recorder, concat, ethHeader, hex, icmp6, inject, ip6, makeHost6, runFor, udp6,
} from './harness6.js';

const A = '2001:db8::a';
const B = '2001:db8::b';

function pick<T>(r: Rng, xs: readonly T[]): T {
  return xs[r.nextInt(xs.length)]!;
}

/** one valid packet (IPv6 payload + next header) of a random kind */
function validPacket(r: Rng, dst: string): { nh: number; payload: Uint8Array } {
  const udp = udp6(A, dst, 1 + r.nextInt(60000), 2000, Uint8Array.from({ length: r.nextInt(40) }, () => r.nextInt(256)));
  const ext = (next: number, kind: number): Uint8Array =>
    kind === 0 ? hex(`${next.toString(16).padStart(2, '0')} 00 01 04 00 00 00 00`)
      : kind === 1 ? hex(`${next.toString(16).padStart(2, '0')} 00 de 02 00 00 01 00`)
        : hex(`${next.toString(16).padStart(2, '0')} 00 05 02 00 00 01 00`);
  switch (r.nextInt(7)) {
    case 0: return { nh: 17, payload: udp };
    case 1: return { nh: 0, payload: concat(ext(60, 2), ext(17, 0), udp) };
    case 2: return { nh: 43, payload: concat(hex(`11 00 ${pick(r, ['00', '02', 'fd'])} ${pick(r, ['00', '01'])} 00 00 00 00`), udp) };
    case 3: {
      const id = r.nextInt(4);
      const off = r.nextInt(4) * 8;
      const more = r.chance(0.7);
      return { nh: 44, payload: concat(Uint8Array.of(17, 0, 0, off | (more ? 1 : 0), 0, 0, 0, id), udp.subarray(0, 24)) };
    }
    case 4: return { nh: 58, payload: icmp6(A, dst, 135, 0, concat(new Uint8Array(4), InetAddr.parse(dst).toBytes(), hex('01 01 02 00 00 00 00 0a'))) };
    case 5: return { nh: 58, payload: icmp6(A, dst, pick(r, [1, 2, 3, 4]), 0, concat(hex('00 00 05 00'), ip6({ src: dst, dst: A, nh: 17 }, udp))) };
    default: return { nh: 60, payload: concat(ext(58, 1), icmp6(A, dst, 128, 0, hex('00 01 00 02 aa bb'))) };
  }
}

it('mutated IPv6 frames never throw; every resource returns to zero and the stack goes quiet', () => {
  const sched = new VirtualScheduler();
  const hub = new Hub(sched, 10);
  const b = makeHost6(sched, 'B', MAC_B, hub);
  b.v6.addAddress(b.dev, GB, 64, { nodad: true });
  b.v6.addNeighbour(b.dev, GA, MAC_A);
  runFor(sched, 2_000_000);
  b.protos.set(17, new Recorder());
  const r = new Rng(12345);
  for (let i = 0; i < 4000; i++) {
    const dst = r.chance(0.1) ? 'ff02::1' : B;
    const p = validPacket(r, dst);
    const frame = concat(ethHeader(dst === B ? MAC_B : 0x333300000001, MAC_A), ip6({ src: A, dst, nh: p.nh, hlim: r.chance(0.5) ? 255 : 64 }, p.payload));
    const flips = r.nextInt(4);
    for (let k = 0; k < flips; k++) frame[14 + r.nextInt(frame.length - 14)] ^= 1 << r.nextInt(8);
    const cut = r.chance(0.1) ? 14 + r.nextInt(frame.length - 14) : frame.length;
    inject(b, frame.subarray(0, cut));
    if (i % 100 === 0) runFor(sched, 1_000);
  }
  const delivered = b.v6.stats.inDelivers;
  assert.ok(delivered > 500, `delivered ${delivered}`);
  assert.ok(b.v6.stats.inHdrErrors > 0 && b.v6.stats.icmp.inCsumErrors > 0 && b.v6.stats.reasmReqds > 0);
  runFor(sched, IP6FRAG_TIME_US + 1_000_000);
  assert.deepEqual([b.v6.reasm.count, b.v6.reasm.mem], [0, 0]);
  // neighbour entries created by the NS may still age; let everything settle
  runFor(sched, 600_000_000);
  hub.frames.length = 0;
  runFor(sched, 600_000_000);
  assert.equal(hub.frames.length, 0);
  assert.equal(b.skbs.live, 0);
  assert.equal(sched.pending, 0);
});
