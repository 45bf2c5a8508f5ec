// Durations in config are human strings ("500ms", "10s", "2m", "1h") or plain seconds.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`expected a non-negative number of seconds, got ${value}`);
    return Math.round(value * 1000);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
  if (!match) throw new Error(`"${value}" is not a duration; write it like "500ms", "10s", "2m" or "1h"`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
}
