//! The sliding window cache that keeps evaluation cheap under heavy ingest.
//!
//! Every rule's window ends now, so consecutive ticks read mostly the same points.
//! Time is cut into slices one evaluation interval wide (aligned to the Unix epoch);
//! per-series partials (min, max, sum, count) of a slice that ended more than
//! `alerts.settle` ago are read once and kept, and only the settled-recently slices
//! and the current, open one are read again at each tick. A rule's window is then
//! rounded up to whole slices: it covers `[S − k·b, now]` where `b` is the interval,
//! `S` the start of the current slice and `k = ⌈window / b⌉`, i.e. between `window`
//! and `window + b` of data. Points that arrive later than `settle` after their slice
//! ended are not seen by alert windows (the query API still sees them).

use std::collections::{BTreeMap, HashMap};

use super::values::{SeriesWindow, WindowData};

/// Partials of one series in one slice.
#[derive(Debug, Clone)]
pub struct SlicePartial {
    pub metric: String,
    pub series_id: i64,
    pub slice_ms: i64,
    pub partial: SeriesWindow,
}

/// Settled slices by metric, then by slice start, then by series id.
#[derive(Debug, Default)]
pub struct SliceCache {
    by_metric: HashMap<String, BTreeMap<i64, HashMap<i64, SeriesWindow>>>,
}

/// What one tick must read: settled slices missing from the cache, and the fresh range.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPlan {
    /// `[start, end)` of settled slices to read and keep, and the metrics missing them.
    pub settled: Option<(i64, i64, Vec<String>)>,
    /// `[start, now]`, read every tick, never kept.
    pub fresh_start_ms: i64,
    pub now_ms: i64,
}

pub fn floor_to(ms: i64, width: i64) -> i64 {
    ms.div_euclid(width) * width
}

impl SliceCache {
    /// The reads of a tick at `now_ms` for `metrics` over windows up to `max_window_ms`.
    pub fn plan(
        &self,
        metrics: &[String],
        max_window_ms: i64,
        width_ms: i64,
        settle_ms: i64,
        now_ms: i64,
    ) -> ReadPlan {
        let current = floor_to(now_ms, width_ms);
        let oldest = current - slices_for(max_window_ms, width_ms) * width_ms;
        // Slices that ended at or before `now - settle` are settled.
        let settled_end = floor_to(now_ms - settle_ms, width_ms).clamp(oldest, current);
        let mut missing_from = settled_end;
        let mut missing: Vec<String> = Vec::new();
        for metric in metrics {
            let cached = self.by_metric.get(metric);
            let mut first_missing = None;
            let mut slice = oldest;
            while slice < settled_end {
                if !cached.is_some_and(|c| c.contains_key(&slice)) {
                    first_missing = Some(slice);
                    break;
                }
                slice += width_ms;
            }
            if let Some(first) = first_missing {
                missing_from = missing_from.min(first);
                missing.push(metric.clone());
            }
        }
        ReadPlan {
            settled: (!missing.is_empty()).then_some((missing_from, settled_end, missing)),
            fresh_start_ms: settled_end,
            now_ms,
        }
    }

    /// Keeps the settled partials read for `plan` (every slice of the read range is
    /// marked present, empty ones too) and forgets slices older than `oldest_ms`.
    pub fn store(
        &mut self,
        plan: &ReadPlan,
        width_ms: i64,
        rows: Vec<SlicePartial>,
        oldest_ms: i64,
    ) {
        if let Some((start, end, metrics)) = &plan.settled {
            for metric in metrics {
                let slices = self.by_metric.entry(metric.clone()).or_default();
                let mut slice = *start;
                while slice < *end {
                    slices.entry(slice).or_default();
                    slice += width_ms;
                }
            }
            for row in rows {
                if let Some(slices) = self.by_metric.get_mut(&row.metric) {
                    if let Some(series) = slices.get_mut(&row.slice_ms) {
                        series.insert(row.series_id, row.partial);
                    }
                }
            }
        }
        for slices in self.by_metric.values_mut() {
            slices.retain(|&slice, _| slice >= oldest_ms);
        }
        self.by_metric.retain(|_, slices| !slices.is_empty());
    }

    /// The window data of a window of `window_ms`: cached settled slices plus `fresh`.
    pub fn window(
        &self,
        window_ms: i64,
        width_ms: i64,
        plan: &ReadPlan,
        fresh: &[SlicePartial],
    ) -> WindowData {
        let current = floor_to(plan.now_ms, width_ms);
        let start = current - slices_for(window_ms, width_ms) * width_ms;
        let mut owned: HashMap<(String, i64), SeriesWindow> = HashMap::new();
        let mut merge = |metric: &str, id: i64, p: &SeriesWindow| {
            owned
                .entry((metric.to_string(), id))
                .and_modify(|m| {
                    m.min = m.min.min(p.min);
                    m.max = m.max.max(p.max);
                    m.sum += p.sum;
                    m.count += p.count;
                })
                .or_insert_with(|| p.clone());
        };
        for (metric, slices) in &self.by_metric {
            for (_, series) in slices.range(start..plan.fresh_start_ms) {
                for (id, p) in series {
                    merge(metric, *id, p);
                }
            }
        }
        for row in fresh.iter().filter(|r| r.slice_ms >= start) {
            merge(&row.metric, row.series_id, &row.partial);
        }
        let mut data = WindowData {
            end_ms: plan.now_ms,
            by_metric: HashMap::new(),
        };
        for ((metric, _), partial) in owned {
            data.by_metric.entry(metric).or_default().push(partial);
        }
        data
    }
}

fn slices_for(window_ms: i64, width_ms: i64) -> i64 {
    (window_ms + width_ms - 1) / width_ms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    fn partial(metric: &str, id: i64, slice: i64, v: f64) -> SlicePartial {
        SlicePartial {
            metric: metric.into(),
            series_id: id,
            slice_ms: slice,
            partial: SeriesWindow {
                labels: Labels::new(),
                min: v,
                max: v,
                sum: v,
                count: 1,
            },
        }
    }

    #[test]
    fn only_new_settled_slices_are_read_again() {
        let metrics = vec!["cpu".to_string()];
        let mut cache = SliceCache::default();
        // Tick at 65 s, 10 s slices, 60 s window, 10 s settle.
        let plan = cache.plan(&metrics, 60_000, 10_000, 10_000, 65_000);
        assert_eq!(plan.settled, Some((0, 50_000, metrics.clone())));
        assert_eq!(plan.fresh_start_ms, 50_000);
        cache.store(
            &plan,
            10_000,
            vec![partial("cpu", 1, 0, 5.0), partial("cpu", 1, 40_000, 7.0)],
            0,
        );
        let fresh = vec![
            partial("cpu", 1, 50_000, 1.0),
            partial("cpu", 1, 60_000, 9.0),
        ];
        let data = cache.window(60_000, 10_000, &plan, &fresh);
        let series = &data.by_metric["cpu"][0];
        assert_eq!((series.min, series.max, series.count), (1.0, 9.0, 4));

        // Next tick at 75 s: only the slice [50 s, 60 s) settled since.
        let plan = cache.plan(&metrics, 60_000, 10_000, 10_000, 75_000);
        assert_eq!(plan.settled, Some((50_000, 60_000, metrics.clone())));
        cache.store(&plan, 10_000, vec![partial("cpu", 1, 50_000, 1.0)], 10_000);
        let data = cache.window(60_000, 10_000, &plan, &[partial("cpu", 1, 60_000, 9.0)]);
        let series = &data.by_metric["cpu"][0];
        // Slice 0 fell out of the window; 40 s, 50 s and the fresh 60 s remain.
        assert_eq!((series.min, series.max, series.count), (1.0, 9.0, 3));
        // A shorter window only takes its own slices.
        let short = cache.window(10_000, 10_000, &plan, &[partial("cpu", 1, 60_000, 9.0)]);
        assert_eq!(short.by_metric["cpu"][0].count, 1);
    }
}
