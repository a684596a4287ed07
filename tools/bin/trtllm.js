#!/usr/bin/env node
// The `trtllm` command. The CLI is TypeScript compiled to ../dist; this launcher stays a committed,
// executable file so npm's bin link works before the first build, and says what to do if it hasn't run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('trtllm: the CLI is not built yet. Run `npm run build` in the repository root (or `npm run selftest`).\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), isTTY: process.stderr.isTTY === true });
