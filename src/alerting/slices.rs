//! The sliding window cache that keeps evaluation cheap under heavy ingest.
//!
//! Every rule's window ends now, so consecutive ticks read mostly the same points.
//! Time is cut into slices `alerts.slice_width` wide (aligned to the Unix epoch), and
//! per-series partials (min, max, sum, count) are kept per slice. A slice is read
//! twice, in the background, not at the tick: once when it ended `alerts.recent` ago
//! (so a tick only reads the last few seconds itself) and once more when it ended
//! `alerts.settle` ago, which replaces the first read and so takes in points that were
//! stored late. Points stored later than `settle` after their slice ended are not seen
//! by alert windows (the query API still sees them).
//!
//! Slices whose final read is done are folded into blocks one evaluation interval wide,
//! so a day-long window costs one entry per series and block, not per second. A window
//! of `w` at `now` covers the slices from `floor(now) − ⌈w / width⌉·width`, widened to
//! the start of the block that holds that slice: between `w` and `w` plus one block.
//!
//! The actor applies reads between ticks only (a background result that arrives during
//! a tick waits for its end), so a tick sees one consistent cache.

use std::collections::{BTreeMap, HashMap};

use super::values::{SeriesWindow, WindowData};
use crate::model::Labels;
use crate::query::partial::Partial;

/// Partials of one series in one slice, as read from the database.
#[derive(Debug, Clone)]
pub struct SlicePartial {
    pub metric: String,
    pub series_id: i64,
    pub slice_ms: i64,
    pub partial: SeriesWindow,
}

/// The partial of one series' points in a slice.
fn partial_of(w: &SeriesWindow) -> Partial {
    Partial {
        min: w.min,
        max: w.max,
        sum: w.sum,
        count: w.count,
    }
}

type BySeries = HashMap<i64, Partial>;

/// The slice widths, from the settings (all in ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Width of a slice.
    pub width: i64,
    /// Width of a folded block (a multiple of `width`).
    pub block: i64,
    /// A slice is read in the background once it ended this long ago.
    pub recent: i64,
    /// ... and read again, for the last time, once it ended this long ago.
    pub settle: i64,
}

impl Geometry {
    pub fn new(width: i64, interval: i64, recent: i64, settle: i64) -> Geometry {
        let width = width.max(1);
        let block = ((interval.max(width) + width - 1) / width) * width;
        Geometry {
            width,
            block,
            recent,
            settle: settle.max(recent),
        }
    }

    /// Start of the oldest slice a window of `window_ms` at `now_ms` covers, widened to
    /// its block.
    pub fn window_start(&self, window_ms: i64, now_ms: i64) -> i64 {
        let slices = (window_ms + self.width - 1) / self.width;
        floor_to(
            floor_to(now_ms, self.width) - slices * self.width,
            self.block,
        )
    }
}

pub fn floor_to(ms: i64, width: i64) -> i64 {
    ms.div_euclid(width) * width
}

/// One metric's cached partials. Slices before `folded_until` live in `blocks`, the
/// others in `slices`; nothing is in both.
#[derive(Debug, Default)]
struct MetricCache {
    /// Start of the oldest block kept.
    from: i64,
    /// Slices before this have been read.
    read_until: i64,
    /// Slices before this have had their final read.
    final_until: i64,
    folded_until: i64,
    slices: BTreeMap<i64, BySeries>,
    blocks: BTreeMap<i64, BySeries>,
}

/// What one tick reads itself: the whole window of metrics not cached yet ("cold"), and
/// the fresh range of all.
#[derive(Debug, Clone, PartialEq)]
pub struct TickPlan {
    /// `[cold_start, fresh_start)` for `cold` metrics (none when empty).
    pub cold: Vec<String>,
    pub cold_start_ms: i64,
    /// `[fresh_start, now]`, read at every tick for every metric, never kept.
    pub fresh_start_ms: i64,
    pub now_ms: i64,
    /// Where each metric's cached slices end and its fresh rows begin.
    boundary: HashMap<String, i64>,
}

/// A background read: `[start, end)` for every metric in `metrics`, replacing what the
/// cache holds for those slices.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeRead {
    pub metrics: Vec<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    /// A final read (advances `final_until`) or a first one (advances `read_until`).
    pub is_final: bool,
}

#[derive(Debug)]
pub struct SliceCache {
    geometry: Geometry,
    metrics: HashMap<String, MetricCache>,
    labels: HashMap<i64, Labels>,
}

impl SliceCache {
    pub fn new(geometry: Geometry) -> SliceCache {
        SliceCache {
            geometry,
            metrics: HashMap::new(),
            labels: HashMap::new(),
        }
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The reads of a tick at `now_ms` for `metrics` over windows up to `max_window_ms`.
    pub fn plan_tick(&self, metrics: &[String], max_window_ms: i64, now_ms: i64) -> TickPlan {
        let g = self.geometry;
        let oldest = g.window_start(max_window_ms, now_ms);
        let is_cold = |m: &String| self.metrics.get(m).is_none_or(|c| c.from > oldest);
        let cold: Vec<String> = metrics.iter().filter(|m| is_cold(m)).cloned().collect();
        let warm_start = metrics
            .iter()
            .filter(|m| !is_cold(m))
            .map(|m| self.metrics[m].read_until)
            .min();
        let fresh_start = warm_start
            .unwrap_or_else(|| floor_to(now_ms - g.recent, g.width))
            .max(oldest)
            .min(floor_to(now_ms, g.width));
        let boundary = metrics
            .iter()
            .map(|m| {
                let b = if is_cold(m) {
                    fresh_start
                } else {
                    self.metrics[m]
                        .read_until
                        .clamp(fresh_start, floor_to(now_ms, g.width))
                };
                (m.clone(), b)
            })
            .collect();
        TickPlan {
            cold,
            cold_start_ms: oldest,
            fresh_start_ms: fresh_start,
            now_ms,
            boundary,
        }
    }

    /// Keeps what a tick read for its cold metrics.
    pub fn apply_cold(&mut self, plan: &TickPlan, rows: Vec<SlicePartial>) {
        if plan.cold.is_empty() {
            return;
        }
        let g = self.geometry;
        let final_until = floor_to(plan.now_ms - g.settle, g.width)
            .clamp(plan.cold_start_ms, plan.fresh_start_ms);
        for metric in &plan.cold {
            self.metrics.insert(
                metric.clone(),
                MetricCache {
                    from: plan.cold_start_ms,
                    read_until: plan.fresh_start_ms,
                    final_until,
                    folded_until: plan.cold_start_ms,
                    slices: BTreeMap::new(),
                    blocks: BTreeMap::new(),
                },
            );
        }
        self.replace(&plan.cold, plan.cold_start_ms, plan.fresh_start_ms, rows);
        self.fold();
    }

    /// The background reads due at `now_ms`, for every cached metric: slices that ended
    /// `recent` ago and are unread, and slices that ended `settle` ago and await their
    /// final read.
    pub fn plan_background(&self, now_ms: i64) -> Vec<RangeRead> {
        let g = self.geometry;
        let metrics: Vec<String> = self.metrics.keys().cloned().collect();
        if metrics.is_empty() {
            return Vec::new();
        }
        let mut reads = Vec::new();
        let first_end = floor_to(now_ms - g.recent, g.width);
        let final_end = floor_to(now_ms - g.settle, g.width);
        let first_start = self
            .metrics
            .values()
            .map(|c| c.read_until)
            .min()
            .unwrap_or(first_end);
        let final_start = self
            .metrics
            .values()
            .map(|c| c.final_until)
            .min()
            .unwrap_or(final_end);
        if final_start < final_end {
            reads.push(RangeRead {
                metrics: metrics.clone(),
                start_ms: final_start,
                end_ms: final_end,
                is_final: true,
            });
        }
        if first_start < first_end {
            reads.push(RangeRead {
                metrics,
                start_ms: first_start,
                end_ms: first_end,
                is_final: false,
            });
        }
        reads
    }

    /// Keeps a background read's rows (for metrics still cached) and folds the slices
    /// whose final read is done.
    pub fn apply_read(&mut self, read: &RangeRead, rows: Vec<SlicePartial>) {
        let metrics: Vec<String> = read
            .metrics
            .iter()
            .filter(|m| self.metrics.contains_key(*m))
            .cloned()
            .collect();
        self.replace(&metrics, read.start_ms, read.end_ms, rows);
        for metric in &metrics {
            let cache = self.metrics.get_mut(metric).expect("filtered above");
            // A metric that came in after this read started from later slices: its
            // horizons only move forward.
            if read.start_ms
                <= if read.is_final {
                    cache.final_until
                } else {
                    cache.read_until
                }
            {
                if read.is_final {
                    cache.final_until = cache.final_until.max(read.end_ms);
                    cache.read_until = cache.read_until.max(cache.final_until);
                } else {
                    cache.read_until = cache.read_until.max(read.end_ms);
                }
            }
        }
        self.fold();
    }

    /// Sets the slices `[start, end)` of `metrics` to `rows` (slices already folded are
    /// left alone: their final read is done).
    fn replace(&mut self, metrics: &[String], start: i64, end: i64, rows: Vec<SlicePartial>) {
        let width = self.geometry.width;
        for metric in metrics {
            if let Some(cache) = self.metrics.get_mut(metric) {
                let mut slice = start.max(cache.folded_until);
                while slice < end {
                    cache.slices.insert(slice, BySeries::new());
                    slice += width;
                }
            }
        }
        for row in rows {
            let Some(cache) = self.metrics.get_mut(&row.metric) else {
                continue;
            };
            if row.slice_ms < cache.folded_until || row.slice_ms < start || row.slice_ms >= end {
                continue;
            }
            if let Some(series) = cache.slices.get_mut(&row.slice_ms) {
                series.insert(row.series_id, partial_of(&row.partial));
                self.labels
                    .entry(row.series_id)
                    .or_insert(row.partial.labels);
            }
        }
    }

    /// Moves every whole block of final slices into `blocks`.
    fn fold(&mut self) {
        let block = self.geometry.block;
        for cache in self.metrics.values_mut() {
            let fold_until = floor_to(cache.final_until, block);
            while cache.folded_until < fold_until {
                let b = floor_to(cache.folded_until, block);
                let mut merged = cache.blocks.remove(&b).unwrap_or_default();
                let keys: Vec<i64> = cache.slices.range(b..b + block).map(|(k, _)| *k).collect();
                for key in keys {
                    for (id, p) in cache.slices.remove(&key).unwrap_or_default() {
                        merged.entry(id).and_modify(|m| m.merge(p)).or_insert(p);
                    }
                }
                cache.blocks.insert(b, merged);
                cache.folded_until = b + block;
            }
        }
    }

    /// Forgets metrics no rule reads and data older than any window needs.
    pub fn retain(&mut self, metrics: &[String], max_window_ms: i64, now_ms: i64) {
        let oldest = self.geometry.window_start(max_window_ms, now_ms);
        self.metrics.retain(|m, _| metrics.contains(m));
        for cache in self.metrics.values_mut() {
            cache.blocks.retain(|&b, _| b >= oldest);
            cache.slices.retain(|&s, _| s >= oldest);
            cache.from = cache.from.max(oldest);
        }
        // Labels of series that left every window: rebuilt only when well over the
        // series a metric holds at once, which is rare.
        let live: usize = self
            .metrics
            .values()
            .map(|c| {
                c.blocks
                    .values()
                    .chain(c.slices.values())
                    .map(|s| s.len())
                    .max()
                    .unwrap_or(0)
            })
            .sum();
        if self.labels.len() > 2 * live + 1024 {
            let ids: std::collections::HashSet<i64> = self
                .metrics
                .values()
                .flat_map(|c| c.blocks.values().chain(c.slices.values()))
                .flat_map(|s| s.keys().copied())
                .collect();
            self.labels.retain(|id, _| ids.contains(id));
        }
    }

    /// The window data of a window of `window_ms`: cached blocks and slices plus the
    /// `fresh` rows of the tick planned as `plan`.
    pub fn window<'a>(
        &'a self,
        window_ms: i64,
        plan: &TickPlan,
        fresh: &'a [SlicePartial],
    ) -> WindowData {
        let start = self.geometry.window_start(window_ms, plan.now_ms);
        let mut owned: HashMap<(&'a str, i64), Partial> = HashMap::new();
        let mut merge = |metric: &'a str, id: i64, p: &Partial| {
            owned
                .entry((metric, id))
                .and_modify(|m| m.merge(*p))
                .or_insert(*p);
        };
        let mut labels: HashMap<i64, &'a Labels> = HashMap::new();
        for (metric, cache) in &self.metrics {
            let Some(&boundary) = plan.boundary.get(metric) else {
                continue;
            };
            let parts = cache
                .blocks
                .range(start..)
                .chain(cache.slices.range(start..boundary));
            for (_, series) in parts {
                for (id, p) in series {
                    merge(metric.as_str(), *id, p);
                }
            }
        }
        for row in fresh {
            let boundary = plan
                .boundary
                .get(&row.metric)
                .copied()
                .unwrap_or(plan.fresh_start_ms);
            if row.slice_ms >= start && row.slice_ms >= boundary {
                merge(
                    row.metric.as_str(),
                    row.series_id,
                    &partial_of(&row.partial),
                );
                labels.insert(row.series_id, &row.partial.labels);
            }
        }
        let mut data = WindowData {
            end_ms: plan.now_ms,
            ..Default::default()
        };
        for ((metric, id), p) in owned {
            let Some(labels) = labels.get(&id).copied().or_else(|| self.labels.get(&id)) else {
                continue;
            };
            data.by_metric
                .entry(metric.to_string())
                .or_default()
                .push(SeriesWindow {
                    labels: labels.clone(),
                    min: p.min,
                    max: p.max,
                    sum: p.sum,
                    count: p.count,
                });
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(metric: &str, id: i64, slice: i64, v: f64) -> SlicePartial {
        let mut labels = Labels::new();
        labels.insert("id".into(), id.to_string());
        SlicePartial {
            metric: metric.into(),
            series_id: id,
            slice_ms: slice,
            partial: SeriesWindow {
                labels,
                min: v,
                max: v,
                sum: v,
                count: 1,
            },
        }
    }

    fn stats(data: &WindowData, metric: &str) -> (f64, f64, f64, i64) {
        let s = &data.by_metric[metric][0];
        (s.min, s.max, s.sum, s.count)
    }

    /// 1 s slices, 10 s blocks, read after 2 s, final after 10 s.
    fn cache() -> SliceCache {
        SliceCache::new(Geometry::new(1_000, 10_000, 2_000, 10_000))
    }

    #[test]
    fn a_cold_metric_is_read_whole_then_only_fresh_slices_at_each_tick() {
        let metrics = vec!["cpu".to_string()];
        let mut c = cache();
        // Tick at 65.5 s, 60 s window: slices from 5 s, widened to the 0 s block.
        let plan = c.plan_tick(&metrics, 60_000, 65_500);
        assert_eq!(plan.cold, metrics);
        assert_eq!((plan.cold_start_ms, plan.fresh_start_ms), (0, 63_000));
        c.apply_cold(
            &plan,
            vec![row("cpu", 1, 0, 5.0), row("cpu", 1, 62_000, 7.0)],
        );
        let fresh = vec![row("cpu", 1, 63_000, 1.0), row("cpu", 1, 65_000, 9.0)];
        assert_eq!(
            stats(&c.window(60_000, &plan, &fresh), "cpu"),
            (1.0, 9.0, 22.0, 4)
        );

        // The next tick only reads from where the cache ends.
        let plan = c.plan_tick(&metrics, 60_000, 66_500);
        assert!(plan.cold.is_empty());
        assert_eq!(plan.fresh_start_ms, 63_000);
    }

    #[test]
    fn background_reads_replace_first_reads_and_take_late_points() {
        let metrics = vec!["cpu".to_string()];
        let mut c = cache();
        let plan = c.plan_tick(&metrics, 60_000, 100_000);
        c.apply_cold(&plan, vec![]);
        // At 102.5 s: slices [98 s, 100 s) ended 2 s ago: first read. Final ones: [90, 92).
        let reads = c.plan_background(102_500);
        assert_eq!(
            reads,
            vec![
                RangeRead {
                    metrics: metrics.clone(),
                    start_ms: 90_000,
                    end_ms: 92_000,
                    is_final: true
                },
                RangeRead {
                    metrics: metrics.clone(),
                    start_ms: 98_000,
                    end_ms: 100_000,
                    is_final: false
                },
            ]
        );
        c.apply_read(&reads[0], vec![]);
        c.apply_read(&reads[1], vec![row("cpu", 1, 99_000, 4.0)]);
        let plan = c.plan_tick(&metrics, 60_000, 102_600);
        assert_eq!(plan.fresh_start_ms, 100_000);
        assert_eq!(
            stats(&c.window(60_000, &plan, &[]), "cpu"),
            (4.0, 4.0, 4.0, 1)
        );

        // A late point for 99 s arrives; the final read of [92 s, 100 s) at 110 s sees it,
        // and the first read's partial is replaced, not added to.
        let reads = c.plan_background(110_000);
        let last = reads.iter().find(|r| r.is_final).unwrap().clone();
        assert_eq!((last.start_ms, last.end_ms), (92_000, 100_000));
        let late = SlicePartial {
            partial: SeriesWindow {
                min: 2.0,
                max: 4.0,
                sum: 6.0,
                count: 2,
                ..row("cpu", 1, 0, 0.0).partial
            },
            ..row("cpu", 1, 99_000, 0.0)
        };
        c.apply_read(&last, vec![late]);
        let plan = c.plan_tick(&metrics, 60_000, 110_100);
        assert_eq!(
            stats(&c.window(60_000, &plan, &[]), "cpu"),
            (2.0, 4.0, 6.0, 2)
        );
    }

    #[test]
    fn final_slices_fold_into_blocks_and_windows_widen_to_blocks() {
        let metrics = vec!["cpu".to_string()];
        let mut c = cache();
        let plan = c.plan_tick(&metrics, 60_000, 100_000);
        c.apply_cold(&plan, vec![]);
        let mut now = 100_000;
        while now < 130_000 {
            now += 1_000;
            for read in c.plan_background(now) {
                let rows = (read.start_ms..read.end_ms)
                    .step_by(1_000)
                    .map(|s| row("cpu", 1, s, (s / 1_000) as f64))
                    .collect();
                c.apply_read(&read, rows);
            }
        }
        let m = &c.metrics["cpu"];
        // Final reads are done up to 120 s: [100 s, 120 s) are two blocks.
        assert_eq!(m.final_until, 120_000);
        assert_eq!(m.folded_until, 120_000);
        assert!(m.blocks.contains_key(&110_000) && !m.slices.contains_key(&110_000));
        // A 15 s window at 130 s starts at 115 s, widened to the 110 s block: 110..128 s
        // (cached through 128 s, nothing fresh).
        let plan = c.plan_tick(&metrics, 60_000, 130_000);
        assert_eq!(plan.fresh_start_ms, 128_000);
        let (min, max, _, count) = stats(&c.window(15_000, &plan, &[]), "cpu");
        assert_eq!((min, max, count), (110.0, 127.0, 18));
        // Forgetting data no window needs keeps the blocks a window still reads.
        c.retain(&metrics, 15_000, 130_000);
        assert_eq!(
            c.metrics["cpu"].blocks.keys().copied().collect::<Vec<_>>(),
            vec![110_000]
        );
    }

    #[test]
    fn a_longer_window_makes_a_metric_cold_again() {
        let metrics = vec!["cpu".to_string()];
        let mut c = cache();
        let plan = c.plan_tick(&metrics, 60_000, 100_000);
        c.apply_cold(&plan, vec![]);
        assert!(c.plan_tick(&metrics, 60_000, 101_000).cold.is_empty());
        assert_eq!(c.plan_tick(&metrics, 120_000, 101_000).cold, metrics);
    }
}
