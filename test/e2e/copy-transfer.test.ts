import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, NcdevmemPattern } from '../../src/index.js';
import { listen, makePair, patternSender } from './helpers.js';

async function drain(conn: import('../../src/index.js').Socket): Promise<{ bytes: number; bad: number }> {
  const pattern = new NcdevmemPattern(7);
  let bytes = 0;
  let bad = 0;
  for (;;) {
    const b = await conn.recv(100_000);
    if (b.length === 0) break;
    bad += pattern.check(b, 0, b.length);
    bytes += b.length;
  }
  return { bytes, bad };
}

describe('plain TCP over the simulated network', () => {
  for (const [name, wire, seed] of [
    ['clean wire', {}, 1],
    ['3% loss', { loss: 0.03 }, 5],
    ['reordering and duplication', { reorder: 0.05, duplicate: 0.02 }, 9],
    ['corruption caught by the checksum', { corrupt: 0.02, corruptMode: 'payload' as const }, 11],
    ['corruption caught by the FCS', { corrupt: 0.02 }, 12],
  ] as const) {
    it(`delivers byte-exact data: ${name}`, async () => {
      const p = makePair({ seed, wire });
      const ls = listen(p);
      const size = 1 << 20;
      const sender = patternSender(p, size, 7, 50_000);
      const conn = await ls.accept();
      const r = await drain(conn);
      await sender;
      assert.equal(r.bytes, size);
      assert.equal(r.bad, 0);
      if (name.includes('checksum')) assert.ok(p.net.hosts[1]!.tcp.stats.inCsumErrors + p.net.hosts[0]!.tcp.stats.inCsumErrors > 0 || p.eb.rxQueues.some((q) => q.stats.rxCsumBad > 0));
      if (name.includes('FCS')) assert.ok(p.eb.counters.rxCrcErrors > 0);
      conn.close();
      p.net.close();
    });
  }

  it('is deterministic: the same seed gives the same virtual time and segment counts', async () => {
    const run = async () => {
      const p = makePair({ seed: 21, wire: { loss: 0.02 } });
      const ls = listen(p);
      const sender = patternSender(p, 300_000);
      const conn = await ls.accept();
      await drain(conn);
      await sender;
      const out = [p.net.now, p.net.hosts[0]!.tcp.stats.outSegs, p.net.hosts[1]!.tcp.stats.outSegs];
      p.net.close();
      return out;
    };
    assert.deepEqual(await run(), await run());
  });

  it('connect to a closed port is refused with ECONNREFUSED', async () => {
    const p = makePair();
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    await assert.rejects(cs.connect('10.0.0.2', 9), (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED');
    p.net.close();
  });

  it('peer close gives EOF; data sent before FIN is all read', async () => {
    const p = makePair();
    const ls = listen(p);
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    const conn$ = ls.accept();
    await cs.connect('10.0.0.2', 5201);
    const conn = await conn$;
    await cs.send(new TextEncoder().encode('hello'));
    cs.shutdown(C.SHUT_WR);
    assert.equal(new TextDecoder().decode(await conn.recv(100)), 'hello');
    assert.equal((await conn.recv(100)).length, 0);
    assert.equal(conn.state, 'CLOSE_WAIT');
    await conn.send(new TextEncoder().encode('bye'));
    conn.close();
    assert.equal(new TextDecoder().decode(await cs.recv(100)), 'bye');
    assert.equal((await cs.recv(100)).length, 0);
    cs.close();
    await p.net.idle();
    assert.equal(cs.tcb.stateName, 'CLOSE');
    p.net.close();
  });
});
