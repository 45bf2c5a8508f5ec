// Watching a droplet through the load balancer, without a network: who answered, in what order, decides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { observeThroughLb, quietAnswersFor, readField } from '../../src/activities/observe';
import type { ObserveInput } from '../../src/rollout-status';

const spec = { url: 'http://lb.invalid/', droplet: 'json:droplet', release: 'header:x-release', servings: 2, maxDrainMs: 2_000, maxSettleMs: 2_000 };
const input = (over: Partial<ObserveInput>): ObserveInput => ({ observe: spec, droplet: { name: 'web-2', address: '10.0.0.2' }, until: 'drained', inRotation: 3, maxMs: 5_000, ...over });
/** Answers in the given order, then the last one again and again. */
const answering = (answers: { droplet?: string; release?: string }[]) => {
  let k = 0;
  return async () => answers[Math.min(k++, answers.length - 1)];
};

test('the quiet run is sized so a droplet still in rotation would have answered (0.1% chance to miss it), capped', () => {
  assert.deepEqual([0, 1, 3, 10, 100].map(quietAnswersFor), [3, 10, 25, 73, 300]);
});

test('an answer names its droplet and release in a JSON field or a header', () => {
  assert.equal(readField('json:droplet', {}, '{"droplet":"web-2","release":"v2"}'), 'web-2');
  assert.equal(readField('header:X-Release', { 'x-release': 'v2' }, ''), 'v2');
  assert.equal(readField('json:droplet', {}, 'not json'), undefined);
});

test('drained: once the droplet has stopped answering for the whole quiet run; an answer from it starts the run again', async () => {
  const seen = [{ droplet: 'web-2' }, { droplet: 'web-1' }, { droplet: 'web-2' }, ...Array.from({ length: 30 }, (_, i) => ({ droplet: `web-${(i % 3) + 3}` }))];
  const o = await observeThroughLb(input({}), answering(seen));
  assert.equal(o.observed, true);
  assert.equal(o.requests, 3 + quietAnswersFor(3), 'the quiet run counts from the last answer of web-2');
  assert.equal(o.fromDroplet, 2);
  assert.match(o.detail, /25 answers in a row from other droplets/);
});

test('settled: once it answers with the new release `servings` times; answers as the old release do not count', async () => {
  const seen = [{ droplet: 'web-1', release: 'v2' }, { droplet: 'web-2', release: 'v1' }, { droplet: '10.0.0.2', release: 'v2' }, { droplet: 'web-3' }, { droplet: 'web-2', release: 'v2' }];
  const o = await observeThroughLb(input({ until: 'settled', release: 'v2' }), answering(seen));
  assert.deepEqual([o.observed, o.requests, o.fromDroplet], [true, 5, 3]);
});

test('never seen: it ends at the maximum, says so, and does not throw', async () => {
  const o = await observeThroughLb(input({ until: 'settled', release: 'v2', maxMs: 300 }), answering([{ droplet: 'web-1', release: 'v2' }]));
  assert.equal(o.observed, false);
  assert.ok(o.elapsedMs >= 300 && o.requests > 1 && o.requests <= 8, `${o.requests} requests in ${o.elapsedMs} ms: paced`);
  assert.match(o.detail, /not yet answering as v2 \(0 of 2\) after the maximum/);
});
