/**
 * Adversarial input to the interpreter: arbitrary text and mutated scripts never escape as
 * exceptions — the parser throws only ParseError, the runner always answers pass / fail / skip —
 * and a failing run leaves nothing behind that changes the next run's result.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError, parseScript } from '../../src/conformance/parser.js';
import { runScriptText } from '../../src/conformance/runner.js';

const SCRIPT = `--tolerance_usecs=5000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0...0.1 read(4, ..., 10) = 10
+.1 < P. 1:11(10) ack 1 win 65535 <nop,nop,sack 1:2>
* > . 1:1(0) ack 11 <...>
+0 %{ assert 1 + 1 == 2 }%
+0 write(4, ..., 3000) = 3000
+0 > P. 1:3001(3000) ack 11
+0 close(4) = 0
`;

it('the parser throws nothing but ParseError on arbitrary text', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      try {
        parseScript(s);
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }),
    { seed: 42, numRuns: 500 },
  );
});

it('mutated scripts always give a pass / fail / skip result with a reason', () => {
  const lines = SCRIPT.split('\n');
  const mutation = fc.record({
    line: fc.nat({ max: lines.length - 1 }),
    kind: fc.constantFrom('drop', 'dup', 'swap', 'garble', 'number'),
    pos: fc.nat({ max: 60 }),
    text: fc.string({ minLength: 1, maxLength: 6 }),
    num: fc.integer({ min: -5, max: 100_000 }),
  });
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      const l = lines.slice();
      for (const m of ms) {
        const i = Math.min(m.line, l.length - 1);
        if (m.kind === 'drop') l.splice(i, 1);
        else if (m.kind === 'dup') l.splice(i, 0, l[i]!);
        else if (m.kind === 'swap' && i + 1 < l.length) [l[i], l[i + 1]] = [l[i + 1]!, l[i]!];
        else if (m.kind === 'garble') l[i] = l[i]!.slice(0, m.pos) + m.text + l[i]!.slice(m.pos);
        else l[i] = l[i]!.replace(/\d+/, String(m.num));
      }
      const r = runScriptText(l.join('\n'), { mode: 'ipv4', dir: '/nonexistent' });
      assert.ok(['pass', 'fail', 'skip'].includes(r.result));
      assert.ok(r.result === 'pass' ? r.reason === '' : r.reason.length > 0, JSON.stringify(r));
      assert.ok(!r.reason.startsWith('interpreter or stack exception'), r.reason);
    }),
    { seed: 7, numRuns: 150 },
  );
});

it('runs are independent: a failing script does not change the next result', () => {
  const first = runScriptText(SCRIPT, { mode: 'ipv4', dir: '/nonexistent' });
  runScriptText(SCRIPT.replace('ack 11 <...>', 'ack 12 <...>'), { mode: 'ipv4', dir: '/nonexistent' });
  assert.deepEqual(runScriptText(SCRIPT, { mode: 'ipv4', dir: '/nonexistent' }), first);
});
