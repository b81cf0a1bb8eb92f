import { it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, Network } from '../../src/index.js';

it('real-time mode: wall-clock timers drive the same stack (ping and a small TCP transfer)', async () => {
  const net = new Network({ mode: 'real', seed: 2 });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0');
  const eb = b.addDevice('eth0');
  net.connect(ea, eb, { gbps: 10, delayUs: 50 });
  a.ip.addAddress('eth0', '10.1.0.1/24');
  b.ip.addAddress('eth0', '10.1.0.2/24');
  const pong = await a.ping('10.1.0.2');
  assert.ok(pong.rttUs >= 100, `rtt ${pong.rttUs} µs covers two 50 µs hops`);
  const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', 7000);
  ls.listen(4);
  const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
  const acc = ls.accept();
  await cs.connect('10.1.0.2', 7000);
  const conn = await acc;
  const data = new Uint8Array(200_000).map((_, i) => i % 251);
  const sent = cs.send(data).then(() => cs.close());
  const got: number[] = [];
  for (;;) {
    const chunk = await conn.recv(65536);
    if (chunk.length === 0) break;
    for (const x of chunk) got.push(x);
  }
  await sent;
  assert.equal(got.length, data.length);
  assert.ok(got.every((x, i) => x === i % 251));
  conn.close();
  ls.close();
  net.close();
});
