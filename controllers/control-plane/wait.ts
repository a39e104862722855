/** Polls `read` every `intervalMs` until it yields a value; for state that has no watch of its own. */
export async function waitForValue<T>(read: () => Promise<T | undefined>, intervalMs: number): Promise<T> {
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
