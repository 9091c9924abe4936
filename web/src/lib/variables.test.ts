import { describe, expect, it } from 'vitest';
import { ALL, escapeRegex, referenced, substitute } from './variables';

describe('substitute', () => {
  it('turns one value into equality, several into an anchored-regex matcher, All into nothing', () => {
    const tags = { host: '$host', dc: 'eu' };
    expect(substitute(tags, { host: ['web-1'] })).toEqual({ tags: { host: 'web-1', dc: 'eu' }, matchers: [] });
    expect(substitute(tags, { host: ['web-1', 'a.b'] })).toEqual({
      tags: { dc: 'eu' },
      matchers: [{ label: 'host', op: '=~', value: 'web-1|a\\.b' }],
    });
    expect(substitute(tags, { host: [ALL] })).toEqual({ tags: { dc: 'eu' }, matchers: [] });
    expect(substitute(tags, { host: [] })).toEqual({ tags: { dc: 'eu' }, matchers: [] });
  });
  it('lists the variables a filter uses', () => {
    expect(referenced({ host: '$host', dc: 'eu' })).toEqual(['host']);
    expect(escapeRegex('a+b(c)')).toBe('a\\+b\\(c\\)');
  });
});
