// One Docker Engine (Debian's dockerd 20.10) with everything of its own: data root, exec root, socket, pid
// file and cgroup parent. It runs without iptables or IP forwarding, so it never touches the machine's
// firewall; ports published on 127.x go through docker-proxy. A droplet's engine starts inside that
// droplet's mount namespace, so bind mounts resolve against the droplet's own /root.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ended, stopProcess } from './processes';

const exec = promisify(execFile);
/** This checkout's tag: two clones on one machine never touch each other's engines. */
const CHECKOUT = createHash('sha256').update(path.resolve(__dirname, '..')).digest('hex').slice(0, 8);
/** Exec roots live here (short paths: containerd's socket path must fit in 108 bytes). */
export const ENGINE_RUN_DIR = `/run/dodeploy-sandbox-${CHECKOUT}`;

export interface EngineOptions {
  /** Unique among running engines: names the exec root and the cgroup parent. */
  id: string;
  /** Holds the data root, the socket, the pid file and the log. */
  dir: string;
  /** Container networks come from 10.78.<poolIndex>.0/24 (one /24 per engine). */
  poolIndex: number;
  /** Run inside this process's mount namespace (the droplet's sshd). */
  mountNamespaceOf?: number;
}

export interface Engine {
  host: string;
  pid: number;
  /** Run the docker CLI against this engine. */
  docker(args: string[], opts?: { env?: Record<string, string>; input?: string; cwd?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function startEngine(opts: EngineOptions): Promise<Engine> {
  mkdirSync(opts.dir, { recursive: true });
  removeStrayBridges(opts.poolIndex);
  const socket = path.join(opts.dir, 'docker.sock');
  const execRoot = path.join(ENGINE_RUN_DIR, opts.id);
  const cgroupParent = `dodeploy-sandbox-${CHECKOUT}-${opts.id}`;
  const args = [
    '--data-root', path.join(opts.dir, 'data'), '--exec-root', execRoot, '-H', `unix://${socket}`,
    '--pidfile', path.join(opts.dir, 'dockerd.pid'), '--bridge=none', '--iptables=false', '--ip-forward=false',
    '--ip-masq=false', '--default-address-pool', `base=10.78.${opts.poolIndex}.0/24,size=28`,
    '--cgroup-parent', cgroupParent, '--log-level=warn',
  ];
  const log = openSync(path.join(opts.dir, 'dockerd.log'), 'a');
  const proc: ChildProcess = opts.mountNamespaceOf
    ? spawn('nsenter', [`--mount=/proc/${opts.mountNamespaceOf}/ns/mnt`, '--', 'dockerd', ...args], { stdio: ['ignore', log, log] })
    : spawn('dockerd', args, { stdio: ['ignore', log, log] });
  const host = `unix://${socket}`;
  const docker: Engine['docker'] = async (cliArgs, o = {}) => {
    const child = exec('docker', ['-H', host, ...cliArgs], { env: { ...process.env, ...o.env }, cwd: o.cwd, maxBuffer: 64 * 1024 * 1024 });
    if (o.input !== undefined) {
      child.child.stdin?.end(o.input);
    }
    return (await child).stdout;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (ended(proc)) throw new Error(`dockerd ${opts.id} exited with ${proc.exitCode}; see ${path.join(opts.dir, 'dockerd.log')}`);
    try {
      await exec('docker', ['-H', host, 'version', '--format', '{{.Server.Version}}']);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`dockerd ${opts.id} did not answer on ${socket} within 30 s; see ${path.join(opts.dir, 'dockerd.log')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    host,
    pid: proc.pid ?? 0,
    docker,
    async stop() {
      if (!ended(proc)) {
        // Containers and their networks first: a bridge left behind would outlive the engine.
        try {
          const ids = (await docker(['ps', '-aq'])).split('\n').filter(Boolean);
          if (ids.length) await docker(['rm', '-f', ...ids]);
          await docker(['network', 'prune', '-f']);
        } catch {
          // the engine is going away anyway
        }
        await stopProcess(proc);
      }
      removeEngineLeftovers(opts.id);
    },
  };
}

/** What an engine leaves outside its data directory: its exec root and its (empty) cgroups. */
export function removeEngineLeftovers(id: string): void {
  const execRoot = path.join(ENGINE_RUN_DIR, id);
  // A container on the host network leaves the host's namespace bind-mounted in the exec root (netns/default).
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(`${execRoot}/`));
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  rmSync(execRoot, { recursive: true, force: true });
  try {
    execFileSync('rmdir', [ENGINE_RUN_DIR], { stdio: 'ignore' }); // once the last engine is gone
  } catch {
    // other engines still run
  }
  const cgroupRoot = '/sys/fs/cgroup';
  if (!existsSync(cgroupRoot)) return;
  const name = `dodeploy-sandbox-${CHECKOUT}-${id}`;
  const dirs = readdirSync(cgroupRoot).flatMap((c) => [path.join(cgroupRoot, c, name), path.join(cgroupRoot, c, 'docker', name)]);
  for (const dir of dirs.filter((d) => existsSync(d))) {
    try {
      execFileSync('rmdir', [dir], { stdio: 'ignore' }); // a cgroup directory goes with rmdir, once empty
    } catch {
      // still in use or already gone
    }
  }
}

/** Bridges a killed engine left in its address pool: a new engine would refuse to reuse the subnet. */
function removeStrayBridges(poolIndex: number): void {
  let listing: string;
  try {
    listing = execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
  } catch {
    return;
  }
  const prefix = `10.78.${poolIndex}.`;
  const links = new Set(listing.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[3]?.startsWith(prefix)).map((f) => f[1]));
  for (const link of links) {
    try {
      execFileSync('ip', ['link', 'del', link], { stdio: 'ignore' });
    } catch {
      // gone already
    }
  }
}
