// The kernel's devmem.py `check_rx` scenario against `devmem ncdevmem` over VXLAN: the kernel's
// socat in a namespace sends the ncdevmem pattern from CLIENT:PORT to SERVER:PORT (so the 5-tuple
// rule matches); `devmem ncdevmem -l … -v 7 --link vxlan:… --addr …` receives it into device
// memory, validates it on the device and exits 0. A corrupted byte makes it fail. IPv4 and IPv6.
// Needs root, iproute2, socat; skips with the reason otherwise, fails under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetnsHarness } from './netns.js';
import { deadline, freePort, interopSuite, spawnNcdevmem } from './suite.js';

const ready = interopSuite(['socat'], 'apt-get install socat');

/** what `yes $(printf '\x01\x02\x03\x04\x05\x06') | head -c n` prints: the -v 7 pattern */
function ncdevmemPattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 7 === 6 ? 0x0a : (i % 7) + 1;
  return b;
}

interface RunResult {
  code: number | null;
  out: string;
  socat: number | null;
}

async function checkRx(hh: NetnsHarness, family: 4 | 6, payload: Buffer, mtu = 1500): Promise<RunResult> {
  const ns = hh.addNetns({ ipv6: family === 6 });
  const vni = hh.nextVni();
  const lo = family === 4 ? '127.0.0.1' : '::1';
  const port = await freePort(family === 4 ? 'udp4' : 'udp6', lo);
  const kernelIp = family === 4 ? '198.18.42.1' : 'fd42::1';
  const ourIp = family === 4 ? '198.18.42.2' : 'fd42::2';
  const plen = family === 4 ? 24 : 64;
  hh.addVxlanToUs(ns, { vni, outer: family, ourPort: port, mtu, addrs: [`${kernelIp}/${plen}`] });
  const ep = family === 4 ? lo : `[${lo}]`;
  const nc = spawnNcdevmem(hh, [
    '-l', '-f', 'eth0', '-s', ourIp, '-c', kernelIp, '-p', '5201', '-v', '7',
    '--link', `vxlan:local=${ep}:${port},remote=${ep}:4789,vni=${vni},mtu=${mtu}`, '--addr', `${ourIp}/${plen}`,
  ]);
  // socat retries until ncdevmem listens; bound to the client address and the same port, as devmem.py does
  const dst = family === 4
    ? `TCP4:${ourIp}:5201,bind=${kernelIp}:5201,retry=100,interval=0.1`
    : `TCP6:[${ourIp}]:5201,bind=[${kernelIp}]:5201,retry=100,interval=0.1`;
  const r = await ns.exec(['socat', '-u', '-', dst], { input: payload, timeoutMs: 30_000 });
  const d = deadline(30_000, [nc.child]);
  const code = await Promise.race([nc.exited, d.expired]).finally(() => d.clear());
  return { code, out: nc.out, socat: r.code };
}

for (const family of [4, 6] as const) {
  test(`check_rx over VXLAN, IPv${family}: kernel socat → devmem ncdevmem -l -v 7 receives into device memory and validates`, async (t) => {
    const hh = ready(t);
    if (!hh) return;
    const r = await checkRx(hh, family, ncdevmemPattern(1024));
    assert.equal(r.socat, 0, `socat failed\n${r.out}`);
    assert.equal(r.code, 0, `ncdevmem failed\n${r.out}`);
    assert.match(r.out, /Validated buffer/);
    assert.match(r.out, /received 1024 bytes \(1024 in device memory, 0 linear\), tokens issued (\d+), returned \1, host bytes read 0/);
  });
}

test('check_rx over VXLAN, 4 MiB at MTU 9000: many frags, every token returned, host bytes read 0', async (t) => {
  const hh = ready(t);
  if (!hh) return;
  const r = await checkRx(hh, 4, ncdevmemPattern(4 << 20), 9000);
  assert.equal(r.code, 0, `ncdevmem failed\n${r.out.slice(-3000)}`);
  assert.match(r.out, /received 4194304 bytes \(4194304 in device memory, 0 linear\), tokens issued (\d+), returned \1, host bytes read 0/);
});

test('check_rx over VXLAN: a wrong byte is reported; more than 20 fail the run (validate_buffer)', async (t) => {
  const hh = ready(t);
  if (!hh) return;
  const one = ncdevmemPattern(1024);
  one[500] ^= 0x40;
  const r1 = await checkRx(hh, 4, one);
  assert.equal(r1.code, 0, `one mismatch is reported, not fatal\n${r1.out}`);
  assert.match(r1.out, /Failed validation: 1 byte\(s\) differ from the pattern, first at stream offset 500/);
  const many = ncdevmemPattern(1024);
  for (let i = 0; i < 30; i++) many[100 + i * 7] ^= 0x40;
  const r2 = await checkRx(hh, 4, many);
  assert.notEqual(r2.code, null, `it exits by itself, not by our timeout\n${r2.out}`);
  assert.notEqual(r2.code, 0, `30 mismatches fail the run\n${r2.out}`);
  assert.match(r2.out, /validation failed/);
});
