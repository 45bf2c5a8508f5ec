// The one way a deploy worker is made: the CLI's `npm run worker`, the worker image, the demo and the tests
// all build it here, so their options cannot drift apart.
import { DefaultLogger, Worker, bundleWorkflowCode, type NativeConnection } from '@temporalio/worker';
import { createActivities, realDependencies, type DeployActivities } from './activities';

export interface DeployWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  /** Where secrets are read at run time (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** A prebuilt workflow bundle (the worker image, tests); default: bundle src/workflows at start. */
  workflowBundlePath?: string;
  /** Stand-in activities (the scale benchmark's instant fleet); default: the real ones. */
  activities?: DeployActivities;
}

/**
 * The heap limit every worker process starts with (`npm run worker`, the image's CMD, the scale benchmark).
 * Without it V8 sizes its heaps for the machine (4 GB here) and lets the main thread and the workflow thread
 * each grow to ~150 MB of mostly garbage before their first full collection, though what they hold is ~40 MB:
 * a 10,000-droplet rollout peaked at 442 MB without it, 343 MB with it (BENCHMARKS.md). It also sizes the
 * SDK's workflow cache (~480 workflows).
 */
export const WORKER_HEAP_FLAG = '--max-old-space-size=1024';

/** Bundle src/workflows at start, saying only what goes wrong: webpack's ~20 lines of module stats help no operator. */
async function bundleWorkflows(): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: new DefaultLogger('WARN') });
}

export async function createDeployWorker(opts: DeployWorkerOptions): Promise<Worker> {
  const bundle = opts.workflowBundlePath ?? process.env.DEPLOYER_WORKFLOW_BUNDLE;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: bundle ? { codePath: bundle } : await bundleWorkflows(),
    activities: opts.activities ?? createActivities(realDependencies(opts.env ?? process.env)),
    // Let in-flight steps finish (or record their failure) before exiting on SIGINT/SIGTERM.
    shutdownGraceTime: '30s',
  });
}
