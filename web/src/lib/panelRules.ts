// The server's rules for a panel (`Problems::panel` in src/model/dashboard.rs and
// `MetricName::parse`), checked in the panel editor before saving, so a mistake is
// shown next to its field without a round trip. Keys are the server's field paths
// below the panel (`title`, `query.query`, `options.thresholds`), so the server's own
// answer lands on the same fields. Pure: unit-tested.
import type { Threshold } from './series';

export const MAX_TITLE_LEN = 200;
/** `ingest.max_name_len` in config/default.toml. */
export const MAX_METRIC_NAME_BYTES = 200;
export const MAX_THRESHOLDS = 16;
const MAX_COLOR_LEN = 32;
const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_.:]*$/;

/** Why the server would refuse this metric name, or null. */
export function metricNameProblem(name: string): string | null {
  if (name === '') return 'choose a metric';
  if (new TextEncoder().encode(name).length > MAX_METRIC_NAME_BYTES) return `name is longer than ${MAX_METRIC_NAME_BYTES} bytes`;
  if (!METRIC_NAME.test(name)) return `name "${name}" must match [a-zA-Z_][a-zA-Z0-9_.:]*`;
  return null;
}

const NAME_FRAGMENT = /^[a-zA-Z0-9_.:]*$/;

/**
 * What a metric picker sends as `contains` for the typed text: the text trimmed, or
 * null when no metric name could contain it (the server would refuse the fragment, so
 * the picker offers nothing instead of asking).
 */
export function metricFragment(text: string): string | null {
  const fragment = text.trim();
  if (!NAME_FRAGMENT.test(fragment) || fragment.length > MAX_METRIC_NAME_BYTES) return null;
  return fragment;
}

/** `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` or a CSS colour name (letters only). */
export function isColor(text: string): boolean {
  if (text === '' || text.length > MAX_COLOR_LEN) return false;
  if (text.startsWith('#')) return [3, 4, 6, 8].includes(text.length - 1) && /^[0-9a-fA-F]+$/.test(text.slice(1));
  return /^[a-zA-Z]+$/.test(text);
}

/** `80:orange, 95:red` into thresholds, or the problem with the text. */
export function parseThresholds(text: string): Threshold[] | string {
  const out: Threshold[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(-?\d+(?:\.\d+)?)\s*[:=]\s*(\S+)$/.exec(part);
    if (!m) return `"${part}" is not value:colour (e.g. 80:red)`;
    if (!isColor(m[2]!)) return `"${m[2]}" must be #rgb, #rrggbb, #rrggbbaa or a CSS color name`;
    out.push({ value: Number(m[1]), color: m[2]! });
  }
  if (out.length > MAX_THRESHOLDS) return `at most ${MAX_THRESHOLDS}`;
  return out;
}

export interface PanelForm {
  title: string;
  metric: string;
  color: string;
  thresholds: string;
  min: string;
  max: string;
}

/** Every problem the server would report for the panel's title, metric and options. */
export function panelProblems(f: PanelForm): Record<string, string> {
  const errors: Record<string, string> = {};
  const title = [...f.title.trim()].length;
  if (title === 0 || title > MAX_TITLE_LEN) errors.title = `must be 1 to ${MAX_TITLE_LEN} characters`;
  const metric = metricNameProblem(f.metric.trim());
  if (metric) errors['query.query'] = metric;
  if (f.color !== '' && !isColor(f.color)) errors['options.color'] = 'must be #rgb, #rrggbb, #rrggbbaa or a CSS color name';
  const thresholds = parseThresholds(f.thresholds);
  if (typeof thresholds === 'string') errors['options.thresholds'] = thresholds;
  const bound = (text: string) => (text.trim() === '' ? null : Number(text));
  const [min, max] = [bound(f.min), bound(f.max)];
  if (min !== null && !Number.isFinite(min)) errors['options.min'] = 'must be a finite number';
  if (max !== null && !Number.isFinite(max)) errors['options.max'] = 'must be a finite number';
  if (min !== null && max !== null && Number.isFinite(min) && Number.isFinite(max) && min >= max) errors['options.min'] = 'must be less than max';
  return errors;
}

/**
 * The server names a bad threshold by its index (`….thresholds[1].color`); the form has
 * one thresholds field, so each such problem is also shown there, with its position.
 */
export function foldThresholdErrors(errors: Record<string, string>): Record<string, string> {
  const out = { ...errors };
  for (const [key, reason] of Object.entries(errors)) {
    const m = /(?:^|\.)thresholds\[(\d+)\]\.(\w+)$/.exec(key);
    if (m && !out['options.thresholds']) out['options.thresholds'] = `threshold ${Number(m[1]) + 1}, ${m[2]}: ${reason}`;
  }
  return out;
}
