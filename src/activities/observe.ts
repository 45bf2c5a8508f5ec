// Drain and settle observed through the load balancer, with the configured times as upper bounds only.
//
// The signal is what a client sees: requests to the LB's public address, each on a fresh connection (an LB may
// balance per connection, and a kept-alive connection would stick to one droplet), each answer naming the droplet
// that served it and its release (a header, or a field of a JSON body). DigitalOcean publishes no figure for how
// long a membership change takes to reach its data plane, nor for how long a re-added droplet takes to rise; a
// timer is a guess either way: too short loses requests, too long wastes every droplet's detached time.
//   - drained: the droplet has stopped answering for long enough that, were it still in rotation, it would have
//     answered (the quiet run is sized from the droplets in rotation, below);
//   - settled: it answers with its new release, `servings` times, so the LB routes to it.
// Requests are paced and bounded (maximum time / pace), and counted in the result.
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentContext, withHeartbeat } from './deps';
import type { ObserveSpec } from '../types';
import type { Observation, ObserveInput } from '../rollout-status';

/** Time between requests through the LB: at most 20 a second per droplet in its drain or settle. */
export const OBSERVE_PACE_MS = 50;

/** Chance that a droplet still in rotation goes unseen for the whole quiet run, under random balancing. */
const MISS_CHANCE = 0.001;

/**
 * Answers in a row without the droplet that prove it is out of rotation: with k droplets in rotation besides it, a
 * request reaches it with chance 1/(k+1) (round robin: exactly every (k+1)-th); n misses in a row happen by chance
 * with (1 - 1/(k+1))^n ≤ 0.1%. Four droplets with one detached: 25 answers; 100 in rotation: 300 (the cap).
 */
export function quietAnswersFor(inRotation: number): number {
  const k = Math.max(0, inRotation);
  if (k === 0) return 3; // nothing else answers: three answers that are not the droplet's (the LB's own 503s) will do
  const n = Math.ceil(Math.log(MISS_CHANCE) / Math.log(1 - 1 / (k + 1)));
  return Math.min(300, Math.max(3, n));
}

interface Answer {
  droplet?: string;
  release?: string;
}

/** Where an answer names something: a response header, or a top-level field of a JSON body. */
export function readField(field: string, headers: http.IncomingHttpHeaders, body: string): string | undefined {
  const [kind, key] = [field.slice(0, field.indexOf(':')), field.slice(field.indexOf(':') + 1)];
  if (kind === 'header') {
    const v = headers[key.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  try {
    const value = (JSON.parse(body) as Record<string, unknown>)[key];
    return value === undefined || value === null ? undefined : String(value);
  } catch {
    return undefined;
  }
}

/** One request on its own connection; an error or a timeout is an answer from nobody. */
function ask(spec: ObserveSpec, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const get = spec.url.startsWith('https:') ? https.get : http.get;
    const req = get(spec.url, { agent: false, headers: { connection: 'close', 'user-agent': 'do-rolling-deployer (observing the load balancer)' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 65_536) body += c;
      });
      res.on('end', () => resolve({ droplet: readField(spec.droplet, res.headers, body), release: readField(spec.release, res.headers, body) }));
      res.on('error', () => resolve({}));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({}));
  });
}

/** Watch the load balancer until the droplet is drained or settled, or the maximum passes. Never throws for what it sees. */
export async function observeThroughLb(input: ObserveInput, request: (spec: ObserveSpec, timeoutMs: number) => Promise<Answer> = ask): Promise<Observation> {
  const names = new Set([input.droplet.name, input.droplet.address]);
  const quietNeeded = quietAnswersFor(input.inRotation);
  const start = Date.now();
  const signal = currentContext()?.cancellationSignal;
  let requests = 0;
  let fromDroplet = 0;
  let quiet = 0;
  let servings = 0;
  const elapsed = () => Date.now() - start;
  while (elapsed() < input.maxMs && !signal?.aborted) {
    const answer = await request(input.observe, Math.min(5_000, Math.max(500, input.maxMs - elapsed())));
    requests++;
    const mine = answer.droplet !== undefined && names.has(answer.droplet);
    if (mine) fromDroplet++;
    if (input.until === 'drained') {
      quiet = mine ? 0 : quiet + 1;
      if (quiet >= quietNeeded) {
        return { observed: true, elapsedMs: elapsed(), requests, fromDroplet, detail: `out of rotation: ${quiet} answers in a row from other droplets (${requests} requests)` };
      }
    } else if (mine && (input.release === null || input.release === undefined || answer.release === input.release)) {
      servings++;
      if (servings >= input.observe.servings) {
        return { observed: true, elapsedMs: elapsed(), requests, fromDroplet, detail: `in rotation: answered ${servings}× through the load balancer${input.release ? ` as ${input.release}` : ''} (${requests} requests)` };
      }
    }
    await sleep(OBSERVE_PACE_MS, undefined, { signal }).catch(() => undefined);
  }
  const what = input.until === 'drained' ? `still answering ${quiet < quietNeeded ? `(${quiet} of ${quietNeeded} quiet answers)` : ''}` : `not yet answering${input.release ? ` as ${input.release}` : ''} (${servings} of ${input.observe.servings})`;
  return { observed: false, elapsedMs: elapsed(), requests, fromDroplet, detail: `${what.trim()} after the maximum ${Math.round(input.maxMs / 1000)}s: went on as a timer would (${requests} requests)` };
}

export function observeActivities() {
  return {
    /** The drain or the settle, observed through the load balancer (heartbeating; an abort ends it at once). */
    async observeLoadBalancer(input: ObserveInput): Promise<Observation> {
      return withHeartbeat(() => observeThroughLb(input));
    },
  };
}
