// What building the CUDA addon needs, found on this machine: nvcc, cmake and cmake-js. Shared by
// build-native.mjs (the build) and install.mjs (npm's install step for an installed package).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** nvcc: CUDACXX, then /usr/local/cuda*\/bin, then PATH — resolving wrapper scripts to the real compiler. */
export function findNvcc() {
  const candidates = [];
  if (process.env.CUDACXX) candidates.push(process.env.CUDACXX);
  for (const dir of ['/usr/local/cuda/bin', ...(existsSync('/usr/local') ? readdirSync('/usr/local').filter((d) => d.startsWith('cuda-')).sort().reverse().map((d) => `/usr/local/${d}/bin`) : [])]) {
    candidates.push(join(dir, 'nvcc'));
  }
  const which = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' });
  if (which.status === 0) candidates.push(which.stdout.trim());
  for (const c of candidates) {
    if (!c || !existsSync(c)) continue;
    let real = realpathSync(c);
    // A shell wrapper (`exec /path/to/nvcc "$@"`) hides the toolkit root that CMake derives from nvcc's path.
    const text = readFileSync(real).subarray(0, 256).toString('latin1');
    const m = /^#!.*\n(?:.*\n)*?\s*exec\s+(\S+nvcc)\b/m.exec(text);
    if (m && existsSync(m[1])) real = realpathSync(m[1]);
    return real;
  }
  return undefined;
}

/** cmake's first version line, or undefined when cmake is not on PATH. */
export function findCmake() {
  const r = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

/** The cmake-js executable as Node resolves the package from `pkg` (a workspace hoists it; an install puts it beside us), or undefined. */
export function findCmakeJs(pkg) {
  try {
    const manifest = createRequire(join(pkg, 'package.json')).resolve('cmake-js/package.json');
    const bin = JSON.parse(readFileSync(manifest, 'utf8')).bin;
    const rel = typeof bin === 'string' ? bin : bin?.['cmake-js'];
    const path = rel && resolve(dirname(manifest), rel);
    return path && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the addon build's outcome depends on beyond the sources, as one line: nvcc (its real path,
 * size and time), cmake's version, whether cmake-js resolves. nx hashes it into the build target's
 * inputs (package.json "nx"), so a build cached where the toolkit was missing (the addon skipped) is
 * never replayed where it is present, nor the other way round — the cache lives in the home
 * directory, shared by every clone on the machine.
 */
export function toolkitFingerprint(pkg) {
  const nvcc = findNvcc();
  let stamp = 'none';
  if (nvcc) {
    const s = statSync(nvcc);
    stamp = `${nvcc}:${s.size}:${Math.floor(s.mtimeMs)}`;
  }
  return `nvcc=${stamp} cmake=${findCmake() ?? 'none'} cmake-js=${findCmakeJs(pkg) ? 'yes' : 'none'}`;
}

// `node scripts/toolkit.mjs --fingerprint`: the line above (nx runs it as a runtime input)
if (process.argv[2] === '--fingerprint' && process.argv[1] && existsSync(process.argv[1]) && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  console.log(toolkitFingerprint(resolve(dirname(fileURLToPath(import.meta.url)), '..')));
}
