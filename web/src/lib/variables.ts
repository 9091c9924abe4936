// Template variables: `$name` in a panel's tag filter replaced by the selected values.
// One value -> tag equality; several -> a `=~` matcher; All -> the filter dropped. Pure.

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export const ALL = '$__all';

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function substitute(
  tags: Record<string, string> | null | undefined,
  selected: Record<string, string[]>,
): { tags: Record<string, string>; matchers: Matcher[] } {
  const out: Record<string, string> = {};
  const matchers: Matcher[] = [];
  for (const [key, raw] of Object.entries(tags ?? {})) {
    if (!raw.startsWith('$')) {
      out[key] = raw;
      continue;
    }
    const values = selected[raw.slice(1)];
    if (values === undefined) {
      out[key] = raw;
      continue;
    }
    if (values.length === 0 || values.includes(ALL)) continue;
    if (values.length === 1) out[key] = values[0]!;
    else matchers.push({ label: key, op: '=~', value: values.map(escapeRegex).join('|') });
  }
  return { tags: out, matchers };
}

/** The variables a panel's filters refer to (so only those panels re-query on a change). */
export function referenced(tags: Record<string, string> | null | undefined): string[] {
  return Object.values(tags ?? {})
    .filter((v) => v.startsWith('$'))
    .map((v) => v.slice(1));
}
