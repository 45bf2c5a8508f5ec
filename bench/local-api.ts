// The local DigitalOcean API as the LB benchmarks use it: a fleet of n droplets (tagged web, named and numbered as
// the workflow tests' fake fleet) all behind prod-lb, DigitalOcean's quota, do-default's busy windows.
import { FakeDigitalOcean } from '../sandbox/fake-digitalocean';
import { LB_PROFILES } from '../sandbox/fleet';
import { predictApiRequests } from '../src/api-budget';
import { droplets as fleetOf } from '../test/helpers/fake-activities';

export const LOCAL_API_TOKEN = 'bench-local-api-token';

/** The local API with the fleet's droplets (tagged web) all behind prod-lb, DigitalOcean's quota and do-default's busy windows. */
export async function localApi(n: number, seed: number): Promise<{ api: FakeDigitalOcean; url: string }> {
  const api = new FakeDigitalOcean(LOCAL_API_TOKEN, { seed });
  const fleet = fleetOf(n);
  for (const d of fleet) api.addDroplet({ id: d.id, name: d.name, publicIp: `127.1.${Math.floor(d.id / 250) % 250}.${d.id % 250}`, tags: ['web'] });
  const hc = LB_PROFILES['do-default'].healthCheck;
  api.addLoadBalancer({ id: 'lb-uuid-1', name: 'prod-lb', ip: '127.0.0.100', status: 'active', dropletIds: fleet.map((d) => d.id), healthCheck: { protocol: 'http', port: 80, path: '/healthcheck', ...hc } });
  api.faults.busyWindowMs = LB_PROFILES['do-default'].busyWindowMs;
  return { api, url: await api.listen() };
}

/** What the rollout asked of the API, by kind. */
export function apiFigures(api: FakeDigitalOcean, n: number, batch: number) {
  const q = api.requests;
  const changes = q.filter((r) => (r.method === 'POST' || r.method === 'DELETE') && r.status < 300);
  const lb = api.loadBalancers.get('lb-uuid-1');
  return {
    apiRequests: q.length, predicted: predictApiRequests(n, batch, {}).total,
    listing: q.filter((r) => r.path === '/v2/droplets').length, lbReads: q.filter((r) => r.method === 'GET' && r.path.startsWith('/v2/load_balancers')).length,
    lbChanges: changes.length, batches: Math.ceil(n / batch), busyRefusals: q.filter((r) => r.status === 403).length, rateLimited: q.filter((r) => r.status === 429).length,
    finalAttached: `${lb?.dropletIds.length ?? 0} of ${n}`,
  };
}
