import { describe, expect, it } from 'vitest';
import { toStored, variableProblems } from './variableRules';

const v = (over: Record<string, unknown> = {}) => ({ name: 'host', metric: 'cpu', tagKey: 'host', ...over });

describe('variableProblems', () => {
  it('accepts a well-formed variable', () => {
    expect(variableProblems([v()])).toEqual({});
  });
  it('names each bad field by the server’s path', () => {
    const errors = variableProblems([v(), v(), v({ name: '1x', metric: ' ', tagKey: '' }), v({ name: 'dc', default: ['a', 'b'] })]);
    expect(Object.keys(errors).sort()).toEqual(['variables[1].name', 'variables[2].metric', 'variables[2].name', 'variables[2].tagKey', 'variables[3].default']);
    expect(errors['variables[1].name']).toContain('twice');
  });
});

describe('toStored', () => {
  it('drops an empty label and default, keeps one default for a single-value variable', () => {
    expect(toStored(v({ label: ' ', default: [] }))).toEqual({ name: 'host', metric: 'cpu', tagKey: 'host', multi: false, includeAll: false });
    expect(toStored(v({ label: 'Host', default: ['a', 'b'] }))).toMatchObject({ label: 'Host', default: ['a'] });
  });
});
