import { describe, expect, it } from 'vitest';
import { silenceRequest, type SilenceForm } from './silenceRules';

const now = Date.parse('2026-12-03T07:00:00Z');
const form: SilenceForm = { ruleId: '', matchers: [{ key: 'host', value: 'web-1' }], starts: '', hours: '2', comment: '' };

describe('the server’s silence rules, in the form', () => {
  it('builds the request: matchers, a start read as UTC, the end hours after it', () => {
    expect(silenceRequest(form, now)).toEqual({ body: { ruleId: null, matchers: { host: 'web-1' }, endsAt: '2026-12-03T09:00:00.000Z', comment: '' } });
    expect(silenceRequest({ ...form, ruleId: 'r1', matchers: [{ key: ' dc ', value: 'one' }, { key: '', value: '' }], starts: '2026-12-04T01:30:00', hours: '1.5' }, now)).toEqual({
      body: { ruleId: 'r1', matchers: { dc: 'one' }, startsAt: '2026-12-04T01:30:00.000Z', endsAt: '2026-12-04T03:00:00.000Z', comment: '' },
    });
  });
  it('refuses a silence of everything, and matchers without a name or twice the same', () => {
    expect(silenceRequest({ ...form, matchers: [] }, now)).toEqual({ errors: { matchers: 'choose a rule or add a matcher (a silence of everything is refused)' } });
    expect(silenceRequest({ ...form, matchers: [{ key: '', value: 'x' }] }, now)).toEqual({ errors: { matchers: 'every matcher needs a label name' } });
    expect(silenceRequest({ ...form, matchers: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }, now)).toEqual({ errors: { matchers: 'label a is matched twice' } });
  });
  it('wants a positive duration that ends in the future', () => {
    expect(silenceRequest({ ...form, hours: '0' }, now)).toEqual({ errors: { endsAt: 'hours must be a number above 0' } });
    expect(silenceRequest({ ...form, hours: 'two' }, now)).toEqual({ errors: { endsAt: 'hours must be a number above 0' } });
    expect(silenceRequest({ ...form, starts: '2026-12-01T00:00:00', hours: '1' }, now)).toEqual({ errors: { endsAt: 'the silence would end in the past' } });
    expect(silenceRequest({ ...form, starts: 'soon' }, now)).toEqual({ errors: { startsAt: 'not a date and time' } });
  });
  it('bounds the comment in bytes', () => {
    expect(silenceRequest({ ...form, comment: 'é'.repeat(501) }, now)).toEqual({ errors: { comment: 'must be at most 1000 bytes' } });
  });
});
