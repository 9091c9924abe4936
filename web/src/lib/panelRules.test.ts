import { describe, expect, it } from 'vitest';
import { foldThresholdErrors, isColor, metricFragment, metricNameProblem, panelProblems, parseThresholds } from './panelRules';

const valid = { title: 'CPU', metric: 'cpu.usage', color: '', thresholds: '', min: '', max: '' };

describe('the server’s panel rules, in the form', () => {
  it('accepts what the server accepts', () => {
    expect(panelProblems(valid)).toEqual({});
    expect(panelProblems({ ...valid, metric: 'node:cpu_seconds.total', color: '#3b82f6', thresholds: '80:orange, 95:#f00', min: '0', max: '100' })).toEqual({});
  });
  it('refuses a metric name the server would refuse, with the server’s words', () => {
    expect(metricNameProblem('cpu usage')).toBe('name "cpu usage" must match [a-zA-Z_][a-zA-Z0-9_.:]*');
    expect(metricNameProblem('9lives')).toMatch(/must match/);
    expect(metricNameProblem('a'.repeat(201))).toBe('name is longer than 200 bytes');
    expect(metricNameProblem('')).toBe('choose a metric');
    expect(panelProblems({ ...valid, metric: 'bad name' })['query.query']).toMatch(/must match/);
  });
  it('checks the title’s length in characters', () => {
    expect(panelProblems({ ...valid, title: '  ' }).title).toBe('must be 1 to 200 characters');
    expect(panelProblems({ ...valid, title: 'é'.repeat(200) }).title).toBeUndefined();
    expect(panelProblems({ ...valid, title: 'x'.repeat(201) }).title).toBe('must be 1 to 200 characters');
  });
  it('checks colours as the server does', () => {
    for (const ok of ['red', '#abc', '#abcd', '#aabbcc', '#aabbccdd']) expect(isColor(ok), ok).toBe(true);
    for (const bad of ['', '#ab', '#abcde', 'url(javascript:1)', 'rgb(1,2,3)', '#ggg']) expect(isColor(bad), bad).toBe(false);
    expect(panelProblems({ ...valid, color: 'rgb(1,2,3)' })['options.color']).toMatch(/CSS color name/);
    expect(parseThresholds('80:url(x)')).toMatch(/CSS color name/);
    expect(parseThresholds('80 red')).toMatch(/is not value:colour/);
    expect(parseThresholds(Array.from({ length: 17 }, (_, k) => `${k}:red`).join(','))).toBe('at most 16');
  });
  it('wants min below max, and both numbers', () => {
    expect(panelProblems({ ...valid, min: '10', max: '10' })['options.min']).toBe('must be less than max');
    expect(panelProblems({ ...valid, min: 'x' })['options.min']).toBe('must be a finite number');
    expect(panelProblems({ ...valid, max: '5', min: '1' })).toEqual({});
  });
  it('shows a threshold the server names by index on the thresholds field', () => {
    const folded = foldThresholdErrors({ 'panel.options.thresholds[1].color': 'must be #rgb, #rrggbb, #rrggbbaa or a CSS color name' });
    expect(folded['options.thresholds']).toBe('threshold 2, color: must be #rgb, #rrggbb, #rrggbbaa or a CSS color name');
  });
});

describe('the metric picker’s type-ahead fragment', () => {
  it('sends the trimmed text when a metric name could contain it', () => {
    expect(metricFragment('  cpu ')).toBe('cpu');
    expect(metricFragment('9_rx.bytes:total')).toBe('9_rx.bytes:total');
    expect(metricFragment('')).toBe('');
    expect(metricFragment('a'.repeat(200))).toBe('a'.repeat(200));
  });
  it('sends nothing for text no metric name holds, which the server refuses', () => {
    expect(metricFragment('cpu busy')).toBeNull();
    expect(metricFragment('100%')).toBeNull();
    expect(metricFragment("x' OR 1=1")).toBeNull();
    expect(metricFragment('a'.repeat(201))).toBeNull();
  });
});
