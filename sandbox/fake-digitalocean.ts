// A local stand-in for the DigitalOcean API (v2) with the real shapes, status codes and quirks the deployer
// depends on (DESIGN.md §4): bearer auth, pagination with links.pages.next, droplets by tag, load balancers
// targeting IDs or a tag, 204 on membership changes, 422 for ID changes on a tag-targeted LB, rate-limit
// headers, a request ID on every answer (`x-request-id`, and `request_id` in error bodies), droplets' status and
// `locked` flag, the token's quota (5,000 requests in any hour, 250 in any minute, with DigitalOcean's headers),
// health-check values checked against DigitalOcean's ranges, and injectable faults (429 bursts, 5xx, a 403-busy
// window and a propagation delay to the data plane, each fixed or drawn per change from a seeded source so a run
// can be repeated, a read-only token). Any request that would delete a load balancer is recorded as a fatal event.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeDroplet {
  id: number;
  name: string;
  publicIp: string;
  privateIp?: string;
  tags: string[];
  /** DigitalOcean's droplet states; absent: active. */
  status?: 'new' | 'active' | 'off' | 'archive';
  locked?: boolean;
}

export interface FakeLoadBalancer {
  id: string;
  name: string;
  ip: string;
  status: 'new' | 'active' | 'errored';
  tag?: string;
  dropletIds: number[];
  healthCheck: {
    protocol: string; port: number; path: string; check_interval_seconds: number;
    response_timeout_seconds: number; healthy_threshold: number; unhealthy_threshold: number;
  };
  forwardingRules?: unknown[];
}

/** A duration in ms: fixed, or drawn per event, uniformly in [min, max], from the fake's seeded source. */
export type Spread = number | { min: number; max: number };

/** A Spread's mean: what a floor computed from it expects. */
export function spreadMean(spread: Spread): number {
  return typeof spread === 'number' ? spread : (spread.min + spread.max) / 2;
}

/** A Spread in words: "500 ms", "0–10000 ms". */
export function describeSpread(spread: Spread): string {
  return typeof spread === 'number' ? `${spread} ms` : `${spread.min}–${spread.max} ms`;
}

export interface Faults {
  /** The next N requests answer 429. */
  rateLimitBurst: number;
  /** The next N requests answer 500. */
  serverErrors: number;
  /** After each LB change, further changes to that LB answer 403 "busy" for this long. */
  busyWindowMs: Spread;
  /** Delay before a membership change reaches the data plane (onMembershipChange). */
  propagationDelayMs: Spread;
  /** The delay for an attach (an add to the LB) when it differs from propagationDelayMs. */
  attachPropagationMs?: Spread;
  /** The delay for a detach (a removal) when it differs from propagationDelayMs. */
  detachPropagationMs?: Spread;
  /** The next N writes (POST/DELETE) hang this long before they are handled: a call a worker can die in. */
  stalledWrites?: number;
  stallMs?: number;
  /** The token has read scope only: every write answers 403 as DigitalOcean does for a custom-scoped token. */
  readOnlyToken?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
}

const REGION = { slug: 'fra1', name: 'Frankfurt 1', available: true, features: ['metadata'], sizes: ['s-1vcpu-1gb'] };
const NOT_FOUND = { id: 'not_found', message: 'The resource you were accessing could not be found.' };

/** DigitalOcean's limits per token: requests in any hour (sliding) and in any minute. */
export interface Quota {
  perHour: number;
  perMinute: number;
}
export const DO_QUOTA: Quota = { perHour: 5000, perMinute: 250 };

/** The ranges DigitalOcean accepts for a load balancer's health check (its API description). */
export const HEALTH_CHECK_RANGES = {
  check_interval_seconds: [3, 300], response_timeout_seconds: [3, 300], healthy_threshold: [2, 10], unhealthy_threshold: [2, 10],
} as const;

/** What is out of DigitalOcean's ranges in a health check, one line each (nothing: it would be accepted). */
export function healthCheckProblems(hc: Partial<Record<keyof typeof HEALTH_CHECK_RANGES, unknown>>): string[] {
  return Object.entries(HEALTH_CHECK_RANGES).flatMap(([key, [min, max]]) => {
    const v = hc[key as keyof typeof HEALTH_CHECK_RANGES];
    if (v === undefined) return [];
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? [] : [`health_check.${key} must be an integer between ${min} and ${max}`];
  });
}

/** A small seeded generator (mulberry32): the same seed draws the same propagation and busy windows. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FakeOptions {
  /** Seeds the draws of every Spread (default 1): a run with the same seed and the same calls draws the same delays. */
  seed?: number;
  /** The token's quota (default DigitalOcean's); null: none. */
  quota?: Quota | null;
  /** The clock the quota and busy windows read (tests move it; default Date.now). */
  now?: () => number;
}

export class FakeDigitalOcean {
  readonly droplets = new Map<number, FakeDroplet>();
  readonly loadBalancers = new Map<string, FakeLoadBalancer>();
  readonly requests: RecordedRequest[] = [];
  /** Things that must never happen (deleting a load balancer). Tests assert this stays empty. */
  readonly fatal: string[] = [];
  faults: Faults = { rateLimitBurst: 0, serverErrors: 0, busyWindowMs: 0, propagationDelayMs: 0 };
  /** Called when a membership change reaches the data plane, after the propagation delay. */
  onMembershipChange?: (lb: FakeLoadBalancer, dropletIds: number[]) => void;
  private busyUntil = new Map<string, number>();
  /** When each request the quota counts was made, oldest first (an hour's worth at most). */
  private spent: number[] = [];
  private server?: http.Server;
  private random: () => number;
  private readonly now: () => number;
  readonly quota: Quota | null;
  url = '';

  constructor(readonly token: string, opts: FakeOptions = {}) {
    this.random = seededRandom(opts.seed ?? 1);
    this.now = opts.now ?? Date.now;
    this.quota = opts.quota === undefined ? DO_QUOTA : opts.quota;
  }

  /** Start the draws again from `seed`: a soak repeats one seed's delays for the flow it compares. */
  reseed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** One duration from a Spread (a fixed one is itself). */
  draw(spread: Spread): number {
    return typeof spread === 'number' ? spread : Math.round(spread.min + this.random() * (spread.max - spread.min));
  }

  addDroplet(d: FakeDroplet): void {
    this.droplets.set(d.id, d);
  }

  addLoadBalancer(lb: FakeLoadBalancer): void {
    this.loadBalancers.set(lb.id, lb);
  }

  /** Current members: the tagged droplets for a tag-targeted LB, else its droplet_ids. */
  members(lb: FakeLoadBalancer): number[] {
    if (lb.tag) return [...this.droplets.values()].filter((d) => d.tags.includes(lb.tag as string)).map((d) => d.id).sort((a, b) => a - b);
    return [...lb.dropletIds];
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => this.handle(req, res, raw));
    });
    // A port still held (by another fleet, say) is this fleet's error to report, not an uncaught one for the process.
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', (err) => reject(new Error(`the local DigitalOcean API cannot listen on ${host}:${port}: ${(err as Error).message}`)));
      this.server?.listen(port, host, resolve);
    });
    const addr = this.server.address() as AddressInfo;
    this.url = `http://${host}:${addr.port}/v2`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const method = req.method ?? 'GET';
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method, path: url.pathname, query, body, status });
      // Like DigitalOcean, every answer has a request ID, and error bodies repeat it.
      const requestId = randomUUID();
      if (status >= 400 && payload && typeof payload === 'object') payload = { ...payload, request_id: requestId };
      res.writeHead(status, { 'content-type': 'application/json', ...this.quotaHeaders(), 'x-request-id': requestId, ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };

    if (url.pathname.startsWith('/_admin/')) return this.admin(method, url.pathname, body, send);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return send(401, { id: 'unauthorized', message: 'Unable to authenticate you' });
    }
    const refusal = this.spend();
    if (refusal) return send(429, { id: 'too_many_requests', message: 'API Rate limit exceeded.' }, refusal);
    if (this.faults.rateLimitBurst > 0) {
      this.faults.rateLimitBurst--;
      return send(429, { id: 'too_many_requests', message: 'API Rate limit exceeded.' }, { 'retry-after': '1' });
    }
    if (this.faults.serverErrors > 0) {
      this.faults.serverErrors--;
      return send(500, { id: 'server_error', message: 'Unexpected server-side error' });
    }
    if ((method === 'POST' || method === 'DELETE' || method === 'PUT') && this.faults.readOnlyToken) {
      return send(403, { id: 'forbidden', message: 'You do not have access for the attempted action.' });
    }
    const route = () => {
      try {
        this.route(method, url, query, body, send);
      } catch (err) {
        send(500, { id: 'server_error', message: (err as Error).message });
      }
    };
    if ((method === 'POST' || method === 'DELETE') && (this.faults.stalledWrites ?? 0) > 0) {
      this.faults.stalledWrites = (this.faults.stalledWrites ?? 0) - 1;
      setTimeout(route, this.faults.stallMs ?? 20_000).unref();
      return;
    }
    route();
  }

  private route(method: string, url: URL, query: Record<string, string>, body: unknown, send: (s: number, p?: unknown, h?: Record<string, string>) => void): void {
    const parts = url.pathname.replace(/^\/v2\/?/, '').split('/').filter(Boolean);
    const [resource, id, sub] = parts;

    if (resource === 'droplets' && method === 'GET' && !id) {
      const all = [...this.droplets.values()].filter((d) => !query.tag_name || d.tags.includes(query.tag_name)).sort((a, b) => a.id - b.id);
      return send(200, this.page(url, query, all.map((d) => this.dropletJson(d)), 'droplets'));
    }
    if (resource === 'droplets' && method === 'GET' && id) {
      const d = this.droplets.get(Number(id));
      return d ? send(200, { droplet: this.dropletJson(d) }) : send(404, NOT_FOUND);
    }
    if (resource === 'load_balancers' && method === 'GET' && !id) {
      return send(200, this.page(url, query, [...this.loadBalancers.values()].map((lb) => this.lbJson(lb)), 'load_balancers'));
    }
    if (resource === 'load_balancers' && id) {
      const lb = this.loadBalancers.get(id);
      if (method === 'DELETE' && !sub) {
        this.fatal.push(`DELETE /v2/load_balancers/${id}: the load balancer was deleted`);
        if (lb) this.loadBalancers.delete(id);
        return send(lb ? 204 : 404, lb ? undefined : NOT_FOUND);
      }
      if (!lb) return send(404, NOT_FOUND);
      if (method === 'GET' && !sub) return send(200, { load_balancer: this.lbJson(lb) });
      if (method === 'PUT' && !sub) {
        // An update: only the health check is applied here, after DigitalOcean's range checks.
        const hc = (body as { health_check?: Partial<FakeLoadBalancer['healthCheck']> } | undefined)?.health_check;
        const problems = hc ? healthCheckProblems(hc) : [];
        if (problems.length) return send(422, { id: 'unprocessable_entity', message: problems.join('; ') });
        if (this.isBusy(lb.id)) return send(403, { id: 'forbidden', message: "Load Balancer can't be updated while it processes previous actions" });
        if (hc) lb.healthCheck = { ...lb.healthCheck, ...hc };
        return send(200, { load_balancer: this.lbJson(lb) });
      }
      if (sub === 'droplets' && (method === 'POST' || method === 'DELETE')) {
        const ids = (body as { droplet_ids?: unknown })?.droplet_ids;
        if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'number')) {
          return send(422, { id: 'unprocessable_entity', message: 'droplet_ids must be a list of integers' });
        }
        if (lb.tag) {
          return send(422, { id: 'unprocessable_entity', message: 'load balancer is configured with a tag; droplets cannot be added or removed by ID' });
        }
        if (this.isBusy(lb.id)) return send(403, { id: 'forbidden', message: "Load Balancer can't be updated while it processes previous actions" });
        for (const dropletId of ids as number[]) {
          if (!this.droplets.has(dropletId)) return send(422, { id: 'unprocessable_entity', message: `droplet ${dropletId} does not exist` });
        }
        lb.dropletIds = method === 'POST' ? [...new Set([...lb.dropletIds, ...(ids as number[])])] : lb.dropletIds.filter((x) => !(ids as number[]).includes(x));
        this.changed(lb, method === 'POST' ? 'attach' : 'detach');
        return send(204);
      }
    }
    if (resource === 'tags' && id && sub === 'resources' && (method === 'POST' || method === 'DELETE')) {
      const resources = (body as { resources?: { resource_id?: string; resource_type?: string }[] })?.resources;
      if (!Array.isArray(resources) || resources.some((r) => typeof r.resource_id !== 'string' || !r.resource_type)) {
        return send(422, { id: 'unprocessable_entity', message: 'resources must be a list of {resource_id, resource_type}' });
      }
      const tagLbs = [...this.loadBalancers.values()].filter((lb) => lb.tag === id);
      if (tagLbs.some((lb) => this.isBusy(lb.id))) return send(403, { id: 'forbidden', message: "Load Balancer can't be updated while it processes previous actions" });
      for (const r of resources) {
        const d = this.droplets.get(Number(r.resource_id));
        if (!d) return send(404, NOT_FOUND);
        d.tags = method === 'POST' ? [...new Set([...d.tags, id])] : d.tags.filter((t) => t !== id);
      }
      tagLbs.forEach((lb) => this.changed(lb, 'tag'));
      return send(204);
    }
    send(404, NOT_FOUND);
  }

  /**
   * Count a request against the token's quota. Over it: the headers of the 429 (the per-minute limit says when to
   * retry; a spent hour does not, only `ratelimit-reset`). Refused requests do not count.
   */
  private spend(): Record<string, string> | undefined {
    if (!this.quota) return undefined;
    const now = this.now();
    while (this.spent.length && this.spent[0] <= now - 3_600_000) this.spent.shift();
    if (this.spent.length >= this.quota.perHour) return {};
    const minuteAgo = now - 60_000;
    const inMinute = this.spent.filter((t) => t > minuteAgo);
    if (inMinute.length >= this.quota.perMinute) return { 'retry-after': String(Math.max(1, Math.ceil((inMinute[0] + 60_000 - now) / 1000))) };
    this.spent.push(now);
    return undefined;
  }

  /** Requests made with this token by someone else (another tool, another rollout), counted now. */
  spendQuota(requests: number): void {
    for (let i = 0; i < requests; i++) this.spent.push(this.now());
  }

  /** An hour passes for the quota: every request counted so far has aged out. */
  quotaHourPassed(): void {
    this.spent.length = 0;
  }

  /** ratelimit-limit / -remaining / -reset as DigitalOcean sends them (reset: when the oldest counted request expires). */
  private quotaHeaders(): Record<string, string> {
    if (!this.quota) return {};
    const oldest = this.spent[0] ?? this.now();
    return {
      'ratelimit-limit': String(this.quota.perHour),
      'ratelimit-remaining': String(Math.max(0, this.quota.perHour - this.spent.length)),
      'ratelimit-reset': String(Math.ceil((oldest + 3_600_000) / 1000)),
    };
  }

  private isBusy(lbId: string): boolean {
    return (this.busyUntil.get(lbId) ?? 0) > this.now();
  }

  private changed(lb: FakeLoadBalancer, change: 'attach' | 'detach' | 'tag'): void {
    const busy = this.draw(this.faults.busyWindowMs);
    if (busy > 0) this.busyUntil.set(lb.id, this.now() + busy);
    const members = this.members(lb);
    const spread = (change === 'attach' ? this.faults.attachPropagationMs : change === 'detach' ? this.faults.detachPropagationMs : undefined) ?? this.faults.propagationDelayMs;
    const delay = this.draw(spread);
    this.propagations.push({ lb: lb.id, change, delayMs: delay, busyMs: busy });
    // The API answers 204 before the data plane applies the change, and the data plane applies an LB's changes in
    // the order the API took them: a quick attach never lands before the slow detach that came first.
    const at = Math.max(Date.now() + delay, this.appliedAt.get(lb.id) ?? 0);
    this.appliedAt.set(lb.id, at);
    setTimeout(() => this.onMembershipChange?.(lb, members), at - Date.now()).unref();
  }

  /** When each LB's latest change reaches its data plane. */
  private readonly appliedAt = new Map<string, number>();

  /** Every membership change's drawn propagation delay and busy window, in order (the soak reports them). */
  readonly propagations: { lb: string; change: 'attach' | 'detach' | 'tag'; delayMs: number; busyMs: number }[] = [];

  private page(url: URL, query: Record<string, string>, items: unknown[], key: string) {
    const perPage = Math.min(Math.max(Number(query.per_page) || 20, 1), 200);
    const pageNo = Math.max(Number(query.page) || 1, 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number) => {
      const u = new URL(`${this.url}${url.pathname.replace(/^\/v2/, '')}`);
      for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(perPage));
      return u.toString();
    };
    const pages: Record<string, string> = {};
    if (pageNo > 1) Object.assign(pages, { first: link(1), prev: link(pageNo - 1) });
    if (pageNo < last) Object.assign(pages, { next: link(pageNo + 1), last: link(last) });
    return { [key]: items.slice((pageNo - 1) * perPage, pageNo * perPage), links: { pages }, meta: { total: items.length } };
  }

  private dropletJson(d: FakeDroplet) {
    const v4 = [{ ip_address: d.publicIp, netmask: '255.255.240.0', gateway: '127.0.0.1', type: 'public' }];
    if (d.privateIp) v4.push({ ip_address: d.privateIp, netmask: '255.255.0.0', gateway: '127.0.0.1', type: 'private' });
    // Every property DigitalOcean's spec requires of a droplet (test/schemas/digitalocean.json), with plain values.
    return {
      id: d.id, name: d.name, memory: 1024, vcpus: 1, disk: 25, locked: d.locked ?? false, status: d.status ?? 'active',
      created_at: '2026-01-01T00:00:00Z', features: ['monitoring'], backup_ids: [], next_backup_window: null, snapshot_ids: [], volume_ids: [],
      image: { id: 12345, name: '24.04 (LTS) x64', type: 'base', distribution: 'Ubuntu', slug: 'ubuntu-24-04-x64', public: true, regions: ['fra1'], created_at: '2026-01-01T00:00:00Z', min_disk_size: 15, size_gigabytes: 2.5, tags: [], status: 'available' },
      size: { slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 25, transfer: 1, price_monthly: 6, price_hourly: 0.00893, regions: ['fra1'], available: true, description: 'Basic' },
      size_slug: 's-1vcpu-1gb', tags: d.tags, networks: { v4, v6: [] },
      region: REGION,
    };
  }

  private lbJson(lb: FakeLoadBalancer) {
    return {
      id: lb.id, name: lb.name, ip: lb.ip, status: lb.status, algorithm: 'round_robin', created_at: '2026-01-01T00:00:00Z',
      forwarding_rules: lb.forwardingRules ?? [{ entry_protocol: 'http', entry_port: 80, target_protocol: 'http', target_port: lb.healthCheck.port }],
      health_check: lb.healthCheck, sticky_sessions: { type: 'none' }, region: REGION,
      tag: lb.tag ?? '', droplet_ids: this.members(lb), redirect_http_to_https: false, enable_proxy_protocol: false, enable_backend_keepalive: false,
    };
  }

  /** Fault injection and inspection for tests and the sandbox CLI. */
  private admin(method: string, path: string, body: unknown, send: (s: number, p?: unknown) => void): void {
    if (path === '/_admin/faults' && method === 'POST') {
      this.faults = { ...this.faults, ...(body as Partial<Faults>) };
      return send(200, this.faults);
    }
    if (path === '/_admin/state' && method === 'GET') {
      return send(200, {
        faults: this.faults, fatal: this.fatal,
        loadBalancers: [...this.loadBalancers.values()].map((lb) => ({ id: lb.id, name: lb.name, members: this.members(lb) })),
        droplets: [...this.droplets.values()],
      });
    }
    send(404, NOT_FOUND);
  }
}
