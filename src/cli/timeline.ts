// A rollout as a picture: one row per droplet, a coloured segment per step, and (when known) the
// request error rate of the traffic underneath. Pure: data in, SVG text out.

export interface TimelineDroplet {
  name: string;
  steps: { step: string; startedAt: number; endedAt?: number; ok?: boolean; how?: 'observed' | 'maximum' }[];
}

export interface TimelineLoad {
  at: number;
  requests: number;
  failed: number;
}

const COLOURS: Record<string, string> = {
  'record-previous': '#9e9e9e', detach: '#ef6c00', drain: '#ffb74d', upload: '#42a5f5', activate: '#1e88e5',
  start: '#3949ab', switch: '#3949ab', health: '#8e24aa', attach: '#2e7d32', settle: '#81c784', verify: '#ab47bc',
  restore: '#c62828', 'restore-health': '#e57373', reattach: '#ad1457',
  stage: '#80deea', down: '#6d4c41', pull: '#26a69a',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Width of a shortened idle stretch (a pause, an approval wait, a bake) on the time axis. */
const BREAK_PX = 44;

/**
 * Stretches where no droplet ran a step, long enough to squeeze the rest of the picture (over 20 s and over a
 * tenth of the whole): a paused rollout is drawn at the scale of its work, with each pause marked and timed.
 */
export function idleStretches(droplets: TimelineDroplet[]): { from: number; to: number }[] {
  const spans = droplets.flatMap((d) => d.steps.map((s) => ({ from: s.startedAt, to: s.endedAt ?? s.startedAt }))).sort((a, b) => a.from - b.from);
  if (!spans.length) return [];
  const whole = Math.max(...spans.map((s) => s.to)) - spans[0].from;
  const idle: { from: number; to: number }[] = [];
  let reach = spans[0].to;
  for (const s of spans) {
    if (s.from - reach > Math.max(20_000, whole / 10)) idle.push({ from: reach, to: s.from });
    reach = Math.max(reach, s.to);
  }
  return idle;
}

/** `durationMs` fixes the time axis, so pictures drawn one above the other share a scale (no stretch is shortened then). */
export function renderTimelineSvg(title: string, droplets: TimelineDroplet[], load: TimelineLoad[] = [], opts: { durationMs?: number } = {}): string {
  const starts = droplets.flatMap((d) => d.steps.map((s) => s.startedAt));
  const ends = droplets.flatMap((d) => d.steps.map((s) => s.endedAt ?? s.startedAt));
  const t0 = Math.min(...starts, ...load.map((l) => l.at));
  const last = Math.max(...ends, ...load.map((l) => l.at + 1000), t0 + 1000);
  const t1 = opts.durationMs ? Math.max(t0 + opts.durationMs, last) : last;
  const left = 90;
  const width = 900;
  const row = 26;
  const breaks = opts.durationMs ? [] : idleStretches(droplets);
  const busyMs = t1 - t0 - breaks.reduce((n, b) => n + (b.to - b.from), 0);
  const perMs = (width - breaks.length * BREAK_PX) / busyMs;
  // Time to x, with each idle stretch drawn BREAK_PX wide whatever its length.
  const x = (t: number) => {
    let px = left;
    let from = t0;
    for (const b of breaks) {
      if (t <= b.from) break;
      px += (b.from - from) * perMs + Math.min(1, (t - b.from) / (b.to - b.from)) * BREAK_PX;
      from = b.to;
      if (t <= b.to) return px;
    }
    return px + (t - from) * perMs;
  };
  const top = 40;
  const loadTop = top + droplets.length * row + 20;
  const height = loadTop + (load.length ? 80 : 0) + 60;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 20}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const b of breaks) {
    const bx = x(b.from);
    parts.push(`<rect x="${bx.toFixed(1)}" y="${top - 6}" width="${BREAK_PX}" height="${droplets.length * row + 6}" fill="#eceff1" stroke="#90a4ae" stroke-dasharray="4 3">` +
      `<title>${esc(`nothing ran for ${((b.to - b.from) / 1000).toFixed(0)} s (paused, awaiting approval or baking): shortened`)}</title></rect>`,
      `<text x="${(bx + BREAK_PX / 2).toFixed(1)}" y="${top - 9}" font-size="10" text-anchor="middle">⋯ ${esc(idleLabel(b.to - b.from))}</text>`);
  }
  droplets.forEach((d, i) => {
    const y = top + i * row;
    parts.push(`<text x="8" y="${y + 16}">${esc(d.name)}</text>`);
    for (const s of d.steps) {
      const w = Math.max(1.5, x(s.endedAt ?? s.startedAt) - x(s.startedAt));
      const colour = s.ok === false ? '#d32f2f' : COLOURS[s.step] ?? '#607d8b';
      parts.push(`<rect x="${x(s.startedAt).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${row - 6}" fill="${colour}"><title>${esc(`${d.name} ${s.step} ${((s.endedAt ?? s.startedAt) - s.startedAt) / 1000}s${s.ok === false ? ' FAILED' : ''}`)}</title></rect>`);
    }
  });
  if (load.length) {
    const peak = Math.max(...load.map((l) => l.requests), 1);
    parts.push(`<text x="8" y="${loadTop + 30}">requests/s</text>`);
    for (const l of load) {
      const h = (l.requests / peak) * 60;
      const fh = (l.failed / peak) * 60;
      parts.push(`<rect x="${x(l.at).toFixed(1)}" y="${(loadTop + 60 - h).toFixed(1)}" width="${Math.max(1, x(l.at + 1000) - x(l.at) - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#b0bec5"/>`);
      if (l.failed) parts.push(`<rect x="${x(l.at).toFixed(1)}" y="${(loadTop + 60 - fh).toFixed(1)}" width="${Math.max(1, x(l.at + 1000) - x(l.at) - 1).toFixed(1)}" height="${fh.toFixed(1)}" fill="#d32f2f"/>`);
    }
    const failed = load.reduce((n, l) => n + l.failed, 0);
    const total = load.reduce((n, l) => n + l.requests, 0);
    parts.push(`<text x="${left}" y="${loadTop + 76}">${total} requests, ${failed} failed (${total ? ((failed / total) * 100).toFixed(2) : '0'}% error rate); red = failed</text>`);
  }
  const legendY = height - 16;
  const used = new Set(droplets.flatMap((d) => d.steps.map((s) => s.step)));
  Object.entries(COLOURS).filter(([step]) => used.has(step)).forEach(([step, colour], i) => {
    parts.push(`<rect x="${8 + i * 84}" y="${legendY - 10}" width="10" height="10" fill="${colour}"/><text x="${21 + i * 84}" y="${legendY}" font-size="10">${step}</text>`);
  });
  const shortened = breaks.length ? ` (${breaks.length} idle stretch${breaks.length > 1 ? 'es' : ''} shortened)` : '';
  parts.push(`<text x="${left + width}" y="20" text-anchor="end">${((last - t0) / 1000).toFixed(1)} s${shortened}</text>`, '</svg>');
  return parts.join('\n');
}

function idleLabel(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The steps as text, a line per droplet: when it began (from the first step) and each step's duration, failures marked. */
export function renderStepLines(droplets: TimelineDroplet[]): string[] {
  const t0 = Math.min(...droplets.flatMap((d) => d.steps.map((s) => s.startedAt)));
  const width = Math.max(0, ...droplets.map((d) => d.name.length));
  return droplets.filter((d) => d.steps.length).map((d) => {
    // A watched drain or settle says whether it saw the LB act or ran to its maximum.
    const how = (s: TimelineDroplet['steps'][number]) => (s.how === 'observed' ? ' observed' : s.how === 'maximum' ? ' (maximum)' : '');
    const steps = d.steps.map((s) => `${s.step} ${s.endedAt === undefined ? 'running' : `${((s.endedAt - s.startedAt) / 1000).toFixed(1)}s`}${how(s)}${s.ok === false ? ' FAILED' : ''}`);
    return `  ${d.name.padEnd(width)}  +${((d.steps[0].startedAt - t0) / 1000).toFixed(1).padStart(6)}s  ${steps.join(' → ')}`;
  });
}
