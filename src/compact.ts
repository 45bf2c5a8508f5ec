// Compact forms for what a rollout carries about its whole fleet, so that payloads and the history stay
// small at 10,000 droplets. Pure and deterministic: used by the workflow, the planning activity and tests.
import type { DropletTarget, PreviousRelease } from './types';

/** The fleet in batch order as three parallel arrays: about a third of the size of an array of objects. */
export interface CompactFleet {
  ids: number[];
  names: string[];
  addresses: string[];
}

export function compactFleet(droplets: DropletTarget[]): CompactFleet {
  return { ids: droplets.map((d) => d.id), names: droplets.map((d) => d.name), addresses: droplets.map((d) => d.address) };
}

export function dropletAt(fleet: CompactFleet, index: number): DropletTarget {
  return { id: fleet.ids[index], name: fleet.names[index], address: fleet.addresses[index] };
}

/** A set of droplet indices written as ranges: "0-4999,5001,5003-9999". */
export function encodeIndices(indices: Iterable<number>): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j;
  }
  return parts.join(',');
}

export function decodeIndices(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** Droplets grouped by the release they ran before this rollout (release null: none recorded). */
export interface ReleaseGroup {
  release: string | null;
  releaseDir: string | null;
  indices: string;
}

export function groupByRelease(entries: Iterable<[number, PreviousRelease | null]>): ReleaseGroup[] {
  const groups = new Map<string, { release: string | null; releaseDir: string | null; indices: number[] }>();
  for (const [index, previous] of entries) {
    const key = previous ? `${previous.releaseDir}\n${previous.release}` : '';
    const group = groups.get(key) ?? { release: previous?.release ?? null, releaseDir: previous?.releaseDir ?? null, indices: [] };
    group.indices.push(index);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ release: g.release, releaseDir: g.releaseDir, indices: encodeIndices(g.indices) }));
}

export function ungroup(groups: ReleaseGroup[]): Map<number, PreviousRelease | null> {
  const out = new Map<number, PreviousRelease | null>();
  for (const g of groups) {
    for (const i of decodeIndices(g.indices)) out.set(i, g.releaseDir !== null ? { releaseDir: g.releaseDir, ...(g.release !== null ? { release: g.release } : {}) } : null);
  }
  return out;
}
