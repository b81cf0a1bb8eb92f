// Our whole stack on a TAP link against the Linux kernel (root, a namespace the test makes):
// `host.addDevice('eth0', { link: new TapLink(...) })`, then kernel → us and us → kernel TCP with
// SHA-256 compared on both ends, over vnet headers (the kernel's GSO super-frames reach our GRO,
// our frames' partial checksums and GSO reach the kernel), single- and multi-queue.
// Skips without root or /dev/net/tun, except under CI where that fails.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { constants as C, Network, type Host } from '../../src/index.js';
import { FramePort } from '../../src/link/index.js';
import { TapLink } from '../../src/link/tap/index.js';
import { tapSkip, TestNetns, uniqueTag } from './tap-helpers.js';

const skip = tapSkip();

/** kernel side: connect and send n pattern bytes, or listen, read everything and print its sha256 */
const KERNEL_PY = `
import socket, sys, hashlib
mode, ip, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fam = socket.AF_INET6 if ':' in ip else socket.AF_INET
pat = bytes((k * 7 + 3) % 256 for k in range(256)) * (n // 256 + 1)
if mode == 'send':
    s = socket.create_connection((ip, port), timeout=30)
    s.sendall(pat[:n]); s.shutdown(socket.SHUT_WR)
    assert s.recv(1) == b''
    print('sent', n)
else:
    ls = socket.socket(fam); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind((ip, port)); ls.listen(1)
    print('listening', flush=True)
    c, _ = ls.accept(); c.settimeout(30); h = hashlib.sha256(); got = 0
    while True:
        d = c.recv(1 << 20)
        if not d: break
        h.update(d); got += len(d)
    print('recv', got, h.hexdigest())
`;

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = (k * 7 + 3) % 256;
  return b;
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const v6 = (ip: string): boolean => ip.includes(':');

async function kernelToUs(host: Host, ns: TestNetns, ourIp: string, port: number, n: number): Promise<void> {
  const ls = host.socket(v6(ourIp) ? C.AF_INET6 : C.AF_INET, C.SOCK_STREAM);
  ls.bind(v6(ourIp) ? '::' : '0.0.0.0', port);
  ls.listen(4);
  try {
    const acc = ls.accept();
    const client = ns.python(KERNEL_PY, ['send', ourIp, String(port), String(n)], 60_000);
    const conn = await within(acc, 15_000, 'accept from the kernel');
    const h = createHash('sha256');
    let got = 0;
    await within((async () => {
      for (;;) {
        const c = await conn.recv(1 << 16);
        if (c.length === 0) break;
        h.update(c);
        got += c.length;
      }
    })(), 60_000, 'kernel → us');
    conn.close();
    assert.match(await client, new RegExp(`sent ${n}`));
    assert.equal(got, n);
    assert.equal(h.digest('hex'), sha(pattern(n)));
  } finally {
    ls.close();
  }
}

async function usToKernel(host: Host, ns: TestNetns, kernelIp: string, port: number, n: number): Promise<void> {
  const server = ns.python(KERNEL_PY, ['recv', kernelIp, String(port), String(n)], 60_000);
  let cs: ReturnType<Host['socket']> | null = null;
  for (let i = 0; cs === null; i++) {
    const s = host.socket(v6(kernelIp) ? C.AF_INET6 : C.AF_INET, C.SOCK_STREAM);
    try {
      await within(s.connect(kernelIp, port), 10_000, 'connect to the kernel');
      cs = s;
    } catch (e) {
      s.close();
      if (i > 200 || (e as { code?: string }).code !== 'ECONNREFUSED') throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const data = pattern(n);
  await within(cs.send(data), 60_000, 'us → kernel');
  cs.shutdown(C.SHUT_WR);
  const out = await within(server, 60_000, 'kernel server');
  cs.close();
  assert.match(out, new RegExp(`recv ${n} ${sha(data)}`));
}

describe('our stack over a TAP link ↔ the kernel', { skip }, () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  });

  const cases = [
    { family: 4, queues: 1, kernel: '10.85.0.1', ours: '10.85.0.2', plen: 24 },
    { family: 4, queues: 2, kernel: '10.85.0.1', ours: '10.85.0.2', plen: 24 },
    { family: 6, queues: 1, kernel: 'fd85::1', ours: 'fd85::2', plen: 64 },
  ] as const;
  for (const c of cases) {
    it(`TCP both ways, SHA-256 checked, vnet headers, IPv${c.family}, queues=${c.queues}`, async (t) => {
      const link = new TapLink({ name: `tapt${uniqueTag()}`, queues: c.queues });
      cleanup.push(() => link.close());
      const net = new Network({ mode: 'real' });
      cleanup.push(() => within(net.close(), 10_000, 'network close'));
      const host = net.addHost('us');
      host.addDevice('eth0', { link, rxQueues: c.queues });
      host.ip.addAddress('eth0', `${c.ours}/${c.plen}`);
      const ns = await TestNetns.create({ ipv6: c.family === 6 });
      cleanup.push(() => ns.destroy());
      await ns.adopt(link.name, `${c.kernel}/${c.plen}`);
      const n = 4 << 20;
      await kernelToUs(host, ns, c.ours, 5201, n);
      await usToKernel(host, ns, c.kernel, 5202, n);
      const st = link.stats;
      assert.ok(st.rxGso > 0, 'the kernel handed us GSO super-frames');
      const port = net.links.find((l): l is FramePort => l instanceof FramePort)!;
      assert.equal(port.stats.rxDirect, port.stats.rxFrames, 'every frame went through the NIC from the link batch (no rx ring copy)');
      assert.equal(port.stats.rxFrames, st.rxFrames);
      assert.ok(st.rxBatches > 0 && port.stats.polls <= st.rxBatches, `one poll (the GRO flush) per link batch: ${port.stats.polls} polls, ${st.rxBatches} batches`);
      assert.equal(st.rxBad + st.rxTruncated, 0);
      assert.equal(st.txErrors, 0);
      t.diagnostic(`tap: rx ${st.rxFrames} frames (${st.rxGso} GSO, ${st.rxCsumPartial} partial csum), tx ${st.txFrames} frames (${st.txGso} GSO), busy ${st.txBusy}`);
    });
  }
});
