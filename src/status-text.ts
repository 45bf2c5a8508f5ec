// Words for a rollout's status shared by the terminal (src/cli/render.ts) and the Web UI's current
// details (set by the rollout workflow). Pure and deterministic: safe inside workflow code.
import type { DropletStatus, DropletView, RolloutStatus } from './rollout-status';

/** HH:MM:SS in UTC: the Web UI and the server logs both speak UTC. */
export const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** "sample-app production → v2: deploying, batch 2 of 4", "…: paused after batch 2 of 4" (plus a pause note while one is pending). */
export function statusHeadline(s: RolloutStatus): string {
  const pausePending = s.paused && s.phase !== 'paused' && !isFinished(s) ? ' (pause requested: stops after this batch)' : '';
  const batch = s.currentBatch < 0 ? '' : `${s.phase === 'paused' ? ' after' : ','} batch ${s.currentBatch + 1} of ${s.batchCount ?? s.batches.length}`;
  return `${s.app} ${s.env} → ${s.release}: ${s.phase}${pausePending}${batch}`;
}

export function isFinished(s: RolloutStatus): boolean {
  return s.endedAt !== undefined;
}

/** When the droplet entered what it is doing now: its current step, or the end of its last one. */
function since(d: DropletStatus): number | undefined {
  if (d.stepStartedAt) return d.stepStartedAt;
  return d.steps.at(-1)?.endedAt;
}

function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
}

/**
 * The rollout's "current details" in the Web UI (User Metadata tab): a markdown headline, an aligned
 * progress table in a code block (the UI's markdown tables have no cell padding), and how to steer it.
 * Times are absolute: the text is only refreshed when something changes, so an elapsed time would lie.
 */
export function renderCurrentDetails(s: RolloutStatus): string {
  // The rollout itself knows states; steps come from each droplet's workflow (the CLI merges them in).
  const withSteps = s.droplets.some((d) => d.step);
  const table = columns([
    ['droplet', 'state', ...(withSteps ? ['step'] : []), 'since (UTC)', 'release'],
    ...s.droplets.map((d) => {
      const at = since(d);
      const release = d.release && d.previousRelease && d.previousRelease !== d.release ? `${d.previousRelease} → ${d.release}` : (d.release ?? d.previousRelease ?? '');
      return [d.name, d.state, ...(withSteps ? [d.step ?? ''] : []), at ? clock(at) : '', release];
    }),
  ]);
  const lines = [`**${statusHeadline(s)}**`, '', `started ${clock(s.startedAt)} UTC${s.endedAt ? `, ended ${clock(s.endedAt)} UTC` : ''}`, ''];
  if (s.total !== undefined && s.total > s.droplets.length) lines.push(`${s.total} droplets: ${countsText(s)}; below, the batch in flight and any that did not deploy`, '');
  const release = releaseCommandLines(s);
  if (release.length) lines.push('```', ...release, '```', '');
  if (s.droplets.length) lines.push('```', ...table, '```', '');
  for (const d of s.droplets) if (d.note) lines.push(`${d.name}: ${d.note}`, '');
  if (s.needsAttention.length) lines.push(`**NEEDS ATTENTION (left detached from the load balancer):** ${s.needsAttention.join(', ')}`, '');
  for (const w of s.warnings) lines.push(`warning: ${w}`, '');
  if (s.message) lines.push(s.message, '');
  if (!isFinished(s)) lines.push(`${steeringHint(s)} To stop now: signal \`abort\` (droplets in flight are restored; input \`{"rollback": true}\` restores updated ones too).`);
  return lines.join('\n').trimEnd();
}

/** "9,900 deployed, 100 deploying": how many droplets are in each state. */
/** The release command's record in a few lines: where, how it ended, the tail of its output. */
export function releaseCommandLines(s: RolloutStatus, tail = 5): string[] {
  const r = s.releaseCommand;
  if (!r) return [];
  const took = r.endedAt ? ` in ${seconds(r.endedAt - r.startedAt)}` : '';
  const how = r.ok === undefined ? 'running' : r.ok ? `ok, exit ${r.exitCode ?? 0}${took}` : `FAILED${r.exitCode !== undefined && r.exitCode !== null ? `, exit ${r.exitCode}` : ''}${took}`;
  return [`release command on ${r.droplet} (${r.command}): ${how}`, ...(r.output ?? []).slice(-tail).map((l) => `  | ${l}`)];
}

export function countsText(s: RolloutStatus): string {
  return Object.entries(s.counts ?? {}).filter(([, n]) => n).map(([state, n]) => `${n} ${state}`).join(', ') || 'none yet';
}

/** What the operator can do next, in the Web UI's words (the signal dialog is under More Actions). */
function steeringHint(s: RolloutStatus): string {
  if (s.phase === 'awaiting-approval') return 'Waiting for approval of the first batch. To go on: More Actions → Send an Update → `approve` (no input); to back out: Send a Signal → `abort` with {"rollback": true}.';
  if (s.phase === 'paused') return 'Paused between batches. To continue: More Actions → Send a Signal → `resume`.';
  if (s.paused) return 'Pause requested: the rollout stops when this batch is done. To take it back: More Actions → Send a Signal → `resume`.';
  return 'To pause after the current batch: More Actions → Send a Signal → `pause`.';
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;

/** One droplet workflow's current details in the Web UI: its steps so far, with start times and durations. */
export function renderDropletDetails(v: DropletView): string {
  const state = v.outcome ?? (v.step ? `${v.mode === 'deploy' ? 'deploying' : 'rolling back'}: ${v.step}` : v.mode);
  const rows = columns([
    ['step', 'started (UTC)', 'took', 'result'],
    ...v.steps.map((s) => [s.step, clock(s.startedAt), s.endedAt !== undefined ? seconds(s.endedAt - s.startedAt) : '…',
      s.ok === false ? `FAILED: ${s.error ?? ''}`.slice(0, 120) : s.endedAt !== undefined ? (s.how ? `ok, ${s.how === 'observed' ? 'observed' : 'at its maximum'}` : 'ok') : '']),
  ]);
  const lines = [`**${v.droplet}: ${state}** (${v.previous ?? '?'} → ${v.release})`, '', '```', ...rows, '```'];
  if (v.error) lines.push('', v.error);
  if (v.note) lines.push('', v.note);
  return lines.join('\n');
}
