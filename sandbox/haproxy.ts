// The sandbox load balancer's data plane: a real HAProxy in front of the droplets' app ports, driven
// through its runtime API as the fake DigitalOcean API changes membership. Health checks mirror the LB's
// health_check; a server that joins starts DOWN and gets traffic only after `rise` passing checks, as on
// DigitalOcean. A server that leaves is put in maintenance: no new requests, in-flight ones complete.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { FakeLoadBalancer } from './fake-digitalocean';
import { waitForPort } from './droplet-host';
import { ended, stopProcess } from './processes';

export interface Backend {
  dropletId: number;
  name: string;
  address: string;
  port: number;
}

export interface HaproxyOptions {
  dir: string;
  bindAddress: string;
  bindPort: number;
  backends: Backend[];
  healthCheck: FakeLoadBalancer['healthCheck'];
  /** Droplets in service at start (already healthy: they begin UP). */
  initialMembers: number[];
}

export interface ServerState {
  name: string;
  /** UP, DOWN, MAINT, … as HAProxy reports it. */
  status: string;
}

export class HaproxyLoadBalancer {
  private proc?: ChildProcess;
  private readonly socket: string;
  private members = new Set<number>();

  constructor(private readonly opts: HaproxyOptions) {
    this.socket = path.join(opts.dir, 'haproxy.sock');
  }

  get url(): string {
    return `http://${this.opts.bindAddress}:${this.opts.bindPort}`;
  }

  config(): string {
    const hc = this.opts.healthCheck;
    const servers = this.opts.backends.map((b) => {
      const initial = this.opts.initialMembers.includes(b.dropletId) ? '' : ' disabled';
      return `  server ${b.name} ${b.address}:${b.port} check inter ${hc.check_interval_seconds}s rise ${hc.healthy_threshold} fall ${hc.unhealthy_threshold}${initial}`;
    });
    return [
      'global',
      `  stats socket ${this.socket} mode 600 level admin`,
      '  log stdout format raw local0 err',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      `  timeout check ${hc.response_timeout_seconds}s`,
      '  option http-server-close', // no pooled server connections survive a removal
      'frontend lb',
      `  bind ${this.opts.bindAddress}:${this.opts.bindPort}`,
      '  default_backend droplets',
      'backend droplets',
      '  balance roundrobin',
      `  option httpchk GET ${hc.path}`,
      '  http-check expect status 200',
      ...servers,
      '',
    ].join('\n');
  }

  async start(): Promise<void> {
    const cfg = path.join(this.opts.dir, 'haproxy.cfg');
    writeFileSync(cfg, this.config());
    this.members = new Set(this.opts.initialMembers);
    this.proc = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.proc.stderr?.on('data', (c) => (stderr += c));
    await waitForPort(this.opts.bindAddress, this.opts.bindPort, 10_000, () => (this.proc && ended(this.proc) ? `haproxy exited: ${stderr}` : undefined));
  }

  async stop(): Promise<void> {
    if (this.proc) await stopProcess(this.proc);
  }

  /** One runtime API command over the admin socket. */
  command(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const conn = net.connect(this.socket);
      let out = '';
      conn.on('connect', () => conn.end(`${cmd}\n`));
      conn.on('data', (c) => (out += c));
      conn.on('end', () => resolve(out));
      conn.on('error', reject);
    });
  }

  /** Apply the LB's membership (after the fake API's propagation delay). */
  async applyMembership(dropletIds: number[]): Promise<void> {
    const wanted = new Set(dropletIds);
    for (const b of this.opts.backends) {
      const was = this.members.has(b.dropletId);
      const now = wanted.has(b.dropletId);
      if (was && !now) await this.command(`set server droplets/${b.name} state maint`);
      if (!was && now) {
        // A joining server starts DOWN and takes traffic only after `rise` passing checks, as on DigitalOcean. Leaving
        // maintenance, HAProxy counts a server healthy at once (a `health down` before it is forgotten): so the
        // health is forced down in the same command line, before anything else runs, and the checks bring it up.
        await this.command(`set server droplets/${b.name} state ready; set server droplets/${b.name} health down`);
      }
    }
    this.members = wanted;
  }

  async servers(): Promise<ServerState[]> {
    const csv = await this.command('show stat');
    const lines = csv.trim().split('\n');
    const header = lines[0].replace(/^# /, '').split(',');
    const col = (name: string) => header.indexOf(name);
    return lines.slice(1)
      .map((l) => l.split(','))
      .filter((f) => f[col('pxname')] === 'droplets' && !['BACKEND', 'FRONTEND'].includes(f[col('svname')]))
      .map((f) => ({ name: f[col('svname')], status: f[col('status')] }));
  }
}
