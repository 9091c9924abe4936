// The known data every test reads: points whose aggregates the tests compute from the
// same generator, ingested through the public API.
export const MINUTE = 60_000;
export const SPAN_MINUTES = 120;
export const CPU = 'e2e.cpu';
export const HOSTS = ['web-1', 'web-2'] as const;

/** Value of `host` at minute `m` of the seeded span (0 = oldest). */
export function cpuValue(host: (typeof HOSTS)[number], m: number): number {
  return host === 'web-1' ? 10 + (m % 10) : 50 + (m % 5);
}

export function seedStart(now: number): number {
  return Math.floor(now / MINUTE) * MINUTE - (SPAN_MINUTES - 1) * MINUTE;
}

export function cpuPoints(now: number) {
  const start = seedStart(now);
  const points = [];
  for (const host of HOSTS) {
    for (let m = 0; m < SPAN_MINUTES; m++) points.push({ name: CPU, value: cpuValue(host, m), timestamp: start + m * MINUTE, tags: { host } });
  }
  return points;
}

/** min / max / last of one host over the whole span (what a 1m-step legend shows). */
export function expected(host: (typeof HOSTS)[number]) {
  const values = Array.from({ length: SPAN_MINUTES }, (_, m) => cpuValue(host, m));
  return { min: Math.min(...values), max: Math.max(...values), last: values[values.length - 1]! };
}
