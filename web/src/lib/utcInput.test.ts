import { describe, expect, it } from 'vitest';
import { fromUtcInput, rangeProblem, utcInputValue } from './utcInput';

describe('UTC datetime inputs of the history filter', () => {
  it('shows an RFC 3339 time in UTC, whatever its offset', () => {
    expect(utcInputValue('2026-12-03T07:05:09.123Z')).toBe('2026-12-03T07:05:09');
    expect(utcInputValue('2026-12-03T16:05:09+09:00')).toBe('2026-12-03T07:05:09');
    expect(utcInputValue(undefined)).toBe('');
    expect(utcInputValue('yesterday')).toBe('');
  });
  it('reads the input as UTC, with or without seconds', () => {
    expect(fromUtcInput('2026-12-03T07:05:09')).toBe('2026-12-03T07:05:09.000Z');
    expect(fromUtcInput('2026-12-03T07:05')).toBe('2026-12-03T07:05:00.000Z');
    expect(fromUtcInput('')).toBeUndefined();
    expect(fromUtcInput('2026-13-45T99:00')).toBeUndefined();
    expect(fromUtcInput('2026-12-03T07:05:09+09:00')).toBeUndefined();
  });
  it('round-trips what it shows', () => {
    const iso = '2026-02-28T23:59:59.000Z';
    expect(fromUtcInput(utcInputValue(iso))).toBe(iso);
  });
  it('wants the end after the start', () => {
    expect(rangeProblem('2026-12-03T07:00:00Z', '2026-12-03T06:00:00Z')).toBe('must be after From');
    expect(rangeProblem('2026-12-03T07:00:00Z', '2026-12-03T07:00:00Z')).toBe('must be after From');
    expect(rangeProblem('2026-12-03T07:00:00Z', '2026-12-03T08:00:00Z')).toBeNull();
    expect(rangeProblem(undefined, '2026-12-03T08:00:00Z')).toBeNull();
  });
});
