#!/usr/bin/env node
// House-style lint (the rules in ARCHITECTURE.md, Packages and Testing) for one package: node scripts/lint-style.mjs <package-dir>
// Checks what a generic linter cannot know about this repo:
//   1. every ops/<op>.ts has its ops/<op>.test.ts (one op, one basename, tests beside the code);
//   2. every source file opens with a header comment (what, formula, layout);
//   3. no focused or string-skipped tests (.only, .skip; describe.skipIf with a reason is the way);
//   4. no `any` and no console output in library code (tools may print: that is their job);
//   5. ops files state their accumulation order / rounding (a line naming "order", "exact" or "copy").
//   6. imports between our packages follow ARCHITECTURE.md, Packages: ref-math imports nothing of ours; quant and
//      loader import ref-math only; cuda-kernels ref-math; engine ref-math, quant, loader and, at run
//      time only in src/backends/kernels.ts (type imports elsewhere), cuda-kernels; tools the public
//      APIs of engine, loader, quant and ref-math — never cuda-kernels; nothing imports tools.
//      `@trtllm/ref-math/testing` is for tests only. Every run-time import is declared in package.json.
// In a kernel package (one with csrc/), ops are proven by the shared case table instead of a test
// file each, so rules 1 and 5 become: every ops/<op>.ts has csrc/<op>.cu, names it in its header,
// and is an op of the oracle (packages/ref-math/src/ops/<op>.ts): one op, one basename, every layer.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const src = join(root, 'src');
const isTool = /(^|\/)tools$/.test(root);
const isKernelPackage = existsSync(join(root, 'csrc'));
const oracleOps = resolve(root, '../ref-math/src/ops');
const problems = [];
const walk = (dir) => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
const files = walk(src).filter((f) => f.endsWith('.ts'));
const say = (file, msg) => problems.push(`${relative(process.cwd(), file)}: ${msg}`);

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const isTest = file.endsWith('.test.ts');
  if (!isTest && !/^(\/\/[^\n]*\n|\/\*\*)/.test(text)) say(file, 'missing a header comment (what, formula, layout: house style: every file opens with one)');
  if (isTest && /\b(it|test|describe)\.only\(/.test(text)) say(file, 'focused test (.only) would silence the rest of the suite');
  if (isTest && /\b(it|test|describe)\.skip\(/.test(text)) say(file, 'skipped test: use describe.skipIf(condition) with a visible reason');
  if (!isTest && /(:\s*any\b|as any\b|<any>)/.test(text)) say(file, "'any' type: give it a real type");
  if (!isTest && !isTool && !file.includes('/testing/') && /console\.(log|error|warn)\(/.test(text)) say(file, 'console output in library code');
  const cases = /\/ops\/([^/]+)\.cases\.ts$/.exec(file);
  if (cases && isKernelPackage && !isTest) {
    // a kernel op's case rows sit beside its binding: ops/<op>.cases.ts needs ops/<op>.ts
    if (!existsSync(join(src, 'ops', `${cases[1]}.ts`))) say(file, `case file for '${cases[1]}' has no ops/${cases[1]}.ts beside it`);
    continue;
  }
  const m = /\/ops\/([^/]+)\.ts$/.exec(file);
  if (m && !isTest && isKernelPackage) {
    if (m[1] === 'index') continue;
    if (!existsSync(join(root, 'csrc', `${m[1]}.cu`))) say(file, `op '${m[1]}' has no csrc/${m[1]}.cu`);
    if (!existsSync(join(oracleOps, `${m[1]}.ts`))) say(file, `op '${m[1]}' is not an op of the oracle (ref-math/src/ops/${m[1]}.ts)`);
    if (!text.slice(0, text.indexOf('*/')).includes(`csrc/${m[1]}.cu`)) say(file, `header does not name its kernel file csrc/${m[1]}.cu`);
  } else if (m && !isTest) {
    if (!files.includes(file.replace(/\.ts$/, '.test.ts'))) say(file, `op '${m[1]}' has no ${m[1]}.test.ts beside it`);
    const header = text.slice(0, text.indexOf('*/'));
    if (!/order|exact|copy|copies|rounding/i.test(header)) say(file, 'op header does not state its accumulation order / rounding');
  }
}
// ---- rule 6: package boundaries ----
const MAY_IMPORT = {
  'ref-math': [],
  quant: ['ref-math'],
  loader: ['ref-math'],
  'cuda-kernels': ['ref-math'],
  engine: ['ref-math', 'quant', 'loader', 'cuda-kernels'],
  cli: ['ref-math', 'quant', 'loader', 'engine'],
};
const pkgJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const self = pkgJson.name.replace(/^@trtllm\//, '');
const declared = new Set(Object.keys({ ...pkgJson.dependencies, ...pkgJson.optionalDependencies, ...pkgJson.peerDependencies }));
const allowed = MAY_IMPORT[self];
if (!allowed) say(join(root, 'package.json'), `package '${pkgJson.name}' has no import rule in scripts/lint-style.mjs (MAY_IMPORT)`);
for (const file of files) {
  const isTest = file.endsWith('.test.ts') || file.includes('/testing/');
  const text = readFileSync(file, 'utf8');
  // static imports and re-exports (type-only ones marked), and dynamic import()s
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'(@trtllm\/[^']+)'|import\('(@trtllm\/[^']+)'\)/g;
  for (let m; (m = re.exec(text)); ) {
    const spec = m[3] ?? m[4];
    const typeOnly = m[2] !== undefined;
    const target = spec.replace(/^@trtllm\//, '').split('/')[0];
    const sub = spec.split('/').slice(2).join('/');
    if (target === self) continue;
    if (allowed && !allowed.includes(target)) { say(file, `imports ${spec}: ${self} may import ${allowed.length ? allowed.join(', ') : 'nothing of ours'} (ARCHITECTURE.md, Packages)`); continue; }
    if (sub === 'testing' && !isTest) { say(file, `imports ${spec} outside a test: the testing helpers are not part of the package`); continue; }
    if (!isTest && !typeOnly && !declared.has(`@trtllm/${target}`)) say(file, `imports ${spec} at run time but package.json does not declare @trtllm/${target}`);
    if (self === 'engine' && target === 'cuda-kernels' && !typeOnly && !isTest && !file.endsWith('/backends/kernels.ts')) say(file, `loads ${spec} at run time: the engine loads the addon in one place (src/backends/kernels.ts); import types only here`);
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`lint-style: ${problems.length} problem(s) in ${relative(process.cwd(), root) || '.'}`);
  process.exit(1);
}
console.log(`lint-style: ${files.length} files in ${relative(process.cwd(), root) || '.'} follow the house style`);
