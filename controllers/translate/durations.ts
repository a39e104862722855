/**
 * Istio-style durations ("1s", "0.5s", "100ms", "1h30m") to milliseconds. Returns undefined for text
 * that is not a duration, so validators can name the field and translators can refuse to guess.
 */
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/;

export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  let rest = text;
  let total = 0;
  while (rest.length > 0) {
    const m = DURATION.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}
