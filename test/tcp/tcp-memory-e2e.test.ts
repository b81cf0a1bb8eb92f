/**
 * A sender whose host runs short of memory waits for it (Linux sk_stream_wait_memory) instead
 * of failing with ENOBUFS: 8 MiB from a host with 3 MiB of memory and a 4 MiB send buffer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, NcdevmemPattern, Network } from '../../src/index.js';

describe('TCP send under host memory pressure (socket API)', () => {
  it('blocking sends wait for memory and every byte arrives; memory comes back', async () => {
    const net = new Network({ seed: 1 });
    const a = net.addHost('a', { memBytes: 3 << 20 });
    const b = net.addHost('b');
    const ea = a.addDevice('eth0', { rxQueues: 1 });
    const eb = b.addDevice('eth0', { rxQueues: 1 });
    net.connect(ea, eb, { gbps: 10, delayUs: 50 });
    a.ip.addAddress('eth0', '10.0.0.1/24');
    b.ip.addAddress('eth0', '10.0.0.2/24');
    const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
    ls.bind('0.0.0.0', 80);
    ls.listen(4);
    const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
    const acc = ls.accept();
    await cs.connect('10.0.0.2', 80);
    const conn = await acc;
    assert.ok(cs.tcb.sndBuf > (3 << 20), 'the send buffer is larger than host memory');
    const size = 8 << 20;
    const sending = (async () => {
      const g = new NcdevmemPattern(7);
      const buf = new Uint8Array(1 << 20);
      for (let s = 0; s < size; s += buf.length) {
        g.generate(buf, 0, buf.length);
        assert.equal(await cs.send(buf), buf.length);
      }
      cs.close();
    })();
    const check = new NcdevmemPattern(7);
    let got = 0;
    let bad = 0;
    for (;;) {
      const m = await conn.recv(1 << 20);
      if (m.length === 0) break;
      bad += check.check(m, 0, m.length);
      got += m.length;
    }
    await sending;
    assert.equal(got, size);
    assert.equal(bad, 0);
    assert.ok(a.kernel.tcp.stats.memWaits > 0, 'memory did run short');
    conn.close();
    ls.close();
    await net.sleep(70_000_000);
    assert.equal(a.kernel.tcp.connectionCount, 0);
    assert.ok(a.kernel.mem.host.inUse < 64, `host pages still in use: ${a.kernel.mem.host.inUse}`);
    net.close();
  });
});
