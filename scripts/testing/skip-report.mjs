// A vitest reporter that names every skipped test and why, just above vitest's own summary line, so a
// green run cannot hide what it did not run. Tests are grouped by the suite that was skipped (one line
// per group); the reason is the "(skipped: …)" that the suite's or test's title carries (house rule:
// a skip says why in its title). Listed before 'default' in vitest.config.ts so that vitest's summary
// stays the last lines of the run.

/** @param {import('vitest/node').TestCase} t */
function groupOf(t) {
  // the outermost skipped ancestor suite: a describe.skipIf skips all its tests for one reason
  let group = t;
  for (let p = t.parent; p && p.type === 'suite'; p = p.parent) if (p.state() === 'skipped') group = p;
  return group;
}

export default class SkipReport {
  /** @param {ReadonlyArray<import('vitest/node').TestModule>} modules */
  onTestRunEnd(modules) {
    /** @type {Map<string, number>} */
    const groups = new Map();
    let total = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        if (t.result().state !== 'skipped') continue;
        total++;
        const g = groupOf(t);
        const key = `${t.project.name}: ${g.fullName}`;
        groups.set(key, (groups.get(key) ?? 0) + 1);
      }
    }
    if (total === 0) return;
    const lines = [...groups].map(([name, n]) => {
      const why = /\(skipped: [^)]*\)/.exec(name) ? '' : ' — no reason in its title';
      return `  - ${name}${n > 1 ? ` (${n} tests)` : ''}${why}`;
    });
    process.stdout.write(`\nSkipped ${total} test${total === 1 ? '' : 's'}:\n${lines.join('\n')}\n`);
  }
}
