// Query answers turned into chart series, the incremental merge of a tail into what a
// panel already holds, and the reductions legends, stat and gauge show. Pure.

export interface Point {
  time: string;
  value: number;
}
export interface GroupAnswer {
  tags: Record<string, string>;
  data: Point[];
}
export type Answer = Point[] | GroupAnswer[];

export interface Series {
  key: string;
  tags: Record<string, string>;
  times: number[];
  values: number[];
}

export function seriesKey(tags: Record<string, string>): string {
  const keys = Object.keys(tags).sort();
  return keys.length === 0 ? '' : keys.map((k) => `${k}=${tags[k]}`).join(',');
}

function isGrouped(answer: Answer): answer is GroupAnswer[] {
  return answer.length > 0 && 'tags' in (answer[0] as object);
}

export function toSeries(answer: Answer): Series[] {
  const groups: GroupAnswer[] = isGrouped(answer) ? answer : [{ tags: {}, data: answer as Point[] }];
  return groups.map((g) => ({
    key: seriesKey(g.tags),
    tags: g.tags,
    times: g.data.map((p) => Date.parse(p.time)),
    values: g.data.map((p) => p.value),
  }));
}

/**
 * Merges an incremental answer (buckets from the one containing `since` on) into the
 * series held so far: held buckets from the first returned bucket on are replaced,
 * buckets that slid out of the window (before `windowStart`) are dropped.
 */
export function mergeIncremental(held: Series[], tail: Series[], since: number, windowStart: number): Series[] {
  const tails = new Map(tail.map((s) => [s.key, s]));
  const out: Series[] = [];
  for (const old of held) {
    const fresh = tails.get(old.key);
    tails.delete(old.key);
    const cut = fresh && fresh.times.length > 0 ? Math.min(fresh.times[0]!, since) : since;
    const times: number[] = [];
    const values: number[] = [];
    for (let k = 0; k < old.times.length; k++) {
      const t = old.times[k]!;
      if (t >= windowStart && t < cut) {
        times.push(t);
        values.push(old.values[k]!);
      }
    }
    if (fresh) {
      times.push(...fresh.times);
      values.push(...fresh.values);
    }
    if (times.length > 0) out.push({ key: old.key, tags: old.tags, times, values });
  }
  for (const added of tails.values()) out.push(added);
  return out;
}

/** The last time every series is known up to: what the next refresh sends as `since`. */
export function heldUpTo(series: Series[]): number | undefined {
  let latest: number | undefined;
  for (const s of series) {
    const last = s.times[s.times.length - 1];
    if (last !== undefined && (latest === undefined || last > latest)) latest = last;
  }
  return latest;
}

export type Calculation = 'last' | 'avg' | 'min' | 'max' | 'sum';

export function reduce(values: readonly number[], how: Calculation): number | null {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return null;
  switch (how) {
    case 'last':
      return finite[finite.length - 1]!;
    case 'min':
      return Math.min(...finite);
    case 'max':
      return Math.max(...finite);
    case 'sum':
      return finite.reduce((a, b) => a + b, 0);
    case 'avg':
      return finite.reduce((a, b) => a + b, 0) / finite.length;
  }
}

export interface Threshold {
  value: number;
  color: string;
}

/** The colour of the highest threshold the value reaches, or `base`. */
export function thresholdColor(value: number | null, thresholds: readonly Threshold[] | undefined, base: string): string {
  if (value === null || !thresholds) return base;
  let color = base;
  for (const t of [...thresholds].sort((a, b) => a.value - b.value)) if (value >= t.value) color = t.color;
  return color;
}
