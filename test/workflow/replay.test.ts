// Histories of representative runs (test/histories, recorded with RECORD_HISTORIES=1 from the workflow
// tests) must replay against today's workflow code without nondeterminism. A change that breaks this
// needs workflow versioning (patched()) before it can ship while rollouts are running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { quietRuntime, workflowBundlePath } from '../helpers/workflow-env';

const dir = path.resolve(__dirname, '..', 'histories');
const ids: Record<string, string> = JSON.parse(readFileSync(path.join(dir, 'workflow-ids.json'), 'utf8'));
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json').sort();

test('the kept histories cover the main paths', () => {
  for (const expected of ['rollout-happy-path', 'rollout-rollback-policy', 'rollout-abort-mid-batch', 'rollout-pause-resume', 'droplet-compensation-failed', 'droplet-health-failure-compensated']) {
    assert.ok(files.includes(`${expected}.json`), `${expected}.json is in test/histories`);
  }
});

for (const file of files) {
  test(`replays ${file}`, async () => {
    quietRuntime();
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    assert.ok(ids[file], `${file} has its workflow ID in workflow-ids.json`);
    await Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundlePath() } }, history, ids[file]);
  });
}
