// Python's str()/repr() of json.load values and configparser's text, as hf_gpt_convert.py's
// config.ini holds them (values checked against CPython 3.12 output).
import { describe, expect, it } from 'vitest';
import { formatIni, parseIni, parsePyJson, pyFloatRepr, pyRepr, pyStr } from './ini.js';

describe('Python repr', () => {
  it('floats: shortest digits, exponent form below 1e-4 and from 1e16, integral floats keep .0', () => {
    const cases: [number, string][] = [
      [1e-5, '1e-05'], [0.1, '0.1'], [0.0001, '0.0001'], [0.00012, '0.00012'], [1.5e-7, '1.5e-07'], [123, '123.0'],
      [1e16, '1e+16'], [1.234e16, '1.234e+16'], [9999999999999998, '9999999999999998.0'], [0.02, '0.02'], [-2.5, '-2.5'], [0, '0.0'], [1e100, '1e+100'], [Infinity, 'inf'],
    ];
    for (const [x, s] of cases) expect(pyFloatRepr(x), String(x)).toBe(s);
  });
  it('json values: None/True/False, int vs float kept from the text, str quoting, lists, dicts in file order', () => {
    const v = parsePyJson('{"b": 1.0, "a": [1, 2.50, null, true], "id2label": {"1": "LABEL_1", "0": "it\'s"}, "s": "x\\ny"}', 't.json');
    expect(pyStr(v)).toBe(`{'b': 1.0, 'a': [1, 2.5, None, True], 'id2label': {'1': 'LABEL_1', '0': "it's"}, 's': 'x\\ny'}`);
    expect(pyRepr(['GPT2LMHeadModel'])).toBe("['GPT2LMHeadModel']");
    expect(pyStr('gelu_new')).toBe('gelu_new');
    expect(() => parsePyJson('{"a": }', 'bad.json')).toThrow(/bad\.json: JSON at character 6: expected a JSON value/);
  });
});

describe('configparser text', () => {
  it('writes `key = value` with keys lower-cased, continuation lines, a blank line after the section; reads it back', () => {
    const text = formatIni([['gpt', [['N_Embd', '64'], ['note', 'a\nb'], ['empty', ''], ['n_embd', '65']]]]);
    expect(text).toBe('[gpt]\nn_embd = 65\nnote = a\n\tb\nempty = \n\n');
    const back = parseIni(`# comment\n${text}[other]\nk: v\n`, 'c.ini');
    expect([...back.get('gpt')!]).toEqual([['n_embd', '65'], ['note', 'a\nb'], ['empty', '']]);
    expect(back.get('other')!.get('k')).toBe('v');
    expect(() => parseIni('n = 1\n', 'x.ini')).toThrow(/x\.ini: line 1: expected a \[section\] header first/);
  });
});
