/**
 * `devmem ncdevmem` client side (devmem TX) against the simulated peer, the equivalents of the
 * kernel's devmem.py check_tx (`ncdevmem -f IF -s ADDR -p PORT` with "hello\nworld" on stdin;
 * pass = the listener printed exactly that) and check_tx_chunks (`-z 3`): the tool's output line
 * by line, the peer's bytes, every binding and fd gone at the end. Plus the pieces: getline
 * splitting, -z chunking, the command-line rules of the client mode.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/args.js';
import { lineIovecs, splitLines, MAX_IOV } from '../../src/cli/ncdevmem/client.js';
import { runSim as run } from '../cli/ncdevmem-run.js';

describe('ncdevmem client: getline and -z', () => {
  it('splitLines keeps each newline with its line; a last line without one is a line too', () => {
    const t = (s: string): string[] => splitLines(Buffer.from(s)).map((b) => Buffer.from(b).toString());
    assert.deepEqual(t('hello\nworld'), ['hello\n', 'world']);
    assert.deepEqual(t('hello\nworld\n'), ['hello\n', 'world\n']);
    assert.deepEqual(t('\n\nx'), ['\n', '\n', 'x']);
    assert.deepEqual(t(''), []);
  });

  it('lineIovecs: offsets 0, z, 2z …, the last one short; one iovec without -z; more than 1024 refused', () => {
    assert.deepEqual([...lineIovecs(6, 3)!], [0, 3, 3, 3]);
    assert.deepEqual([...lineIovecs(5, 3)!], [0, 3, 3, 2]);
    assert.deepEqual([...lineIovecs(11, 0)!], [0, 11]);
    assert.deepEqual([...lineIovecs(1, 3)!], [0, 1]);
    assert.equal(lineIovecs(MAX_IOV * 2, 2)!.length, 2 * MAX_IOV);
    assert.equal(lineIovecs(MAX_IOV * 2 + 1, 2), null);
  });
});

describe('ncdevmem client: command line', () => {
  it('server-only simulation options are refused in client mode', async () => {
    await assert.rejects(run(['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '--sim-fault', 'wrong-queue'], ''), UsageError);
    await assert.rejects(run(['-f', 'eth0', '-s', '10.0.0.2', '--sim-bytes', '1K'], ''), UsageError);
    await assert.rejects(run(['-f', 'eth0', '-c', '10.0.0.1', '-p', '5201'], ''), /Missing -s/);
  });
});

describe('ncdevmem client: check_tx against the simulated listener', () => {
  it('"hello\\nworld": two sends from device memory, two completions, the listener prints exactly the text', async () => {
    const r = await run(['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201'], 'hello\nworld');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'hello\nworld', 'what the listener printed');
    assert.equal(Buffer.from(r.env.received).toString(), 'hello\nworld');
    assert.deepEqual(r.lines, [
      'using ifindex=2',
      'using queues 3..4',
      'got tx dmabuf id=1',
      'Connect to 10.0.0.2 5201 (via eth0)',
      'sendmsg_ret=6',
      'tx complete [0,0]',
      'sendmsg_ret=5',
      'tx complete [1,1]',
      'ncdevmem: tx ok',
    ]);
    assert.deepEqual(r.atEnd, { fds: 0, bindings: 0 }, 'binding unbound and socket closed before the env closed');
  });

  it('check_tx_chunks: -z 3 sends 3-byte iovecs; the same text arrives', async () => {
    const r = await run(['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-z', '3', '--json'], 'hello\nworld');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    assert.equal(j.mode, 'client');
    assert.equal(j.peerReceived, 'hello\nworld');
    assert.equal(j.lines, 2);
    assert.equal(j.bytes, 11);
    assert.equal(j.iovecs, 4, '"hello\\n" = 2 iovecs, "world" = 2');
    assert.deepEqual(j.completions, [[0, 0], [1, 1]]);
    assert.equal(j.hostVisibleBytes, 11, 'the NIC read each payload byte from device memory once (no loss, no retransmission)');
  });

  it('IPv6 and -c: the client binds CLIENT:PORT, the listener sees that source', async () => {
    const r = await run(['-f', 'eth0', '-s', 'fd00::2', '-c', 'fd00::1', '-p', '5201', '-z', '2'], 'abc\n');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'abc\n');
  });

  it('a line longer than 1024 × z cannot be partitioned: the run fails before sending it', async () => {
    const r = await run(['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-z', '1'], `${'x'.repeat(2000)}\n`);
    assert.equal(r.code, 1);
    assert.ok(r.lines.includes('ncdevmem: can\'t partition 2001 bytes into maximum of 1024 chunks'), r.err);
    assert.equal(r.out, '', 'nothing reached the listener');
  });

  it('a 100 KiB line (25 pages of device memory) arrives byte-exact', async () => {
    const line = Buffer.alloc(100 * 1024 + 1);
    for (let i = 0; i < line.length - 1; i++) line[i] = 0x20 + (i % 90);
    line[line.length - 1] = 0x0a;
    const r = await run(['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-z', '4000', '--json'], line);
    assert.equal(r.code, 0, r.err);
    assert.ok(Buffer.from(r.env.received).equals(line));
  });

  it('empty input: connects, sends nothing, "tx ok"', async () => {
    const r = await run(['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201'], '');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.equal(r.lines.at(-1), 'ncdevmem: tx ok');
  });
});
