import { describe, expect, it } from 'vitest';
import { asTimeZone, describeRange, formatTime, parseTime, parseWall, resolveRange, shiftRange, startOf, TimeParseError, zoneLabel, zoomOut } from './timerange';

const NOW = Date.UTC(2026, 11, 1, 15, 42, 17, 500); // Tue 2026-12-01 15:42:17.500 UTC

describe('parseTime', () => {
  it('resolves relative expressions', () => {
    expect(parseTime('now', NOW, 'utc')).toBe(NOW);
    expect(parseTime('now-6h', NOW, 'utc')).toBe(NOW - 6 * 3_600_000);
    expect(parseTime('now-15m', NOW, 'utc')).toBe(NOW - 15 * 60_000);
    expect(parseTime('now+1d', NOW, 'utc')).toBe(NOW + 86_400_000);
    expect(parseTime('now-1M', NOW, 'utc')).toBe(Date.UTC(2026, 10, 1, 15, 42, 17, 500));
  });
  it('rounds to the start or the end of a period', () => {
    expect(parseTime('now/d', NOW, 'utc')).toBe(Date.UTC(2026, 11, 1));
    expect(parseTime('now/d', NOW, 'utc', true)).toBe(Date.UTC(2026, 11, 2) - 1);
    expect(parseTime('now-1d/d', NOW, 'utc')).toBe(Date.UTC(2026, 10, 30));
    expect(parseTime('now/h', NOW, 'utc')).toBe(Date.UTC(2026, 11, 1, 15));
    // 2026-12-01 is a Tuesday: the ISO week began on Monday the 30th.
    expect(startOf(NOW, 'w', 'utc')).toBe(Date.UTC(2026, 10, 30));
  });
  it('accepts absolute times', () => {
    expect(parseTime('2026-12-01T10:00:00Z', NOW, 'utc')).toBe(Date.UTC(2026, 11, 1, 10));
    expect(parseTime(String(NOW), NOW, 'utc')).toBe(NOW);
  });
  it('rejects what is not a time', () => {
    expect(() => parseTime('yesterday', NOW, 'utc')).toThrow(TimeParseError);
    expect(() => parseTime('now-6x', NOW, 'utc')).toThrow(TimeParseError);
    expect(() => resolveRange('now', 'now-1h', NOW, 'utc')).toThrow(/before/);
  });
});

describe('range controls', () => {
  it('zooms out around the centre without passing now', () => {
    const r = { start: NOW - 3_600_000, end: NOW };
    expect(zoomOut(r, NOW)).toEqual({ start: NOW - 7_200_000, end: NOW });
    const past = { start: NOW - 10 * 3_600_000, end: NOW - 9 * 3_600_000 };
    expect(zoomOut(past, NOW)).toEqual({ start: NOW - 10.5 * 3_600_000, end: NOW - 8.5 * 3_600_000 });
  });
  it('shifts by half a window', () => {
    expect(shiftRange({ start: 0, end: 100 }, -1)).toEqual({ start: -50, end: 50 });
    expect(shiftRange({ start: 0, end: 100 }, 1)).toEqual({ start: 50, end: 150 });
  });
  it('names presets', () => {
    expect(describeRange('now-6h', 'now', 'utc')).toBe('Last 6 hours');
    expect(describeRange(String(Date.UTC(2026, 0, 1)), String(Date.UTC(2026, 0, 2)), 'utc')).toBe(
      '2026-01-01 00:00:00 to 2026-01-02 00:00:00',
    );
  });
});

describe('a dashboard in an IANA zone', () => {
  // 2026-12-01 15:42:17 UTC is 10:42:17 in New York (EST, UTC-5) and 00:42:17 on
  // 2 December in Tokyo (UTC+9).
  it('shows times on the zone’s wall clock', () => {
    expect(formatTime(NOW, 'America/New_York')).toBe('2026-12-01 10:42:17');
    expect(formatTime(NOW, 'Asia/Tokyo')).toBe('2026-12-02 00:42:17');
    expect(zoneLabel('Europe/Paris')).toBe('Europe/Paris');
  });
  it('rounds `now/d` and `now/w` to the zone’s day and week', () => {
    expect(parseTime('now/d', NOW, 'America/New_York')).toBe(Date.UTC(2026, 11, 1, 5));
    expect(parseTime('now/d', NOW, 'America/New_York', true)).toBe(Date.UTC(2026, 11, 2, 5) - 1);
    expect(parseTime('now/d', NOW, 'Asia/Tokyo')).toBe(Date.UTC(2026, 11, 1, 15));
    expect(startOf(NOW, 'w', 'Asia/Tokyo')).toBe(Date.UTC(2026, 10, 29, 15));
  });
  it('keeps the wall clock across a daylight-saving change', () => {
    // New York springs forward on 2026-03-08: that day is 23 hours long.
    const noon = Date.UTC(2026, 2, 8, 16); // 12:00 EDT
    const day = parseTime('now/d', noon, 'America/New_York');
    expect(day).toBe(Date.UTC(2026, 2, 8, 5)); // 00:00 EST
    expect(parseTime('now/d', noon, 'America/New_York', true) + 1 - day).toBe(23 * 3_600_000);
    // A month back from 12:00 EDT is 12:00 EST.
    expect(parseTime('now-1M', noon, 'America/New_York')).toBe(Date.UTC(2026, 1, 8, 17));
    // 02:30 does not exist that day: it lands after the gap, at 03:30 EDT.
    expect(parseWall('2026-03-08T02:30', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 7, 30));
  });
  it('reads a calendar input in the zone', () => {
    expect(parseWall('2026-12-01T10:42', 'America/New_York')).toBe(Date.UTC(2026, 11, 1, 15, 42));
    expect(parseWall('2026-12-01T10:42', 'utc')).toBe(Date.UTC(2026, 11, 1, 10, 42));
    expect(parseWall('not a time', 'utc')).toBeNaN();
  });
  it('takes a zone from a setting only when the browser knows it', () => {
    expect(asTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(asTimeZone('utc')).toBe('utc');
    expect(asTimeZone('Mars/Olympus_Mons')).toBe('browser');
    expect(asTimeZone(undefined)).toBe('browser');
  });
});
