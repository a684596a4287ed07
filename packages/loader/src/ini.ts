/**
 * config.ini as Python's configparser reads and writes it, and Python's `str()` of JSON values, so
 * that `trtllm convert` writes the same `config.ini [gpt]` text hf_gpt_convert.py writes.
 *
 * Writing (configparser.write, default options): `[section]`, then `key = value` per line with keys
 * lower-cased (optionxform), a newline inside a value continued as `\n\t`, and a blank line after
 * each section. Reading: `key = value` or `key: value`, keys lower-cased, indented lines continue the
 * previous value, `#` / `;` full-line comments, the last duplicate wins.
 *
 * Values are `f'{v}'` of what json.load gives: str as is; None / True / False; int; float in
 * repr form (shortest round-trip digits; exponent form below 1e-4 and from 1e16: `1e-05`); lists
 * and dicts in repr form (`['GPT2LMHeadModel']`, `{0: 'LABEL_0'}`). JSON is parsed here (not by
 * JSON.parse) to keep what Python keeps: key order, and `1.0` being a float.
 */
import { LoaderError } from './errors.js';

/** A JSON value as Python sees it: floats stay floats even when integral. */
export type PyValue = null | boolean | number | PyFloat | string | PyValue[] | PyDict;
export class PyFloat {
  constructor(readonly value: number) {}
}
export class PyDict {
  constructor(readonly entries: [string, PyValue][]) {}
}

/** Parse JSON text into PyValues (order-preserving dicts, floats marked). */
export function parsePyJson(text: string, file: string): PyValue {
  let i = 0;
  const fail = (expected: string): LoaderError => new LoaderError('format', { file, item: `JSON at character ${i}`, expected, got: JSON.stringify(text.slice(i, i + 20)) });
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, PyValue][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return new PyDict(entries);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw fail('a string key');
        const k = str();
        ws();
        if (text[i++] !== ':') throw fail("':'");
        entries.push([k, value()]);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return new PyDict(entries);
        }
        else throw fail("',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const items: PyValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return items;
        }
        else throw fail("',' or ']'");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [['true', true], ['false', false], ['null', null], ['NaN', new PyFloat(NaN)], ['Infinity', new PyFloat(Infinity)], ['-Infinity', new PyFloat(-Infinity)]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (!m) throw fail('a JSON value');
    i += m[0].length;
    return m[1] !== undefined || m[2] !== undefined ? new PyFloat(Number(m[0])) : Number(m[0]);
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) throw fail('a closing quote');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const v = value();
  ws();
  if (i !== text.length) throw fail('end of JSON');
  return v;
}

/** Python's repr() of a float. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, e] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const exp = Number(e);
  if (exp < -4 || exp >= 16) return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const point = exp + 1;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Python's repr() of a str. */
export function pyStrRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === q) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}

/** Python's repr() of a value. */
export function pyRepr(v: PyValue): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'string') return pyStrRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  // json.load gives str keys; a key that looks like an int stays a str
  return `{${v.entries.map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
}

/** Python's str() of a value: a str as is, everything else as repr. */
export function pyStr(v: PyValue): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** configparser.write of sections in order (keys lower-cased; a later duplicate replaces the value in place). */
export function formatIni(sections: readonly (readonly [string, readonly (readonly [string, string])[]])[]): string {
  let out = '';
  for (const [name, pairs] of sections) {
    const merged = new Map<string, string>();
    for (const [k, v] of pairs) merged.set(k.toLowerCase(), v);
    out += `[${name}]\n`;
    for (const [k, v] of merged) out += `${k} = ${v.replace(/\n/g, '\n\t')}\n`;
    out += '\n';
  }
  return out;
}

/** configparser's reading of an ini text: section → key → value. */
export function parseIni(text: string, file: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  let lastKey: string | undefined;
  text.split(/\r?\n/).forEach((line, n) => {
    if (/^\s*[#;]/.test(line)) return;
    if (line.trim() === '') {
      lastKey = undefined;
      return;
    }
    if (/^\s/.test(line) && section && lastKey !== undefined) {
      section.set(lastKey, `${section.get(lastKey)}\n${line.trim()}`);
      return;
    }
    const head = /^\[([^\]]+)\]\s*$/.exec(line);
    if (head) {
      section = out.get(head[1]!) ?? new Map<string, string>();
      out.set(head[1]!, section);
      lastKey = undefined;
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!kv || !section) throw new LoaderError('format', { file, item: `line ${n + 1}`, expected: section ? '`key = value`' : 'a [section] header first', got: JSON.stringify(line) });
    lastKey = kv[1]!.trim().toLowerCase();
    section.set(lastKey, kv[2]!.trim());
  });
  return out;
}
