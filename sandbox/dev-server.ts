// Settings for the Temporal dev server that the local stack (demo, e2e tests, `npm run bench`), `npm run temporal`
// (scripts/temporal-dev.sh, which repeats them) and the scale benchmark start.

/**
 * The dev server has one history shard, and a shard reads its transfer and timer queues at most 20 times a
 * second (Temporal's default): every step of a rollout (an activity's completion waking its workflow, a child
 * starting or ending) waits for the next read, ~50 ms, ~0.35 s per droplet. A cluster spreads a rollout's
 * workflows over many shards, so it rarely meets that limit; on the one shard it is lifted.
 */
export const SHARD_QUEUE_POLL_LIMITS = ['history.transferProcessorMaxPollRPS=1000', 'history.timerProcessorMaxPollRPS=1000'];

/** The `temporal server start-dev` arguments for those settings. */
export function devServerArgs(settings: string[] = SHARD_QUEUE_POLL_LIMITS): string[] {
  return settings.flatMap((setting) => ['--dynamic-config-value', setting]);
}
