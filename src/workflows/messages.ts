// Signals and queries of the rollout: how operators (CLI, Web UI) steer and watch it.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DropletOutcome, DropletReport, StepName, StepRecord } from '../types';

export interface AbortRequest {
  /** Also return already-updated droplets to the release they had before. */
  rollback?: boolean;
}

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const abortSignal = defineSignal<[AbortRequest?]>('abort');

/** Sent by each droplet's child workflow to the rollout as it moves through its steps. */
export interface DropletProgress {
  droplet: string;
  mode: 'deploy' | 'rollback';
  step: StepName;
  at: number;
  phase: 'started' | 'finished' | 'failed';
  error?: string;
  /** Present on the child's last message: how it ended. */
  report?: DropletReport;
}
export const dropletProgressSignal = defineSignal<[DropletProgress]>('dropletProgress');

export type DropletState = 'pending' | 'deploying' | 'rolling-back' | 'skipped' | DropletOutcome | 'failed';

export interface DropletStatus {
  name: string;
  id: number;
  batch: number;
  state: DropletState;
  step?: StepName;
  stepStartedAt?: number;
  previousRelease?: string | null;
  release?: string;
  steps: StepRecord[];
  error?: string;
  /** Why it ended as it did when that is not obvious (see DropletReport.note). */
  note?: string;
}

export type RolloutPhase =
  | 'resolving'
  | 'preflight'
  | 'deploying'
  | 'baking'
  | 'paused'
  | 'rolling-back'
  | 'succeeded'
  | 'failed'
  | 'rolled-back'
  | 'aborted';

export interface RolloutStatus {
  app: string;
  env: string;
  release: string;
  phase: RolloutPhase;
  paused: boolean;
  abortRequested: boolean;
  startedAt: number;
  endedAt?: number;
  batches: string[][];
  currentBatch: number;
  settleDelayMs: number;
  droplets: DropletStatus[];
  warnings: string[];
  message?: string;
  needsAttention: string[];
}

export const statusQuery = defineQuery<RolloutStatus>('status');

export interface RolloutResult {
  status: 'succeeded' | 'failed' | 'rolled-back' | 'aborted';
  message: string;
  droplets: DropletReport[];
  needsAttention: string[];
}
