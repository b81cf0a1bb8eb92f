/**
 * The interpreter against the stack, with scripts written for these tests: a connection that
 * passes in every mode; the checker failing precisely on a forged ACK, sequence number, flags,
 * payload length, a packet that never comes and a wrong errno; timing tolerance on both sides of
 * the limit (and --tolerance_usecs); blocking calls and their return time; aggregation of
 * segments and --strict_segments; snippets; skips that name the missing feature.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runScriptText, type Mode, type ScriptResult } from '../../src/conformance/runner.js';

const run = (text: string, mode: Mode = 'ipv4'): ScriptResult => runScriptText(text, { mode, dir: '/nonexistent' });

/** a passive open with no TCP options negotiated (MSS 1000 from the peer), socket 4 accepted */
const OPEN = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.1 < S 0:0(0) win 32792 <mss 1000>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
`;
/** lines of OPEN */
const N = 8;

function expectFail(r: ScriptResult, line: number, ...parts: (string | RegExp)[]): void {
  assert.equal(r.result, 'fail', `expected a failure, got ${r.result}: ${r.reason}`);
  assert.ok(r.reason.startsWith(`line ${line}: `), `reason names line ${line}: ${r.reason}`);
  for (const p of parts) {
    if (typeof p === 'string') assert.ok(r.reason.includes(p), `reason contains '${p}': ${r.reason}`);
    else assert.match(r.reason, p);
  }
}

describe('conformance runner: a script that matches', () => {
  const script = `${OPEN}+0 write(4, ..., 1000) = 1000
+0 > P. 1:1001(1000) ack 1
+.1 < . 1:1(0) ack 1001 win 65535
+0 < F. 1:1(0) ack 1001 win 65535
+0 > . 1001:1001(0) ack 2
+0 read(4, ..., 1000) = 0
+.1 close(4) = 0
+0 > F. 1001:1001(0) ack 2
+.1 < . 2:2(0) ack 1002 win 65535
`;
  for (const mode of ['ipv4', 'ipv6', 'ipv4-mapped-ipv6'] as const) {
    it(`passes in ${mode} mode`, () => {
      assert.deepEqual(run(script, mode), { result: 'pass', reason: '' });
    });
  }

  it('is deterministic: the same script gives the same result twice', () => {
    const bad = `${OPEN}+0 write(4, ..., 1000) = 1000\n+.05 > P. 1:1001(1000) ack 1\n`;
    assert.deepEqual(run(bad), run(bad));
  });
});

describe('conformance runner: the checker fails precisely', () => {
  it('a forged wrong ACK number', () => {
    const r = run(`${OPEN}+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 2\n`);
    expectFail(r, N + 2, 'ack: expected 2, actual 1');
  });

  it('a wrong sequence number', () => {
    const r = run(`${OPEN}+0 write(4, ..., 1000) = 1000\n+0 > P. 2:1002(1000) ack 1\n`);
    expectFail(r, N + 2, 'seq: expected 2, actual 1');
  });

  it('wrong flags', () => {
    const r = run(`${OPEN}+0 write(4, ..., 1000) = 1000\n+0 > F. 1:1001(1000) ack 1\n`);
    expectFail(r, N + 2, 'flags: expected F., actual P.');
  });

  it('options the stack did not send', () => {
    const r = run(`${OPEN}+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1 <nop,nop,TS val 1 ecr 2>\n`);
    expectFail(r, N + 2, 'options: expected <nop,nop,TS val 1 ecr 2>, actual no options');
  });

  it('a window that differs when one is written', () => {
    const r = run(`${OPEN}+0 write(4, ..., 1000) = 1000\n+0 > P. 1:1001(1000) ack 1 win 1\n`);
    expectFail(r, N + 2, /win: expected 1, actual \d+/);
  });

  it('a shorter payload than expected, even after aggregation', () => {
    const r = run(`${OPEN}+0 write(4, ..., 500) = 500\n+0 > P. 1:1001(1000) ack 1\n`);
    expectFail(r, N + 2, 'payload: expected 1000 bytes, actual 500 bytes');
  });

  it('a packet that never comes', () => {
    const r = run(`${OPEN}+0 > P. 1:1001(1000) ack 1\n`);
    expectFail(r, N + 1, 'timed out waiting for a packet');
  });

  it('a wrong system-call result and errno', () => {
    expectFail(run(`${OPEN}+0 close(99) = 0\n`), N + 1, 'close: expected result 0, actual -1 EBADF');
    expectFail(run(`${OPEN}+0 close(4) = -1 EAGAIN (Resource temporarily unavailable)\n`), N + 1, 'close: expected -1 EAGAIN, actual 0');
    expectFail(run(`${OPEN}+0 read(4, ..., 10) = 10\n`), N + 1, 'timing: expected system call return at 0.200000 sec, but it was still blocked');
  });

  it('an inbound TS ecr that echoes no value the stack sent', () => {
    const r = run(`${OPEN}+0 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 5 ecr 77>\n`);
    expectFail(r, N + 1, 'unable to infer live TS ecr');
  });

  it('a false snippet assertion, reported after the events ran', () => {
    const r = run(`${OPEN}+0 %{ x = 3 }%\n+0 %{ assert x == 4, x }%\n+0 close(99) = -1 EBADF (Bad file descriptor)\n`);
    expectFail(r, N + 2, 'assertion failed: x == 4 (got 3)');
  });

  it('an assertion on a tcp_info field the stack does not report', () => {
    expectFail(run(`${OPEN}+0 %{ assert tcpi_no_such_field == 1 }%\n`), N + 1, 'TCP_INFO does not report tcpi_no_such_field');
  });
});

describe('conformance runner: timing tolerance', () => {
  const at = (when: string, opts = ''): ScriptResult => run(`${opts}${OPEN}+0 write(4, ..., 1000) = 1000\n${when} > P. 1:1001(1000) ack 1\n`);

  it('accepts a packet within the default 4 ms', () => {
    assert.equal(at('+.003').result, 'pass');
  });

  it('rejects a packet 5 ms off, with expected and actual times', () => {
    expectFail(at('+.005'), N + 2, 'timing: expected outbound', 'at 0.205000 sec, actual at 0.200000 sec (tolerance 0.004000 sec)');
  });

  it('--tolerance_usecs widens the window', () => {
    assert.equal(at('+.005', '--tolerance_usecs=10000\n').result, 'pass');
  });

  it('a late packet fails too (a SYN-ACK retransmitted after the initial RTO)', () => {
    const r = run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.1 < S 0:0(0) win 65535 <mss 1000>
+0 > S. 0:0(0) ack 1 <...>
+.5 > S. 0:0(0) ack 1 <...>
`);
    expectFail(r, 6, /timing: expected outbound S\. 0:0\(0\) ack 1 at 0\.600000 sec, actual at 1\.\d+ sec \(tolerance 0\.062500 sec\)/);
  });

  it('a range accepts any time inside it', () => {
    assert.equal(at('+0~+.010').result, 'pass');
    assert.equal(at('+.02~+.03').result, 'fail');
  });
});

describe('conformance runner: blocking calls', () => {
  it('a blocking read returns when the data arrives and its return time is checked', () => {
    const ok = run(`${OPEN}+0...0.100 read(4, ..., 1000) = 1000\n+.1 < P. 1:1001(1000) ack 1 win 65535\n`);
    assert.deepEqual(ok, { result: 'pass', reason: '' });
    const early = run(`${OPEN}+0...0.050 read(4, ..., 1000) = 1000\n+.1 < P. 1:1001(1000) ack 1 win 65535\n`);
    expectFail(early, N + 1, 'timing: expected system call return at 0.250000 sec');
  });

  it('a blocking accept waits for the handshake', () => {
    const r = run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0...0.200 accept(3, ..., ...) = 4
+.1 < S 0:0(0) win 32792 <mss 1000>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535
`);
    assert.deepEqual(r, { result: 'pass', reason: '' });
  });

  it('a blocking connect returns when the SYN-ACK arrives', () => {
    const r = run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0...0.100 connect(3, ..., ...) = 0
+0 > S 0:0(0) <...>
+.1 < S. 0:0(0) ack 1 win 5000 <mss 1000>
+0 > . 1:1(0) ack 1
`);
    assert.deepEqual(r, { result: 'pass', reason: '' });
  });
});

describe('conformance runner: aggregation of segments', () => {
  const w = (opts: string): ScriptResult => run(`${opts}${OPEN}+0 write(4, ..., 3000) = 3000\n+0 > P. 1:3001(3000) ack 1\n`);

  it('several MSS-sized segments satisfy one larger expected line', () => {
    assert.deepEqual(w(''), { result: 'pass', reason: '' });
  });

  it('--strict_segments turns that off', () => {
    expectFail(w('--strict_segments\n'), N + 3, 'expected P. 1:3001(3000) ack 1', '(actual . 1:1001(1000) ack 1');
  });
});

describe('conformance runner: skips name the missing feature', () => {
  it('an unsupported system call', () => {
    const r = run(`${OPEN}+0 splice(4, NULL, 5, NULL, 10, 0) = 10\n`);
    assert.equal(r.result, 'skip');
    assert.match(r.reason, /^line 9: system call splice\(\) is not supported/);
  });

  it('an unknown shell command', () => {
    const r = run('`frobnicate --all`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
    assert.equal(r.result, 'skip');
    assert.match(r.reason, /shell command 'frobnicate --all'/);
  });

  it('a NULL buffer pointer', () => {
    const r = run(`${OPEN}+0 write(4, NULL, 10) = -1 EFAULT (Bad address)\n`);
    assert.equal(r.result, 'skip');
    assert.match(r.reason, /NULL buffer pointer/);
  });

  it('a script that does not parse', () => {
    const r = run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > P. 1:10(3)\n');
    assert.equal(r.result, 'skip');
    assert.match(r.reason, /^parse error: line 2: inconsistent sequence range/);
  });

  it('Python outside the subset', () => {
    const r = run(`${OPEN}+0 %{ import os }%\n`);
    assert.equal(r.result, 'skip');
    assert.match(r.reason, /Python statement not supported/);
  });
});

describe('conformance runner: timestamps', () => {
  const ts = (val: number): ScriptResult => run(`--tcp_ts_tick_usecs=1000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000,nop,nop,TS val 10 ecr 0>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val 100 ecr 10>
+.1 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 20 ecr 100>
+0 accept(3, ..., ...) = 4
+.5 write(4, ..., 100) = 100
+0 > P. 1:101(100) ack 1 <nop,nop,TS val ${val} ecr 20>
`);

  it('maps inbound ecr to the live TS val and checks outbound val on a 1 kHz clock', () => {
    assert.deepEqual(ts(700), { result: 'pass', reason: '' });
    assert.deepEqual(ts(703), { result: 'pass', reason: '' });
  });

  it('fails a TS val off by more than the tolerance in ticks', () => {
    expectFail(ts(690), 10, 'TS val: expected 690, actual 700');
    expectFail(ts(800), 10, 'TS val: expected 800, actual 700');
  });
});

describe('conformance runner: poll and epoll', () => {
  const script = (first: string): string => `${OPEN}+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLOUT, fd=4}) = 0
+0 epoll_wait(5, {events=${first}, fd=4}, 1, 0) = 1
+0 < P. 1:101(100) ack 1 win 65535
* > . 1:1(0) ack 101
+0 epoll_wait(5, {events=EPOLLIN|EPOLLOUT, fd=4}, 1, 0) = 1
+0 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 0) = 1
+0 read(4, ..., 1000) = 100
+0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
+0 poll([{fd=4, events=POLLIN, revents=0}], 1, 0) = 0
+0...0.1 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 1000) = 1
+.1 < P. 101:201(100) ack 1 win 65535
`;

  it('checks counts, events and revents, and a poll that waits', () => {
    assert.deepEqual(run(script('EPOLLOUT')), { result: 'pass', reason: '' });
  });

  it('fails on the wrong event mask', () => {
    expectFail(run(script('EPOLLIN')), N + 4, 'epoll_wait: epoll events: expected 0x1, actual 0x4');
  });
});

describe('conformance runner: scratch files and sendfile', () => {
  const script = (size: number): string => `\`/bin/rm -f /tmp/f
/bin/dd bs=1 count=${size} if=/dev/zero of=/tmp/f status=none\`
${OPEN}+0 open("/tmp/f", O_RDONLY) = 5
+0 sendfile(4, 5, [0], 7) = ${Math.min(size, 7)}
+0 > P. 1:${1 + Math.min(size, 7)}(${Math.min(size, 7)}) ack 1
+0 close(5) = 0
+0 close(5) = -1 EBADF (Bad file descriptor)
+0 open("/tmp/missing", O_RDONLY) = -1 ENOENT (No such file or directory)
`;

  it('dd makes a file of zeros that sendfile sends on the socket', () => {
    assert.deepEqual(run(script(5)), { result: 'pass', reason: '' });
    assert.deepEqual(run(script(9)), { result: 'pass', reason: '' });
  });

  it('dd from anything but /dev/zero skips', () => {
    const r = run(script(5).replace('/dev/zero', '/dev/urandom'));
    assert.equal(r.result, 'skip');
    assert.match(r.reason, /shell command '\/bin\/dd/);
  });
});

describe('conformance runner: /proc/net/tcp checks', () => {
  it('a grep for the listener on port 8080 (0x1F90, state 0A) succeeds, one for an established socket before any fails', () => {
    const listen = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n';
    assert.deepEqual(run(`${listen}+0 \`grep " 0A " /proc/net/tcp /proc/net/tcp6 | grep ":1F90"\`\n`), { result: 'pass', reason: '' });
    assert.deepEqual(run(`${listen}+0 \`grep " 0A " /proc/net/tcp6 | grep ":1F90"\`\n`, 'ipv4-mapped-ipv6'), { result: 'pass', reason: '' });
    expectFail(run(`${listen}+0 \`grep " 01 " /proc/net/tcp | grep ":1F90"\`\n`), 4, 'found no line');
    expectFail(run(`${listen}+0 \`grep " 0A " /proc/net/tcp6\`\n`), 4, 'found no line');
  });

  it('the local address is encoded as Linux does (192.168.0.1:8080 → 0100A8C0:1F90)', () => {
    const r = run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 `grep "0100A8C0:1F90 00000000:0000 0A" /proc/net/tcp`\n');
    assert.deepEqual(r, { result: 'pass', reason: '' });
  });
});
