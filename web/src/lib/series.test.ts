import { describe, expect, it } from 'vitest';
import { heldUpTo, mergeIncremental, reduce, thresholdColor, toSeries } from './series';

const iso = (m: number) => new Date(Date.UTC(2026, 11, 1, 0, m)).toISOString();
const t = (m: number) => Date.UTC(2026, 11, 1, 0, m);

describe('toSeries', () => {
  it('reads single and grouped answers', () => {
    expect(toSeries([{ time: iso(0), value: 1 }])).toEqual([{ key: '', tags: {}, times: [t(0)], values: [1] }]);
    const grouped = toSeries([
      { tags: { host: 'b' }, data: [{ time: iso(1), value: 2 }] },
      { tags: { host: 'a', dc: 'x' }, data: [] },
    ]);
    expect(grouped.map((s) => s.key)).toEqual(['host=b', 'dc=x,host=a']);
  });
});

describe('mergeIncremental', () => {
  const held = [
    { key: 'host=a', tags: { host: 'a' }, times: [t(0), t(1), t(2), t(3)], values: [1, 2, 3, 4] },
    { key: 'host=b', tags: { host: 'b' }, times: [t(0), t(1)], values: [5, 6] },
  ];
  it('replaces buckets from the first returned one, drops what left the window, keeps the rest', () => {
    const tail = [
      { key: 'host=a', tags: { host: 'a' }, times: [t(3), t(4)], values: [40, 50] },
      { key: 'host=c', tags: { host: 'c' }, times: [t(4)], values: [9] },
    ];
    const merged = mergeIncremental(held, tail, t(3) + 30_000, t(1));
    expect(merged).toEqual([
      { key: 'host=a', tags: { host: 'a' }, times: [t(1), t(2), t(3), t(4)], values: [2, 3, 40, 50] },
      { key: 'host=b', tags: { host: 'b' }, times: [t(1)], values: [6] },
      { key: 'host=c', tags: { host: 'c' }, times: [t(4)], values: [9] },
    ]);
    expect(heldUpTo(merged)).toBe(t(4));
  });
  it('equals the full answer when the tail covers the changed buckets', () => {
    const full = [{ key: '', tags: {}, times: [t(1), t(2), t(3)], values: [2, 30, 31] }];
    const before = [{ key: '', tags: {}, times: [t(0), t(1), t(2)], values: [1, 2, 3] }];
    const tail = [{ key: '', tags: {}, times: [t(2), t(3)], values: [30, 31] }];
    expect(mergeIncremental(before, tail, t(2), t(1))).toEqual(full);
  });
});

describe('reductions', () => {
  it('computes calculations and threshold colours', () => {
    const v = [3, 1, Number.NaN, 8, 4];
    expect(reduce(v, 'last')).toBe(4);
    expect(reduce(v, 'min')).toBe(1);
    expect(reduce(v, 'max')).toBe(8);
    expect(reduce(v, 'sum')).toBe(16);
    expect(reduce(v, 'avg')).toBe(4);
    expect(reduce([], 'avg')).toBeNull();
    const th = [
      { value: 80, color: 'red' },
      { value: 50, color: 'orange' },
    ];
    expect(thresholdColor(10, th, 'green')).toBe('green');
    expect(thresholdColor(50, th, 'green')).toBe('orange');
    expect(thresholdColor(95, th, 'green')).toBe('red');
  });
});
