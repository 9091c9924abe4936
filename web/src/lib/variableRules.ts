// The server's rules for template variables, checked in the form before saving so most
// mistakes are caught without a round trip. Field paths are the server's
// (`variables[1].name`), so its own answer lands on the same fields. Pure.
import type { Variable } from '../state/dashboardView';

export const MAX_VARIABLES = 32;
const MAX_NAME_LEN = 64;
const MAX_TAG_LEN = 200;
const IDENTIFIER = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function variableProblems(variables: readonly Variable[]): Record<string, string> {
  const errors: Record<string, string> = {};
  if (variables.length > MAX_VARIABLES) errors.variables = `at most ${MAX_VARIABLES} variables`;
  const seen = new Set<string>();
  variables.forEach((v, i) => {
    const at = `variables[${i}]`;
    if (!IDENTIFIER.test(v.name) || v.name.length > MAX_NAME_LEN) {
      errors[`${at}.name`] = `must match [a-zA-Z_][a-zA-Z0-9_]*, at most ${MAX_NAME_LEN} characters`;
    } else if (seen.has(v.name)) {
      errors[`${at}.name`] = `"${v.name}" is defined twice`;
    }
    seen.add(v.name);
    if (!v.metric.trim()) errors[`${at}.metric`] = 'choose a metric';
    if (!v.tagKey || [...v.tagKey].length > MAX_TAG_LEN) errors[`${at}.tagKey`] = `must be 1 to ${MAX_TAG_LEN} characters`;
    if (v.default && !v.multi && v.default.length > 1) errors[`${at}.default`] = 'only a multi-value variable may default to several values';
  });
  return errors;
}

/** The variable as the API stores it: empty optional fields left out. */
export function toStored(v: Variable): Variable {
  const out: Variable = { name: v.name.trim(), metric: v.metric.trim(), tagKey: v.tagKey, multi: !!v.multi, includeAll: !!v.includeAll };
  if (v.label && v.label.trim()) out.label = v.label.trim();
  if (v.default && v.default.length > 0) out.default = v.multi ? v.default : v.default.slice(0, 1);
  return out;
}
