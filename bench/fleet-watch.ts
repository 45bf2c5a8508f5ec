// The fleet watched from outside during a benchmark or soak: how long each droplet is out of the load balancer (at
// the API), and when each first answers as the new release (at the droplet).
import type { Stack } from '../sandbox/stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Watches the fleet from outside: LB membership at the API, and the first answer of the new release per droplet. */
export function watchFleet(stack: Stack, release: string) {
  const names = stack.fleet.hosts.map((h) => h.name);
  const detachedSince = new Map<string, number>();
  const detachedMs: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const firstDetach: number[] = [];
  const firstAnswer: Record<string, number> = {};
  let running = true;
  const membership = (async () => {
    while (running) {
      const attached = new Set(stack.fleet.attached());
      const now = Date.now();
      for (const n of names) {
        if (!attached.has(n) && !detachedSince.has(n)) {
          detachedSince.set(n, now);
          if (!firstDetach.length) firstDetach.push(now);
        }
        if (attached.has(n) && detachedSince.has(n)) {
          detachedMs[n] += now - (detachedSince.get(n) as number);
          detachedSince.delete(n);
        }
      }
      await sleep(20);
    }
  })();
  const probes = stack.fleet.hosts.map(async (h) => {
    while (running && !firstAnswer[h.name]) {
      try {
        const res = await fetch(`http://${h.address}:8080/healthcheck`, { signal: AbortSignal.timeout(500) });
        const body = (await res.json()) as { release?: string };
        if (res.ok && body.release === release) firstAnswer[h.name] = Date.now();
      } catch {
        // not answering yet
      }
      await sleep(50);
    }
  });
  return {
    firstAnswer,
    firstDetach: () => firstDetach[0],
    async stop() {
      running = false;
      await Promise.all([membership, ...probes]);
      return detachedMs;
    },
  };
}


/** Waits until every droplet is attached at the API and UP at HAProxy (the LB's rise included), at most `timeoutMs`. */
export async function fleetSettled(stack: Stack, timeoutMs = 60_000): Promise<void> {
  let seen = '';
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(200)) {
    const servers = await stack.fleet.lb.servers();
    const attached = stack.fleet.attached();
    if (servers.every((sv) => sv.status.startsWith('UP')) && attached.length === stack.fleet.hosts.length) return;
    seen = `HAProxy: ${servers.map((sv) => `${sv.name} ${sv.status}`).join(', ')}; attached at the API: ${attached.join(', ') || 'none'}`;
  }
  throw new Error(`the fleet did not come back to every droplet attached and UP within ${timeoutMs / 1000} s (${seen})`);
}
