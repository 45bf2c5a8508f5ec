// Time-skipping test server plus a workflow bundle built once per source change and reused by every test file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { quietRuntime } from '../../sandbox/stack';
import { findBinary } from '../../sandbox/binaries';

const root = path.resolve(__dirname, '..', '..');

function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (full.endsWith('.ts')) hash.update(full).update(readFileSync(full));
    }
  };
  walk(path.join(root, 'src'));
  return hash.digest('hex').slice(0, 16);
}

/** Path of a bundled copy of src/workflows, rebuilt only when src/ changes. */
export async function workflowBundlePath(): Promise<string> {
  const dir = path.join(root, '.cache');
  const file = path.join(dir, `workflow-bundle-${sourceHash()}.js`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const { code } = await bundleWorkflowCode({ workflowsPath: path.join(root, 'src', 'workflows', 'index.ts'), logger: quietLogger });
    writeFileSync(file, code);
  }
  return file;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };

export { quietRuntime };

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: findBinary('temporal-test-server') } },
  });
}
