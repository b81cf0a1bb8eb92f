/**
 * A TSO packet never exceeds the device's GSO limit, whatever net.ipv4.tcp_min_tso_segs asks
 * for: at MTU 65535 one segment (MSS 65483 with timestamps) is the whole GSO budget, and two
 * segments would be a 128 KiB packet that IP can only refuse (DF set: FragFails) — the segments
 * vanish before the wire and come back as "fast retransmissions" of data never sent. A lossless
 * transfer at the largest MTU must send every byte once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../../src/index.js';

async function transfer(mtu: number, family: 4 | 6): Promise<{ retrans: number; fragFails: number; frames: number }> {
  const net = new Network({ seed: 3 });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: 1, mtu });
  const eb = b.addDevice('eth0', { rxQueues: 1, mtu });
  const wire = net.connect(ea, eb, { gbps: 100, delayUs: 5, loss: 0 });
  const [aa, ba, plen, any, af] = family === 4 ? ['10.0.0.1', '10.0.0.2', 24, '0.0.0.0', 2] : ['fd00::1', 'fd00::2', 64, '::', 10];
  a.ip.addAddress('eth0', `${aa}/${plen}`, { nodad: true });
  b.ip.addAddress('eth0', `${ba}/${plen}`, { nodad: true });
  const ls = b.socket(af, 1);
  ls.bind(any, 5000);
  ls.listen(8);
  const cs = a.socket(af, 1);
  const size = 8 << 20;
  const sender = (async () => {
    await cs.connect(ba, 5000);
    const chunk = new Uint8Array(256 << 10);
    for (let o = 0; o < size; o += chunk.length) await cs.send(chunk);
    cs.close();
  })();
  const c = await ls.accept();
  const buf = new Uint8Array(1 << 20);
  let got = 0;
  for (;;) {
    let n: number;
    try {
      n = await c.recvmsgInto(buf, null, 0);
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') continue;
      throw e;
    }
    if (n === 0) break;
    got += n;
  }
  await sender;
  assert.equal(got, size);
  const s = a.snmp();
  const frames = wire.stats.aToB.frames;
  net.close();
  return { retrans: s.tcp.retransSegs, fragFails: (family === 4 ? s.ip.fragFails : s.ip6?.fragFails) ?? 0, frames };
}

describe('TSO packets within the GSO limit', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}, MTU 65535: every segment goes out once (no FragFails, no retransmission)`, async () => {
      const r = await transfer(65535, family);
      assert.equal(r.fragFails, 0);
      assert.equal(r.retrans, 0);
      // 8 MiB in ~65 KiB segments, the handshake and the FIN
      assert.ok(r.frames < (8 << 20) / 65000 + 10, `${r.frames} frames`);
    });
  }
});
