// Bounded concurrency for work fanned out over droplets (preflight, staging): at most `concurrency` at once,
// results in input order, and a heartbeat as each one finishes so long fan-outs stay alive.
import { currentContext } from './deps';

/** `stop` ends the fan-out early (no new item starts); `details` is what each heartbeat carries (a retry resumes from it). */
export async function mapPool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>,
  opts: { stop?: () => boolean; details?: () => unknown } = {}): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array(items.length);
  let next = 0;
  const ctx = currentContext();
  const worker = async () => {
    while (next < items.length && !opts.stop?.() && !ctx?.cancellationSignal.aborted) {
      const i = next++;
      results[i] = await fn(items[i], i);
      ctx?.heartbeat(opts.details?.());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
