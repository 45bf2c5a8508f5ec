// The rollout as an operator sees it: the rollout's own summary (states, the batch in flight), with each
// listed droplet's steps read from that droplet's workflow, which answers for itself (query dropletStatus).
import type { WorkflowHandle } from '@temporalio/client';
import type { DropletStatus, DropletView, RolloutStatus } from '../rollout-status';
import { dropletWorkflowId } from '../rollout-plan';
import { dropletStatusQuery, statusQuery } from '../workflows/messages';

/** Steps of droplet workflows that have ended never change again: kept between polls. */
export type ViewCache = Map<string, DropletView>;

interface Handles {
  getHandle(workflowId: string): WorkflowHandle;
}

async function dropletView(client: Handles, workflowId: string, cache: ViewCache): Promise<DropletView | undefined> {
  const kept = cache.get(workflowId);
  if (kept) return kept;
  try {
    const view = await client.getHandle(workflowId).query(dropletStatusQuery);
    if (view.outcome) cache.set(workflowId, view);
    return view;
  } catch {
    return undefined; // not started yet, or a run from before droplets answered for themselves
  }
}

/** Fill in steps (and the step in progress) for the droplets the rollout lists, from their own workflows. */
export async function withDropletSteps(client: Handles, rolloutId: string, status: RolloutStatus, cache: ViewCache = new Map()): Promise<RolloutStatus> {
  await Promise.all(status.droplets.map(async (d: DropletStatus) => {
    // Untouched by this rollout (its child IDs are reused across rollouts: the last rollout's child would answer,
    // and with no worker on its old task queue a query waits ~30 s), or a run whose steps the rollout itself kept.
    if (d.state === 'pending' || d.state === 'skipped' || d.steps.length) return;
    const ids = [dropletWorkflowId(rolloutId, d.name)];
    if (d.state === 'rolling-back' || d.state === 'rolled-back' || d.error?.startsWith('rollback:')) ids.push(dropletWorkflowId(rolloutId, d.name, 'rollback'));
    const views = (await Promise.all(ids.map((id) => dropletView(client, id, cache))))
      .filter((v): v is DropletView => Boolean(v) && (v?.steps[0]?.startedAt ?? status.startedAt) >= status.startedAt); // an earlier rollout's run
    d.steps = views.flatMap((v) => v.steps);
    const live = views.find((v) => v.step);
    d.step = live?.step;
    if (live) d.stepStartedAt = live.steps.at(-1)?.startedAt ?? d.stepStartedAt;
  }));
  return status;
}

/** Query the rollout and merge in its droplets' steps. */
export async function rolloutView(client: Handles, handle: WorkflowHandle, cache?: ViewCache): Promise<RolloutStatus> {
  return withDropletSteps(client, handle.workflowId, await handle.query(statusQuery), cache);
}
