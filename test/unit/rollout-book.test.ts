// The rollout's book without a Temporal server: every way a rollout ends, the rollback decision, the min-attached
// guard and the reports it carries, over tables.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DETAIL_LIMIT, REPORT_CAP, RolloutBook, capacityAllows, keepReport, outcome, wantsRollback, type OutcomeFacts, type RollbackFacts } from '../../src/workflows/rollout/book';
import type { DropletReport, EnvironmentPlan } from '../../src/types';
import type { RolloutCarry } from '../../src/rollout-status';
import { compactFleet, groupByRelease, ungroup } from '../../src/compact';
import { releaseLabel, releaseName } from '../../src/rollout-plan';
import { testPlan } from '../helpers/fake-activities';

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

describe('the book\'s state: what the status answers as droplets move', () => {
  const fleetOf = (n: number) => compactFleet(Array.from({ length: n }, (_, i) => ({ id: 100 + i, name: `web-${i + 1}`, address: `127.0.0.${i + 2}` })));
  const carryOf = (n: number, over: Partial<RolloutCarry> = {}): RolloutCarry => ({
    startedAt: 1_000, releaseId: 'r2', phase: 'deploying', fleet: fleetOf(n), loadBalancer: { id: 'lb', name: 'prod-lb', dropletIds: [] } as unknown as RolloutCarry['loadBalancer'],
    settleDelayMs: 0, filesDigest: 'd', warnings: [], previous: groupByRelease(Array.from({ length: n }, (_, i) => [i, { release: 'v1', releaseDir: '/srv/app/releases/r1' }])),
    nextBatch: 0, paused: false, abortRequested: false, rollbackOnAbort: false, deployed: [], ended: [], rolledBack: '', reports: [], needsAttention: [],
    failedThenResumed: [], runs: 0, ...over,
  });
  const report = (droplet: string, over: Partial<DropletReport> = {}): DropletReport => ({
    droplet, mode: 'deploy', outcome: 'deployed', release: 'v2', previous: { release: 'v1', releaseDir: '/srv/app/releases/r1' }, steps: [], ...over,
  });
  const bookOf = (n: number, over: Partial<RolloutCarry> = {}, rollout: Partial<EnvironmentPlan['rollout']> = { batchSize: 2 }, rollback?: { to?: string }) => {
    const book = new RolloutBook({ plan: testPlan(rollout), release: 'v2', rollback }, 500);
    book.open(carryOf(n, over));
    return book;
  };

  test('before the plan: resolving, nothing listed, signals kept for the carry', () => {
    const book = new RolloutBook({ plan: testPlan(), release: 'v2' }, 500);
    book.flags.paused = true;
    const s = book.status();
    assert.deepEqual([s.phase, s.total, s.droplets.length, s.startedAt, s.paused, s.currentBatch], ['resolving', 0, 0, 500, true, -1]);
    assert.equal(book.pending.paused, true);
  });

  test('a batch in flight, one deployed, one needing attention (named once), the rest pending', () => {
    const book = bookOf(5);
    assert.deepEqual(book.batch(2), [4], 'the last batch is short');
    book.started(0, 'deploy', 'v2', 2_000);
    book.started(1, 'deploy', 'v2', 2_000);
    assert.equal(book.status().counts?.deploying, 2);
    assert.equal(book.status().currentBatch, 0);
    book.succeeded(0, report('web-1'));
    book.left(0, 3_000);
    book.endedAs(1, { state: 'needs-attention', error: 'web-2: left detached' });
    book.endedAs(1, { state: 'needs-attention', error: 'web-2: left detached' });
    book.left(1, 3_000);
    const s = book.status();
    assert.deepEqual(s.counts, { deployed: 1, 'needs-attention': 1, pending: 3 });
    assert.deepEqual(s.needsAttention, ['web-2']);
    assert.deepEqual(s.droplets.slice(0, 3).map((d) => [d.name, d.state, d.previousRelease, d.release ?? '-']), [
      ['web-1', 'deployed', 'v1', 'v2'], ['web-2', 'needs-attention', 'v1', 'v2'], ['web-3', 'pending', 'v1', '-']]);
    assert.equal(s.droplets[0].stepStartedAt, 3_000, 'since when it is deployed');
    // Five droplets, one left detached: another batch of 2 would leave 2 attached, below minAttached 3; one would not.
    const guarded = bookOf(5, { needsAttention: ['web-2'] }, { batchSize: 2, minAttached: 3 });
    assert.equal(guarded.capacityAllows(2), false);
    assert.equal(guarded.capacityAllows(1), true);
  });

  test('a stopped rollout calls the droplets it never reached skipped', () => {
    const book = bookOf(3, { stopped: true });
    book.succeeded(0, report('web-1'));
    assert.deepEqual(book.status().counts, { deployed: 1, skipped: 2 });
  });

  test('the rollback takes the newest first, skips the rolled back and those whose rollback failed', () => {
    const book = bookOf(4);
    for (const i of [0, 1, 2, 3]) book.succeeded(i, report(`web-${i + 1}`));
    book.succeeded(3, report('web-4', { mode: 'rollback', outcome: 'rolled-back', release: 'v1' }));
    book.endedAs(2, { state: 'failed', error: 'rollback: web-3 did not come back' });
    assert.deepEqual(book.rollbackOrder(), [1, 0]);
    assert.equal(book.stateOf(3), 'rolled-back');
    assert.equal(book.row(3).release, 'v1', 'a rolled-back row shows the release it went back to');
  });

  test('deploy rollback: a row shows where the droplet was taken, not what it ran before', () => {
    const targets = groupByRelease([[0, { release: 'v0', releaseDir: '/srv/app/releases/r0' }], [1, null]]);
    const book = bookOf(2, { targets }, { batchSize: 2 }, { to: 'v0' });
    assert.deepEqual(book.rollbackTarget(0), { release: 'v0', releaseDir: '/srv/app/releases/r0' });
    assert.equal(book.rollbackTarget(1), null, 'already there');
    book.succeeded(0, report('web-1', { mode: 'rollback', outcome: 'rolled-back', release: 'v0' }));
    assert.equal(book.row(0).release, 'v0');
  });

  test('what a continued run carries comes back as it was', () => {
    const book = bookOf(60, {}, { batchSize: 10 });
    for (let i = 0; i < 20; i++) book.succeeded(i, report(`web-${i + 1}`));
    book.endedAs(20, { state: 'restored', error: 'web-21: health failed' });
    book.phase = 'paused';
    book.message = 'paused after a failure';
    book.save();
    const carry = book.carry as RolloutCarry;
    assert.equal(carry.phase, 'deploying');
    const next = new RolloutBook({ plan: testPlan({ batchSize: 10 }), release: 'v2', carry }, 500);
    const s = next.status();
    assert.deepEqual(s.counts, { deployed: 20, restored: 1, pending: 39 });
    assert.equal(s.message, 'paused after a failure');
    // A large fleet lists only what did not simply deploy (and the batch in flight), not all 60.
    assert.deepEqual(s.droplets.map((d) => d.name), ['web-21']);
    assert.equal(next.updated, 20);
  });
});

test('a release without a name stays a release: carried, rolled back to, shown by its directory', () => {
  const unnamed = { releaseDir: '/srv/app/releases/by-hand' };
  const back = ungroup(groupByRelease([[0, unnamed], [1, null], [2, { release: 'v1', releaseDir: '/srv/app/releases/r1' }]]));
  assert.deepEqual([back.get(0), back.get(1), back.get(2)], [unnamed, null, { release: 'v1', releaseDir: '/srv/app/releases/r1' }]);
  assert.equal(releaseLabel(unnamed), 'unnamed by-hand');
  // Runs recorded before names could be absent carry the word instead.
  assert.equal(releaseName({ release: 'unknown', releaseDir: '/srv/app/releases/x' }), undefined);
  assert.equal(releaseName({ release: 'v1', releaseDir: '/srv/app/releases/r1' }), 'v1');
});
