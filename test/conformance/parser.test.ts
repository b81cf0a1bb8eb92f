/**
 * The packetdrill parser on small scripts written for these tests: option lines, every time
 * form, system calls with structured arguments and errno notes, packet lines with options,
 * ICMP lines, commands and code blocks; and parse errors that name the line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError, parseScript } from '../../src/conformance/parser.js';
import { lex } from '../../src/conformance/lexer.js';

describe('packetdrill lexer', () => {
  it('keeps flags, floats, ellipses and hex words apart', () => {
    const t = lex('+.1...0.200 > S. 0:0(0) <FO 3021b9d8>').map((x) => `${x.kind}:${x.text}`);
    assert.deepEqual(t, [
      'punct:+', 'num:.1', 'ellipsis:...', 'num:0.200', 'punct:>', 'word:S', 'punct:.', 'num:0', 'punct::', 'num:0',
      'punct:(', 'num:0', 'punct:)', 'punct:<', 'word:FO', 'word:3021b9d8', 'punct:>', 'eof:',
    ]);
  });

  it('counts lines through comments, commands and code blocks', () => {
    const t = lex('/* a\nb */ `x\ny`\n%{ z\n}%\nw // c\nv');
    assert.deepEqual(t.map((x) => [x.kind, x.line]), [['cmd', 2], ['code', 4], ['word', 6], ['word', 7], ['eof', 7]]);
  });
});

describe('packetdrill parser', () => {
  it('parses options, init and cleanup commands, and each time form', () => {
    const s = parseScript(`// header
--tolerance_usecs=7000
--strict_segments
\`../common/defaults.sh\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+.25 close(3) = 0
1.5 close(3) = -1 EBADF (Bad file descriptor)
+.3~+.310 > . 1:1(0) ack 1
* > F. 1:1(0) ack 1
+0...0.100 read(4, ..., 10) = 10
\`/tmp/restore.sh\`
`);
    assert.equal(s.options.get('tolerance_usecs'), '7000');
    assert.equal(s.options.get('strict_segments'), '');
    assert.equal(s.init?.cmd, '../common/defaults.sh');
    assert.equal(s.cleanup?.cmd, '/tmp/restore.sh');
    assert.deepEqual(s.events.map((e) => [e.line, e.time.kind, e.time.us]), [
      [5, 'abs', 0], [6, 'rel', 250_000], [7, 'abs', 1_500_000], [8, 'rel', 300_000], [9, 'any', 0], [10, 'rel', 0],
    ]);
    assert.deepEqual(s.events[3]!.time.rangeEnd, { kind: 'rel', us: 310_000 });
    assert.deepEqual(s.events[5]!.time.blockEnd, { kind: 'abs', us: 100_000 });
    const c = s.events[2]!.body;
    assert.ok(c.kind === 'syscall');
    assert.equal(c.errno, 'EBADF');
    assert.deepEqual(c.result, { t: 'int', v: -1 });
  });

  it('parses packet lines: flags, ranges, ack/win/urg, and every option form', () => {
    const s = parseScript(`0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0 > [ect0] P. 1:1001(1000) ack 1 win 257 urg 3 <nop,nop,TS val 100 ecr 700,sack 1001:2001 3001:4001>
+0 > S 0:0(0) <...>
+0 < - 5:5(0) win 0
+0 < SEW 0:0(0) win 10 <FO abcd1234,nop,nop,FOEXP,md5 000102030405060708090a0b0c0d0e0f>
+0 < icmp unreachable frag_needed mtu 800 [5:6(1)]
`);
    const p = s.events.map((e) => e.body);
    assert.ok(p[0]!.kind === 'packet' && p[0]!.tcp !== undefined);
    assert.deepEqual(p[0]!.tcp, {
      flags: 'S', start: 0, end: 0, len: 0, win: 32792,
      options: [{ kind: 'mss', v: 1000 }, { kind: 'sackOK' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'wscale', v: 7 }],
    });
    assert.ok(p[1]!.kind === 'packet');
    assert.deepEqual(p[1]!.ip, { ecn: 'ect0' });
    assert.deepEqual(p[1]!.tcp, {
      flags: 'P.', start: 1, end: 1001, len: 1000, ack: 1, win: 257, urg: 3,
      options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'ts', val: 100, ecr: 700 }, { kind: 'sack', blocks: [[1001, 2001], [3001, 4001]] }],
    });
    assert.ok(p[2]!.kind === 'packet' && p[2]!.tcp?.options === 'any');
    assert.ok(p[3]!.kind === 'packet' && p[3]!.tcp?.flags === '');
    assert.ok(p[4]!.kind === 'packet');
    assert.deepEqual(p[4]!.tcp?.options, [
      { kind: 'fo', cookie: 'abcd1234' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'foexp', cookie: '' },
      { kind: 'md5', hex: '000102030405060708090a0b0c0d0e0f' },
    ]);
    assert.ok(p[5]!.kind === 'packet');
    assert.deepEqual(p[5]!.icmp, { type: 'unreachable', code: 'frag_needed', mtu: 800, quotedSeq: 5, quotedLen: 1 });
  });

  it('parses structured system-call arguments across lines', () => {
    const s = parseScript(`0 sendmsg(4, {msg_name(...)=...,
        msg_iov(2)=[{..., 100}, {..., 200}], msg_flags=0}, MSG_MORE|MSG_DONTWAIT) = 300
+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
+0 bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0
+0 getsockopt(4, SOL_TCP, TCP_MAXSEG, [1100], [4]) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 write(4, NULL, 10) = -1 EFAULT(Bad address)
`);
    const b = s.events.map((e) => e.body);
    assert.ok(b[0]!.kind === 'syscall');
    assert.equal(b[0]!.name, 'sendmsg');
    const m = b[0]!.args[1]!;
    assert.ok(m.t === 'struct');
    assert.deepEqual(m.fields.map((f) => f.name), ['msg_name', 'msg_iov', 'msg_flags']);
    assert.deepEqual(m.fields[1]!.arg, { t: 'int', v: 2 });
    assert.deepEqual(b[0]!.args[2], { t: 'or', items: [{ t: 'sym', name: 'MSG_MORE' }, { t: 'sym', name: 'MSG_DONTWAIT' }] });
    assert.ok(b[2]!.kind === 'syscall');
    const sa = b[2]!.args[1]!;
    assert.ok(sa.t === 'struct');
    assert.deepEqual(sa.fields[1], { name: 'sin_port', arg: null, value: { t: 'call', fn: 'htons', args: [{ t: 'int', v: 8080 }] } });
    assert.ok(b[3]!.kind === 'syscall');
    assert.deepEqual(b[3]!.args[3], { t: 'list', items: [{ t: 'int', v: 1100 }] });
    assert.ok(b[4]!.kind === 'syscall' && b[4]!.errno === 'EINPROGRESS');
    assert.ok(b[5]!.kind === 'syscall' && b[5]!.errno === 'EFAULT');
    assert.deepEqual(b[5]!.args[1], { t: 'null' });
  });

  it('substitutes -D defines for words', () => {
    const s = parseScript('0 < icmp unreachable CODE\n+0 > S 0:0(0) <FO TFO_COOKIE>', new Map([['CODE', 'host_unreachable'], ['TFO_COOKIE', '3021b9d889017eeb']]));
    const b = s.events.map((e) => e.body);
    assert.ok(b[0]!.kind === 'packet' && b[0]!.icmp?.code === 'host_unreachable');
    assert.ok(b[1]!.kind === 'packet');
    assert.deepEqual(b[1]!.tcp?.options, [{ kind: 'fo', cookie: '3021b9d889017eeb' }]);
  });

  it('parses commands and code blocks as timed events', () => {
    const s = parseScript('0 `sysctl -q net.ipv4.tcp_ecn=1`\n+0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%');
    assert.deepEqual(s.events.map((e) => e.body.kind), ['command', 'code']);
  });

  const bad: [string, string, number][] = [
    ['inconsistent range', '0 socket(..., SOCK_STREAM, 0) = 3\n+0 > P. 1:1001(999) ack 1', 2],
    ['inbound without a window', '0 < S 0:0(0)', 1],
    ['a range on a system call', '0 close(3) = 0\n+.1~+.2 close(3) = 0', 2],
    ['`...` on a packet', '0 > S 0:0(0)\n+.1...0.2 > . 1:1(0) ack 1', 2],
    ['garbage', '0 socket(..., SOCK_STREAM, 0) = 3\n+0 ???', 2],
    ['missing result', '0 close(3)\n+0 close(4) = 0', 2],
    ['unterminated string', '0 bind(3, "abc, 1) = 0', 1],
    ['bad flags', '0 > SX 0:0(0)', 1],
    ['a command in the middle without a time', '0 close(3) = 0\n`true`\n+0 close(3) = 0', 2],
    ['negative time', '0 close(3) = 0\n+-1 close(3) = 0', 2],
  ];
  for (const [what, text, line] of bad) {
    it(`rejects ${what} with its line`, () => {
      assert.throws(() => parseScript(text), (e: unknown) => e instanceof ParseError && e.line === line);
    });
  }
});
