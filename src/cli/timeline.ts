// A rollout as a picture: one row per droplet, a coloured segment per step, and (when known) the
// request error rate of the traffic underneath. Pure: data in, SVG text out.

export interface TimelineDroplet {
  name: string;
  steps: { step: string; startedAt: number; endedAt?: number; ok?: boolean }[];
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

/** `durationMs` fixes the time axis, so pictures drawn one above the other share a scale. */
export function renderTimelineSvg(title: string, droplets: TimelineDroplet[], load: TimelineLoad[] = [], opts: { durationMs?: number } = {}): string {
  const starts = droplets.flatMap((d) => d.steps.map((s) => s.startedAt));
  const ends = droplets.flatMap((d) => d.steps.map((s) => s.endedAt ?? s.startedAt));
  const t0 = Math.min(...starts, ...load.map((l) => l.at));
  const last = Math.max(...ends, ...load.map((l) => l.at + 1000), t0 + 1000);
  const t1 = opts.durationMs ? Math.max(t0 + opts.durationMs, last) : last;
  const left = 90;
  const width = 900;
  const row = 26;
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * width;
  const top = 40;
  const loadTop = top + droplets.length * row + 20;
  const height = loadTop + (load.length ? 80 : 0) + 60;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 20}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
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
  parts.push(`<text x="${left + width}" y="20" text-anchor="end">${((last - t0) / 1000).toFixed(1)} s</text>`, '</svg>');
  return parts.join('\n');
}
