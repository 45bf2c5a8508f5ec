// Every patch the workflows branch on, in one place: what it guards, since when, and which kept histories
// (test/histories) replay the code before it. A workflow running when its patch shipped keeps the old branch.
//
// When one may go: first `deprecatePatch(id)` (the new branch only) once no run started before the patch can
// still be open or be replayed (the longest rollout, plus the namespace's retention: 30 days on the team stack);
// then, one release later, the call and the histories that exercise only the old branch.
export const PATCHES = {
  /** 2026-11-30: the rollout bounded for 10,000 droplets; before it, legacy/rollout-v1.ts (rollout-*.json without staged/bounded). */
  boundedRollout: 'bounded-rollout',
  /** 2026-11-30: a droplet answers for itself (dropletStatus) instead of signalling every step to the rollout. */
  childrenAnswerForThemselves: 'children-answer-for-themselves',
  /** 2026-11-30: one progress signal per step (its start), not two; droplet-*.json before "bounded". */
  progressOnStepStartOnly: 'progress-on-step-start-only',
  /** 2026-11-30: an abort during settle never restarts a droplet the LB routes to (droplet-abort-in-settle.json). */
  neverRestartInService: 'never-restart-in-service',
  /** 2026-11-30: stage every droplet before the first detach; rollout-bounded-*.json replay without it. */
  stageBeforeDetach: 'stage-before-detach',
  /** 2026-12-01: rollout events posted to the worker's webhook (rollout-staged-notifications.json has it). */
  notifications: 'notifications',
  /** 2026-12-07: a child that ends without its report needs attention instead of counting as attached. */
  unknownChildNeedsAttention: 'unknown-child-needs-attention',
  /** 2026-12-07: an abort during a rollback stops it after the droplet in flight. */
  abortStopsRollback: 'abort-stops-rollback',
  /** 2026-12-07: the settle ends with one more health check (`verify`). */
  verifyAfterSettle: 'verify-after-settle',
  /** 2026-12-07: a cancelled attach or detach is waited for before the compensation starts. */
  lbCallsFinishBeforeCompensation: 'lb-calls-finish-before-compensation',
} as const;
