import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcap } from '../../src/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function devmem(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
}

describe('devmem command', () => {
  it('--help lists the commands and exits 0', () => {
    const r = devmem(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /demo/);
    assert.match(r.stdout, /bench/);
    assert.equal(devmem(['demo', '--help']).status, 0);
    assert.equal(devmem(['bench', '--help']).status, 0);
  });

  for (const args of [['frobnicate'], ['demo', '--size', 'lots'], ['demo', '--loss', '2'], ['demo', '--bogus'], ['demo', '--mtu', '70000'], ['demo', '--mode', 'zero']]) {
    it(`mistake '${args.join(' ')}' gives one line on stderr and exit 2`, () => {
      const r = devmem(args);
      assert.equal(r.status, 2);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^devmem: /);
      assert.equal(r.stdout, '');
    });
  }

  for (const extra of [[], ['--loss', '0.02'], ['--mtu', '9000']]) {
    it(`demo ${extra.join(' ') || '(defaults)'} --json: validated, tokens balanced, host read 0 bytes`, () => {
      const r = devmem(['demo', '--size', '8M', '--json', ...extra]);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as Record<string, unknown>;
      for (const k of ['bytes', 'validated', 'tokensIssued', 'tokensReturned', 'hostPayloadBytesRead', 'virtualSeconds', 'wallSeconds', 'gbps']) {
        assert.ok(k in j, `missing ${k}`);
      }
      assert.equal(j.bytes, 8 << 20);
      assert.equal(j.validated, true);
      assert.equal(j.tokensIssued, j.tokensReturned);
      assert.ok((j.tokensIssued as number) > 2000);
      assert.equal(j.hostPayloadBytesRead, 0);
    });
  }

  it('copy mode validates on the host and needs no tokens', () => {
    const r = devmem(['demo', '--size', '4M', '--mode', 'copy', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(j.validated, true);
    assert.equal(j.tokensIssued, 0);
  });

  it('the same seed twice gives byte-identical pcap files that tshark reads: handshake, header-only payload frames', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devmem-pcap-'));
    try {
      const a = join(dir, 'a.pcap');
      const b = join(dir, 'b.pcap');
      const c = join(dir, 'c.pcap');
      assert.equal(devmem(['demo', '--size', '256K', '--seed', '9', '--loss', '0.01', '--pcap', a, '--json']).status, 0);
      assert.equal(devmem(['demo', '--size', '256K', '--seed', '9', '--loss', '0.01', '--pcap', b, '--json']).status, 0);
      assert.equal(devmem(['demo', '--size', '256K', '--seed', '10', '--loss', '0.01', '--pcap', c, '--json']).status, 0);
      const ba = readFileSync(a);
      assert.ok(ba.equals(readFileSync(b)), 'same seed, same bytes');
      assert.ok(!ba.equals(readFileSync(c)), 'another seed, other bytes');
      const recs = readPcap(new Uint8Array(ba)).records;
      const headerOnly = recs.filter((r) => r.capLen < r.origLen);
      assert.ok(headerOnly.length > 150, 'devmem payload frames are captured headers-only');
      // Ethernet 14 + IPv4 20 + TCP 20, plus 12 when the data segments carry timestamps
      const hdr = headerOnly[0]!.capLen;
      assert.ok(hdr === 54 || hdr === 66, `header length ${hdr}`);
      for (const r of headerOnly) assert.equal(r.capLen, hdr);
      // tshark reads the file: it must show the handshake and the truncated payload frames
      const out = execFileSync('tshark', ['-r', a, '-T', 'fields', '-e', 'tcp.flags.str', '-e', 'frame.len', '-e', 'frame.cap_len', '-Y', 'tcp'], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
      });
      const rows = out.trim().split('\n').map((l) => l.split('\t'));
      const flags = rows.map((r) => r[0]!.replace(/[^A-Z]/g, ''));
      assert.ok(flags.some((f) => f === 'S'), 'SYN');
      assert.ok(flags.some((f) => f === 'AS' || f === 'SA'), 'SYN-ACK');
      assert.ok(rows.some((r) => Number(r[1]) === 1514 && Number(r[2]) === hdr), `a 1514-byte frame captured as ${hdr} bytes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('demo --ipv6 --size 64M --json: validated over IPv6, every token returned, no payload in host memory; tshark decodes the IPv6 pcap, payload frames headers-only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devmem-pcap6-'));
    try {
      const pcap = join(dir, 'v6.pcap');
      const r = devmem(['demo', '--ipv6', '--size', '64M', '--json', '--pcap', pcap]);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(j.family, 6);
      assert.equal(j.bytes, 64 << 20);
      assert.equal(j.validated, true);
      assert.equal(j.steeringErrors, 0);
      assert.equal(j.tokensIssued, j.tokensReturned);
      assert.ok((j.dmabufBytes as number) > (60 << 20), 'the payload went to device memory');
      assert.equal(j.hostPayloadBytesRead, 0);
      const recs = readPcap(new Uint8Array(readFileSync(pcap))).records;
      // Ethernet 14 + IPv6 40 + TCP 20 = 74, plus 12 when the data segments carry timestamps
      const headerOnly = recs.filter((x) => x.capLen < x.origLen);
      assert.ok(headerOnly.length > 40_000, `${headerOnly.length} headers-only frames`);
      const hdr = headerOnly[0]!.capLen;
      assert.ok(hdr === 74 || hdr === 86, `header length ${hdr}`);
      for (const x of headerOnly) assert.equal(x.capLen, hdr);
      const out = execFileSync('tshark', ['-r', pcap, '-c', '2000', '-T', 'fields', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'tcp.flags.str', '-e', 'frame.len', '-e', 'frame.cap_len', '-Y', 'ipv6 && tcp'], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20,
      });
      const rows = out.trim().split('\n').map((l) => l.split('\t'));
      assert.ok(rows.length > 100, 'tshark decodes IPv6 TCP frames');
      assert.ok(rows.every((x) => (x[0] === 'fd00::1' && x[1] === 'fd00::2') || (x[0] === 'fd00::2' && x[1] === 'fd00::1')));
      const flags = rows.map((x) => x[2]!.replace(/[^A-Z]/g, ''));
      assert.ok(flags.some((f) => f === 'S'), 'SYN');
      assert.ok(flags.some((f) => f === 'AS' || f === 'SA'), 'SYN-ACK');
      assert.ok(rows.some((x) => Number(x[3]) === 1514 && Number(x[4]) === hdr), `a 1514-byte IPv6 frame captured as ${hdr} bytes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
