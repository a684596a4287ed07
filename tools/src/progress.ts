/**
 * A one-line progress bar on stderr: redrawn in place on a terminal, printed at each quarter
 * otherwise (so CI logs and pipes get a few lines, not thousands).
 */
import type { CliIO } from './io.js';

export interface Progress {
  update(done: number, total: number, detail?: string): void;
  end(): void;
}

export function progressBar(io: CliIO, label: string): Progress {
  const width = 30;
  const start = Date.now();
  let lastQuarter = -1;
  let drawn = false;
  return {
    update(done, total, detail = '') {
      const f = total > 0 ? Math.min(1, done / total) : 1;
      const bar = `${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}`;
      const line = `${label} [${bar}] ${(f * 100).toFixed(0).padStart(3)}% ${detail} ${((Date.now() - start) / 1000).toFixed(1)}s`;
      if (io.isTTY) {
        io.err(`\r${line}`);
        drawn = true;
      } else if (Math.floor(f * 4) > lastQuarter) {
        lastQuarter = Math.floor(f * 4);
        io.err(`${line}\n`);
      }
    },
    end() {
      if (drawn) io.err('\n');
    },
  };
}
