// `npm run sandbox -- up|down|status [--droplets N]`: the local fleet as a background service, for
// trying the deployer by hand (`npm run worker` + `npm run start-deploy -- production --config
// examples/sample-app/deploy.config.yaml`). The demo and tests start their own fleets in-process.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, SAMPLE_CONFIG, startFleet } from './fleet';

const STATE = path.join(ROOT, '.sandbox', 'fleet-daemon.json');
const LOG = path.join(ROOT, '.sandbox', 'fleet-daemon.log');

interface DaemonState {
  pid: number;
  ready: boolean;
  error?: string;
  lb?: string;
  api?: string;
  env?: Record<string, string>;
  droplets?: { name: string; address: string }[];
}

const readState = (): DaemonState | undefined => (existsSync(STATE) ? JSON.parse(readFileSync(STATE, 'utf8')) : undefined);
/** Written whole (temp file + rename): `up` polls the state while the daemon writes it. */
const writeState = (s: DaemonState) => {
  writeFileSync(`${STATE}.tmp`, JSON.stringify(s, null, 2));
  renameSync(`${STATE}.tmp`, STATE);
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function serve(droplets: number): Promise<void> {
  const write = (s: Partial<DaemonState>) => writeState({ pid: process.pid, ready: false, ...s });
  write({});
  try {
    const fleet = await startFleet({ droplets, log: (l) => console.log(l) });
    write({
      ready: true, lb: fleet.lb.url, api: fleet.workerEnv.DIGITALOCEAN_API_URL, env: fleet.workerEnv,
      droplets: fleet.hosts.map((h) => ({ name: h.name, address: h.address })),
    });
    const stop = () => fleet.stop().finally(() => {
      rmSync(STATE, { force: true });
      process.exit(0);
    });
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  } catch (err) {
    write({ error: (err as Error).message });
    process.exit(1);
  }
}

async function up(droplets: number): Promise<number> {
  const state = readState();
  if (state && alive(state.pid)) {
    console.log('sandbox: already up');
    return status();
  }
  mkdirSync(path.dirname(STATE), { recursive: true });
  rmSync(STATE, { force: true });
  const out = openSync(LOG, 'w');
  const child = spawn(process.execPath, [...process.execArgv, __filename, 'serve', '--droplets', String(droplets)], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  for (let i = 0; i < 600; i++) {
    const s = readState();
    if (s?.error) {
      console.error(`sandbox: failed to start: ${s.error} (log: ${LOG})`);
      return 1;
    }
    if (s?.ready) return status();
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`sandbox: did not come up within 2 minutes (log: ${LOG})`);
  return 1;
}

async function down(): Promise<number> {
  const state = readState();
  if (!state || !alive(state.pid)) {
    console.log('sandbox: not running');
    rmSync(STATE, { force: true });
    return 0;
  }
  process.kill(state.pid, 'SIGTERM');
  for (let i = 0; i < 150 && alive(state.pid); i++) await new Promise((r) => setTimeout(r, 100));
  console.log('sandbox: down');
  return 0;
}

async function status(): Promise<number> {
  const state = readState();
  if (!state || !alive(state.pid) || !state.ready) {
    console.log('sandbox: not running (npm run sandbox -- up)');
    return 3;
  }
  const admin = await fetch(`${state.api?.replace(/\/v2$/, '')}/_admin/state`).then((r) => r.json()) as { loadBalancers: { name: string; members: number[] }[]; droplets: { id: number; name: string }[] };
  const members = new Set(admin.loadBalancers[0]?.members ?? []);
  console.log(`sandbox: up (pid ${state.pid}); load balancer ${state.lb}; fake DigitalOcean API ${state.api}`);
  for (const d of state.droplets ?? []) {
    const id = admin.droplets.find((x) => x.name === d.name)?.id ?? -1;
    const release = await fetch(`http://${d.address}:8080/healthcheck`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.json() as Promise<{ release: string }>).then((j) => j.release, () => 'not answering');
    console.log(`  ${d.name.padEnd(6)} ${d.address.padEnd(14)} ssh :2222  app :8080  ${members.has(id) ? 'attached' : 'DETACHED'}  release ${release}`);
  }
  console.log(`\nto deploy by hand, in two terminals:\n  ${Object.entries(state.env ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')} npm run worker` +
    `\n  DIGITALOCEAN_TOKEN=${state.env?.DIGITALOCEAN_TOKEN} npm run start-deploy -- production --config ${path.relative(process.cwd(), SAMPLE_CONFIG)}` +
    `\n(a Temporal server must be running: npm run temporal)`);
  return 0;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { droplets: { type: 'string', default: '4' } } });
  const droplets = Number(values.droplets);
  switch (positionals[0]) {
    case 'serve': await serve(droplets); return -1;
    case 'up': return up(droplets);
    case 'down': return down();
    case 'status': return status();
    default:
      console.error('usage: npm run sandbox -- up|down|status [--droplets N]');
      return 2;
  }
}

main().then((code) => {
  if (code >= 0) process.exit(code);
});
