import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../../../src/index.js';

it('Host wiring: link-local + DAD on every device, host.ip for IPv6, ping -6 between two hosts', async () => {
  const net = new Network({ seed: 3 });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0');
  const eb = b.addDevice('eth0');
  net.connect(ea, eb, { gbps: 10, delayUs: 5 });
  a.ip.addAddress('eth0', '2001:db8::1/64');
  b.ip.addAddress('eth0', '2001:db8::2/64');
  await net.sleep(2_000_000);
  const addrs = a.ip.addresses().filter((x) => x.family === 6).map((x) => `${x.dev} ${x.address}/${x.prefixLen}`);
  assert.ok(addrs.includes('eth0 2001:db8::1/64'));
  assert.ok(addrs.includes('lo ::1/128'));
  assert.ok(addrs.some((x) => x.startsWith('eth0 fe80::')));
  const r = await a.ip.ping('2001:db8::2');
  assert.equal(r.bytes, 64);
  assert.equal(r.ttl, 64);
  const big = await a.ip.ping('2001:db8::2', { size: 3000 });
  assert.equal(big.bytes, 3008);
  const self = await a.ip.ping('::1');
  assert.equal(self.bytes, 64);
  assert.ok(a.ip.neighbours().some((n) => n.family === 6 && n.addr === '2001:db8::2' && n.state === 'reachable'));
  assert.ok(a.ip.routes().some((rt) => rt.family === 6 && rt.dst === '2001:db8::/64'));
  net.close();
});

it('Network.close settles a pending ping -6 with an errno', async () => {
  const net = new Network({ seed: 4 });
  const a = net.addHost('a');
  a.addDevice('eth0');
  a.ip.addAddress('eth0', '2001:db8::1/64');
  await net.sleep(2_000_000);
  const p = a.ip.ping('2001:db8::99', { timeoutUs: 60_000_000 });
  const settled = p.then(() => 'resolved', (e: unknown) => (e as { code?: string }).code);
  net.close();
  assert.equal(await settled, 'ENETDOWN');
});
