// Our stack against the Linux kernel over VXLAN: a namespace the test makes holds a kernel vxlan
// device whose peer is our host's VxlanLink on loopback. Kernel client → our server and our client
// → kernel server (socat), IPv4 and IPv6, MTU 1500 and 9000, bytes verified by SHA-256 on both
// ends; ping and ping -6 both ways; seeded loss on our link in both directions; HTTP with curl
// against Node's http server over our sockets, and Node's http client over our sockets against a
// kernel server; ping RTT kernel → us over VXLAN next to kernel → kernel over veth.
// Needs root, iproute2, ping, socat, curl; skips with the reason otherwise, fails under CI.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as C, Network, VxlanLink, type Host, type VxlanLinkOptions } from '../../src/index.js';
import { PREFIX, type NetnsHarness, type Netns } from './netns.js';
import { interopSuite } from './suite.js';

let dir = '';
const ready = interopSuite([], (miss) => `apt-get install ${miss.map((m) => (m === 'ping' ? 'iputils-ping' : m)).join(' ')}`, {
  setup: () => {
    dir = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
  },
  cleanup: () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
});

/** rejects when `p` takes longer than `ms` of wall-clock time (a bounded wait on an event) */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** deterministic bytes (xorshift32) */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Setup {
  net: Network;
  host: Host;
  link: VxlanLink;
  ns: Netns;
  family: 4 | 6;
  kernelIp: string;
  ourIp: string;
}

/** `family` is the inner (our sockets'); `outer` the VXLAN datagrams' (default the same) */
async function setup(hh: NetnsHarness, family: 4 | 6, mtu: number, extra: Partial<VxlanLinkOptions> = {}, outer: 4 | 6 = family): Promise<Setup> {
  const ns = hh.addNetns({ ipv6: family === 6 });
  const vni = hh.nextVni();
  const lo = outer === 4 ? '127.0.0.1' : '::1';
  const link = await VxlanLink.open({ local: { address: lo, port: 0 }, remote: { address: lo, port: 4789 }, vni, mtu, ...extra });
  const kernelIp = family === 4 ? '198.18.42.1' : 'fd42::1';
  const ourIp = family === 4 ? '198.18.42.2' : 'fd42::2';
  try {
    hh.addVxlanToUs(ns, { vni, outer, ourPort: link.localPort, mtu, addrs: [`${kernelIp}/${family === 4 ? 24 : 64}`] });
  } catch (e) {
    await link.close();
    throw e;
  }
  const net = new Network({ mode: 'real' });
  const host = net.addHost('us');
  host.addDevice('eth0', { link });
  host.ip.addAddress('eth0', `${ourIp}/${family === 4 ? 24 : 64}`);
  return { net, host, link, ns, family, kernelIp, ourIp };
}

function tcpAddr(s: Setup, ip: string, port: number): string {
  return s.family === 4 ? `TCP4:${ip}:${port}` : `TCP6:[${ip}]:${port}`;
}

/** the kernel connects and sends `data`; our listener accepts and hashes what arrives */
async function kernelToUs(s: Setup, data: Uint8Array, port: number, timeoutMs = 60_000): Promise<void> {
  const file = join(dir, `k2u-${port}.bin`);
  writeFileSync(file, data);
  const ls = s.host.socket(s.family === 4 ? C.AF_INET : C.AF_INET6, C.SOCK_STREAM);
  ls.bind(s.family === 4 ? '0.0.0.0' : '::', port);
  ls.listen(4);
  try {
    const acc = ls.accept();
    const client = s.ns.exec(['socat', '-u', `OPEN:${file},rdonly`, tcpAddr(s, s.ourIp, port)], { timeoutMs: 60_000 });
    const conn = await within(acc, 10_000, 'accept from the kernel');
    const hash = createHash('sha256');
    let n = 0;
    await within((async () => {
      for (;;) {
        const c = await conn.recv(1 << 16);
        if (c.length === 0) break;
        hash.update(c);
        n += c.length;
      }
    })(), timeoutMs, 'kernel → us transfer');
    conn.close();
    const r = await client;
    assert.equal(r.code, 0, `socat (kernel client) failed: ${r.stderr}`);
    assert.equal(n, data.length, 'byte count');
    assert.equal(hash.digest('hex'), sha(data), 'SHA-256 of what we received');
  } finally {
    ls.close();
    rmSync(file, { force: true });
  }
}

/** connects, retrying while the kernel's listener is not up yet (RST → ECONNREFUSED) */
async function connectRetry(s: Setup, ip: string, port: number): Promise<ReturnType<Host['socket']>> {
  for (let i = 0; ; i++) {
    const cs = s.host.socket(s.family === 4 ? C.AF_INET : C.AF_INET6, C.SOCK_STREAM);
    try {
      await within(cs.connect(ip, port), 10_000, 'connect to the kernel');
      return cs;
    } catch (e) {
      cs.close();
      if (i >= 100 || (e as { code?: string }).code !== 'ECONNREFUSED') throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** the kernel listens and writes what arrives to a file; our client sends `data` */
async function usToKernel(s: Setup, data: Uint8Array, port: number, timeoutMs = 60_000): Promise<void> {
  const file = join(dir, `u2k-${port}.bin`);
  const listen = s.family === 4 ? `TCP4-LISTEN:${port},reuseaddr` : `TCP6-LISTEN:${port},reuseaddr,ipv6only=1`;
  const server = s.ns.exec(['socat', '-u', listen, `OPEN:${file},creat,trunc,wronly`], { timeoutMs: 60_000 });
  try {
    const cs = await connectRetry(s, s.kernelIp, port);
    await within(cs.send(data), timeoutMs, 'us → kernel transfer');
    cs.shutdown(C.SHUT_WR);
    const r = await within(server, timeoutMs, 'kernel server exit');
    cs.close();
    assert.equal(r.code, 0, `socat (kernel server) failed: ${r.stderr}`);
    const got = readFileSync(file);
    assert.equal(got.length, data.length, 'byte count');
    assert.equal(sha(got), sha(data), 'SHA-256 of what the kernel wrote');
  } finally {
    rmSync(file, { force: true });
  }
}

async function pingBothWays(t: TestContext, s: Setup): Promise<void> {
  const v6 = s.family === 6 ? ['-6'] : [];
  const k = await s.ns.exec(['ping', ...v6, '-c', '5', '-i', '0.05', '-W', '2', s.ourIp], { timeoutMs: 20_000 });
  assert.equal(k.code, 0, `kernel ping${s.family === 6 ? ' -6' : ''} → us failed: ${k.stdout}${k.stderr}`);
  assert.match(k.stdout, / 5 received/);
  const rtts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const p = await within(s.host.ping(s.kernelIp, { timeoutUs: 2_000_000 }), 5000, `our ping ${i} → kernel`);
    rtts.push(p.rttUs);
  }
  assert.ok(rtts.every((r) => r > 0));
  t.diagnostic(`IPv${s.family} our ping → kernel RTTs (µs): ${rtts.join(' ')}`);
}

async function teardown(s: Setup): Promise<void> {
  await within(s.net.close(), 10_000, 'network close');
}

const SIZE = 2 << 20;

for (const family of [4, 6] as const) {
  for (const mtu of [1500, 9000]) {
    // MTU 9000 runs over the other outer family: IPv4 in IPv6 datagrams and IPv6 in IPv4 ones
    const outer: 4 | 6 = mtu === 1500 ? family : family === 4 ? 6 : 4;
    test(`vxlan interop IPv${family} MTU ${mtu} (outer IPv${outer}): ping both ways; kernel → us and us → kernel, SHA-256 on both ends`, async (t) => {
      const hh = ready(t, 'ping', 'socat');
      if (!hh) return;
      const s = await setup(hh, family, mtu, {}, outer);
      assert.equal(s.link.family, outer);
      try {
        assert.equal(s.host.device('eth0')!.mtu, mtu);
        await pingBothWays(t, s);
        await kernelToUs(s, pattern(SIZE, family * 100 + mtu), 5001);
        await usToKernel(s, pattern(SIZE, family * 1000 + mtu), 5002);
        const st = s.link.stats;
        assert.equal(st.rxBadFlags + st.rxBadReserved + st.rxShort + st.rxOtherVni + st.rxForeignSource, 0, 'the kernel only sent well-formed VXLAN');
        assert.equal(st.txBadLength, 0, 'we never sent a frame over the MTU');
        if (mtu > 1500) {
          // jumbo frames were used both ways (a 1500-byte path averages under 1514 per frame)
          assert.ok(st.rxBytes / st.rxPackets > 2000, `rx average frame ${(st.rxBytes / st.rxPackets).toFixed(0)} B`);
          assert.ok(st.txBytes / st.txPackets > 2000, `tx average frame ${(st.txBytes / st.txPackets).toFixed(0)} B`);
        }
        t.diagnostic(`link: rx ${st.rxPackets} frames ${st.rxBytes} B, tx ${st.txPackets} frames ${st.txBytes} B, busy ${st.txBusy}`);
      } finally {
        await teardown(s);
      }
    });
  }
}

test('vxlan interop: seeded loss on our link in both directions still delivers every byte, both ways', async (t) => {
  const hh = ready(t, 'socat');
  if (!hh) return;
  const s = await setup(hh, 4, 1500, { loss: { tx: 0.02, rx: 0.02 }, seed: 4242 });
  try {
    await kernelToUs(s, pattern(1 << 20, 11), 5011, 30_000);
    await usToKernel(s, pattern(1 << 20, 12), 5012, 30_000);
    const st = s.link.stats;
    assert.ok(st.rxLossDrops > 0 && st.txLossDrops > 0, `loss was injected (rx ${st.rxLossDrops}, tx ${st.txLossDrops})`);
    t.diagnostic(`injected drops: rx ${st.rxLossDrops} of ${st.rxPackets + st.rxLossDrops}, tx ${st.txLossDrops} of ${st.txPackets + st.txLossDrops}`);
  } finally {
    await teardown(s);
  }
});

test('vxlan interop HTTP: curl in the namespace → Node http server over our sockets; Node http client over our sockets → kernel server', async (t) => {
  const hh = ready(t, 'curl', 'socat');
  if (!hh) return;
  const s = await setup(hh, 4, 1500);
  const body = pattern(300_000, 21);
  const srv = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('x-path', req.url ?? '');
    res.end(Buffer.from(body));
  });
  const ours = s.host.net.createServer((sock) => srv.emit('connection', sock));
  ours.listen(8080);
  try {
    const out = join(dir, 'curl.bin');
    const r = await s.ns.exec(['curl', '-sS', '--max-time', '20', '-o', out, '-w', '%{http_code} %{size_download}', `http://${s.ourIp}:8080/hello`], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
    assert.equal(r.stdout, `200 ${body.length}`);
    assert.equal(sha(readFileSync(out)), sha(body), 'curl got the body byte for byte');

    // our client: Node's http over our sockets, against a kernel server (socat sending a response)
    const kbody = pattern(200_000, 22);
    const resp = join(dir, 'resp.http');
    writeFileSync(resp, Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${kbody.length}\r\nConnection: close\r\n\r\n`), kbody]));
    const server = s.ns.exec(['socat', 'TCP4-LISTEN:8081,reuseaddr', `EXEC:cat ${resp}`], { timeoutMs: 30_000 });
    // the listener may not be up yet: retry on refusal
    let got: Buffer | null = null;
    let made = 0;
    let tries = 0;
    for (let i = 0; got === null; i++) {
      tries++;
      try {
        got = await within(new Promise<Buffer>((resolve, reject) => {
          // no `agent` option: with one, Node's agent would open a kernel socket of its own
          // instead of calling createConnection, and the request would leave this machine's stack
          const req = http.request({
            host: s.kernelIp, port: 8081, path: '/',
            createConnection: () => {
              made++;
              return s.host.net.connect({ host: s.kernelIp, port: 8081 }) as unknown as import('node:net').Socket;
            },
          }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (c: Buffer) => parts.push(c));
            res.on('end', () => resolve(Buffer.concat(parts)));
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end();
        }), 20_000, 'http GET from the kernel server');
      } catch (e) {
        if (i >= 100 || !/ECONNREFUSED/.test(String((e as Error).message) + String((e as { code?: string }).code))) throw e;
        await new Promise((res) => setTimeout(res, 20));
      }
    }
    assert.equal(made, tries, 'every request went through our sockets');
    assert.equal(got.length, kbody.length);
    assert.equal(sha(got), sha(kbody), 'our http client got the body byte for byte');
    await within(server, 10_000, 'kernel http server exit');
  } finally {
    ours.close();
    srv.close();
    await teardown(s);
  }
});

/** RTTs in ms from ping's per-reply lines */
function pingTimes(out: string): number[] {
  return [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

test('vxlan interop: ping RTT kernel → us over VXLAN next to kernel → kernel over veth, same run', async (t) => {
  const hh = ready(t, 'ping');
  if (!hh) return;
  const s = await setup(hh, 4, 1500);
  try {
    const [a, b] = [hh.addNetns(), hh.addNetns()];
    hh.addVeth(a, ['198.18.45.1/24'], b, ['198.18.45.2/24']);
    const args = ['-c', '40', '-i', '0.01', '-W', '2'];
    // warm both paths (ARP), then measure them interleaved
    await s.ns.exec(['ping', '-c', '2', '-i', '0.05', s.ourIp]);
    await a.exec(['ping', '-c', '2', '-i', '0.05', '198.18.45.2']);
    const vx: number[] = [];
    const veth: number[] = [];
    for (let round = 0; round < 2; round++) {
      const r1 = await s.ns.exec(['ping', ...args, s.ourIp], { timeoutMs: 20_000 });
      assert.equal(r1.code, 0, r1.stdout + r1.stderr);
      vx.push(...pingTimes(r1.stdout));
      const r2 = await a.exec(['ping', ...args, '198.18.45.2'], { timeoutMs: 20_000 });
      assert.equal(r2.code, 0, r2.stdout + r2.stderr);
      veth.push(...pingTimes(r2.stdout));
    }
    assert.equal(vx.length, 80);
    assert.equal(veth.length, 80);
    const mv = median(vx) * 1000;
    const mk = median(veth) * 1000;
    t.diagnostic(`ping RTT median: kernel → us over VXLAN ${mv.toFixed(0)} µs, kernel → kernel over veth ${mk.toFixed(0)} µs, ratio ${(mv / mk).toFixed(2)}× (acceptance: within 3×)`);
  } finally {
    await teardown(s);
  }
});
