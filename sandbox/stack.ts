// Everything a real rollout needs on one machine: a Temporal dev server (with Web UI and the Deploy*
// search attributes), a worker with the real activities, and the local fleet. Used by the demo and e2e tests.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createServer } from 'node:net';
import { createDeployWorker } from '../src/deploy-worker';
import { DeployApp, DeployEnv, DeployRelease } from '../src/search-attributes';
import { taskQueue as defaultTaskQueue } from '../src/temporal';
import { findBinary } from './binaries';
import { startFleet, type Fleet, type FleetOptions } from './fleet';

export interface Stack {
  env: TestWorkflowEnvironment;
  client: Client;
  address: string;
  /** The dev server's Web UI, when started with `ui: true`. */
  uiUrl?: string;
  fleet: Fleet;
  taskQueue: string;
  /** Environment for the CLI and a worker process: Temporal address, fleet secrets. */
  processEnv: Record<string, string>;
  /** A worker with the real activities; `env` overrides the fleet's secrets (a wrong password, say). */
  startWorker(env?: Record<string, string>): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;
/** Temporal's runtime logs at WARN: the demo and tests show failures, not every state change. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { forward: {}, filter: 'WARN' } } });
}

export interface StackOptions extends FleetOptions {
  ui?: boolean;
  port?: number;
  uiPort?: number;
  taskQueue?: string;
  /** A prebuilt workflow bundle (tests reuse one); default: bundle src/workflows at start. */
  workflowBundlePath?: string;
}

/** A free TCP port on loopback: the UI port must be known up front to open the UI. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  quietRuntime();
  const uiPort = opts.ui ? (opts.uiPort ?? await freePort()) : undefined;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findBinary('temporal') },
      ip: '127.0.0.1',
      port: opts.port,
      ui: opts.ui ?? false,
      uiPort,
      searchAttributes: [DeployApp, DeployEnv, DeployRelease],
      log: { format: 'pretty', level: 'error' },
    },
  });
  let fleet: Fleet;
  try {
    fleet = await startFleet(opts);
  } catch (err) {
    await env.teardown();
    throw err;
  }
  const address = env.address;
  const taskQueue = opts.taskQueue ?? defaultTaskQueue();
  const uiUrl = uiPort ? `http://127.0.0.1:${uiPort}` : undefined;
  const processEnv = { ...fleet.workerEnv, TEMPORAL_ADDRESS: address, DEPLOY_TASK_QUEUE: taskQueue, ...(uiUrl ? { TEMPORAL_UI_URL: uiUrl } : {}) };
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const stack: Stack = {
    env, client: env.client, address, fleet, taskQueue, processEnv,
    uiUrl,
    async startWorker(envOverrides = {}) {
      worker = await createDeployWorker({
        connection: env.nativeConnection, taskQueue, workflowBundlePath: opts.workflowBundlePath,
        env: { ...process.env, ...fleet.workerEnv, ...envOverrides },
      });
      running = worker.run();
    },
    async stopWorker() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = undefined;
    },
    async stop() {
      await stack.stopWorker().catch(() => undefined);
      await fleet.stop();
      await env.teardown();
    },
  };
  return stack;
}
