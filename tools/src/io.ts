/** Where a command writes: injected so commands are testable without spawning a process. */
export interface CliIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** stderr is a terminal (progress bars redraw in place). */
  readonly isTTY?: boolean;
}

/** A bad flag or argument: the message names it and the fix; the CLI prints it and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
