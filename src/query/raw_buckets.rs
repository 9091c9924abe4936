//! Raw samples into (group, bucket) answers, series by series.
//!
//! Samples come sorted per series, so consecutive samples mostly fall into the same
//! bucket: each series is walked once, a run of samples in one bucket is folded into
//! a local partial, and only the finished run touches the shared cell. Cells are a
//! dense array (group x bucket) when that array is small, a hash map otherwise (many
//! groups over many buckets); either way there is no allocation or map operation per
//! sample. Buckets are aligned to multiples of the step since the Unix epoch.

use std::collections::HashMap;

use crate::model::TimeRange;
use crate::query::partial::Partial;
use crate::store::samples::SeriesSamples;

/// `((group, bucket_ms), value)` for every bucket with data, sorted by key, each key
/// once. A sorted vector rather than a map: answers are built in key order and only
/// walked afterwards, and a map's per-entry inserts cost more than the rest of a
/// single-series answer.
pub type Buckets = Vec<((i32, i64), f64)>;

/// Largest dense cell array (group x bucket) before cells go to a hash map: 32 MB of
/// partials.
const DENSE_CELLS: usize = 1 << 20;

#[cfg(not(test))]
fn dense_limit() -> usize {
    DENSE_CELLS
}

#[cfg(test)]
thread_local! {
    static DENSE_LIMIT: std::cell::Cell<usize> = const { std::cell::Cell::new(DENSE_CELLS) };
}

#[cfg(test)]
fn dense_limit() -> usize {
    DENSE_LIMIT.with(|l| l.get())
}

pub fn bucket_of(time_ms: i64, step_ms: i64) -> i64 {
    time_ms.div_euclid(step_ms) * step_ms
}

/// Where the cell of a (group, bucket) lives.
enum Cells {
    Dense {
        first_bucket: i64,
        step_ms: i64,
        buckets: usize,
    },
    Sparse {
        index: HashMap<(i32, i64), usize>,
        keys: Vec<(i32, i64)>,
    },
}

impl Cells {
    /// Cells for `groups` groups over the buckets that `ranges` touch.
    fn new(groups: usize, ranges: &[TimeRange], step_ms: i64) -> Cells {
        let lo = ranges.iter().map(|r| r.start_ms).min().unwrap_or(0);
        let hi = ranges.iter().map(|r| r.end_ms).max().unwrap_or(0);
        let first_bucket = bucket_of(lo, step_ms);
        let buckets = if hi > lo {
            ((bucket_of(hi - 1, step_ms) - first_bucket) / step_ms + 1) as usize
        } else {
            0
        };
        if groups.saturating_mul(buckets) <= dense_limit() {
            Cells::Dense {
                first_bucket,
                step_ms,
                buckets,
            }
        } else {
            Cells::Sparse {
                index: HashMap::new(),
                keys: Vec::new(),
            }
        }
    }

    /// Cells allocated up front (dense) or so far (sparse).
    fn len(&self, groups: usize) -> usize {
        match self {
            Cells::Dense { buckets, .. } => groups * buckets,
            Cells::Sparse { keys, .. } => keys.len(),
        }
    }

    /// The cell of `(group, bucket)`; a new sparse cell is pushed onto `store`.
    #[inline]
    fn cell<T: Copy>(&mut self, group: i32, bucket: i64, store: &mut Vec<T>, empty: T) -> usize {
        match self {
            Cells::Dense {
                first_bucket,
                step_ms,
                buckets,
            } => group as usize * *buckets + ((bucket - *first_bucket) / *step_ms) as usize,
            Cells::Sparse { index, keys } => *index.entry((group, bucket)).or_insert_with(|| {
                keys.push((group, bucket));
                store.push(empty);
                keys.len() - 1
            }),
        }
    }

    fn key(&self, cell: usize) -> (i32, i64) {
        match self {
            Cells::Dense {
                first_bucket,
                step_ms,
                buckets,
            } => (
                (cell / buckets) as i32,
                first_bucket + (cell % buckets) as i64 * step_ms,
            ),
            Cells::Sparse { keys, .. } => keys[cell],
        }
    }

    /// `(key, value)` of every cell `keep` accepts, in key order.
    fn collect<T, V>(
        &self,
        store: Vec<T>,
        mut keep: impl FnMut(T) -> Option<V>,
    ) -> Vec<((i32, i64), V)> {
        let mut out: Vec<((i32, i64), V)> = store
            .into_iter()
            .enumerate()
            .filter_map(|(cell, v)| keep(v).map(|v| (self.key(cell), v)))
            .collect();
        if matches!(self, Cells::Sparse { .. }) {
            out.sort_unstable_by_key(|(k, _)| *k);
        }
        out
    }
}

/// Number of groups: one more than the largest group number.
fn group_count(group_of: &HashMap<i64, i32>) -> usize {
    group_of
        .values()
        .copied()
        .max()
        .map_or(0, |g| g as usize + 1)
}

/// The part of a series inside `range`: index bounds into its sorted samples.
fn slice_of(series: &SeriesSamples, range: TimeRange) -> (usize, usize) {
    let lo = series.times_ms.partition_point(|t| *t < range.start_ms);
    let hi = series.times_ms.partition_point(|t| *t < range.end_ms);
    (lo, hi.max(lo))
}

/// Calls `run(bucket, from, to)` for each maximal run of samples `from..to` of
/// `series` (indices into its columns) that fall into one bucket, inside `ranges`
/// (sorted, disjoint).
#[inline]
fn for_each_run(
    series: &SeriesSamples,
    ranges: &[TimeRange],
    step_ms: i64,
    mut run: impl FnMut(i64, usize, usize),
) {
    for range in ranges {
        let (lo, hi) = slice_of(series, *range);
        let times = &series.times_ms;
        let mut i = lo;
        while i < hi {
            let bucket = bucket_of(times[i], step_ms);
            let end = bucket + step_ms;
            let mut j = i + 1;
            while j < hi && times[j] < end {
                j += 1;
            }
            run(bucket, i, j);
            i = j;
        }
    }
}

/// Per (group, bucket) min/max/sum/count of the samples inside `ranges` (sorted,
/// disjoint), in key order.
pub fn raw_partials(
    samples: &[SeriesSamples],
    group_of: &HashMap<i64, i32>,
    step_ms: i64,
    ranges: &[TimeRange],
) -> Vec<((i32, i64), Partial)> {
    let groups = group_count(group_of);
    let mut cells = Cells::new(groups, ranges, step_ms);
    let mut store = vec![Partial::EMPTY; cells.len(groups)];
    for series in samples {
        let Some(&g) = group_of.get(&series.series_id) else {
            continue;
        };
        for_each_run(series, ranges, step_ms, |bucket, from, to| {
            let mut run = Partial::EMPTY;
            for &v in &series.values[from..to] {
                run.add(v);
            }
            let cell = cells.cell(g, bucket, &mut store, Partial::EMPTY);
            store[cell].merge(run);
        });
    }
    cells.collect(store, |p| (!p.is_empty()).then_some(p))
}

/// Per series and bucket, in series then time order, the partial of its samples (the
/// rollup tiers' rows).
pub fn series_partials(samples: &[SeriesSamples], step_ms: i64) -> Vec<(i64, i64, Partial)> {
    let all = [TimeRange {
        start_ms: i64::MIN,
        end_ms: i64::MAX,
    }];
    let mut out = Vec::new();
    for series in samples {
        for_each_run(series, &all, step_ms, |bucket, from, to| {
            let mut run = Partial::EMPTY;
            for &v in &series.values[from..to] {
                run.add(v);
            }
            out.push((series.series_id, bucket, run));
        });
    }
    out
}

/// Orders values as the previous implementation (and PostgreSQL) does: NaN last.
fn value_order(a: &f64, b: &f64) -> std::cmp::Ordering {
    a.partial_cmp(b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

/// `percentile_cont(q)` of a bucket's values, computed as PostgreSQL does: linear
/// interpolation between the two closest ranks. Reorders `values`.
fn percentile_cont(values: &mut [f64], q: f64) -> f64 {
    let pos = q * (values.len() - 1) as f64;
    let (first, second) = (pos.floor() as usize, pos.ceil() as usize);
    let (_, lo, rest) = values.select_nth_unstable_by(first, value_order);
    let lo = *lo;
    if first == second {
        return lo;
    }
    let hi = rest.iter().copied().min_by(value_order).unwrap_or(lo);
    lo + (pos - first as f64) * (hi - lo)
}

/// `percentile_cont(q)` per (group, bucket) of the samples in `range`. The values of
/// each cell are gathered by a counting sort (count, offsets, scatter) and each
/// cell's quantile found by selection, not by sorting everything.
pub fn raw_percentiles(
    samples: &[SeriesSamples],
    group_of: &HashMap<i64, i32>,
    step_ms: i64,
    q: f64,
    range: TimeRange,
) -> Buckets {
    let ranges = [range];
    let groups = group_count(group_of);
    let mut cells = Cells::new(groups, &ranges, step_ms);
    let mut counts: Vec<usize> = vec![0; cells.len(groups)];
    for series in samples {
        let Some(&g) = group_of.get(&series.series_id) else {
            continue;
        };
        for_each_run(series, &ranges, step_ms, |bucket, from, to| {
            let cell = cells.cell(g, bucket, &mut counts, 0);
            counts[cell] += to - from;
        });
    }
    let mut offsets = Vec::with_capacity(counts.len() + 1);
    let mut total = 0;
    for c in &counts {
        offsets.push(total);
        total += c;
    }
    offsets.push(total);
    let mut values = vec![0.0; total];
    let mut fill = offsets.clone();
    for series in samples {
        let Some(&g) = group_of.get(&series.series_id) else {
            continue;
        };
        for_each_run(series, &ranges, step_ms, |bucket, from, to| {
            let cell = cells.cell(g, bucket, &mut counts, 0);
            let at = fill[cell];
            values[at..at + (to - from)].copy_from_slice(&series.values[from..to]);
            fill[cell] += to - from;
        });
    }
    let quantiles: Vec<Option<f64>> = (0..counts.len())
        .map(|cell| {
            let part = &mut values[offsets[cell]..offsets[cell + 1]];
            (!part.is_empty()).then(|| percentile_cont(part, q))
        })
        .collect();
    cells.collect(quantiles, |v| v).into_iter().collect()
}

/// Per (group, bucket): the summed increase of each series' samples over its previous
/// sample (the whole new value after a counter reset, as Prometheus does), divided by
/// the step. Samples before `start_ms` only serve as the previous sample.
pub fn raw_rates(
    samples: &[SeriesSamples],
    group_of: &HashMap<i64, i32>,
    step_ms: i64,
    range: TimeRange,
) -> Buckets {
    let step_secs = step_ms as f64 / 1000.0;
    let ranges = [range];
    let groups = group_count(group_of);
    let mut cells = Cells::new(groups, &ranges, step_ms);
    let mut store = vec![Partial::EMPTY; cells.len(groups)];
    for series in samples {
        let Some(&g) = group_of.get(&series.series_id) else {
            continue;
        };
        let (lo, _) = slice_of(series, range);
        let mut previous = lo.checked_sub(1).map(|i| series.values[i]);
        for_each_run(series, &ranges, step_ms, |bucket, from, to| {
            let mut run = Partial::EMPTY;
            for &v in &series.values[from..to] {
                run.sum += match previous {
                    None => 0.0,
                    Some(p) if v >= p => v - p,
                    Some(_) => v,
                };
                run.count += 1;
                previous = Some(v);
            }
            let cell = cells.cell(g, bucket, &mut store, Partial::EMPTY);
            store[cell].merge(run);
        });
    }
    cells
        .collect(store, |p| (!p.is_empty()).then_some(p.sum / step_secs))
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_series(times: &[i64], values: &[f64]) -> (Vec<SeriesSamples>, HashMap<i64, i32>) {
        let s = SeriesSamples {
            series_id: 7,
            times_ms: times.to_vec(),
            values: values.to_vec(),
        };
        (vec![s], HashMap::from([(7, 0)]))
    }

    fn as_map(buckets: Buckets) -> std::collections::BTreeMap<(i32, i64), f64> {
        buckets.into_iter().collect()
    }

    fn all() -> TimeRange {
        TimeRange {
            start_ms: -1_000_000,
            end_ms: 1_000_000,
        }
    }

    #[test]
    fn percentiles_interpolate_like_percentile_cont() {
        let (s, g) = one_series(&[0, 1, 2, 3, 60_000], &[4.0, 1.0, 3.0, 2.0, 9.0]);
        let p = as_map(raw_percentiles(&s, &g, 60_000, 0.5, all()));
        assert_eq!(p[&(0, 0)], 2.5);
        assert_eq!(p[&(0, 60_000)], 9.0);
        assert_eq!(
            as_map(raw_percentiles(&s, &g, 60_000, 0.99, all()))[&(0, 0)],
            3.0 + 0.97 * (4.0 - 3.0)
        );
    }

    #[test]
    fn rates_count_resets_and_use_the_sample_before_the_range() {
        // 10 before the range, then 15, 25, a reset to 5, 8: increases 5, 10, 5, 3.
        let (s, g) = one_series(
            &[-1000, 0, 10_000, 20_000, 70_000],
            &[10.0, 15.0, 25.0, 5.0, 8.0],
        );
        let range = TimeRange {
            start_ms: 0,
            end_ms: 120_000,
        };
        let r = as_map(raw_rates(&s, &g, 60_000, range));
        assert_eq!(r[&(0, 0)], 20.0 / 60.0);
        assert_eq!(r[&(0, 60_000)], 3.0 / 60.0);
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn partials_bucket_by_step_from_the_epoch_inside_the_ranges_only() {
        let (s, g) = one_series(
            &[-1, 0, 59_999, 60_000, 200_000],
            &[1.0, 2.0, 3.0, 4.0, 5.0],
        );
        let p: HashMap<_, _> = raw_partials(&s, &g, 60_000, &[all()]).into_iter().collect();
        assert_eq!(p[&(0, -60_000)].count, 1);
        assert_eq!(
            p[&(0, 0)],
            Partial {
                min: 2.0,
                max: 3.0,
                sum: 5.0,
                count: 2
            }
        );
        assert_eq!(p[&(0, 60_000)].sum, 4.0);
        // Two disjoint ranges skip the samples between them.
        let ranges = [
            TimeRange {
                start_ms: 0,
                end_ms: 59_999,
            },
            TimeRange {
                start_ms: 180_000,
                end_ms: 240_000,
            },
        ];
        let p = raw_partials(&s, &g, 60_000, &ranges);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0], ((0, 0), Partial::of(2.0)));
        assert_eq!(p[1], ((0, 180_000), Partial::of(5.0)));
    }

    /// The straightforward reference: one map entry per sample.
    fn reference(
        samples: &[SeriesSamples],
        group_of: &HashMap<i64, i32>,
        step: i64,
    ) -> std::collections::BTreeMap<(i32, i64), (Partial, Vec<f64>)> {
        let mut out: std::collections::BTreeMap<(i32, i64), (Partial, Vec<f64>)> =
            Default::default();
        for s in samples {
            let g = group_of[&s.series_id];
            for (&t, &v) in s.times_ms.iter().zip(&s.values) {
                let e = out
                    .entry((g, bucket_of(t, step)))
                    .or_insert((Partial::EMPTY, Vec::new()));
                e.0.add(v);
                e.1.push(v);
            }
        }
        out
    }

    #[test]
    fn dense_and_sparse_cells_agree_with_the_per_sample_reference() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (series_count, groups, step, limit) in [
            (5, 2, 7_000, DENSE_CELLS),
            (40, 40, 1_000, DENSE_CELLS),
            (40, 7, 1_000, 10),
        ] {
            DENSE_LIMIT.with(|l| l.set(limit));
            let samples: Vec<SeriesSamples> = (0..series_count)
                .map(|id| {
                    let mut t = rng.random_range(-50_000..50_000);
                    let (mut times_ms, mut values) = (Vec::new(), Vec::new());
                    for _ in 0..rng.random_range(0..300) {
                        t += rng.random_range(0..3_000);
                        times_ms.push(t);
                        values.push((rng.random_range(-1000..1000) as f64) / 8.0);
                    }
                    SeriesSamples {
                        series_id: id,
                        times_ms,
                        values,
                    }
                })
                .collect();
            let group_of: HashMap<i64, i32> = (0..series_count)
                .map(|id| (id, (id % groups) as i32))
                .collect();
            let want = reference(&samples, &group_of, step);
            let got = raw_partials(&samples, &group_of, step, &[all()]);
            assert_eq!(got.len(), want.len());
            for (key, p) in &got {
                let w = &want[key].0;
                assert_eq!((p.min, p.max, p.count), (w.min, w.max, w.count), "{key:?}");
                assert!((p.sum - w.sum).abs() <= 1e-9 * w.sum.abs().max(1.0));
            }
            let rows = series_partials(&samples, step);
            assert_eq!(
                rows.iter().map(|r| r.2.count).sum::<i64>(),
                samples.iter().map(|s| s.len() as i64).sum::<i64>()
            );
            assert!(rows.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
            let p90 = raw_percentiles(&samples, &group_of, step, 0.9, all());
            assert!(p90.windows(2).all(|w| w[0].0 < w[1].0), "in key order");
            let p90 = as_map(p90);
            assert_eq!(p90.len(), want.len());
            for (key, (_, values)) in &want {
                let mut sorted = values.clone();
                sorted.sort_by(value_order);
                let pos = 0.9 * (sorted.len() - 1) as f64;
                let (a, b) = (pos.floor() as usize, pos.ceil() as usize);
                let expect = sorted[a] + (pos - a as f64) * (sorted[b] - sorted[a]);
                assert_eq!(p90[key], if a == b { sorted[a] } else { expect }, "{key:?}");
            }
        }
    }
}
