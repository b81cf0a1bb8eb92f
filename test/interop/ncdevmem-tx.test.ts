// The kernel's devmem.py `check_tx` and `check_tx_chunks` scenarios against `devmem ncdevmem`
// (client side, devmem TX) over VXLAN: the kernel's `socat -U - TCP-LISTEN:PORT` listens in a
// namespace; "hello\nworld" is piped into `devmem ncdevmem -f eth0 -s KERNEL -p PORT [-z 3]
// --link vxlan:… --addr …`, which sends each line from device memory (sendmsg MSG_ZEROCOPY +
// SCM_DEVMEM_DMABUF) and waits for its completion. Pass: socat printed exactly the text. IPv4 and
// IPv6. Needs root, iproute2, socat; skips with the reason otherwise, fails under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Netns, NetnsHarness } from './netns.js';
import { deadline, freePort, interopSuite, spawnNcdevmem } from './suite.js';

const ready = interopSuite(['socat', 'ss'], 'apt-get install socat iproute2');

/** waits until something listens on TCP `port` inside `ns` */
async function listening(ns: Netns, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await ns.exec(['ss', '-Hltn', `sport = :${port}`], { timeoutMs: 5000 });
    if (r.stdout.trim() !== '') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

interface TxRun {
  code: number | null;
  /** what ncdevmem printed (stderr and stdout) */
  out: string;
  /** what socat printed: the bytes it received */
  socat: string;
  socatCode: number | null;
}

async function checkTx(hh: NetnsHarness, family: 4 | 6, input: string, extra: string[]): Promise<TxRun> {
  const ns = hh.addNetns({ ipv6: family === 6 });
  const vni = hh.nextVni();
  const lo = family === 4 ? '127.0.0.1' : '::1';
  const port = await freePort(family === 4 ? 'udp4' : 'udp6', lo);
  const kernelIp = family === 4 ? '198.18.43.1' : 'fd42::1';
  const ourIp = family === 4 ? '198.18.43.2' : 'fd42::2';
  const plen = family === 4 ? 24 : 64;
  hh.addVxlanToUs(ns, { vni, outer: family, ourPort: port, mtu: 1500, addrs: [`${kernelIp}/${plen}`] });
  // devmem.py check_tx: socat -U - TCP-LISTEN:PORT on the listening side
  const socat = ns.spawn(['socat', '-U', '-', family === 4 ? 'TCP4-LISTEN:5201,reuseaddr' : 'TCP6-LISTEN:5201,reuseaddr']);
  hh.track(socat);
  let socatOut = '';
  socat.stdout!.on('data', (b: Buffer) => (socatOut += b.toString('latin1')));
  socat.stdin!.end();
  const socatExit = new Promise<number | null>((resolve) => socat.on('exit', (c) => resolve(c)));
  await listening(ns, 5201);
  const ep = family === 4 ? lo : `[${lo}]`;
  const nc = spawnNcdevmem(hh, [
    '-f', 'eth0', '-s', kernelIp, '-p', '5201', ...extra,
    '--link', `vxlan:local=${ep}:${port},remote=${ep}:4789,vni=${vni}`, '--addr', `${ourIp}/${plen}`,
  ], input);
  const d = deadline(30_000, [nc.child, socat]);
  const code = await Promise.race([nc.exited, d.expired]);
  const socatCode = await Promise.race([socatExit, d.expired]);
  d.clear();
  return { code, out: nc.out, socat: socatOut, socatCode };
}

for (const family of [4, 6] as const) {
  test(`check_tx over VXLAN, IPv${family}: devmem ncdevmem (client) → kernel socat prints exactly what was sent`, async (t) => {
    const hh = ready(t);
    if (!hh) return;
    const r = await checkTx(hh, family, 'hello\nworld', []);
    assert.equal(r.code, 0, `ncdevmem failed\n${r.out}`);
    assert.equal(r.socat, 'hello\nworld', `socat output\n${r.out}`);
    assert.equal(r.socatCode, 0);
    assert.match(r.out, /got tx dmabuf id=\d+/);
    assert.match(r.out, /sendmsg_ret=6\n/);
    assert.match(r.out, /sendmsg_ret=5\n/);
    assert.match(r.out, /tx complete \[0,0\]\n[^]*tx complete \[1,1\]/);
    assert.match(r.out, /ncdevmem: tx ok/);
  });

  test(`check_tx_chunks over VXLAN, IPv${family}: -z 3 (3-byte iovecs), the same text arrives`, async (t) => {
    const hh = ready(t);
    if (!hh) return;
    const r = await checkTx(hh, family, 'hello\nworld', ['-z', '3']);
    assert.equal(r.code, 0, `ncdevmem failed\n${r.out}`);
    assert.equal(r.socat, 'hello\nworld', `socat output\n${r.out}`);
    assert.match(r.out, /ncdevmem: tx ok/);
  });
}

test('check_tx over VXLAN: 64 KiB lines, -z 1000 (66 iovecs a line), byte-exact at the kernel', async (t) => {
  const hh = ready(t);
  if (!hh) return;
  let text = '';
  for (let l = 0; l < 3; l++) {
    let line = '';
    for (let i = 0; i < 65535; i++) line += String.fromCharCode(0x21 + ((i * 7 + l) % 90));
    text += `${line}\n`;
  }
  const r = await checkTx(hh, 4, text, ['-z', '1000']);
  assert.equal(r.code, 0, `ncdevmem failed\n${r.out.slice(-3000)}`);
  assert.equal(r.socat.length, text.length);
  assert.ok(r.socat === text, 'byte-exact');
});
