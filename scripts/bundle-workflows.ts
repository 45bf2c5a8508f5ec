// Prebuild the workflow bundle for the worker image: `tsx scripts/bundle-workflows.ts <out.js>`. The image's
// worker loads it (DEPLOYER_WORKFLOW_BUNDLE) instead of bundling src/workflows with webpack at every start.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(out: string): Promise<void> {
  const noop = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '..', 'src', 'workflows', 'index.ts'),
    logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error },
  });
  writeFileSync(out, code);
}

main(process.argv[2] ?? 'workflow-bundle.js').catch((err) => {
  console.error(err);
  process.exit(1);
});
