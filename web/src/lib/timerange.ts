// Grafana-style time expressions: `now`, `now-6h`, `now/d`, `now-1d/d`, RFC 3339 or
// epoch milliseconds. Pure: the clock and the zone are arguments.

/**
 * `utc`, `browser` (the browser's own zone) or an IANA zone name such as
 * `Europe/Paris` (a dashboard's setting).
 */
export type TimeZone = string;

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const RELATIVE = /^now(?:([+-])(\d+)([smhdwMy]))?(?:\/([smhdwMy]))?$/;

export class TimeParseError extends Error {}

/** Whether `name` is an IANA zone this browser knows. */
export function isZoneName(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A zone as a view uses it: `utc`, `browser`, or a known IANA name (else `browser`). */
export function asTimeZone(setting: string | null | undefined): TimeZone {
  if (!setting || setting === 'browser') return 'browser';
  if (setting === 'utc' || setting === 'UTC') return 'utc';
  return isZoneName(setting) ? setting : 'browser';
}

interface Wall {
  y: number;
  M: number;
  d: number;
  h: number;
  m: number;
  s: number;
  /** Day of the week, 0 = Sunday. */
  wd: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock of an IANA zone at `ms`. */
function wallIn(ms: number, zone: string): Wall {
  let f = zoneFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    zoneFormats.set(zone, f);
  }
  const part: Record<string, string> = {};
  for (const p of f.formatToParts(ms)) part[p.type] = p.value;
  return {
    y: Number(part.year),
    M: Number(part.month) - 1,
    d: Number(part.day),
    h: Number(part.hour),
    m: Number(part.minute),
    s: Number(part.second),
    wd: WEEKDAYS.indexOf(part.weekday ?? ''),
  };
}

function wallOf(ms: number, tz: TimeZone): Wall {
  const d = new Date(ms);
  if (tz === 'utc') return { y: d.getUTCFullYear(), M: d.getUTCMonth(), d: d.getUTCDate(), h: d.getUTCHours(), m: d.getUTCMinutes(), s: d.getUTCSeconds(), wd: d.getUTCDay() };
  if (tz === 'browser') return { y: d.getFullYear(), M: d.getMonth(), d: d.getDate(), h: d.getHours(), m: d.getMinutes(), s: d.getSeconds(), wd: d.getDay() };
  return wallIn(ms, tz);
}

/**
 * The instant a wall-clock time names in the zone (fields may overflow, as with
 * Date.UTC). A time in a spring-forward gap lands after the gap (02:30 as 03:30); one
 * that occurs twice in an autumn overlap names one of the two.
 */
function fromWall(tz: TimeZone, y: number, M: number, day: number, h = 0, m = 0, s = 0): number {
  if (tz === 'utc') return Date.UTC(y, M, day, h, m, s);
  if (tz === 'browser') return new Date(y, M, day, h, m, s).getTime();
  const asUtc = Date.UTC(y, M, day, h, m, s);
  const offsetAt = (t: number) => {
    const w = wallIn(t, tz);
    return Date.UTC(w.y, w.M, w.d, w.h, w.m, w.s) - Math.floor(t / 1000) * 1000;
  };
  // The offset at a first guess, then at the instant it gives: one of the two is
  // right unless the wall time falls in a gap.
  const first = asUtc - offsetAt(asUtc);
  const second = asUtc - offsetAt(first);
  const right = [first, second].filter((t) => t + offsetAt(t) === asUtc);
  return right.length > 0 ? Math.min(...right) : Math.max(first, second);
}

/** Start of the `unit` period containing `ms`, in the given zone. */
export function startOf(ms: number, unit: string, tz: TimeZone): number {
  const get = wallOf(ms, tz);
  const make = (y: number, M: number, day: number, h = 0, m = 0, s = 0) => fromWall(tz, y, M, day, h, m, s);
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

// Days and longer move the wall clock (a day across a daylight-saving change is 23 or
// 25 hours long); hours and shorter move the instant.
function shift(ms: number, sign: number, amount: number, unit: string, tz: TimeZone): number {
  const calendar = { d: [0, 1], w: [0, 7], M: [1, 0], y: [12, 0] }[unit] as [number, number] | undefined;
  if (!calendar || (tz === 'utc' && calendar[0] === 0)) return ms + sign * amount * (UNIT_MS[unit] ?? 0);
  const [months, days] = calendar;
  const w = wallOf(ms, tz);
  const ms1000 = ((ms % 1000) + 1000) % 1000;
  return fromWall(tz, w.y, w.M + sign * amount * months, w.d + sign * amount * days, w.h, w.m, w.s) + ms1000;
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
  const w = wallOf(ms, tz);
  return `${w.y}-${pad(w.M + 1)}-${pad(w.d)} ${pad(w.h)}:${pad(w.m)}:${pad(w.s)}`;
}

/** The instant a `YYYY-MM-DDTHH:mm` (calendar input) names in the zone; NaN if none. */
export function parseWall(text: string, tz: TimeZone): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return NaN;
  return fromWall(tz, Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
}

/** The zone's name as shown next to axes: "UTC", the browser's IANA zone, or the zone. */
export function zoneLabel(tz: TimeZone): string {
  if (tz === 'utc') return 'UTC';
  if (tz === 'browser') return Intl.DateTimeFormat().resolvedOptions().timeZone;
  return tz;
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
