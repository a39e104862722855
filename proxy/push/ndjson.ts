/**
 * Splits a byte stream into JSON lines. Bounded: a line longer than `maxLineBytes` is an error, so a
 * peer cannot make the control plane buffer without limit.
 */
export class LineSplitter {
  private buffer = '';

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds a chunk; returns the complete lines it finished. */
  push(chunk: string): string[] {
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    if (this.buffer.length > this.maxLineBytes)
      throw new Error(`a message is longer than ${this.maxLineBytes} bytes`);
    return lines.filter((l) => l.trim().length > 0);
  }
}
