import { it } from 'node:test';
import assert from 'node:assert/strict';
import { makePair } from './helpers.js';

it('Node-style streams: an echo server over createServer/connect', async () => {
  const p = makePair({ wire: { loss: 0.01 } });
  const srv = p.b.net.createServer((s) => {
    s.pipe(s); // echo
  });
  srv.listen(7);
  const c = p.a.net.connect({ host: '10.0.0.2', port: 7 });
  await new Promise<void>((resolve) => c.once('connect', resolve));
  assert.equal(c.remotePort, 7);
  const payload = Buffer.alloc(300_000, 0).map((_, i) => (i * 7) & 0xff);
  const chunks: Buffer[] = [];
  c.on('data', (d: Buffer) => chunks.push(d));
  const ended = new Promise<void>((resolve) => c.once('end', resolve));
  c.end(payload); // write everything, then FIN
  await ended;
  const echoed = Buffer.concat(chunks);
  assert.equal(echoed.length, payload.length);
  assert.ok(echoed.equals(payload));
  srv.close();
  p.net.close();
});
