// The scale benchmark's worker, in its own process started as `npm run worker` starts one (the same factory
// and heap limit), with instant fake activities: its peak RSS is the worker's alone, not the benchmark's
// client's. Talks to bench/scale.ts over IPC: "ready" (idle RSS), "half" (half the droplets attached) and,
// after "stop", "done" with the peak RSS. BENCH_MEMORY_TRACE=1 prints the RSS every 2 s on stderr.
// With a fifth argument, the listing and the LB steps are real, against the API at DIGITALOCEAN_API_URL:
// `coalesced` (the worker's activities) or `per-droplet` (each droplet its own read and change, as before #22).
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createDeployWorker } from '../src/deploy-worker';
import { FakeFleet, droplets } from '../test/helpers/fake-activities';
import { realDependencies } from '../src/activities/deps';
import { fleetActivities } from '../src/activities/fleet';
import { loadBalancerActivities, type MembershipInput } from '../src/activities/load-balancer';
import type { DeployActivities } from '../src/activities';

export type LbMode = 'coalesced' | 'per-droplet';

/** The listing and the membership changes against a DigitalOcean API (the local one, with its quota). */
function realLb(activities: DeployActivities, mode: LbMode): void {
  const deps = realDependencies(process.env);
  activities.resolveFleet = fleetActivities(deps).resolveFleet;
  if (mode === 'coalesced') {
    Object.assign(activities, loadBalancerActivities(deps));
    return;
  }
  const port = (input: MembershipInput) => deps.digitalOcean(input.access);
  activities.detachDroplet = async (input) => port(input).detachDroplets(input.loadBalancer, [input.droplet.id]).then(() => ({}));
  activities.attachDroplet = async (input) => port(input).attachDroplets(input.loadBalancer, [input.droplet.id]).then(() => ({}));
}

export interface WorkerReport { type: 'ready' | 'half' | 'done'; idleRssMB?: number; peakRssMB?: number }

const send = (m: WorkerReport) => process.send?.(m);
const mb = (bytes: number) => Math.round(bytes / 1e6);

async function main(): Promise<void> {
  const [address, taskQueue, dropletCount, bundle, lbMode] = process.argv.slice(2);
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { forward: {}, filter: 'WARN' } } });
  const n = Number(dropletCount);
  const fake = new FakeFleet(droplets(n));
  const activities = fake.activities();
  if (lbMode) realLb(activities, lbMode as LbMode);
  let attached = 0;
  const attach = activities.attachDroplet;
  activities.attachDroplet = async (...args) => {
    const r = await attach(...args);
    if (++attached === Math.ceil(n / 2)) send({ type: 'half' });
    fake.calls.length = 0; // the fake's call log is for tests; here it would only grow
    return r;
  };
  const connection = await NativeConnection.connect({ address });
  const worker = await createDeployWorker({ connection, taskQueue, workflowBundlePath: bundle, activities });
  const stopped = new Promise<void>((resolve) => process.on('message', (m) => m === 'stop' && resolve()));
  send({ type: 'ready', idleRssMB: mb(process.memoryUsage().rss) });
  const t0 = Date.now();
  const trace = process.env.BENCH_MEMORY_TRACE
    ? setInterval(() => console.error(`${((Date.now() - t0) / 1000).toFixed(0)}s rss ${mb(process.memoryUsage().rss)} MB, main heap ${mb(process.memoryUsage().heapTotal)} MB, ${attached} attached`), 2000)
    : undefined;
  await worker.runUntil(stopped);
  clearInterval(trace);
  await connection.close();
  // maxRSS is the process's high-water mark (kB), not a sample: no peak between samples is missed.
  send({ type: 'done', peakRssMB: mb(process.resourceUsage().maxRSS * 1024) });
  process.disconnect?.();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
