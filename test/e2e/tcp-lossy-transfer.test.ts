/**
 * 64 MiB TCP transfers over the simulated wire with 5% loss, reordering, duplication and
 * corruption (both directions), IPv4 and IPv6: every byte arrives in order (checked against the
 * ncdevmem pattern as it arrives), both stacks go quiet and give back their resources.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, NcdevmemPattern, Network, type Socket } from '../../src/index.js';

const SIZE = 64 << 20;
const PORT = 5201;

function pair(seed: number, family: 4 | 6) {
  const net = new Network({ seed });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: 2, mtu: 1500 });
  const eb = b.addDevice('eth0', { rxQueues: 2, mtu: 1500 });
  const wire = net.connect(ea, eb, {
    gbps: 100, delayUs: 5, loss: 0.05, reorder: 0.05, duplicate: 0.05, corrupt: 0.05, corruptMode: 'payload',
  });
  if (family === 4) {
    a.ip.addAddress('eth0', '10.0.0.1/24');
    b.ip.addAddress('eth0', '10.0.0.2/24');
  } else {
    a.ip.addAddress('eth0', '2001:db8::1/64');
    b.ip.addAddress('eth0', '2001:db8::2/64');
  }
  return { net, a, b, ea, eb, wire, server: family === 4 ? '10.0.0.2' : '2001:db8::2' };
}

async function sendAll(cs: Socket, size: number): Promise<void> {
  const g = new NcdevmemPattern(7);
  const buf = new Uint8Array(256 * 1024);
  let sent = 0;
  while (sent < size) {
    const n = Math.min(buf.length, size - sent);
    g.generate(buf, 0, n);
    await cs.send(buf.subarray(0, n));
    sent += n;
  }
  cs.close();
}

describe('64 MiB TCP over a hostile wire (5% loss, reorder, duplicate, corrupt)', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: every byte in order`, async () => {
      const p = pair(family === 4 ? 41 : 43, family);
      const af = family === 4 ? C.AF_INET : C.AF_INET6;
      const ls = p.b.socket(af, C.SOCK_STREAM);
      ls.bind(family === 4 ? '0.0.0.0' : '::', PORT);
      ls.listen(8);
      // IPv6 addresses are tentative until duplicate address detection is done
      if (family === 6) await p.net.sleep(3_000_000);
      const cs = p.a.socket(af, C.SOCK_STREAM);
      const accepted = ls.accept();
      await cs.connect(p.server, PORT);
      const conn = await accepted;
      const sending = sendAll(cs, SIZE);
      const check = new NcdevmemPattern(7);
      const iov = new Uint8Array(1 << 20);
      let got = 0;
      let bad = 0;
      for (;;) {
        const n = await conn.recvmsgInto(iov, null, 0);
        if (n === 0) break;
        bad += check.check(iov, 0, n);
        got += n;
      }
      await sending;
      assert.equal(got, SIZE);
      assert.equal(bad, 0, 'every byte matches the pattern, in order');
      // the wire really was hostile, and TCP repaired it
      const st = p.wire.stats.aToB;
      assert.ok(st.lost > 1000 && st.duplicated > 1000 && st.reordered > 1000 && st.corrupted > 1000, JSON.stringify(st));
      assert.ok(p.wire.stats.bToA.lost > 100, 'ACKs were lost too');
      const [ta, tb] = [p.net.hosts[0]!.kernel.tcp, p.net.hosts[1]!.kernel.tcp];
      assert.ok(ta.stats.retransSegs > 1000);
      assert.ok(ta.stats.inCsumErrors + tb.stats.inCsumErrors > 0 || p.eb.rxQueues.some((q) => q.stats.rxCsumBad > 0));
      conn.close();
      ls.close();
      await p.net.sleep(130_000_000);
      assert.equal(ta.connectionCount + tb.connectionCount, 0);
      assert.equal(ta.ports.size + tb.ports.size, 0);
      p.net.close();
    });
  }
});
