// A metric picker's type-ahead: the `<datalist>` of the metric names containing what
// the user typed, asked of the server once typing pauses (so every stored metric can
// be found, not only the listing's first page), and the tags of the metric typed,
// asked once typing pauses too, not for every prefix of its name.
import { useMetricNames, useMetricTags } from '../api/hooks';
import { metricNameProblem } from '../lib/panelRules';
import { useDebounced } from '../lib/useDebounced';

/** Long enough to skip the keystrokes of a word typed at once, short enough to feel live. */
export const TYPEAHEAD_DELAY_MS = 250;

/** What the user typed in a metric field, once typing has paused. */
export function useTypedMetric(typed: string): string {
  return useDebounced(typed.trim(), TYPEAHEAD_DELAY_MS);
}

/** The tags of a settled metric name; none asked for text that is not a metric name. */
export function useSettledMetricTags(settled: string) {
  return useMetricTags(metricNameProblem(settled) === null ? settled : '');
}

/** `settled`: the output of `useTypedMetric`. */
export function MetricOptions({ id, settled }: { id: string; settled: string }) {
  const metrics = useMetricNames(settled);
  return (
    <datalist id={id} data-testid="metric-options">
      {(metrics.data ?? []).map((m) => (
        <option key={m.name} value={m.name} />
      ))}
    </datalist>
  );
}
