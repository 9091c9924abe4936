import { describe, expect, it } from 'vitest';
import { formatValue } from './units';

describe('formatValue', () => {
  it('formats each unit', () => {
    expect(formatValue(42.123, 'percent')).toBe('42.1%');
    expect(formatValue(3.14159, 'percent')).toBe('3.14%');
    expect(formatValue(512, 'bytes')).toBe('512 B');
    expect(formatValue(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatValue(5 * 1024 ** 3, 'bytes')).toBe('5 GiB');
    expect(formatValue(1_250_000, 'bits/s')).toBe('1.3 Mb/s');
    expect(formatValue(250, 'ms')).toBe('250 ms');
    expect(formatValue(1500, 'ms')).toBe('1.5 s');
    expect(formatValue(90, 's')).toBe('1.5 min');
    expect(formatValue(7200, 's')).toBe('2 h');
    expect(formatValue(1200, 'ops/s')).toBe('1.2K ops/s');
    expect(formatValue(1_234_567, 'short')).toBe('1.2M');
    expect(formatValue(12.345, 'short')).toBe('12.35');
    expect(formatValue(7, 'short')).toBe('7');
  });
  it('says what it cannot format', () => {
    expect(formatValue(null, 'short')).toBe('–');
    expect(formatValue(Number.NaN, 'bytes')).toBe('–');
    expect(formatValue(Number.POSITIVE_INFINITY, 'short')).toBe('∞');
  });
});
