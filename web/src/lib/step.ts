// Automatic step: the smallest "nice" bucket that keeps a panel at or under about one
// point per pixel. Pure: unit-tested.

const NICE_STEPS_S = [
  1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

export function autoStepSeconds(rangeMs: number, maxPoints: number): number {
  const wanted = rangeMs / 1000 / Math.max(1, maxPoints);
  return NICE_STEPS_S.find((s) => s >= wanted) ?? NICE_STEPS_S[NICE_STEPS_S.length - 1]!;
}

export function formatStep(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** The step a query sends: the panel's fixed one, or the automatic one. */
export function chooseStep(fixed: string | null | undefined, rangeMs: number, maxPoints: number): string {
  if (fixed && fixed !== 'auto') return fixed;
  return formatStep(autoStepSeconds(rangeMs, maxPoints));
}

/** The server's own rule: a whole number of seconds, at least 1s. */
export function validateStep(text: string): string | null {
  if (text === '' || text === 'auto') return null;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return 'a duration such as 10s, 1m or 1h';
  const n = Number(m[1]);
  const ms = n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const)[m[2] as 'ms'];
  if (ms < 1000 || ms % 1000 !== 0) return 'step must be a whole number of seconds, at least 1s';
  return null;
}
