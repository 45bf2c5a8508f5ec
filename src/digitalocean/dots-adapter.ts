// DigitalOceanPort over dots-wrapper. Not digitalocean-js: its removeDropletsFromLoadBalancer
// sends DELETE /v2/load_balancers/{id}, which deletes the whole load balancer.
import { createApiClient } from 'dots-wrapper';
import type { DigitalOceanPort, MembershipChange } from './port';
import { DigitalOceanError, toDigitalOceanError } from './errors';
import { quotaGauge, type QuotaGauge } from './quota';
import type { DropletSelector, DropletTarget, LoadBalancerInfo, LoadBalancerRef } from '../types';

export const DEFAULT_API_URL = 'https://api.digitalocean.com/v2';
const PAGE_SIZE = 200; // the API's maximum; the default of 20 would multiply requests
/** A spent quota waits inside the call up to this long; longer, the call fails retryable with the wait as its delay. */
const QUOTA_WAIT_IN_CALL_MS = 5_000;
/** A busy LB's refusal applies nothing: the same change goes again after these pauses (inside the LB step's 10 s). */
const BUSY_PAUSES_MS = [1_000, 2_000, 2_000];

interface ApiDroplet {
  id: number;
  name: string;
  status?: string;
  locked?: boolean;
  networks?: { v4?: { ip_address: string; type: string }[] };
}
interface ApiLoadBalancer {
  id: string;
  name: string;
  status: string;
  tag?: string;
  droplet_ids?: number[];
  health_check?: {
    protocol?: string;
    port?: number;
    path?: string;
    check_interval_seconds?: number;
    response_timeout_seconds?: number;
    healthy_threshold?: number;
    unhealthy_threshold?: number;
  };
}
interface Paged {
  links?: { pages?: { next?: string } };
}

export function createDigitalOcean(options: { token: string; tokenEnv?: string; apiUrl?: string; requestTimeoutMs?: number }): DigitalOceanPort & Required<Pick<DigitalOceanPort, 'quota'>> {
  const endpoint = options.apiUrl ?? DEFAULT_API_URL; // named in "not found" errors: which API was asked
  const api = createApiClient({ token: options.token, endpoint, requestTimeoutInMs: options.requestTimeoutMs ?? 15_000 });

  const quota = quotaGauge(endpoint, options.token);

  const call = requester(quota, options.tokenEnv);

  /** Follow links.pages.next until it is absent: that is the last page. */
  async function allPages<T>(what: string, fetchPage: (page: number) => Promise<{ data: unknown }>, pick: (data: never) => T[]): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; page <= 1000; page++) {
      const data = await call(`${what} (page ${page})`, () => fetchPage(page));
      items.push(...pick(data as never));
      if (!(data as Paged).links?.pages?.next) return items;
    }
    throw new DigitalOceanError(`${what}: more than 1000 pages; refusing to continue`, { kind: 'other' });
  }

  const listAllDroplets = (tagName?: string) =>
    allPages<ApiDroplet>(
      tagName ? `list droplets tagged "${tagName}"` : 'list droplets',
      (page) => api.droplet.listDroplets({ page, per_page: PAGE_SIZE, tag_name: tagName }),
      (data: { droplets: ApiDroplet[] }) => data.droplets ?? [],
    );

  async function getLb(id: string): Promise<LoadBalancerInfo> {
    const data = await call(`get load balancer ${id}`, () => api.loadBalancer.getLoadBalancer({ load_balancer_id: id }));
    return toLoadBalancerInfo((data as unknown as { load_balancer: ApiLoadBalancer }).load_balancer);
  }

  return {
    quota: () => quota.reading,

    async listDroplets(selector: DropletSelector, addressType) {
      let droplets: ApiDroplet[];
      if ('tag' in selector) {
        droplets = await listAllDroplets(selector.tag);
        if (droplets.length === 0) throw new DigitalOceanError(`no droplets carry the tag "${selector.tag}" at ${endpoint}; check droplets.tag in the config`, { kind: 'not-found' });
      } else {
        const all = await listAllDroplets();
        const wanted = 'names' in selector ? selector.names.map(String) : selector.ids.map(String);
        const key = (d: ApiDroplet) => ('names' in selector ? d.name : String(d.id));
        const missing = wanted.filter((w) => !all.some((d) => key(d) === w));
        if (missing.length) {
          throw new DigitalOceanError(`droplet(s) not found: ${missing.join(', ')}; check droplets.${'names' in selector ? 'names' : 'ids'} in the config`, { kind: 'not-found', status: 404 });
        }
        droplets = all.filter((d) => wanted.includes(key(d)));
      }
      refuseUnready(droplets);
      return droplets.map((d) => toTarget(d, addressType)).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    },

    async getLoadBalancer(ref: LoadBalancerRef) {
      if ('id' in ref) return getLb(ref.id);
      const all = await allPages<ApiLoadBalancer>(
        'list load balancers',
        (page) => api.loadBalancer.listLoadBalancers({ page, per_page: PAGE_SIZE }),
        (data: { load_balancers: ApiLoadBalancer[] }) => data.load_balancers ?? [],
      );
      const matches = all.filter((lb) => lb.name === ref.name);
      if (matches.length === 0) throw new DigitalOceanError(`no load balancer is named "${ref.name}"; check loadBalancer.name in the config`, { kind: 'not-found', status: 404 });
      if (matches.length > 1) throw new DigitalOceanError(`${matches.length} load balancers are named "${ref.name}"; use loadBalancer.id instead`, { kind: 'other' });
      return toLoadBalancerInfo(matches[0]);
    },

    async attachDroplets(lb, dropletIds) {
      if (lb.tag) return tagMembers(api, call, lb.tag, dropletIds, 'attach');
      // Re-read membership first so a retried attach after a lost 204 is a no-op.
      const current = await getLb(lb.id);
      const todo = dropletIds.filter((id) => !current.dropletIds.includes(id));
      const alreadyAsAsked = dropletIds.filter((id) => !todo.includes(id));
      if (todo.length === 0) return { alreadyAsAsked };
      await whileBusy(() => call(`attach droplet(s) ${todo.join(', ')} to load balancer ${lb.name}`, () =>
        api.loadBalancer.addDropletsToLoadBalancer({ load_balancer_id: lb.id, droplet_ids: todo })));
      return { alreadyAsAsked };
    },

    async detachDroplets(lb, dropletIds) {
      if (lb.tag) return tagMembers(api, call, lb.tag, dropletIds, 'detach');
      const current = await getLb(lb.id);
      const todo = dropletIds.filter((id) => current.dropletIds.includes(id));
      const alreadyAsAsked = dropletIds.filter((id) => !todo.includes(id));
      if (todo.length === 0) return { alreadyAsAsked };
      // DELETE /v2/load_balancers/{id}/droplets with a body; never DELETE /v2/load_balancers/{id}.
      await whileBusy(() => call(`detach droplet(s) ${todo.join(', ')} from load balancer ${lb.name}`, () =>
        api.loadBalancer.removeDropletsFromLoadBalancer({ load_balancer_id: lb.id, droplet_ids: todo })));
      return { alreadyAsAsked };
    },
  };
}

type ApiClient = ReturnType<typeof createApiClient>;
type Requester = ReturnType<typeof requester>;

/**
 * A tag-targeted LB's members are the droplets carrying its tag: the tag call itself is the membership change,
 * and it is idempotent, so it is sent without reading first. The LB's own list lags behind the tags (it is
 * computed), so it is never the judge of what a tag call did.
 */
async function tagMembers(api: ApiClient, call: Requester, tag: string, ids: number[], direction: 'attach' | 'detach'): Promise<MembershipChange> {
  const resources = ids.map((id) => ({ resource_id: String(id), resource_type: 'droplet' as const }));
  if (direction === 'attach') await whileBusy(() => call(`tag droplet(s) ${ids.join(', ')} with "${tag}"`, () => api.tag.tagResources({ tag_name: tag, resources })));
  else await whileBusy(() => call(`untag droplet(s) ${ids.join(', ')} from "${tag}"`, () => api.tag.untagResources({ tag_name: tag, resources })));
  return { alreadyAsAsked: [] };
}

/** A change refused because the LB is busy with the previous one is sent again, as is, after a pause: no re-read. */
async function whileBusy<T>(change: () => Promise<T>): Promise<T> {
  for (const pause of [...BUSY_PAUSES_MS, undefined]) {
    try {
      return await change();
    } catch (err) {
      if (pause === undefined || !(err instanceof DigitalOceanError && err.kind === 'busy')) throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
  throw new Error('unreachable');
}

/** Every request goes through here: never into a spent quota, its answer's quota headers noted, its failure mapped. */
function requester(quota: QuotaGauge, tokenEnv?: string) {
  return async function call<T>(what: string, fn: () => Promise<{ data: T; headers?: object }>): Promise<T> {
    // Never into a spent quota: wait for its reset (or a 429's retry-after), here when short, else by the retry policy.
    const wait = quota.waitMs(Date.now());
    if (wait > QUOTA_WAIT_IN_CALL_MS) {
      const r = quota.reading;
      const why = r && r.remaining <= 0 ? `the token's hourly quota is spent (0 of ${r.limit} left)` : 'DigitalOcean asked to wait (429, retry-after)';
      throw new DigitalOceanError(`${what}: not sent: ${why} until ${new Date(Date.now() + wait).toISOString().slice(11, 19)} UTC`,
        { kind: 'rate-limited', retryable: true, retryAfterMs: wait });
    }
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    quota.sending();
    try {
      const res = await fn();
      quota.note(res.headers as Record<string, unknown> | undefined, Date.now());
      return res.data;
    } catch (err) {
      const failure = toDigitalOceanError(err, what, Date.now, tokenEnv);
      quota.note((err as { response?: { headers?: Record<string, unknown> } }).response?.headers, Date.now(), failure.kind === 'rate-limited' ? failure.retryAfterMs : undefined);
      throw failure;
    }
  };
}

/** Only an active, unlocked droplet can be deployed to: the others would fail later with SSH time-outs. */
function refuseUnready(droplets: ApiDroplet[]): void {
  const unready = droplets.filter((d) => (d.status && d.status !== 'active') || d.locked);
  if (unready.length === 0) return;
  const says = unready.slice(0, 10).map((d) => `${d.name} (${d.id}) is ${d.locked ? 'locked' : d.status}`).join(', ');
  throw new DigitalOceanError(`${says}${unready.length > 10 ? ` and ${unready.length - 10} more` : ''}: only active, unlocked droplets can be deployed to; ` +
    'wait for them (new, locked), power them on (off), or leave them out of droplets in the config', { kind: 'unprocessable' });
}

function toTarget(d: ApiDroplet, addressType: 'public' | 'private'): DropletTarget {
  const address = d.networks?.v4?.find((n) => n.type === addressType)?.ip_address;
  if (!address) {
    throw new DigitalOceanError(`droplet ${d.name} (${d.id}) has no ${addressType} IPv4 address; set ssh.address to the other type`, { kind: 'other' });
  }
  return { id: d.id, name: d.name, address };
}

function toLoadBalancerInfo(lb: ApiLoadBalancer): LoadBalancerInfo {
  const hc = lb.health_check ?? {};
  return {
    id: lb.id,
    name: lb.name,
    status: lb.status,
    tag: lb.tag || undefined,
    dropletIds: lb.droplet_ids ?? [],
    healthCheck: {
      protocol: hc.protocol ?? 'http',
      port: hc.port ?? 80,
      path: hc.path,
      // The API's documented defaults apply when a field is absent.
      checkIntervalSeconds: hc.check_interval_seconds ?? 10,
      responseTimeoutSeconds: hc.response_timeout_seconds ?? 5,
      healthyThreshold: hc.healthy_threshold ?? 3,
      unhealthyThreshold: hc.unhealthy_threshold ?? 5,
    },
  };
}
