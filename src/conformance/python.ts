/**
 * The small subset of Python that packetdrill `%{ }%` snippets use: statements separated by
 * newlines or `;` (`assert EXPR[, MSG]`, `NAME = EXPR`, `NAME += EXPR` and friends, `print(...)`,
 * which does nothing here), `#` comments and `\` continuations; integer expressions with names,
 * arithmetic, bitwise operators, chained comparisons, `and`/`or`/`not`, parentheses, strings and
 * `'fmt' % value`. Anything else throws `PyUnsupported` (the runner skips the script with that
 * reason). Variables persist across snippets of one script (`PyEnv`).
 */

export class PyUnsupported extends Error {}

/** an assertion that did not hold */
export class PyAssertion extends Error {
  constructor(readonly expr: string, readonly detail: string) {
    super(`assertion failed: ${expr}${detail === '' ? '' : ` (${detail})`}`);
  }
}

export type PyVal = number | string | boolean;

/** names visible to snippets; `lookup` throws PyUnsupported with a reason for unknown names */
export interface PyEnv {
  get(name: string): PyVal | undefined;
  set(name: string, v: PyVal): void;
  /** why `name` has no value (a tcp_info field the stack does not report …), or null */
  missing(name: string): string | null;
}

type Tok = { k: 'num' | 'name' | 'str' | 'op'; v: string; n: number };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const m =
      /^0[xX][0-9a-fA-F]+/.exec(src.slice(i)) ??
      /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
    if (m !== null && /[0-9]/.test(c)) {
      const text = m[0];
      out.push({ k: 'num', v: text, n: text.startsWith('0x') || text.startsWith('0X') ? parseInt(text.slice(2), 16) : Number(text) });
      i += text.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const w = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))![0];
      out.push({ k: 'name', v: w, n: 0 });
      i += w.length;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new PyUnsupported('unterminated Python string');
      out.push({ k: 'str', v: src.slice(i + 1, end), n: 0 });
      i = end + 1;
      continue;
    }
    const ops = ['**', '//', '<<', '>>', '<=', '>=', '==', '!=', '+=', '-=', '*=', '|=', '&=', '(', ')', '+', '-', '*', '/', '%', '&', '|', '^', '~', '<', '>', '=', ','];
    const op = ops.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new PyUnsupported(`Python syntax not supported: '${c}'`);
    out.push({ k: 'op', v: op, n: 0 });
    i += op.length;
  }
  return out;
}

/** splits a snippet into statements (newlines and `;` outside strings; `#` comments; `\` joins lines) */
function statements(code: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q: string | null = null;
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (q !== null) {
      cur += c;
      if (c === q) q = null;
      continue;
    }
    if (c === "'" || c === '"') {
      q = c;
      cur += c;
      continue;
    }
    if (c === '#') {
      while (i < code.length && code[i] !== '\n') i++;
      i--;
      continue;
    }
    if (c === '\\' && code[i + 1] === '\n') {
      i++;
      cur += ' ';
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') depth--;
    if ((c === '\n' && depth <= 0) || c === ';') {
      if (cur.trim() !== '') out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c === '\n' ? ' ' : c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

class Expr {
  private i = 0;
  constructor(private readonly t: Tok[], private readonly env: PyEnv) {}

  get done(): boolean {
    return this.i >= this.t.length;
  }
  private peek(): Tok | undefined {
    return this.t[this.i];
  }
  private isOp(v: string): boolean {
    const t = this.t[this.i];
    return t !== undefined && t.k === 'op' && t.v === v;
  }
  private isName(v: string): boolean {
    const t = this.t[this.i];
    return t !== undefined && t.k === 'name' && t.v === v;
  }
  expect(v: string): void {
    if (!this.isOp(v)) throw new PyUnsupported(`Python: expected '${v}'`);
    this.i++;
  }
  atOp(v: string): boolean {
    return this.isOp(v);
  }

  parse(): PyVal {
    return this.or();
  }
  private or(): PyVal {
    let v = this.and();
    while (this.isName('or')) {
      this.i++;
      const r = this.and();
      v = truthy(v) ? v : r;
    }
    return v;
  }
  private and(): PyVal {
    let v = this.not();
    while (this.isName('and')) {
      this.i++;
      const r = this.not();
      v = truthy(v) ? r : v;
    }
    return v;
  }
  private not(): PyVal {
    if (this.isName('not')) {
      this.i++;
      return !truthy(this.not());
    }
    return this.cmp();
  }
  private cmp(): PyVal {
    const first = this.bitor();
    let left = first;
    let result: boolean | null = null;
    for (;;) {
      const t = this.peek();
      if (t === undefined || t.k !== 'op' || !['<', '>', '<=', '>=', '==', '!='].includes(t.v)) break;
      this.i++;
      const right = this.bitor();
      const ok = compare(t.v, left, right);
      result = (result ?? true) && ok;
      left = right;
    }
    return result === null ? first : result;
  }
  private bitor(): PyVal {
    let v = this.bitxor();
    while (this.isOp('|')) {
      this.i++;
      v = num(v) | num(this.bitxor());
    }
    return v;
  }
  private bitxor(): PyVal {
    let v = this.bitand();
    while (this.isOp('^')) {
      this.i++;
      v = num(v) ^ num(this.bitand());
    }
    return v;
  }
  private bitand(): PyVal {
    let v = this.shift();
    while (this.isOp('&')) {
      this.i++;
      v = Number(BigInt(num(v)) & BigInt(num(this.shift())));
    }
    return v;
  }
  private shift(): PyVal {
    let v = this.add();
    for (;;) {
      if (this.isOp('<<')) {
        this.i++;
        v = num(v) * 2 ** num(this.add());
      } else if (this.isOp('>>')) {
        this.i++;
        v = Math.floor(num(v) / 2 ** num(this.add()));
      } else return v;
    }
  }
  private add(): PyVal {
    let v = this.mul();
    for (;;) {
      if (this.isOp('+')) {
        this.i++;
        const r = this.mul();
        v = typeof v === 'string' && typeof r === 'string' ? v + r : num(v) + num(r);
      } else if (this.isOp('-')) {
        this.i++;
        v = num(v) - num(this.mul());
      } else return v;
    }
  }
  private mul(): PyVal {
    let v = this.unary();
    for (;;) {
      if (this.isOp('*')) {
        this.i++;
        v = num(v) * num(this.unary());
      } else if (this.isOp('//')) {
        this.i++;
        v = Math.floor(num(v) / num(this.unary()));
      } else if (this.isOp('/')) {
        this.i++;
        v = num(v) / num(this.unary());
      } else if (this.isOp('%')) {
        this.i++;
        const r = this.unary();
        v = typeof v === 'string' ? format(v, r) : num(v) - Math.floor(num(v) / num(r)) * num(r);
      } else return v;
    }
  }
  private unary(): PyVal {
    if (this.isOp('-')) {
      this.i++;
      return -num(this.unary());
    }
    if (this.isOp('+')) {
      this.i++;
      return num(this.unary());
    }
    if (this.isOp('~')) {
      this.i++;
      return ~num(this.unary());
    }
    return this.atom();
  }
  private atom(): PyVal {
    const t = this.peek();
    if (t === undefined) throw new PyUnsupported('Python: unexpected end of expression');
    this.i++;
    if (t.k === 'num') return t.n;
    if (t.k === 'str') return t.v;
    if (t.k === 'op' && t.v === '(') {
      const v = this.parse();
      this.expect(')');
      return v;
    }
    if (t.k === 'name') {
      if (t.v === 'True') return true;
      if (t.v === 'False') return false;
      if (this.isOp('(')) throw new PyUnsupported(`Python function call ${t.v}() not supported`);
      const v = this.env.get(t.v);
      if (v !== undefined) return v;
      const why = this.env.missing(t.v);
      throw new PyUnsupported(why ?? `Python name '${t.v}' is not defined`);
    }
    throw new PyUnsupported(`Python: unexpected '${t.v}'`);
  }
}

function truthy(v: PyVal): boolean {
  return typeof v === 'string' ? v.length > 0 : typeof v === 'boolean' ? v : v !== 0;
}

function num(v: PyVal): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  throw new PyUnsupported('Python: arithmetic on a string');
}

function compare(op: string, a: PyVal, b: PyVal): boolean {
  if (typeof a === 'string' || typeof b === 'string') {
    if (op === '==') return a === b;
    if (op === '!=') return a !== b;
    throw new PyUnsupported('Python: ordering strings');
  }
  const x = num(a);
  const y = num(b);
  switch (op) {
    case '<':
      return x < y;
    case '>':
      return x > y;
    case '<=':
      return x <= y;
    case '>=':
      return x >= y;
    case '==':
      return x === y;
    default:
      return x !== y;
  }
}

/** `'fmt' % value`: %d %s %u %x with one value */
function format(fmt: string, v: PyVal): string {
  return fmt.replace(/%[dsux%]/g, (m) => (m === '%%' ? '%' : m === '%x' ? num(v).toString(16) : String(typeof v === 'boolean' ? (v ? 'True' : 'False') : v)));
}

/**
 * Runs one snippet against `env`. Throws `PyAssertion` for the first failing assert and
 * `PyUnsupported` for code outside the subset.
 */
export function runPython(code: string, env: PyEnv): void {
  for (const st of statements(code)) {
    const toks = tokenize(st);
    if (toks.length === 0) continue;
    const head = toks[0]!;
    if (head.k === 'name' && head.v === 'print') continue;
    if (head.k === 'name' && head.v === 'pass') continue;
    if (head.k === 'name' && head.v === 'assert') {
      // the condition ends at the first top-level comma
      let depth = 0;
      let cut = toks.length;
      for (let k = 1; k < toks.length; k++) {
        const t = toks[k]!;
        if (t.k === 'op' && t.v === '(') depth++;
        else if (t.k === 'op' && t.v === ')') depth--;
        else if (t.k === 'op' && t.v === ',' && depth === 0) {
          cut = k;
          break;
        }
      }
      const cond = new Expr(toks.slice(1, cut), env);
      const v = cond.parse();
      if (!cond.done) throw new PyUnsupported(`Python statement not supported: ${st}`);
      if (!truthy(v)) {
        let detail = '';
        if (cut < toks.length) {
          try {
            const m = new Expr(toks.slice(cut + 1), env).parse();
            detail = typeof m === 'string' ? m : String(m);
          } catch {
            detail = '';
          }
        }
        const condText = st.slice(6).split(',')[0]!.trim();
        throw new PyAssertion(condText, detail === '' ? '' : `got ${detail}`);
      }
      continue;
    }
    if (head.k === 'name' && toks.length >= 2 && toks[1]!.k === 'op' && ['=', '+=', '-=', '*=', '|=', '&='].includes(toks[1]!.v)) {
      const e = new Expr(toks.slice(2), env);
      let v = e.parse();
      if (!e.done) throw new PyUnsupported(`Python statement not supported: ${st}`);
      const op = toks[1]!.v;
      if (op !== '=') {
        const cur = env.get(head.v);
        if (cur === undefined) throw new PyUnsupported(env.missing(head.v) ?? `Python name '${head.v}' is not defined`);
        const a = num(cur);
        const b = num(v);
        v = op === '+=' ? a + b : op === '-=' ? a - b : op === '*=' ? a * b : op === '|=' ? a | b : a & b;
      }
      env.set(head.v, v);
      continue;
    }
    throw new PyUnsupported(`Python statement not supported: ${st}`);
  }
}
