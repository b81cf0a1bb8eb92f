// VxlanLink's libc transport ('ffi') when the kernel pushes back: a socket buffer that is full
// (EAGAIN) makes `send` report busy, and `rx.drain()` follows once the socket is writable again.
// Over loopback the kernel never pushes back (the datagram leaves the sender's account at once),
// so the link runs in a child process inside a namespace where its remote's neighbour entry is
// unresolved: the kernel parks the datagrams in the ARP queue, still charged to the socket's
// minimal send buffer. The child then makes the entry permanent (the parked datagrams leave),
// and the socket becomes writable. Needs root and iproute2; skips otherwise, fails under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interopSuite } from './suite.js';

const ready = interopSuite([], '');
const MOD = new URL('../../src/link/vxlan/index.js', import.meta.url).href;

const CHILD = `
import { execFileSync } from 'node:child_process';
import { VxlanLink } from ${JSON.stringify(MOD)};
const [dev] = process.argv.slice(1);
const link = await VxlanLink.open({
  local: { address: '198.18.77.1', port: 0 }, remote: { address: '198.18.77.2', port: 4789 }, vni: 9,
  io: 'ffi', sendBufferSize: 1,
});
let drains = 0;
link.attach({ receive() {}, flush() {}, error(e) { console.error(String(e)); }, drain() { drains++; } });
const out = { io: link.io };
const frame = new Uint8Array(1000);
let taken = 0;
while (taken < 1000 && link.send(frame)) taken++;
out.taken = taken;
out.busy = link.stats.txBusy;
out.stillBusy = link.send(frame) === false;
out.busy2 = link.stats.txBusy;
out.drainsWhileParked = drains;
execFileSync('ip', ['neigh', 'replace', '198.18.77.2', 'lladdr', '02:00:00:00:77:02', 'dev', dev, 'nud', 'permanent']);
const end = Date.now() + 4000;
while (drains === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
out.drains = drains;
out.again = link.send(frame);
out.txPackets = link.stats.txPackets;
out.txErrors = link.stats.txErrors;
await link.close();
console.log(JSON.stringify(out));
`;

test('vxlan ffi: a full socket buffer (EAGAIN) makes send busy; one drain once the kernel lets the datagrams go', async (t) => {
  const h = ready(t);
  if (!h) return;
  const a = h.addNetns();
  const b = h.addNetns();
  // b's end has no address: nobody answers ARP for .2, so a's datagrams wait in the ARP queue
  const [da] = h.addVeth(a, ['198.18.77.1/24'], b, []);
  const r = await a.exec([process.execPath, '--input-type=module', '-e', CHILD, da], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, `child: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | boolean | string>;
  t.diagnostic(`child: ${JSON.stringify(out)}`);
  assert.equal(out.io, 'ffi');
  assert.ok(typeof out.taken === 'number' && out.taken >= 1 && out.taken < 1000, `taken ${out.taken} before the buffer filled`);
  assert.equal(out.busy, 1, 'one refusal when the buffer filled');
  assert.equal(out.stillBusy, true, 'busy until drained');
  assert.equal(out.busy2, 2);
  assert.equal(out.drainsWhileParked, 0);
  assert.equal(out.drains, 1, 'one drain once writable');
  assert.equal(out.again, true, 'takes frames after the drain');
  assert.equal(out.txPackets, (out.taken as number) + 1);
  assert.equal(out.txErrors, 0);
});

const GSO_CHILD = `
import dgram from 'node:dgram';
import { VxlanLink } from ${JSON.stringify(MOD)};
const peer = dgram.createSocket('udp4');
const got = [];
peer.on('message', (m) => got.push(m));
await new Promise((r) => peer.bind(0, '127.0.0.1', r));
const link = await VxlanLink.open({
  local: { address: '127.0.0.1', port: 0 }, remote: { address: '127.0.0.1', port: peer.address().port }, vni: 5, io: 'ffi',
});
link.attach({ receive() {}, flush() {}, drain() {}, error(e) { console.error(String(e)); } });
const frame = (i) => { const f = new Uint8Array(1400); for (let j = 0; j < f.length; j++) f[j] = (i * 13 + j) & 255; return f; };
for (let i = 0; i < 12; i++) link.send(frame(i));
const end = Date.now() + 4000;
while (got.length < 12 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
const exact = got.length === 12 && got.every((m, i) => m.length === 1408 && m[0] === 8 && m[6] === 5 && Buffer.compare(m.subarray(8), Buffer.from(frame(i))) === 0);
const out = { got: got.length, exact, st: link.stats };
await link.close();
peer.close();
console.log(JSON.stringify(out));
`;

test('vxlan ffi: a path MTU below the datagrams makes the kernel refuse UDP GSO; the burst goes one datagram at a time, nothing lost', async (t) => {
  const h = ready(t);
  if (!h) return;
  const a = h.addNetns();
  // 1408-byte datagrams (+ 28 bytes of headers) over a 1300-byte loopback: GSO sends are EINVAL,
  // plain ones leave as IP fragments and arrive whole
  a.ip('link', 'set', 'lo', 'mtu', '1300');
  const r = await a.exec([process.execPath, '--input-type=module', '-e', GSO_CHILD], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, `child: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { got: number; exact: boolean; st: Record<string, number> };
  t.diagnostic(`child: ${JSON.stringify(out)} ${r.stderr}`);
  assert.equal(out.got, 12);
  assert.equal(out.exact, true, 'every datagram byte-exact, in order');
  assert.equal(out.st.txGsoRefused, 1, 'the kernel refused GSO once');
  assert.equal(out.st.txGsoSends, 0);
  assert.equal(out.st.txPackets, 12);
  assert.equal(out.st.txErrors, 0);
});

/** counts numbered VXLAN datagrams (a u32 after the header) until 1.5 s pass without one (8 s at most) */
const COUNTER = `
import dgram from 'node:dgram';
const s = dgram.createSocket('udp4');
const ids = [];
let last = Date.now();
s.on('message', (m) => { ids.push(m.readUInt32BE(8)); last = Date.now(); });
s.bind(4789, '198.18.78.2', () => console.log('ready'));
const start = Date.now();
const t = setInterval(() => {
  if (Date.now() - last > 1500 && Date.now() - start > 2000 || Date.now() - start > 8000) {
    clearInterval(t); s.close(); console.log(JSON.stringify(ids));
  }
}, 50);
`;

const CLOSE_CHILD = `
import { execFileSync } from 'node:child_process';
import { VxlanLink } from ${JSON.stringify(MOD)};
const [dev, mac] = process.argv.slice(1);
const link = await VxlanLink.open({
  local: { address: '198.18.78.1', port: 0 }, remote: { address: '198.18.78.2', port: 4789 }, vni: 9,
  io: 'ffi', sendBufferSize: 1,
});
let errors = 0;
link.attach({ receive() {}, flush() {}, drain() {}, error() { errors++; } });
const frame = new Uint8Array(1000);
let taken = 0;
for (; taken < 1000; taken++) {
  new DataView(frame.buffer).setUint32(0, taken);
  if (!link.send(frame)) break;
}
await link.close();
// the neighbour resolves only now: what had left the socket before the close goes out
execFileSync('ip', ['neigh', 'replace', '198.18.78.2', 'lladdr', mac, 'dev', dev, 'nud', 'permanent']);
console.log(JSON.stringify({ taken, txPackets: link.stats.txPackets, txErrors: link.stats.txErrors, errors }));
`;

test('vxlan ffi: close() while a burst waits on a full socket: every accepted frame is delivered once or counted as lost', async (t) => {
  const h = ready(t);
  if (!h) return;
  const a = h.addNetns();
  const b = h.addNetns();
  const [da, db] = h.addVeth(a, ['198.18.78.1/24'], b, ['198.18.78.2/24']);
  b.ip('link', 'set', db, 'arp', 'off'); // a's ARP requests go unanswered: its datagrams wait in the ARP queue
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(b.ip('-o', 'link', 'show', db))![1]!;
  const counter = b.spawn([process.execPath, '--input-type=module', '-e', COUNTER]);
  let out = '';
  counter.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const counted = new Promise<void>((r) => counter.on('close', () => r()));
  const deadline = Date.now() + 5000;
  while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(out.includes('ready'), 'the counter listens');
  const r = await a.exec([process.execPath, '--input-type=module', '-e', CLOSE_CHILD, da, mac], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, `child: ${r.stderr}`);
  const st = JSON.parse(r.stdout.trim().split('\n').pop()!) as { taken: number; txPackets: number; txErrors: number; errors: number };
  await counted;
  const ids = JSON.parse(out.trim().split('\n').pop()!) as number[];
  t.diagnostic(`link: ${JSON.stringify(st)}; delivered ${ids.length}`);
  assert.equal(st.txPackets, st.taken, 'every accepted frame was counted as sent');
  assert.ok(st.txErrors > 0, 'the close found a burst waiting (the case under test)');
  assert.equal(new Set(ids).size, ids.length, 'none delivered twice');
  assert.ok(ids.every((id) => id < st.taken), 'only accepted frames');
  assert.equal(ids.length + st.txErrors, st.taken, 'delivered + counted lost = accepted');
});
