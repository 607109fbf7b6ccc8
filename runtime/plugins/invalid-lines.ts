/**
 * Lines a component server printed on stdout that are not JSON-RPC (a banner, stray
 * prints), reported as one warning with their count, not one warning per line: the
 * first such line starts a window (1 s); the warning covers every line of the window,
 * and is written early when the process exits.
 */
export class InvalidLines {
  private count = 0;
  private first = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly warn: (message: string) => void, private readonly windowMs = 1000) {}

  add(line: string, reason: string): void {
    if (this.count++ > 0) return;
    this.first = `${reason}: ${line.slice(0, 200)}`;
    this.timer = setTimeout(() => this.flush(), this.windowMs);
    this.timer.unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    if (this.count === 0) return;
    const n = this.count;
    this.count = 0;
    this.warn(`ignored ${n === 1 ? 'a line' : `${n} lines`} on stdout that ${n === 1 ? 'is' : 'are'} not JSON-RPC (the first: ${this.first})`);
  }
}
