import { describe, expect, it } from 'vitest';
import { parseTime, resolveRange, startOf, TimeParseError, zoomOut, shiftRange, describeRange } from './timerange';

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
