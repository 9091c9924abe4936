// Grafana-style time expressions: `now`, `now-6h`, `now/d`, `now-1d/d`, RFC 3339 or
// epoch milliseconds. Pure: the clock and the zone are arguments.

export type TimeZone = 'utc' | 'browser';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const RELATIVE = /^now(?:([+-])(\d+)([smhdwMy]))?(?:\/([smhdwMy]))?$/;

export class TimeParseError extends Error {}

/** Start of the `unit` period containing `ms`, in the given zone. */
export function startOf(ms: number, unit: string, tz: TimeZone): number {
  const d = new Date(ms);
  const utc = tz === 'utc';
  const get = {
    y: utc ? d.getUTCFullYear() : d.getFullYear(),
    M: utc ? d.getUTCMonth() : d.getMonth(),
    d: utc ? d.getUTCDate() : d.getDate(),
    h: utc ? d.getUTCHours() : d.getHours(),
    m: utc ? d.getUTCMinutes() : d.getMinutes(),
    s: utc ? d.getUTCSeconds() : d.getSeconds(),
    wd: utc ? d.getUTCDay() : d.getDay(),
  };
  const make = (y: number, M: number, day: number, h = 0, m = 0, s = 0) =>
    utc ? Date.UTC(y, M, day, h, m, s) : new Date(y, M, day, h, m, s).getTime();
  switch (unit) {
    case 's':
      return make(get.y, get.M, get.d, get.h, get.m, get.s);
    case 'm':
      return make(get.y, get.M, get.d, get.h, get.m);
    case 'h':
      return make(get.y, get.M, get.d, get.h);
    case 'd':
      return make(get.y, get.M, get.d);
    case 'w':
      // Weeks start on Monday (ISO 8601).
      return make(get.y, get.M, get.d - ((get.wd + 6) % 7));
    case 'M':
      return make(get.y, get.M, 1);
    case 'y':
      return make(get.y, 0, 1);
    default:
      throw new TimeParseError(`unknown unit ${unit}`);
  }
}

function shift(ms: number, sign: number, amount: number, unit: string, tz: TimeZone): number {
  if (unit === 'M' || unit === 'y') {
    const d = new Date(ms);
    const months = (unit === 'y' ? 12 : 1) * amount * sign;
    if (tz === 'utc') d.setUTCMonth(d.getUTCMonth() + months);
    else d.setMonth(d.getMonth() + months);
    return d.getTime();
  }
  return ms + sign * amount * (UNIT_MS[unit] ?? 0);
}

/** Resolves one end of a range to epoch ms. `roundUp` makes `now/d` mean the end of the day. */
export function parseTime(expr: string, now: number, tz: TimeZone, roundUp = false): number {
  const text = expr.trim();
  const m = RELATIVE.exec(text);
  if (m) {
    let t = now;
    if (m[1] && m[2] && m[3]) t = shift(t, m[1] === '-' ? -1 : 1, Number(m[2]), m[3], tz);
    if (m[4]) {
      t = startOf(t, m[4], tz);
      if (roundUp) t = shift(t, 1, 1, m[4], tz) - 1;
    }
    return t;
  }
  if (/^\d{10,}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  throw new TimeParseError(`"${expr}" is not a time: use now, now-6h, now/d, a date or epoch ms`);
}

export interface AbsoluteRange {
  start: number;
  end: number;
}

export function resolveRange(from: string, to: string, now: number, tz: TimeZone): AbsoluteRange {
  const start = parseTime(from, now, tz, false);
  const end = parseTime(to, now, tz, true);
  if (!(start < end)) throw new TimeParseError('"From" must be before "To"');
  return { start, end };
}

/** Whether the range follows the clock (so refreshes can ask only for the tail). */
export function isRelative(to: string): boolean {
  return to.trim().startsWith('now');
}

export const PRESETS: { label: string; from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 30 minutes', from: 'now-30m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 3 hours', from: 'now-3h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 12 hours', from: 'now-12h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 2 days', from: 'now-2d' },
  { label: 'Last 7 days', from: 'now-7d' },
  { label: 'Last 30 days', from: 'now-30d' },
  { label: 'Today so far', from: 'now/d' },
];

/** What the picker's button says for a range. */
export function describeRange(from: string, to: string, tz: TimeZone): string {
  if (to === 'now') {
    const preset = PRESETS.find((p) => p.from === from);
    if (preset) return preset.label;
  }
  const fmt = (e: string, up: boolean) => {
    try {
      if (e.startsWith('now')) return e;
      return formatTime(parseTime(e, Date.now(), tz, up), tz);
    } catch {
      return e;
    }
  };
  return `${fmt(from, false)} to ${fmt(to, true)}`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:mm:ss` in the zone: the one format every axis, tooltip and picker uses. */
export function formatTime(ms: number, tz: TimeZone): string {
  const d = new Date(ms);
  if (tz === 'utc') {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The zone's name as shown next to axes: "UTC" or the browser's IANA zone. */
export function zoneLabel(tz: TimeZone): string {
  return tz === 'utc' ? 'UTC' : Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Zoom out (×2 around the centre) and shift by half a window, as absolute ms. */
export function zoomOut(r: AbsoluteRange, now: number): AbsoluteRange {
  const span = r.end - r.start;
  const end = Math.min(now, r.end + span / 2);
  return { start: Math.round(end - 2 * span), end: Math.round(end) };
}

export function shiftRange(r: AbsoluteRange, direction: -1 | 1): AbsoluteRange {
  const half = Math.round((r.end - r.start) / 2);
  return { start: r.start + direction * half, end: r.end + direction * half };
}
