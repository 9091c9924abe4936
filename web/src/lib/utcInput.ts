// Absolute times typed in `<input type="datetime-local">` and read as UTC: the alert
// history lists its events' times in UTC, so the filter's bounds are written the same
// way rather than in the browser's zone. Pure: unit-tested.

/** An RFC 3339 time as the input's `YYYY-MM-DDTHH:MM:SS` in UTC; '' for none or an unreadable one. */
export function utcInputValue(iso: string | undefined): string {
  if (!iso) return '';
  const at = Date.parse(iso);
  return Number.isNaN(at) ? '' : new Date(at).toISOString().slice(0, 19);
}

/** The input's value, read as UTC, as RFC 3339; undefined when empty or not a time. */
export function fromUtcInput(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return undefined;
  const at = Date.parse(`${value}Z`);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}

/** Why `to` cannot end a range that starts at `from` (RFC 3339 both), or null. */
export function rangeProblem(from: string | undefined, to: string | undefined): string | null {
  if (!from || !to) return null;
  return Date.parse(to) <= Date.parse(from) ? 'must be after From' : null;
}
