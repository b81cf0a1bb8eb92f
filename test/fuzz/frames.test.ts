// Bad input never crashes the stack: random and mutated frames go through the NIC, IPv4, ARP,
// ICMP and TCP (listening and established sockets) without an exception, and the stack still
// carries a transfer afterwards. fast-check with a fixed seed: deterministic.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C, NcdevmemPattern } from '../../src/index.js';
import { emitEthernet } from '../../src/wire/ethernet.js';
import { emitIpv4 } from '../../src/wire/ipv4.js';
import { TcpOptions, emitTcp } from '../../src/wire/tcp.js';
import { parseIpv4Addr } from '../../src/wire/addr.js';
import { bindDevmem, listen, makePair, patternSender } from '../e2e/helpers.js';

/** a valid TCP/IPv4/Ethernet frame from A to B's port 5201 */
function tcpFrame(dstMac: number, srcMac: number, sport: number, seq: number, ack: number, flags: number, payload: Uint8Array): Uint8Array {
  const opts = new TcpOptions();
  const tcpLen = 20 + payload.length;
  const buf = new Uint8Array(14 + 20 + tcpLen);
  const dv = new DataView(buf.buffer);
  emitEthernet({ dst: dstMac, src: srcMac, etherType: 0x0800 }, dv, 0);
  const src = parseIpv4Addr('10.0.0.1');
  const dst = parseIpv4Addr('10.0.0.2');
  emitIpv4({ src, dst, protocol: 6, ttl: 64, payloadLen: tcpLen, ident: 1, dontFrag: true, tos: 0 }, dv, 14);
  emitTcp({ srcPort: sport, dstPort: 5201, seq, ack, flags, window: 1000, urgent: 0, options: opts, payload }, buf, dv, 34, src, dst);
  return buf;
}

it('random and mutated frames are dropped or handled, never thrown; the stack keeps working', async () => {
  const p = makePair({ seed: 77 });
  const { dmabuf } = await bindDevmem(p, 4 << 20);
  const ls = listen(p);
  // an established devmem connection that the fuzzed frames may hit
  const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
  const acc = ls.accept();
  await cs.connect('10.0.0.2', 5201);
  const conn = await acc;
  const sport = cs.getsockname().port;
  const base = tcpFrame(p.eb.mac, p.ea.mac, sport, cs.tcb.sndNxt, cs.tcb.rcvNxt, 0x18, new Uint8Array(100).fill(1));
  const skbs = p.b.skbs;
  const deliver = (bytes: Uint8Array): void => {
    const copy = bytes.slice();
    const skb = skbs.wrap(copy, new DataView(copy.buffer));
    p.eb.receiveFrame(skb);
    // the frame is borrowed by the NIC; the "link" frees it
    skb.owner!.recycle(skb);
  };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 1600 }),
        fc.record({
          cuts: fc.integer({ min: 0, max: base.length }),
          flips: fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
        }).map(({ cuts, flips }) => {
          const b = base.slice(0, Math.max(cuts, 1));
          for (const [at, x] of flips) if (at < b.length) b[at] = b[at]! ^ x;
          return b;
        }),
      ),
      (frame) => {
        deliver(frame);
        p.net.runFor(50);
      },
    ),
    { seed: 20261124, numRuns: 3000 },
  );
  assert.ok(p.eb.counters.rxLengthErrors + p.b.ip.stats.inHdrErrors + p.b.tcp.stats.inCsumErrors > 0, 'malformed frames were counted');
  conn.close();
  cs.close();
  // the stack still carries a devmem transfer
  const sender = patternSender(p, 256 * 1024);
  const c2 = await ls.accept();
  const pattern = new NcdevmemPattern(7);
  let n = 0;
  let bad = 0;
  for (;;) {
    const m = await c2.recvmsg({ iovLen: 1 << 20, controlLen: 80_000, flags: C.MSG_SOCK_DEVMEM });
    if (m.length === 0) break;
    n += m.length;
    for (const c of m.cmsgs) {
      if (c.kind !== 'dmabuf') continue;
      bad += dmabuf.validate(c.fragOffset, c.fragSize, pattern);
      c2.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: c.fragToken, tokenCount: 1 }]);
    }
  }
  await sender;
  assert.equal(n, 256 * 1024);
  assert.equal(bad, 0);
  p.net.close();
});
