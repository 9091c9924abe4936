//! Dashboard query SQL and the choice of storage tier.
//!
//! Every statement is static; the aggregation is never spliced in. Rollup-answerable
//! aggregations (avg, min, max, sum, count) are computed as per-bucket partials
//! (min, max, sum, count) from each tier segment and merged in Rust, so a bucket that
//! straddles two tiers (the not-yet-materialised tail, a range edge inside a rollup
//! bucket) is still exact. Percentiles and rate need the raw points.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use sqlx::PgPool;

use crate::config::RetentionSettings;
use crate::model::{Aggregation, Labels, Step, TimeRange};
use crate::store::samples::{read_raw_timeout, SeriesSamples};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// A storage tier. Adding one means a variant here and its statements below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Raw,
    Minute,
    Hour,
}

impl Tier {
    pub fn table(self) -> &'static str {
        match self {
            Tier::Raw => "points",
            Tier::Minute => "rollup_1m",
            Tier::Hour => "rollup_1h",
        }
    }

    pub fn resolution(self) -> &'static str {
        match self {
            Tier::Raw => "raw",
            Tier::Minute => "1m",
            Tier::Hour => "1h",
        }
    }

    /// Bucket width of the tier (raw points have none: 1 ms).
    pub fn resolution_ms(self) -> i64 {
        match self {
            Tier::Raw => 1,
            Tier::Minute => MINUTE_MS,
            Tier::Hour => HOUR_MS,
        }
    }

    fn finer(self) -> Tier {
        match self {
            Tier::Hour => Tier::Minute,
            _ => Tier::Raw,
        }
    }

    fn coarser(self) -> Tier {
        match self {
            Tier::Raw => Tier::Minute,
            _ => Tier::Hour,
        }
    }

    fn retention_ms(self, retention: &RetentionSettings) -> i64 {
        let d = match self {
            Tier::Raw => retention.raw,
            Tier::Minute => retention.rollup_1m,
            Tier::Hour => retention.rollup_1h,
        };
        d.as_millis().min(i64::MAX as u128) as i64
    }

    /// Whether the tier still holds data at `at_ms` (retention drops whole partitions,
    /// so this is conservative by up to a partition).
    pub fn holds(self, at_ms: i64, now_ms: i64, retention: &RetentionSettings) -> bool {
        at_ms >= now_ms - self.retention_ms(retention)
    }
}

/// The tier that answers a query, and why when it is not the range's default.
///
/// Default by range (the seeds' rule): ≤ 1 h raw, ≤ 24 h 1-minute, longer 1-hour. Never
/// coarser than the step when a finer tier holds the range (a 10 s step over 6 h reads
/// raw points); never a tier that no longer holds the range's start (a range older than
/// raw retention reads rollups). Percentiles and rate read raw points only.
pub fn pick_tier(
    range: TimeRange,
    step: Step,
    aggregation: Aggregation,
    now_ms: i64,
    retention: &RetentionSettings,
) -> (Tier, Option<String>) {
    if !aggregation.rollups_can_answer() {
        return (
            Tier::Raw,
            Some("percentiles and rate are computed from raw points".into()),
        );
    }
    let default = match crate::model::query::default_resolution_ms(range.len_ms()) {
        HOUR_MS => Tier::Hour,
        MINUTE_MS => Tier::Minute,
        _ => Tier::Raw,
    };
    let mut tier = default;
    while tier != Tier::Raw
        && step.millis() % tier.resolution_ms() != 0
        && tier.finer().holds(range.start_ms, now_ms, retention)
    {
        tier = tier.finer();
    }
    while tier != Tier::Hour && !tier.holds(range.start_ms, now_ms, retention) {
        tier = tier.coarser();
    }
    let note = (tier != default).then(|| {
        if tier < default {
            format!(
                "step {} is finer than the {} tier",
                step.label(),
                default.resolution()
            )
        } else {
            format!(
                "the {} tier no longer holds the start of the range",
                default.resolution()
            )
        }
    });
    (tier, note)
}

/// Up to where each rollup tier is materialised (everything before is complete).
#[derive(Debug, Clone, Copy)]
pub struct Completeness {
    pub minute_ms: i64,
    pub hour_ms: i64,
}

/// Splits `range` into segments answered by `tier` where it is complete and aligned,
/// and by finer tiers at the edges and in the not-yet-materialised tail.
pub fn plan_segments(
    range: TimeRange,
    tier: Tier,
    complete: Completeness,
    now_ms: i64,
    retention: &RetentionSettings,
) -> Vec<(Tier, TimeRange)> {
    let mut out = Vec::new();
    plan_into(range, tier, complete, now_ms, retention, &mut out);
    out
}

fn plan_into(
    range: TimeRange,
    tier: Tier,
    complete: Completeness,
    now_ms: i64,
    retention: &RetentionSettings,
    out: &mut Vec<(Tier, TimeRange)>,
) {
    if range.end_ms <= range.start_ms {
        return;
    }
    if tier == Tier::Raw {
        out.push((Tier::Raw, range));
        return;
    }
    let res = tier.resolution_ms();
    let complete_ms = match tier {
        Tier::Minute => complete.minute_ms,
        _ => complete.hour_ms,
    };
    let finer = tier.finer();
    // A head that the finer tier no longer holds is read from this tier's whole
    // bucket (it may include a little before `start`) rather than dropped.
    let mut head_end = ceil_to(range.start_ms, res);
    if !finer.holds(range.start_ms, now_ms, retention) {
        head_end = floor_to(range.start_ms, res);
    }
    let tail_start = floor_to(range.end_ms.min(complete_ms), res).max(head_end);
    if head_end >= tail_start {
        plan_into(range, finer, complete, now_ms, retention, out);
        return;
    }
    if head_end > range.start_ms {
        plan_into(
            TimeRange {
                start_ms: range.start_ms,
                end_ms: head_end,
            },
            finer,
            complete,
            now_ms,
            retention,
            out,
        );
    }
    out.push((
        tier,
        TimeRange {
            start_ms: head_end.max(floor_to(range.start_ms, res)),
            end_ms: tail_start,
        },
    ));
    plan_into(
        TimeRange {
            start_ms: tail_start,
            end_ms: range.end_ms,
        },
        finer,
        complete,
        now_ms,
        retention,
        out,
    );
}

fn floor_to(ms: i64, res: i64) -> i64 {
    ms.div_euclid(res) * res
}

fn ceil_to(ms: i64, res: i64) -> i64 {
    (ms + res - 1).div_euclid(res) * res
}

/// Mergeable per-bucket aggregate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Partial {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
}

impl Partial {
    pub fn merge(&mut self, other: Partial) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
    }

    pub fn value(&self, aggregation: Aggregation) -> f64 {
        match aggregation {
            Aggregation::Min => self.min,
            Aggregation::Max => self.max,
            Aggregation::Sum => self.sum,
            Aggregation::Count => self.count as f64,
            _ => self.sum / self.count as f64,
        }
    }
}

/// Which series to read, and the result group of each.
pub struct SeriesSelection {
    pub ids: Vec<i64>,
    /// Parallel to `ids` when grouping; `None`: everything is group 0.
    pub groups: Option<Vec<i32>>,
}

/// Series of `metric` whose labels contain `tags`, with their labels.
pub async fn matching_series(
    pool: &PgPool,
    metric: &str,
    tags: &Labels,
) -> Result<Vec<(i64, sqlx::types::Json<Labels>)>, sqlx::Error> {
    let filter = serde_json::to_string(tags).expect("labels serialise");
    sqlx::query_as("SELECT id, labels FROM series WHERE metric = $1 AND labels @> $2::jsonb")
        .bind(metric)
        .bind(filter)
        .fetch_all(pool)
        .await
}

// Buckets are aligned to multiples of the step since the Unix epoch; `$1` is the step
// in seconds. Grouped variants join the series ids with their group numbers. Raw
// points are not read here: the raw tier goes through `samples::read_raw` (hot rows,
// compressed blocks and late points) and is aggregated in Rust below.
const MINUTE_PARTIALS: &str = "SELECT 0, (extract(epoch FROM date_bin(make_interval(secs => $1), bucket, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint,
        min(min), max(max), sum(sum), sum(count)::bigint
    FROM rollup_1m WHERE series_id = ANY($2) AND bucket >= $4 AND bucket < $5 GROUP BY 2";
const MINUTE_PARTIALS_GROUPED: &str = "SELECT g.grp, (extract(epoch FROM date_bin(make_interval(secs => $1), r.bucket, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint,
        min(r.min), max(r.max), sum(r.sum), sum(r.count)::bigint
    FROM rollup_1m r JOIN unnest($2::bigint[], $3::int[]) AS g(sid, grp) ON r.series_id = g.sid
    WHERE r.bucket >= $4 AND r.bucket < $5 GROUP BY 1, 2";
const HOUR_PARTIALS: &str = "SELECT 0, (extract(epoch FROM date_bin(make_interval(secs => $1), bucket, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint,
        min(min), max(max), sum(sum), sum(count)::bigint
    FROM rollup_1h WHERE series_id = ANY($2) AND bucket >= $4 AND bucket < $5 GROUP BY 2";
const HOUR_PARTIALS_GROUPED: &str = "SELECT g.grp, (extract(epoch FROM date_bin(make_interval(secs => $1), r.bucket, TIMESTAMPTZ '1970-01-01+00')) * 1000)::bigint,
        min(r.min), max(r.max), sum(r.sum), sum(r.count)::bigint
    FROM rollup_1h r JOIN unnest($2::bigint[], $3::int[]) AS g(sid, grp) ON r.series_id = g.sid
    WHERE r.bucket >= $4 AND r.bucket < $5 GROUP BY 1, 2";
/// The rollup statement of a tier; raw segments are read through `samples::read_raw`.
fn partials_statement(tier: Tier, grouped: bool) -> Option<&'static str> {
    match (tier, grouped) {
        (Tier::Raw, _) => None,
        (Tier::Minute, false) => Some(MINUTE_PARTIALS),
        (Tier::Minute, true) => Some(MINUTE_PARTIALS_GROUPED),
        (Tier::Hour, false) => Some(HOUR_PARTIALS),
        (Tier::Hour, true) => Some(HOUR_PARTIALS_GROUPED),
    }
}

fn timestamp(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `(group, bucket_ms) -> value` for every bucket with data.
pub type Buckets = BTreeMap<(i32, i64), f64>;

fn groups_of(selection: &SeriesSelection) -> Vec<i32> {
    selection
        .groups
        .clone()
        .unwrap_or_else(|| vec![0; selection.ids.len()])
}

fn bucket_of(time_ms: i64, step_ms: i64) -> i64 {
    time_ms.div_euclid(step_ms) * step_ms
}

/// Per (group, bucket) min/max/sum/count of raw samples.
pub fn raw_partials(
    samples: &[SeriesSamples],
    group_of: &HashMap<i64, i32>,
    step_ms: i64,
) -> BTreeMap<(i32, i64), Partial> {
    let mut out: BTreeMap<(i32, i64), Partial> = BTreeMap::new();
    for series in samples {
        let Some(&g) = group_of.get(&series.series_id) else {
            continue;
        };
        for (&t, &v) in series.times_ms.iter().zip(&series.values) {
            let one = Partial {
                min: v,
                max: v,
                sum: v,
                count: 1,
            };
            out.entry((g, bucket_of(t, step_ms)))
                .and_modify(|p| p.merge(one))
                .or_insert(one);
        }
    }
    out
}

/// `percentile_cont(q)` per (group, bucket), computed as PostgreSQL does: linear
/// interpolation between the two closest ranks.
pub fn raw_percentiles(
    samples: &[SeriesSamples],
    group_of: &HashMap<i64, i32>,
    step_ms: i64,
    q: f64,
) -> Buckets {
    let mut values: BTreeMap<(i32, i64), Vec<f64>> = BTreeMap::new();
    for series in samples {
        let Some(&g) = group_of.get(&series.series_id) else {
            continue;
        };
        for (&t, &v) in series.times_ms.iter().zip(&series.values) {
            values
                .entry((g, bucket_of(t, step_ms)))
                .or_default()
                .push(v);
        }
    }
    values
        .into_iter()
        .map(|(key, mut vs)| {
            vs.sort_by(|a, b| {
                a.partial_cmp(b)
                    .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
            });
            let pos = q * (vs.len() - 1) as f64;
            let (first, second) = (pos.floor(), pos.ceil());
            let lo = vs[first as usize];
            let value = if first == second {
                lo
            } else {
                lo + (pos - first) * (vs[second as usize] - lo)
            };
            (key, value)
        })
        .collect()
}

/// Per (group, bucket): the summed increase of each series' samples over its previous
/// sample (the whole new value after a counter reset, as Prometheus does), divided by
/// the step. Samples before `start_ms` only serve as the previous sample.
pub fn raw_rates(
    samples: &[SeriesSamples],
    group_of: &HashMap<i64, i32>,
    step_ms: i64,
    start_ms: i64,
) -> Buckets {
    let step_secs = step_ms as f64 / 1000.0;
    let mut sums: BTreeMap<(i32, i64), f64> = BTreeMap::new();
    for series in samples {
        let Some(&g) = group_of.get(&series.series_id) else {
            continue;
        };
        let mut previous: Option<f64> = None;
        for (&t, &v) in series.times_ms.iter().zip(&series.values) {
            let increase = match previous {
                None => 0.0,
                Some(p) if v >= p => v - p,
                Some(_) => v,
            };
            previous = Some(v);
            if t >= start_ms {
                *sums.entry((g, bucket_of(t, step_ms))).or_insert(0.0) += increase;
            }
        }
    }
    sums.into_iter().map(|(k, s)| (k, s / step_secs)).collect()
}

/// Runs the query over its segments under one statement timeout and returns final
/// values per group and bucket.
pub async fn aggregate(
    pool: &PgPool,
    segments: &[(Tier, TimeRange)],
    selection: &SeriesSelection,
    step: Step,
    aggregation: Aggregation,
    timeout: Duration,
) -> Result<Buckets, sqlx::Error> {
    let step_secs = step.millis() as f64 / 1000.0;
    let groups = groups_of(selection);
    let mut out = Buckets::new();
    let group_of: HashMap<i64, i32> = selection.ids.iter().copied().zip(groups).collect();
    let step_ms = step.millis().max(1);
    if !aggregation.rollups_can_answer() {
        let range = TimeRange {
            start_ms: segments.first().map_or(0, |s| s.1.start_ms),
            end_ms: segments.last().map_or(0, |s| s.1.end_ms),
        };
        if aggregation == Aggregation::Rate {
            // The previous sample may lie up to one step before the range.
            let read = TimeRange {
                start_ms: range.start_ms - step_ms,
                end_ms: range.end_ms,
            };
            let samples = read_raw_timeout(pool, &selection.ids, read, timeout).await?;
            out = raw_rates(&samples, &group_of, step_ms, range.start_ms);
        } else {
            let samples = read_raw_timeout(pool, &selection.ids, range, timeout).await?;
            out = raw_percentiles(
                &samples,
                &group_of,
                step_ms,
                aggregation.quantile().unwrap_or(0.5),
            );
        }
    } else {
        let mut partials: BTreeMap<(i32, i64), Partial> = BTreeMap::new();
        // Raw segments first, each on a connection of its own: holding the rollup
        // transaction's connection while waiting for another one would let a burst of
        // queries (a dashboard's batch) take every connection and wait on each other.
        let mut rollup_segments = Vec::new();
        for (tier, range) in segments {
            match partials_statement(*tier, selection.groups.is_some()) {
                Some(statement) => rollup_segments.push((statement, *range)),
                None => {
                    let samples = read_raw_timeout(pool, &selection.ids, *range, timeout).await?;
                    for (key, partial) in raw_partials(&samples, &group_of, step_ms) {
                        partials
                            .entry(key)
                            .and_modify(|p| p.merge(partial))
                            .or_insert(partial);
                    }
                }
            }
        }
        let mut tx = pool.begin().await?;
        // A runaway query is cancelled by the server itself, freeing its connection. And
        // always plan for the actual series ids and range: after five runs PostgreSQL
        // would otherwise switch to a generic plan, measured 15 s -> 274 s for a wide query.
        sqlx::query("SELECT set_config('statement_timeout', $1, true), set_config('plan_cache_mode', 'force_custom_plan', true)")
            .bind(format!("{}ms", timeout.as_millis()))
            .execute(&mut *tx)
            .await?;
        for (statement, range) in rollup_segments {
            let rows: Vec<(i32, i64, f64, f64, f64, i64)> = sqlx::query_as(statement)
                .bind(step_secs)
                .bind(&selection.ids)
                .bind(groups_of(selection))
                .bind(timestamp(range.start_ms))
                .bind(timestamp(range.end_ms))
                .fetch_all(&mut *tx)
                .await?;
            for (g, b, min, max, sum, count) in rows {
                let partial = Partial {
                    min,
                    max,
                    sum,
                    count,
                };
                partials
                    .entry((g, b))
                    .and_modify(|p| p.merge(partial))
                    .or_insert(partial);
            }
        }
        tx.commit().await?;
        out.extend(partials.into_iter().map(|(k, p)| (k, p.value(aggregation))));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    const NOW: i64 = 1_795_305_600_000; // 2026-11-22T00:00:00Z

    fn pick(hours: i64, step: &str, ago_hours: i64) -> Tier {
        let end = NOW - ago_hours * HOUR_MS;
        let range = TimeRange {
            start_ms: end - hours * HOUR_MS,
            end_ms: end,
        };
        pick_tier(
            range,
            Step::parse(step).unwrap(),
            Aggregation::Avg,
            NOW,
            &Settings::default().retention,
        )
        .0
    }

    #[test]
    fn routing_follows_range_step_and_retention() {
        assert_eq!(pick(0, "1m", 0), Tier::Raw); // zero-length edge case: default raw
        assert_eq!(pick(1, "1m", 0), Tier::Raw); // 30 min..1 h
        assert_eq!(pick(6, "1m", 0), Tier::Minute); // 6 h
        assert_eq!(pick(6, "10s", 0), Tier::Raw); // step finer than the tier
        assert_eq!(pick(72, "1h", 0), Tier::Hour); // 3 d
        assert_eq!(pick(72, "5m", 0), Tier::Minute); // step finer than 1 h
        assert_eq!(pick(24 * 60, "1d", 0), Tier::Hour); // 60 d
        assert_eq!(pick(1, "1m", 24 * 10), Tier::Minute); // 1 h, 10 days ago: raw is gone
        assert_eq!(pick(1, "1m", 24 * 40), Tier::Hour); // 40 days ago: only 1 h holds it
        let r = TimeRange {
            start_ms: NOW - HOUR_MS * 30,
            end_ms: NOW,
        };
        assert_eq!(
            pick_tier(
                r,
                Step::parse("1h").unwrap(),
                Aggregation::P99,
                NOW,
                &Settings::default().retention
            )
            .0,
            Tier::Raw
        );
    }

    #[test]
    fn segments_stitch_the_tail_and_edges_from_finer_tiers() {
        let retention = Settings::default().retention;
        let start = NOW - 3 * HOUR_MS - 2 * MINUTE_MS - 25_000; // not minute-aligned
        let end = NOW - 10_000;
        let complete = Completeness {
            minute_ms: NOW - 5 * MINUTE_MS,
            hour_ms: NOW - HOUR_MS,
        };
        let segs = plan_segments(
            TimeRange {
                start_ms: start,
                end_ms: end,
            },
            Tier::Hour,
            complete,
            NOW,
            &retention,
        );
        // Covers the range exactly, without gaps or overlaps, in time order.
        assert_eq!(segs.first().unwrap().1.start_ms, start);
        assert_eq!(segs.last().unwrap().1.end_ms, end);
        for pair in segs.windows(2) {
            assert_eq!(pair[0].1.end_ms, pair[1].1.start_ms, "{segs:?}");
        }
        let tiers: Vec<Tier> = segs.iter().map(|s| s.0).collect();
        assert_eq!(
            tiers,
            vec![Tier::Raw, Tier::Minute, Tier::Hour, Tier::Minute, Tier::Raw],
            "{segs:?}"
        );
        assert_eq!(
            segs[2].1,
            TimeRange {
                start_ms: NOW - 3 * HOUR_MS,
                end_ms: NOW - HOUR_MS
            }
        );
        assert_eq!(segs[3].1.end_ms, NOW - 5 * MINUTE_MS);
    }

    fn one_series(times: &[i64], values: &[f64]) -> (Vec<SeriesSamples>, HashMap<i64, i32>) {
        let s = SeriesSamples {
            series_id: 7,
            times_ms: times.to_vec(),
            values: values.to_vec(),
        };
        (vec![s], HashMap::from([(7, 0)]))
    }

    #[test]
    fn raw_percentiles_interpolate_like_percentile_cont() {
        let (s, g) = one_series(&[0, 1, 2, 3, 60_000], &[4.0, 1.0, 3.0, 2.0, 9.0]);
        let p = raw_percentiles(&s, &g, 60_000, 0.5);
        assert_eq!(p[&(0, 0)], 2.5);
        assert_eq!(p[&(0, 60_000)], 9.0);
        assert_eq!(
            raw_percentiles(&s, &g, 60_000, 0.99)[&(0, 0)],
            3.0 + 0.97 * (4.0 - 3.0)
        );
    }

    #[test]
    fn raw_rates_count_resets_and_use_the_sample_before_the_range() {
        // 10 before the range, then 15, 25, a reset to 5, 8: increases 5, 10, 5, 3.
        let (s, g) = one_series(
            &[-1000, 0, 10_000, 20_000, 70_000],
            &[10.0, 15.0, 25.0, 5.0, 8.0],
        );
        let r = raw_rates(&s, &g, 60_000, 0);
        assert_eq!(r[&(0, 0)], 20.0 / 60.0);
        assert_eq!(r[&(0, 60_000)], 3.0 / 60.0);
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn raw_partials_bucket_by_step_from_the_epoch() {
        let (s, g) = one_series(&[-1, 0, 59_999, 60_000], &[1.0, 2.0, 3.0, 4.0]);
        let p = raw_partials(&s, &g, 60_000);
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
    }

    #[test]
    fn partials_merge_exactly() {
        let mut a = Partial {
            min: 1.0,
            max: 5.0,
            sum: 6.0,
            count: 2,
        };
        a.merge(Partial {
            min: 0.5,
            max: 2.0,
            sum: 3.0,
            count: 4,
        });
        assert_eq!(
            a,
            Partial {
                min: 0.5,
                max: 5.0,
                sum: 9.0,
                count: 6
            }
        );
        assert_eq!(a.value(Aggregation::Avg), 1.5);
        assert_eq!(a.value(Aggregation::Count), 6.0);
    }
}
