// The query form shared by the panel editor, explore and alert rules: metric picker
// (type-ahead over GET /api/v1/metrics?contains=), tag filters (values from
// GET /api/v1/metrics/{name}/tags), aggregation, step and group by.
import { useId } from 'react';
import { metricNameProblem } from '../lib/panelRules';
import { validateStep } from '../lib/step';
import { MetricOptions, useSettledMetricTags, useTypedMetric } from './MetricOptions';

export const AGGREGATIONS = ['avg', 'min', 'max', 'sum', 'count', 'rate', 'p50', 'p90', 'p95', 'p99'] as const;
/** What an alert rule may aggregate with: the server evaluates rules from rollups only. */
export const RULE_AGGREGATIONS = ['avg', 'min', 'max', 'sum', 'count'] as const;

export interface QueryValue {
  query: string;
  aggregation: string;
  tags: Record<string, string>;
  groupBy: string[];
  step: string;
}

/** The server's message for `name`, whatever prefix it put before it. */
export function fieldError(errors: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(errors).find((k) => k === name || k.endsWith(`.${name}`));
  return key ? errors[key] : undefined;
}

export function localQueryErrors(q: QueryValue): Record<string, string> {
  const errors: Record<string, string> = {};
  const metric = metricNameProblem(q.query.trim());
  if (metric) errors['query.query'] = metric;
  const step = validateStep(q.step);
  if (step) errors['query.step'] = step;
  return errors;
}

interface Props {
  value: QueryValue;
  onChange: (v: QueryValue) => void;
  errors: Record<string, string>;
  showStep?: boolean;
  showGroupBy?: boolean;
  /** The aggregations offered; default every one a query accepts. */
  aggregations?: readonly string[];
}

export function QueryEditor({ value, onChange, errors, showStep = true, showGroupBy = true, aggregations = AGGREGATIONS }: Props) {
  const listId = useId();
  const settled = useTypedMetric(value.query);
  const tags = useSettledMetricTags(settled);
  const tagKeys = Object.keys(tags.data ?? {});
  const set = (patch: Partial<QueryValue>) => onChange({ ...value, ...patch });
  const metricError = fieldError(errors, 'query.query') ?? fieldError(errors, 'query');
  const filters = Object.entries(value.tags);

  return (
    <>
      <label>
        Metric
        <input
          aria-label="Metric"
          list={listId}
          value={value.query}
          onChange={(e) => set({ query: e.target.value })}
          autoComplete="off"
          aria-invalid={metricError ? true : undefined}
        />
        <MetricOptions id={listId} settled={settled} />
        {metricError && <span className="field-error">{metricError}</span>}
      </label>
      <fieldset className="tags">
        <legend className="muted">Tag filters</legend>
        {filters.map(([k, v], index) => (
          <div key={index} className="toolbar">
            <select aria-label={`Tag key ${index + 1}`} value={k} onChange={(e) => {
              const next = { ...value.tags };
              delete next[k];
              next[e.target.value] = v;
              set({ tags: next });
            }}>
              {[k, ...tagKeys.filter((t) => t !== k && !(t in value.tags))].map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
            <input
              aria-label={`Tag value ${index + 1}`}
              list={`${listId}-${k}`}
              value={v}
              onChange={(e) => set({ tags: { ...value.tags, [k]: e.target.value } })}
            />
            <datalist id={`${listId}-${k}`}>
              {(tags.data?.[k] ?? []).map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
            <button type="button" aria-label={`Remove tag filter ${k}`} onClick={() => {
              const next = { ...value.tags };
              delete next[k];
              set({ tags: next });
            }}>
              ✕
            </button>
          </div>
        ))}
        {tagKeys.some((t) => !(t in value.tags)) && (
          <button type="button" onClick={() => {
            const free = tagKeys.find((t) => !(t in value.tags))!;
            set({ tags: { ...value.tags, [free]: tags.data?.[free]?.[0] ?? '' } });
          }}>
            Add tag filter
          </button>
        )}
        {fieldError(errors, 'tags') && <span className="field-error">{fieldError(errors, 'tags')}</span>}
      </fieldset>
      <label>
        Aggregation
        <select aria-label="Aggregation" value={value.aggregation} onChange={(e) => set({ aggregation: e.target.value })}>
          {aggregations.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        {fieldError(errors, 'aggregation') && <span className="field-error">{fieldError(errors, 'aggregation')}</span>}
      </label>
      {showStep && (
        <label>
          Step
          <input aria-label="Step" value={value.step} placeholder="auto" onChange={(e) => set({ step: e.target.value })} aria-invalid={fieldError(errors, 'step') ? true : undefined} />
          {fieldError(errors, 'step') && <span className="field-error">{fieldError(errors, 'step')}</span>}
        </label>
      )}
      {showGroupBy && (
        <label>
          Group by
          <select aria-label="Group by" multiple value={value.groupBy} onChange={(e) => set({ groupBy: [...e.target.selectedOptions].map((o) => o.value) })}>
            {[...new Set([...tagKeys, ...value.groupBy])].map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          {fieldError(errors, 'groupBy') && <span className="field-error">{fieldError(errors, 'groupBy')}</span>}
        </label>
      )}
    </>
  );
}
