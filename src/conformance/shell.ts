/**
 * Shell commands in scripts, interpreted instead of run: `defaults.sh` (read from the script
 * tree and interpreted line by line), `sysctl -q net.X=V ...`, `set_sysctls.py /proc/sys/net/X=V`,
 * the sysctl restore script, `ip tcp_metrics flush`, `tc qdisc ... pfifo` (no pacing: what the
 * test device does anyway) and `ethtool -K tun0 tso off gso off`. Each command becomes a list of
 * `ShellAction`s; a command outside this set yields an `unsupported` action with the reason (the
 * runner skips the script with it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type ShellAction =
  /** `fromScript`: written in the script itself (not in a shell file such as defaults.sh) */
  | { kind: 'sysctl'; name: string; value: string; fromScript: boolean }
  | { kind: 'offload'; tso?: boolean; gso?: boolean; gro?: boolean }
  /** `grep PAT /proc/net/tcp[6] ... | grep PAT`: succeeds when a line of those files has every pattern */
  | { kind: 'proc-grep'; files: string[]; patterns: string[]; text: string }
  /** a scratch file of `size` zero bytes (`dd if=/dev/zero of=PATH`), or its removal (size -1) */
  | { kind: 'file'; path: string; size: number }
  | { kind: 'noop'; what: string }
  | { kind: 'unsupported'; reason: string };

/**
 * Interprets one back-quoted command (possibly several lines). `scriptDir` resolves relative
 * paths such as `../common/defaults.sh`.
 */
export function interpretCommand(cmd: string, scriptDir: string, depth = 0): ShellAction[] {
  const out: ShellAction[] = [];
  // join continuation lines, split on newlines and ';' / '&&'
  const text = cmd.replace(/\\\n/g, ' ');
  for (const raw of text.split(/\n|;|&&/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    out.push(...interpretLine(line, scriptDir, depth));
  }
  return out;
}

function interpretLine(line: string, scriptDir: string, depth: number): ShellAction[] {
  const grep = procGrep(line);
  if (grep !== null) return [grep];
  // drop redirections: > /dev/null 2>&1
  const l = line.replace(/\s*\d?>\s*&?\s*\S+/g, '').replace(/\s*\|\|\s*true\s*$/, '').trim();
  const words = splitWords(l);
  if (words.length === 0) return [];
  const prog = words[0]!;
  const base = prog.split('/').pop()!;
  if (base === 'defaults.sh' || base.endsWith('.sh')) {
    if (/sysctl_restore/.test(prog)) return [{ kind: 'noop', what: 'sysctl restore' }];
    if (depth > 2) return [{ kind: 'unsupported', reason: `nested shell script ${prog}` }];
    const path = findFile(prog, scriptDir);
    if (path === null) return [{ kind: 'unsupported', reason: `shell script ${prog} not found` }];
    return interpretCommand(readFileSync(path, 'utf8'), dirname(path), depth + 1);
  }
  if (base === 'sysctl') {
    const acts: ShellAction[] = [];
    for (const w of words.slice(1)) {
      if (w.startsWith('-')) continue;
      const eq = w.indexOf('=');
      if (eq < 0) return [{ kind: 'unsupported', reason: `sysctl read of ${w}` }];
      acts.push({ kind: 'sysctl', name: w.slice(0, eq).replace(/\//g, '.'), value: w.slice(eq + 1), fromScript: depth === 0 });
    }
    return acts;
  }
  if (base === 'set_sysctls.py') {
    const acts: ShellAction[] = [];
    for (const w of words.slice(1)) {
      const m = /^\/proc\/sys\/(.+?)=(.*)$/.exec(w);
      if (m === null) return [{ kind: 'unsupported', reason: `set_sysctls.py argument ${w}` }];
      acts.push({ kind: 'sysctl', name: m[1]!.replace(/\//g, '.'), value: m[2]!, fromScript: depth === 0 });
    }
    return acts;
  }
  if (prog === 'ip' && words[1] === 'tcp_metrics') return [{ kind: 'noop', what: 'tcp_metrics flush' }];
  if (prog === 'tc' && words[1] === 'qdisc') {
    const rest = words.slice(2).join(' ');
    if (/\bpfifo\b/.test(rest) && !/limit\s+0\b/.test(rest)) return [{ kind: 'noop', what: 'pfifo qdisc' }];
    return [{ kind: 'unsupported', reason: `qdisc '${rest}'` }];
  }
  if (prog === 'ethtool' && words[1] === '-K') {
    const a: { kind: 'offload'; tso?: boolean; gso?: boolean; gro?: boolean } = { kind: 'offload' };
    for (let i = 3; i + 1 < words.length; i += 2) {
      const on = words[i + 1] === 'on';
      const k = words[i]!;
      if (k === 'tso') a.tso = on;
      else if (k === 'gso') a.gso = on;
      else if (k === 'gro') a.gro = on;
      else return [{ kind: 'unsupported', reason: `ethtool -K ${k}` }];
    }
    return [a];
  }
  if (prog === 'true' || prog === ':') return [];
  if (base === 'rm') {
    const paths = words.slice(1).filter((w) => !w.startsWith('-'));
    return paths.map((p) => ({ kind: 'file', path: p, size: -1 }));
  }
  if (base === 'dd') {
    const kv = new Map(words.slice(1).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] as const));
    const bs = Number(kv.get('bs') ?? '512');
    const count = Number(kv.get('count') ?? 'NaN');
    const of = kv.get('of');
    if (kv.get('if') !== '/dev/zero' || of === undefined || !Number.isInteger(bs) || !Number.isInteger(count)) {
      return [{ kind: 'unsupported', reason: `shell command '${line}'` }];
    }
    return [{ kind: 'file', path: of, size: bs * count }];
  }
  // echo V > /sys/module/M/parameters/P: a module parameter, handled like a sysctl named module.M.P
  const mod = /^echo\s+(\S+)\s*>\s*\/sys\/module\/([A-Za-z0-9_]+)\/parameters\/([A-Za-z0-9_]+)$/.exec(line);
  if (mod !== null) return [{ kind: 'sysctl', name: `module.${mod[2]}.${mod[3]}`, value: mod[1]!, fromScript: depth === 0 }];
  return [{ kind: 'unsupported', reason: `shell command '${line.length > 70 ? line.slice(0, 67) + '...' : line}'` }];
}

/** a pipeline of fixed-string greps over /proc/net/tcp and /proc/net/tcp6, or null */
function procGrep(line: string): ShellAction | null {
  const stages = line.split('|').map((x) => splitWords(x.trim()));
  if (stages.length === 0 || stages[0]![0] !== 'grep') return null;
  const files: string[] = [];
  const patterns: string[] = [];
  for (let i = 0; i < stages.length; i++) {
    const w = stages[i]!.filter((x) => x !== '-q');
    if (w[0] !== 'grep' || w.length < 2 || w[1]!.startsWith('-')) return null;
    if (/[\\.*[\]^$?+(){}]/.test(w[1]!)) return null;
    patterns.push(w[1]!);
    const rest = w.slice(2);
    if (i === 0) {
      if (rest.length === 0 || !rest.every((f) => f === '/proc/net/tcp' || f === '/proc/net/tcp6')) return null;
      files.push(...rest);
    } else if (rest.length > 0) return null;
  }
  return { kind: 'proc-grep', files, patterns, text: line };
}

/** splits shell words, honouring "..." and '...' and expanding $((arithmetic)) */
function splitWords(line: string): string[] {
  const expanded = line.replace(/\$\(\(([^)]*)\)\)/g, (_m, e: string) => {
    if (!/^[0-9+\-*/ ()]+$/.test(e)) return _m;
    return String(evalArith(e));
  });
  const out: string[] = [];
  let cur = '';
  let q: string | null = null;
  let any = false;
  for (const c of expanded) {
    if (q !== null) {
      if (c === q) q = null;
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      q = c;
      any = true;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (cur !== '' || any) out.push(cur);
      cur = '';
      any = false;
      continue;
    }
    cur += c;
  }
  if (cur !== '' || any) out.push(cur);
  return out;
}

/** integer arithmetic with + - * / and parentheses */
function evalArith(e: string): number {
  const toks = e.match(/\d+|[+\-*/()]/g) ?? [];
  let i = 0;
  const expr = (): number => {
    let v = term();
    while (toks[i] === '+' || toks[i] === '-') v = toks[i++] === '+' ? v + term() : v - term();
    return v;
  };
  const term = (): number => {
    let v = factor();
    while (toks[i] === '*' || toks[i] === '/') v = toks[i++] === '*' ? v * factor() : Math.trunc(v / factor());
    return v;
  };
  const factor = (): number => {
    const t = toks[i++];
    if (t === '(') {
      const v = expr();
      i++;
      return v;
    }
    if (t === '-') return -factor();
    return Number(t);
  };
  return expr();
}

/** a script-relative path, or the same file name under a `common/` directory above the script */
function findFile(p: string, scriptDir: string): string | null {
  const direct = resolve(scriptDir, p);
  if (existsSync(direct)) return direct;
  const name = p.split('/').pop()!;
  let d = scriptDir;
  for (let k = 0; k < 6; k++) {
    const c = join(d, 'common', name);
    if (existsSync(c)) return c;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return null;
}
