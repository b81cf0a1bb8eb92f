/**
 * The Python subset of `%{ }%` snippets: assertions (with their message), assignments that
 * persist across snippets, chained comparisons, bitwise tests, comments and continuations; and
 * the refusal of anything outside the subset.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PyAssertion, PyUnsupported, runPython, type PyEnv } from '../../src/conformance/python.js';

function env(init: Record<string, number> = {}): PyEnv & { vars: Map<string, number | string | boolean> } {
  const vars = new Map<string, number | string | boolean>(Object.entries(init));
  return {
    vars,
    get: (n) => vars.get(n),
    set: (n, v) => void vars.set(n, v),
    missing: (n) => (n.startsWith('tcpi_') ? `TCP_INFO does not report ${n}` : null),
  };
}

describe('snippet Python subset', () => {
  it('passes true assertions and keeps variables between snippets', () => {
    const e = env({ tcpi_snd_cwnd: 12, tcpi_rtt: 9000, tcpi_options: 0x21 });
    runPython('TCP_INFINITE_SSTHRESH = 0x7fffffff', e);
    runPython(' cwnd = 10\n', e);
    runPython('print(tcpi_snd_cwnd); cwnd += 2; assert tcpi_snd_cwnd == cwnd, tcpi_snd_cwnd', e);
    runPython("assert 5000 <= tcpi_rtt <= 20000, 'srtt=%d us' % tcpi_rtt  # a comment", e);
    runPython('assert tcpi_options & 32 != 0 or False\nassert not (tcpi_snd_cwnd > 100)', e);
    runPython('assert tcpi_snd_cwnd == 12 \\\n  and tcpi_rtt // 1000 == 9', e);
    assert.equal(e.vars.get('cwnd'), 12);
    assert.equal(e.vars.get('TCP_INFINITE_SSTHRESH'), 0x7fffffff);
  });

  it('fails a false assertion with the condition and the message value', () => {
    const e = env({ tcpi_snd_cwnd: 7 });
    assert.throws(() => runPython('assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd', e), (x: unknown) => {
      assert.ok(x instanceof PyAssertion);
      assert.equal(x.message, 'assertion failed: tcpi_snd_cwnd == 10 (got 7)');
      return true;
    });
    assert.throws(() => runPython("assert 8 <= tcpi_snd_cwnd <= 9, 'cwnd=%d' % tcpi_snd_cwnd", e), /assertion failed: 8 <= tcpi_snd_cwnd <= 9 \(got cwnd=7\)/);
  });

  it('names a tcp_info field the stack does not report', () => {
    assert.throws(() => runPython('assert tcpi_ca_state == 0', env()), (x: unknown) => x instanceof PyUnsupported && x.message === 'TCP_INFO does not report tcpi_ca_state');
  });

  for (const code of ['import os', 'assert len(x) == 1', 'for i in range(3): pass', 'x = [1, 2]', 'assert undefined_name == 1']) {
    it(`refuses '${code}'`, () => {
      assert.throws(() => runPython(code, env()), PyUnsupported);
    });
  }
});
