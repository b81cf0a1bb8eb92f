// VxlanLink against the Linux kernel's vxlan, without our stack: a few lines answer ICMP echo on
// the link itself, so these tests prove the encapsulation, ports, VNI and the harness (namespaces,
// nolocalbypass, FDB port, teardown) on their own. Needs root and iproute2; skips otherwise, fails
// under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VxlanLink } from '../../src/link/vxlan/index.js';
import { StubReceiver } from '../link/vxlan-helpers.js';
import { NetnsHarness, leftovers, sweepStale } from './netns.js';
import { interopSuite } from './suite.js';

const OUR_MAC = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];
const OUR_MAC_TEXT = '02:00:5e:10:00:02';

const ready = interopSuite(['ping'], 'apt-get install iputils-ping');

/** one's-complement update of a 16-bit checksum when one 16-bit word changes (RFC 1624 eqn. 3) */
function csumReplace(ck: number, oldW: number, newW: number): number {
  let s = (~ck & 0xffff) + (~oldW & 0xffff) + newW;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** turns an ICMP / ICMPv6 echo request to our MAC into the reply, in place; null if it is not one */
function echoReply(f: Uint8Array): Uint8Array | null {
  if (f.length < 14 + 20 + 8 || !OUR_MAC.every((b, i) => f[i] === b)) return null;
  const type = (f[12]! << 8) | f[13]!;
  const r = Uint8Array.from(f);
  r.set(f.subarray(6, 12), 0);
  r.set(OUR_MAC, 6);
  let l4: number;
  let reqType: number;
  let repType: number;
  if (type === 0x0800 && f[23] === 1) {
    l4 = 14 + (f[14]! & 0xf) * 4;
    r.set(f.subarray(30, 34), 26); // swapping addresses keeps both checksums
    r.set(f.subarray(26, 30), 30);
    reqType = 8;
    repType = 0;
  } else if (type === 0x86dd && f[20] === 58) {
    l4 = 54;
    r.set(f.subarray(38, 54), 22);
    r.set(f.subarray(22, 38), 38);
    reqType = 128;
    repType = 129;
  } else return null;
  if (f[l4] !== reqType) return null;
  r[l4] = repType;
  const ck = (f[l4 + 2]! << 8) | f[l4 + 3]!;
  const n = csumReplace(ck, (reqType << 8) | f[l4 + 1]!, (repType << 8) | f[l4 + 1]!);
  r[l4 + 2] = n >>> 8;
  r[l4 + 3] = n & 0xff;
  return r;
}

for (const outer of [4, 6] as const) {
  test(`kernel vxlan ↔ VxlanLink, outer IPv${outer}: ping is answered over the link, ARP arrives as broadcast`, async (t) => {
    const hh = ready(t);
    if (!hh) return;
    const inner6 = outer === 6;
    const ns = hh.addNetns({ ipv6: inner6 });
    const vni = hh.nextVni();
    const lo = outer === 4 ? '127.0.0.1' : '::1';
    const link = await VxlanLink.open({ local: { address: lo, port: 0 }, remote: { address: lo, port: 4789 }, vni, mtu: 1450 });
    const rx = new StubReceiver();
    link.attach(rx);
    try {
      const vx = hh.addVxlanToUs(ns, {
        vni, outer, ourPort: link.localPort, mtu: 1450,
        addrs: inner6 ? ['fd42::1/64'] : ['198.18.42.1/24'],
      });
      assert.equal(vx.vni, vni);
      const ourIp = inner6 ? 'fd42::2' : '198.18.42.2';
      ns.ip(...(inner6 ? ['-6'] : []), 'neigh', 'add', ourIp, 'lladdr', OUR_MAC_TEXT, 'dev', vx.dev, 'nud', 'permanent');
      let replies = 0;
      rx.onFrame = (f) => {
        const r = echoReply(f);
        if (r && link.send(r)) replies++;
      };
      const ping = await ns.exec(['ping', ...(inner6 ? ['-6'] : []), '-c', '3', '-i', '0.2', '-W', '2', ourIp], { timeoutMs: 15_000 });
      assert.equal(ping.code, 0, `ping failed: ${ping.stdout}${ping.stderr}`);
      assert.match(ping.stdout, /3 received/);
      assert.equal(replies, 3);
      assert.equal(link.stats.rxOtherVni + link.stats.rxBadFlags + link.stats.rxBadReserved + link.stats.rxShort, 0);
      assert.equal(link.stats.rxForeignSource, 0);

      // a neighbour we have not announced: the kernel asks (ARP broadcast / NDP multicast) over the link
      const before = rx.frames.length;
      const probe = inner6 ? 'fd42::3' : '198.18.42.3';
      const p2 = await ns.exec(['ping', ...(inner6 ? ['-6'] : []), '-c', '1', '-W', '1', probe], { timeoutMs: 10_000 });
      assert.notEqual(p2.code, 0, 'nobody answers for the probe address');
      const asked = rx.frames.slice(before).some((f) => inner6
        ? f[0] === 0x33 && f[1] === 0x33 && f[12] === 0x86 && f[13] === 0xdd && f[20] === 58 && f[54] === 135
        : f.subarray(0, 6).every((b) => b === 0xff) && f[12] === 0x08 && f[13] === 0x06 && f[21] === 1
          && [...f.subarray(38, 42)].join('.') === probe);
      assert.ok(asked, 'a neighbour solicitation for the probe address came over the link');
    } finally {
      await link.close();
    }
  });
}

test('harness: localbypass is off on the kernel device, and teardown removes namespaces and devices', async (t) => {
  const hh = ready(t);
  if (!hh) return;
  const h2 = new NetnsHarness();
  const ns = h2.addNetns();
  const vx = h2.addVxlanToUs(ns, { vni: hh.nextVni(), outer: 4, ourPort: 40000, mtu: 9000, addrs: ['198.18.43.1/24'] });
  const shown = ns.ip('-d', 'link', 'show', vx.dev);
  assert.match(shown, /mtu 9000/);
  assert.match(shown, new RegExp(`vxlan id ${vx.vni} `));
  assert.match(shown, /dstport 4789/);
  const lb = ns.sh([process.execPath, new URL('./rtnl.js', import.meta.url).pathname, 'localbypass', vx.dev]);
  assert.match(lb, /localbypass=0/);
  const fdb = ns.sh(['bridge', 'fdb', 'show', 'dev', vx.dev]);
  assert.match(fdb, /00:00:00:00:00:00 dst 127\.0\.0\.1 port 40000/);
  const sleeper = ns.spawn(['sleep', '15']);
  const [a, b] = [h2.addNetns(), h2.addNetns()];
  h2.addVeth(a, ['198.18.44.1/24'], b, ['198.18.44.2/24']);
  assert.ok(leftovers().length >= 4);
  const exited = new Promise<void>((resolve) => sleeper.on('exit', () => resolve()));
  h2.teardown();
  await exited;
  // only hh's namespaces may remain (none at this point: each test removes its own at the end)
  const left = leftovers().filter((x) => x.includes(ns.name) || x.includes(a.name) || x.includes(b.name) || x.includes(vx.dev));
  assert.deepEqual(left, []);
});

/** starts a child process that builds a namespace and a vxlan device with the harness, then waits */
async function childWithNetwork(): Promise<{ child: import('node:child_process').ChildProcess; prefix: string }> {
  const { spawn } = await import('node:child_process');
  const mod = new URL('./netns.js', import.meta.url).href;
  const script = `
    import { NetnsHarness, PREFIX } from ${JSON.stringify(mod)};
    const h = new NetnsHarness();
    const ns = h.addNetns();
    h.addVxlanToUs(ns, { vni: h.nextVni(), outer: 4, ourPort: 40001, mtu: 1500, addrs: ['198.18.46.1/24'] });
    ns.spawn(['sleep', '15']);
    process.stdout.write(PREFIX + '\\n');
    process.stdin.on('data', (d) => { if (String(d).startsWith('exit')) process.exit(3); });
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const prefix = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (c) => reject(new Error(`child exited early (${c})`)));
    setTimeout(() => reject(new Error('child did not report ready within 10 s')), 10_000).unref();
  });
  return { child, prefix };
}

function exited(child: import('node:child_process').ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
  });
}

test('harness: a process that exits, or is killed by SIGTERM, tears its network down; SIGKILL leftovers are swept', async (t) => {
  if (!ready(t)) return;
  for (const how of ['exit', 'SIGTERM', 'SIGINT'] as const) {
    const { child, prefix } = await childWithNetwork();
    assert.ok(leftovers(prefix).length >= 1, `${how}: the child built its network`);
    if (how === 'exit') child.stdin!.write('exit\n');
    else child.kill(how);
    await exited(child);
    assert.deepEqual(leftovers(prefix), [], `${how}: nothing left by ${prefix}`);
  }
  const { child, prefix } = await childWithNetwork();
  child.kill('SIGKILL');
  await exited(child);
  assert.ok(leftovers(prefix).length >= 1, 'SIGKILL leaves the namespace behind');
  const swept = sweepStale();
  assert.ok(swept.some((x) => x.includes(prefix)), `sweepStale removed ${prefix}*: ${swept.join(', ')}`);
  assert.deepEqual(leftovers(prefix), []);
});
