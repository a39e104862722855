/**
 * Coalesces bursts of changes: fires `quietMs` after the last change, or `maxMs` after the first one
 * if changes never stop, with the set of kinds that changed and when the first change happened.
 */
export class Debouncer<K extends string> {
  private kinds = new Set<K>();
  private firstAt: number | undefined;
  private quietTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly quietMs: number,
    private readonly maxMs: number,
    private readonly fire: (kinds: ReadonlySet<K>, firstChangeAt: number) => void,
  ) {}

  trigger(kind: K): void {
    this.kinds.add(kind);
    if (this.firstAt === undefined) {
      this.firstAt = Date.now();
      this.maxTimer = setTimeout(() => this.flush(), this.maxMs);
    }
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.flush(), this.quietMs);
  }

  flush(): void {
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxTimer);
    if (this.firstAt === undefined) return;
    const kinds = this.kinds;
    const firstAt = this.firstAt;
    this.kinds = new Set();
    this.firstAt = undefined;
    this.fire(kinds, firstAt);
  }

  stop(): void {
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxTimer);
  }
}
