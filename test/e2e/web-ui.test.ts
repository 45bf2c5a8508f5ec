// The operator's other window: the Temporal Web UI, driven in headless Chromium against a real rollout
// on the local fleet. Find the rollout by its search attribute, pause it with the UI's signal dialog,
// read the progress while it waits, resume it, and keep the screenshots the README shows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { Stack } from '../../sandbox/stack';
import { all, assertFleet, assertNoFailedRequests, e2eStack, rollout, WORKFLOW_ID } from '../helpers/e2e';
import { launchChromium, screenshotPath, WebUi } from '../helpers/web-ui';

let stack: Stack;
let browser: Browser;
let page: Page;
let ui: WebUi;
before(async () => {
  stack = await e2eStack({ name: 'e2e-ui', subnet: 25, droplets: 3, ui: true });
  await stack.startWorker();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  ui = new WebUi(page, stack.uiUrl as string);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('an operator finds the rollout by DeployEnv, pauses it from the Web UI, reads its progress, and resumes it', async () => {
  await ui.screenshotOnFailure(operatorPausesAndResumes);
});

test('abort with {"rollback": true} from the Web UI restores the droplet in flight and reverts the updated one', async () => {
  // A drain long enough that web-2 is still out of the load balancer when the signal, sent through the UI, lands:
  // timed (observe: false), since a watched drain ends as soon as the LB has let go of it.
  const r = await rollout(stack, 'v3', { drainDelay: '8s', observe: false });
  await r.waitFor((s) => s.droplets.some((d) => d.name === 'web-2' && d.state === 'deploying'));
  await ui.screenshotOnFailure(async () => {
    await ui.openWorkflow(WORKFLOW_ID);
    await ui.sendSignal('abort', { rollback: true });
  });
  const { result, traffic } = await r.finish();
  assert.equal(result?.status, 'aborted', result?.message);
  assert.match(result?.message ?? '', /1 updated droplet\(s\) rolled back/);
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v2', 3));
});

async function operatorPausesAndResumes(): Promise<void> {
  // Timed drains (observe: false) keep the rollout running while the operator clicks through the UI.
  const r = await rollout(stack, 'v2', { drainDelay: '4s', observe: false });

  // 1. Find it: Workflows → manual query → DeployEnv="production" → the rollout's row → open it.
  await ui.search('DeployEnv="production"');
  await ui.waitForRow(WORKFLOW_ID);
  await page.getByRole('link', { name: WORKFLOW_ID, exact: true }).click();
  await page.getByRole('button', { name: 'More Actions' }).waitFor();

  // 2. Pause: More Actions → Send a Signal → pause → Submit. The batch in flight finishes, then it waits.
  await ui.sendSignal('pause');
  const paused = await r.waitFor((s) => s.phase === 'paused', 90_000);
  const waiting = paused.droplets.filter((d) => d.state === 'pending').map((d) => d.name);
  assert.ok(waiting.length > 0, 'paused before the last batch');
  for (const d of paused.droplets.filter((x) => x.state !== 'pending')) assert.equal(d.state, 'deployed', `${d.name} finished its batch`);
  assert.deepEqual(stack.fleet.attached(), ['web-1', 'web-2', 'web-3'], 'every droplet serves while the rollout is paused');
  await page.waitForTimeout(3000);
  const still = await r.status();
  assert.equal(still.phase, 'paused');
  assert.deepEqual(still.droplets.filter((d) => d.state === 'pending').map((d) => d.name), waiting, 'nothing moves while paused');

  // 3. The list shows the rollout and its droplet workflows, both found by the search attribute.
  await ui.search('DeployEnv="production"');
  await ui.waitForRow(`${WORKFLOW_ID}/web-1`);
  const list = await page.locator('main').innerText();
  assert.match(list, /rolloutWorkflow/);
  assert.match(list, /deployDropletWorkflow/);
  await page.screenshot({ path: screenshotPath('web-ui-search.png') });

  // 4. The rollout's page: its droplet workflows under Relationships; under User Metadata its summary and
  //    the progress table, which says paused and how to resume.
  await ui.openWorkflow(WORKFLOW_ID);
  await page.getByRole('tab', { name: /Relationships/ }).click();
  const children = paused.droplets.filter((d) => d.state === 'deployed').map((d) => `${WORKFLOW_ID}/${d.name}`);
  for (const id of children) await page.getByRole('link', { name: id, exact: true }).waitFor();
  assert.match(await page.locator('main').innerText(), /deployDropletWorkflow/);
  const details = await ui.userMetadata(/sample-app production → v2: paused after batch \d of 3/);
  assert.match(details, /rollout sample-app production → v2/, 'the rollout summary');
  assert.match(details, /^web-1 +deployed +\d\d:\d\d:\d\d +v1 → v2$/m);
  for (const name of waiting) assert.match(details, new RegExp(`^${name} +pending +v1$`, 'm'));
  assert.match(details, /Send a Signal → resume/);
  await page.screenshot({ path: screenshotPath('web-ui-paused.png') });

  // 5. A droplet's workflow: its summary, and every activity and timer in its timeline reads like a log line.
  //    A tall window: the timeline draws only the rows on screen.
  await page.setViewportSize({ width: 1400, height: 1450 });
  await ui.openWorkflow(`${WORKFLOW_ID}/web-1`);
  for (const summary of ['detach web-1 from lb sandbox-lb', 'drain web-1 4s', 'health web-1 → v2 3×', 'attach web-1 to lb sandbox-lb', 'settle web-1']) {
    await page.getByText(summary).first().waitFor({ timeout: 10_000 });
  }
  await page.screenshot({ path: screenshotPath('web-ui-droplet.png') });
  await ui.userMetadata(/deploy v2 on web-1/);
  await page.setViewportSize({ width: 1400, height: 900 });

  // 6. Resume from the UI; the rollout finishes with no request lost.
  await ui.openWorkflow(WORKFLOW_ID);
  await ui.sendSignal('resume');
  const { result, traffic } = await r.finish();
  assert.equal(result?.status, 'succeeded', result?.message);
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v2', 3));
}
