// What a rollout will ask of DigitalOcean's API, predicted before it starts, against the token's quota (5,000
// requests in any hour). Pure: the plan shows it, preflight refuses a rollout that cannot fit.
import type { Fleet } from './types';

/** The API's largest page (dots-adapter.ts lists with it). */
const PAGE_SIZE = 200;

export interface ApiBudget {
  /** Listing the droplets and reading the LB, once when the rollout plans. */
  planning: number;
  /** Membership changes: per batch one each way (the worker coalesces a batch's), each after a read for an ID-targeted LB. */
  changes: number;
  total: number;
}

export function predictApiRequests(droplets: number, batchSize: number, lb: { tag?: string } | undefined): ApiBudget {
  const planning = Math.max(1, Math.ceil(droplets / PAGE_SIZE)) + (lb ? 1 : 0);
  const perChange = lb?.tag ? 1 : 2; // a tag call needs no read first
  const changes = lb ? Math.ceil(droplets / Math.max(1, batchSize)) * 2 * perChange : 0;
  return { planning, changes, total: planning + changes };
}

/** Why the rollout cannot start with the quota left, and the batch size that would fit; undefined when it fits. */
export function budgetProblem(fleet: Fleet, batchSize: number, largestBatch: number): string | undefined {
  const q = fleet.quota;
  if (!q || !fleet.loadBalancer) return undefined;
  const n = fleet.droplets.length;
  const need = predictApiRequests(n, batchSize, fleet.loadBalancer).total;
  if (need <= q.remaining) return undefined;
  let fits: number | undefined;
  for (let b = batchSize + 1; b <= largestBatch; b++) {
    if (predictApiRequests(n, b, fleet.loadBalancer).total <= q.remaining) {
      fits = b;
      break;
    }
  }
  const reset = new Date(q.resetAt).toISOString().slice(11, 19);
  return `the rollout needs about ${need} DigitalOcean API requests and the token has ${q.remaining} of its ${q.limit} an hour left; ` +
    (fits ? `a batch size of ${fits} (--batch-size ${fits}) fits, or wait: requests free up from ${reset} UTC` : `wait: requests free up from ${reset} UTC, one per request made an hour earlier`);
}

/** The plan's line: the prediction and the quota left. */
export function budgetLine(fleet: Fleet, batchSize: number): string {
  const b = predictApiRequests(fleet.droplets.length, batchSize, fleet.loadBalancer);
  const q = fleet.quota;
  return `≈ ${b.total} DigitalOcean API requests (${b.planning} to plan, ${b.changes} for the LB changes: one each way per batch${fleet.loadBalancer?.tag ? '' : ', each after a read'}); ` +
    (q ? `the token has ${q.remaining} of ${q.limit} an hour left` : 'the API reported no quota');
}
