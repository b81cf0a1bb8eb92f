import { describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
      if (name.includes('checksum')) assert.ok(p.net.hosts[1]!.kernel.tcp.stats.inCsumErrors + p.net.hosts[0]!.kernel.tcp.stats.inCsumErrors > 0 || p.eb.rxQueues.some((q) => q.stats.rxCsumBad > 0));
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
      const out = [p.net.now, p.net.hosts[0]!.kernel.tcp.stats.outSegs, p.net.hosts[1]!.kernel.tcp.stats.outSegs];
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

  for (const family of [4, 6] as const) {
    it(`IPv${family}: the same seed gives the same pcap, byte for byte (2% loss, reordering)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tcp-pcap-'));
      const run = async (name: string): Promise<Buffer> => {
        const path = join(dir, name);
        const p = makePair({ seed: 77, wire: { loss: 0.02, reorder: 0.02, pcap: path } });
        const srv = family === 4 ? '10.0.0.2' : '2001:db8::2';
        if (family === 6) {
          p.a.ip.addAddress('eth0', '2001:db8::1/64');
          p.b.ip.addAddress('eth0', '2001:db8::2/64');
          await p.net.sleep(3_000_000);
        }
        const af = family === 4 ? C.AF_INET : C.AF_INET6;
        const ls = p.b.socket(af, C.SOCK_STREAM);
        ls.bind(family === 4 ? '0.0.0.0' : '::', 5201);
        ls.listen(4);
        const cs = p.a.socket(af, C.SOCK_STREAM);
        const acc = ls.accept();
        await cs.connect(srv, 5201);
        const conn = await acc;
        const sending = (async () => {
          const buf = new Uint8Array(100_000).map((_, i) => i * 7);
          for (let i = 0; i < 4; i++) await cs.send(buf);
          cs.close();
        })();
        let got = 0;
        for (;;) {
          const b = await conn.recv(65536);
          if (b.length === 0) break;
          got += b.length;
        }
        await sending;
        assert.equal(got, 400_000);
        conn.close();
        await p.net.sleep(1_000_000);
        p.net.close();
        return readFileSync(path);
      };
      try {
        const x = await run('a.pcap');
        const y = await run('b.pcap');
        assert.ok(x.length > 400_000 / 2, `pcap has the frames (${x.length} bytes)`);
        assert.ok(x.equals(y), 'identical pcap files');
        // TCP frames of the family asked for: IPv4 protocol 6 / IPv6 next header 6
        const le = x.readUInt32LE(0) === 0xa1b2c3d4 || x.readUInt32LE(0) === 0xa1b23c4d;
        let tcpFrames = 0;
        for (let o = 24; o + 16 <= x.length;) {
          const incl = le ? x.readUInt32LE(o + 8) : x.readUInt32BE(o + 8);
          const f = o + 16;
          const et = x.readUInt16BE(f + 12);
          if (family === 4 && et === 0x0800 && x[f + 14 + 9] === 6) tcpFrames++;
          if (family === 6 && et === 0x86dd && x[f + 14 + 6] === 6) tcpFrames++;
          o = f + incl;
        }
        assert.ok(tcpFrames > 200, `${tcpFrames} TCP/IPv${family} frames`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
