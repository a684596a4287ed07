"""Do two sets of PTX files hold the same kernels? For refactors that move device code between .cu
files (a split, a rename) and must not change it: every `.entry` is compared by name and body, and
the module-scope declarations as a set, after renaming what depends only on the translation unit
(anonymous-namespace and internal-linkage prefixes, which embed the file name and a hash) and the
per-module numbering of branch labels.

  nvcc -ptx -arch=sm_90a <the build's flags> -I csrc … csrc/X.cu -o before/X.ptx   (at the old commit)
  python3 packages/cuda-kernels/scripts/ptx-compare.py before/a.ptx,… after/a.ptx,after/b.ptx,…

Prints one line; exits 0 only when the kernels, their bodies and the declarations are the same.
"""
import re
import sys


def norm(t):
    t = re.sub(r'\d+_GLOBAL__N__[0-9a-f]{8}_\d+_[A-Za-z0-9_]+?_cu_[0-9a-f]{8}', 'ANON', t)
    t = re.sub(r'\d+_INTERNAL_[0-9a-f]{8}_\d+_[A-Za-z0-9_]+?_cu_[0-9a-f]{8}', 'INTERNAL', t)
    return re.sub(r'\$L__BB\d+_', '$L__BB_', t)


def entries(t):
    return {m.group(1): m.group(0) for m in re.finditer(r'(?ms)^(?:\.visible |\.weak )?\.entry (\S+)\((.*?)^\}', t)}


def declarations(t):
    return re.findall(r'(?m)^\.(?:global|shared|const|extern) .*$', t)


def load(files):
    ks, ds = {}, []
    for f in files:
        t = norm(open(f).read())
        ks.update(entries(t))
        ds += declarations(t)
    return ks, sorted(ds)


(kb, db), (ka, da) = load(sys.argv[1].split(',')), load(sys.argv[2].split(','))
differ = [k for k in kb if kb[k] != ka.get(k)]
same = set(kb) == set(ka) and not differ and db == da
print(f'{len(kb)} kernels before, {len(ka)} after; same names: {set(kb) == set(ka)}; bodies differing: {len(differ)}; declarations equal: {db == da} → {"SAME" if same else "DIFFERENT"}')
sys.exit(0 if same else 1)
