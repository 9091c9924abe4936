// The server's rules for a silence (`Silence::parse` in src/model/alert.rs), checked in
// the form so a mistake is shown at its field before a round trip; error keys are the
// server's field names, so its own answer lands on the same fields. Pure: unit-tested.
import { fromUtcInput } from './utcInput';

/** The server's bound on a silence's comment, in bytes. */
export const MAX_COMMENT_BYTES = 1000;

export interface MatcherRow {
  key: string;
  value: string;
}

export interface SilenceForm {
  ruleId: string;
  matchers: MatcherRow[];
  /** `datetime-local` text read as UTC; '' for now. */
  starts: string;
  hours: string;
  comment: string;
}

export interface SilenceBody {
  ruleId: string | null;
  matchers: Record<string, string>;
  startsAt?: string;
  endsAt: string;
  comment: string;
}

/** The request for `form` at `now`, or the problems keyed by the server's field names. */
export function silenceRequest(form: SilenceForm, now: number): { body: SilenceBody } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const matchers: Record<string, string> = {};
  for (const row of form.matchers) {
    const key = row.key.trim();
    if (key === '' && row.value === '') continue;
    if (key === '') errors.matchers = 'every matcher needs a label name';
    else if (key in matchers) errors.matchers = `label ${key} is matched twice`;
    else matchers[key] = row.value;
  }
  if (!form.ruleId && Object.keys(matchers).length === 0 && !errors.matchers) {
    errors.matchers = 'choose a rule or add a matcher (a silence of everything is refused)';
  }
  let startsAt: string | undefined;
  if (form.starts !== '') {
    startsAt = fromUtcInput(form.starts);
    if (!startsAt) errors.startsAt = 'not a date and time';
  }
  const hours = Number(form.hours);
  const start = startsAt ? Date.parse(startsAt) : now;
  const end = start + hours * 3_600_000;
  if (form.hours.trim() === '' || !Number.isFinite(hours) || hours <= 0) errors.endsAt = 'hours must be a number above 0';
  else if (end <= now) errors.endsAt = 'the silence would end in the past';
  if (new TextEncoder().encode(form.comment).length > MAX_COMMENT_BYTES) errors.comment = `must be at most ${MAX_COMMENT_BYTES} bytes`;
  if (Object.keys(errors).length > 0) return { errors };
  return { body: { ruleId: form.ruleId || null, matchers, ...(startsAt ? { startsAt } : {}), endsAt: new Date(end).toISOString(), comment: form.comment } };
}
