#!/usr/bin/env python3
"""Sum an `ncu --csv --metrics gpu__time_duration.sum` log (from profile-step.mjs) by kernel and grid.

  python3 scripts/bench/ncu-summary.py NCU_CSV [TOP=30]

Prints the total device time, the kernel count, then per (kernel name, grid): launches, mean ns and
total us, largest first. Lines of the log before the CSV that name the run are echoed.
"""
import collections
import csv
import io
import sys

lines = open(sys.argv[1]).read().split('\n')
start = [i for i, l in enumerate(lines) if l.startswith('"ID"')]
if not start:
    sys.exit(f'ncu-summary: no CSV header ("ID", ...) in {sys.argv[1]}')
for l in lines[:start[0]]:
    if 'profile-step' in l:
        print(l[:300])
rows = list(csv.reader(io.StringIO('\n'.join(lines[start[0]:]))))
head = rows[0]
name, grid = head.index('Kernel Name'), head.index('Grid Size')
if 'gpu__time_duration.sum' in head:  # wide CSV: one column per metric, a units row
    time, body = head.index('gpu__time_duration.sum'), rows[2:]
else:  # long CSV: one row per (kernel, metric)
    time, metric = head.index('Metric Value'), head.index('Metric Name')
    body = [r for r in rows[1:] if len(r) > metric and r[metric] == 'gpu__time_duration.sum']
agg = collections.defaultdict(lambda: [0, 0.0])
total = 0.0
for r in body:
    if len(r) > time:
        key = f'{r[name][:80]} {r[grid]}'
        t = float(r[time].replace(',', ''))
        agg[key][0] += 1
        agg[key][1] += t
        total += t
print(f'total {total / 1e3:.1f} us in {sum(v[0] for v in agg.values())} kernels')
top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
for key, (count, t) in sorted(agg.items(), key=lambda x: -x[1][1])[:top]:
    print(f'{count:5d} {t / count:9.0f} ns mean {t / 1e3:8.1f} us total  {key}')
