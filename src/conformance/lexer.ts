/**
 * The packetdrill script lexer: turns the text after the option lines into tokens with their
 * line numbers. Comments (`//`, `/* *\/`) and whitespace disappear; back-quoted shell commands,
 * `%{ python }%` blocks and `"strings"` are single tokens; a token records whether whitespace
 * came before it (flags such as `S.` or `P.` are a word and a dot with no space between). A
 * character the language does not know becomes an `other` token, so the parser (not the lexer)
 * reports it with its line.
 */

export type TokKind = 'num' | 'word' | 'str' | 'cmd' | 'code' | 'ellipsis' | 'punct' | 'other' | 'eof';

export interface Token {
  kind: TokKind;
  /** the text (for `num`: as written; for `str`/`cmd`/`code`: the contents) */
  text: string;
  /** numeric value of a `num` token */
  value: number;
  line: number;
  /** whitespace or a comment came right before this token */
  sp: boolean;
}

const PUNCT = '<>()[]{},:=|~*+-.;!&/%^';

export class LexError extends Error {
  constructor(readonly line: number, msg: string) {
    super(msg);
  }
}

/** tokenizes `src`; `firstLine` is the line number of its first character */
export function lex(src: string, firstLine = 1): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = firstLine;
  let sp = true;
  const n = src.length;
  const push = (kind: TokKind, text: string, value = 0, at = line): void => {
    out.push({ kind, text, value, line: at, sp });
    sp = false;
  };
  while (i < n) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
      sp = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      sp = true;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      sp = true;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new LexError(line, 'unterminated /* comment');
      for (let k = i; k < end; k++) if (src[k] === '\n') line++;
      i = end + 2;
      sp = true;
      continue;
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw new LexError(line, 'unterminated backtick command');
      const at = line;
      const body = src.slice(i + 1, end);
      for (const ch of body) if (ch === '\n') line++;
      push('cmd', body, 0, at);
      i = end + 1;
      continue;
    }
    if (c === '%' && src[i + 1] === '{') {
      const end = src.indexOf('}%', i + 2);
      if (end < 0) throw new LexError(line, 'unterminated %{ code block');
      const at = line;
      const body = src.slice(i + 2, end);
      for (const ch of body) if (ch === '\n') line++;
      push('code', body, 0, at);
      i = end + 2;
      continue;
    }
    if (c === '"') {
      let s = '';
      let k = i + 1;
      for (; k < n && src[k] !== '"'; k++) {
        if (src[k] === '\n') throw new LexError(line, 'newline in string');
        if (src[k] === '\\' && k + 1 < n) {
          const e = src[++k]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === '0' ? '\0' : e;
        } else {
          s += src[k];
        }
      }
      if (k >= n) throw new LexError(line, 'unterminated string');
      // adjacent strings concatenate
      const prev = out[out.length - 1];
      if (prev !== undefined && prev.kind === 'str' && !sp) prev.text += s;
      else push('str', s);
      i = k + 1;
      continue;
    }
    if (c === '.' && src[i + 1] === '.' && src[i + 2] === '.') {
      push('ellipsis', '...');
      i += 3;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      let k = i;
      while (k < n && /[0-9A-Za-z_]/.test(src[k]!)) k++;
      if (src[k] === '.' && src[k + 1] !== '.' && /^[0-9]*$/.test(src.slice(i, k))) {
        // a float: digits '.' digits
        k++;
        while (k < n && isDigit(src[k]!)) k++;
      }
      const text = src.slice(i, k);
      if (/^[0-9]+$/.test(text) || /^[0-9]*\.[0-9]+$/.test(text) || /^[0-9]+\.$/.test(text)) push('num', text, Number(text));
      else if (/^0[xX][0-9a-fA-F]+$/.test(text)) push('num', text, parseInt(text.slice(2), 16));
      else push('word', text);
      i = k;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let k = i;
      while (k < n && /[A-Za-z0-9_]/.test(src[k]!)) k++;
      push('word', src.slice(i, k));
      i = k;
      continue;
    }
    if (PUNCT.includes(c)) {
      push('punct', c);
      i++;
      continue;
    }
    push('other', c);
    i++;
  }
  out.push({ kind: 'eof', text: '', value: 0, line, sp: true });
  return out;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
