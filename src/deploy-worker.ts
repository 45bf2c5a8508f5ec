// The one way a deploy worker is made: the CLI's `npm run worker`, the worker image, the demo and the tests
// all build it here, so their options cannot drift apart.
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities, realDependencies } from './activities';

export interface DeployWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  /** Where secrets are read at run time (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** A prebuilt workflow bundle (the worker image, tests); default: bundle src/workflows at start. */
  workflowBundlePath?: string;
}

export function createDeployWorker(opts: DeployWorkerOptions): Promise<Worker> {
  const bundle = opts.workflowBundlePath ?? process.env.DEPLOYER_WORKFLOW_BUNDLE;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities(realDependencies(opts.env ?? process.env)),
    // Let in-flight steps finish (or record their failure) before exiting on SIGINT/SIGTERM.
    shutdownGraceTime: '30s',
  });
}
