// The deploy worker: runs the rollout workflows and the activities that touch DigitalOcean and droplets.
// Secrets (DO token, SSH key, registry password) come from this process's environment only.
import { NativeConnection } from '@temporalio/worker';
import { createDeployWorker } from './deploy-worker';
import { taskQueue, temporalTarget, unreachableHelp } from './temporal';

async function main(): Promise<void> {
  const target = temporalTarget();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(target.connectionOptions);
  } catch (err) {
    console.error(`worker: ${unreachableHelp(target.connectionOptions.address)}\n  (${(err as Error).message})`);
    process.exit(2);
  }
  const worker = await createDeployWorker({ connection, namespace: target.namespace, taskQueue: taskQueue() });
  console.log(`worker: polling task queue "${taskQueue()}" on ${target.connectionOptions.address} (namespace ${target.namespace})`);
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(`worker: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
