// Signals and queries of the rollout: how operators (CLI, Web UI) steer and watch it. The types they carry
// live in src/rollout-status.ts.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AbortRequest, DropletProgress, DropletView, RolloutStatus } from '../rollout-status';

export type { AbortRequest, DropletProgress, DropletState, DropletStatus, RolloutPhase, RolloutStatus, DropletView, RolloutResult, RolloutCarry } from '../rollout-status';

/** The workflow types clients start, by the names the worker registers (workflows/index.ts; a unit test holds them equal). */
export const WORKFLOW_TYPES = { rollout: 'rolloutWorkflow', preview: 'previewRolloutWorkflow' } as const;

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const abortSignal = defineSignal<[AbortRequest?]>('abort');
export const dropletProgressSignal = defineSignal<[DropletProgress]>('dropletProgress');
export const statusQuery = defineQuery<RolloutStatus>('status');
export const dropletStatusQuery = defineQuery<DropletView>('dropletStatus');
/** The operator's go-ahead after the canary batch; rejected (with the reason) unless the rollout is waiting for it. */
export const approveUpdate = defineUpdate<string>('approve');
