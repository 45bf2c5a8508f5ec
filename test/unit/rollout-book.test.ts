// The rollout's book without a Temporal server: every way a rollout ends, the rollback decision, the min-attached
// guard and the reports it carries, over tables.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DETAIL_LIMIT, REPORT_CAP, capacityAllows, keepReport, outcome, wantsRollback, type OutcomeFacts, type RollbackFacts } from '../../src/workflows/rollout/book';
import type { DropletReport } from '../../src/types';

const facts = (over: Partial<OutcomeFacts> = {}): OutcomeFacts => ({
  app: 'shop', env: 'production', release: 'v2', abortRequested: false, rollbackOnAbort: false, failedThenResumed: [], needsAttention: [],
  rolledBackForFailure: false, updated: 3, rolledBack: 0, rollbackFailures: 0, ...over,
});

describe('how a rollout ends', () => {
  const cases: [string, Partial<OutcomeFacts>, string, RegExp, boolean?][] = [
    ['succeeded', {}, 'succeeded', /^shop production: 3 droplet\(s\) now run v2$/],
    ['failed, rolled back', { failure: 'web-3 failed', rolledBackForFailure: true, updated: 2 }, 'rolled-back', /^web-3 failed\. Rolled back 2 updated droplet\(s\) to their previous release\.$/],
    ['failed, a rollback failed', { failure: 'web-3 failed', rolledBackForFailure: true, rollbackFailures: 1 }, 'failed', /^web-3 failed\. Rollback of 1 droplet\(s\) failed\.$/],
    ['failed without rollback (stop)', { failure: 'web-3 failed', updated: 2 }, 'failed', /^web-3 failed\. 2 droplet\(s\) stay on v2\.$/],
    ['failed before any update', { failure: 'staging failed', updated: 0 }, 'failed', /^staging failed\.$/],
    ['refused while staging (exit 2)', { failure: 'a service is missing', updated: 0, refused: true }, 'failed', /^a service is missing\.$/, true],
    ['needs attention', { failure: 'web-2 failed', updated: 1, needsAttention: ['web-2'] }, 'failed', /1 droplet\(s\) stay on v2\. NEEDS ATTENTION \(detached\): web-2\.$/],
    ['paused after a failure, then resumed', { failedThenResumed: ['web-2'], updated: 2 }, 'failed', /^2 droplet\(s\) now run v2; web-2 failed and kept their previous release$/],
    ['aborted', { abortRequested: true, updated: 1 }, 'aborted', /^aborted by operator after 1 droplet\(s\) were updated\.$/],
    ['aborted with rollback', { abortRequested: true, rollbackOnAbort: true, updated: 2, rollbackFailures: 1 }, 'aborted', /^aborted by operator after 2 droplet\(s\) were updated\. 1 updated droplet\(s\) rolled back, 1 could not be\.$/],
    ['aborted during the rollback a failure started', { abortRequested: true, rollbackAborted: true, failure: 'web-4 failed', updated: 3, rolledBack: 1 }, 'aborted',
      /^web-4 failed\. The rollback was aborted by operator after 1 of 3 updated droplet\(s\) were rolled back; 2 stay on v2\.$/],
    ['aborted during the release command', { abortRequested: true, updated: 0, releaseCommand: { droplet: 'web-1' } }, 'aborted',
      /The release command on web-1 was interrupted: it may have run in part or in full/],
    ['aborted after the release command ran', { abortRequested: true, updated: 0, releaseCommand: { droplet: 'web-1', ok: true, exitCode: 0 } }, 'aborted',
      /^aborted by operator after 0 droplet\(s\) were updated\.$/],
    ['deploy rollback succeeded', { rollback: {}, rolledBack: 3 }, 'succeeded', /^shop production: 3 droplet\(s\) rolled back to the release each ran before its last deploy$/],
    ['deploy rollback --to failed midway', { rollback: { to: 'v1' }, rolledBack: 1, failure: 'web-2 failed' }, 'failed',
      /^web-2 failed\. 1 droplet\(s\) were rolled back to v1 before it stopped; the others keep what they run\.$/],
    ['deploy rollback aborted', { rollback: {}, rolledBack: 1, abortRequested: true }, 'aborted', /^rollback aborted by operator after 1 droplet\(s\) were rolled back/],
  ];
  for (const [name, over, status, message, refused] of cases) {
    test(name, () => {
      const o = outcome(facts(over));
      assert.equal(o.status, status);
      assert.match(o.message, message);
      assert.equal(o.refused === true, refused === true, 'refused only for a configuration error');
    });
  }
});

describe('whether the updated droplets go back', () => {
  const base: RollbackFacts = { rollbackMode: false, alreadyRollingBack: false, abortRequested: false, rollbackOnAbort: false, onFailure: 'rollback', updated: 2 };
  const cases: [string, Partial<RollbackFacts>, boolean][] = [
    ['no failure', {}, false],
    ['a failure, onFailure rollback', { failure: 'x' }, true],
    ['a failure, nothing updated yet', { failure: 'x', updated: 0 }, false],
    ['a failure, onFailure stop', { failure: 'x', onFailure: 'stop' }, false],
    ['an approval that timed out, onFailure stop', { failure: 'x', onFailure: 'stop', forceRollback: true }, true],
    ['abort without --rollback, after a failure', { failure: 'x', abortRequested: true }, false],
    ['abort --rollback', { abortRequested: true, rollbackOnAbort: true }, true],
    ['a continued run that was rolling back', { alreadyRollingBack: true }, true],
    ['deploy rollback never rolls itself back', { rollbackMode: true, failure: 'x' }, false],
  ];
  for (const [name, over, expected] of cases) test(name, () => assert.equal(wantsRollback({ ...base, ...over }), expected));
});

test('the min-attached guard counts droplets needing attention as out; no load balancer, no guard', () => {
  const f = { hasLoadBalancer: true, fleetSize: 3, needsAttention: 1, minAttached: 1 };
  assert.equal(capacityAllows(f, 1), true);
  assert.equal(capacityAllows(f, 2), false);
  assert.equal(capacityAllows({ ...f, hasLoadBalancer: false }, 3), true);
});

test('reports: every one for a small fleet; past it failures and notes only, at most REPORT_CAP', () => {
  const report = (i: number, outcome: DropletReport['outcome'], note?: string): DropletReport =>
    ({ droplet: `web-${i}`, mode: 'deploy', outcome, release: 'v2', previous: null, steps: [], ...(note ? { note } : {}) });
  assert.equal(keepReport([], report(1, 'deployed'), DETAIL_LIMIT).length, 1);
  const large = DETAIL_LIMIT + 1;
  assert.deepEqual(keepReport([], report(1, 'deployed'), large), []);
  assert.deepEqual(keepReport([], report(1, 'rolled-back'), large), []);
  assert.equal(keepReport([], report(1, 'deployed', 'kept after an abort'), large).length, 1);
  let kept: DropletReport[] = [];
  for (let i = 0; i < REPORT_CAP + 20; i++) kept = keepReport(kept, report(i, 'restored'), 10_000);
  assert.equal(kept.length, REPORT_CAP);
  assert.equal(keepReport(kept, report(0, 'needs-attention'), 10_000).find((r) => r.droplet === 'web-0')?.outcome, 'needs-attention', 'a kept droplet\'s report is updated');
});
