//! The pure planner: which storage tier answers a query, and how its range is cut
//! into segments answered by that tier where it is complete and aligned and by finer
//! tiers at the edges and in the not-yet-materialised tail. No I/O: the caller passes
//! the clock, the retention and how far each rollup tier is materialised.

use crate::config::RetentionSettings;
use crate::model::{Aggregation, Step, TimeRange};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// A storage tier, by resolution (its table and statements are the store's:
/// `store::aggregate`). Adding one means a variant here and its statements there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Raw,
    Minute,
    Hour,
}

impl Tier {
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

    /// Random ranges, steps, clocks and materialisation points: the segments always
    /// tile the range in time order (a head older than the finer tier's retention
    /// may start at its rollup bucket before the range), rollup segments are aligned
    /// to their resolution and end where their tier is complete, no segment is
    /// coarser than the tier picked, and the tier picked still holds the start of
    /// the range (or is the coarsest) and is no coarser than the step when a finer
    /// tier holds the range.
    #[test]
    fn planner_properties_hold_over_random_queries() {
        use rand::{Rng, SeedableRng};
        let retention = Settings::default().retention;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let steps = ["1s", "10s", "30s", "1m", "5m", "7m", "1h", "2h", "1d"];
        for _ in 0..20_000 {
            let now = NOW + rng.random_range(0..HOUR_MS);
            let len = match rng.random_range(0..4) {
                0 => rng.random_range(1..HOUR_MS),
                1 => rng.random_range(HOUR_MS..24 * HOUR_MS),
                2 => rng.random_range(24 * HOUR_MS..40 * 24 * HOUR_MS),
                _ => rng.random_range(0..3) * HOUR_MS,
            };
            let end = now
                - rng
                    .random_range(0..50 * 24 * HOUR_MS)
                    .min(if rng.random_bool(0.5) { 0 } else { i64::MAX });
            let range = TimeRange {
                start_ms: end - len,
                end_ms: end,
            };
            let step = Step::parse(steps[rng.random_range(0..steps.len())]).unwrap();
            let aggregation = [
                Aggregation::Avg,
                Aggregation::Sum,
                Aggregation::P95,
                Aggregation::Rate,
            ][rng.random_range(0..4)];
            let (tier, _) = pick_tier(range, step, aggregation, now, &retention);
            if !aggregation.rollups_can_answer() {
                assert_eq!(tier, Tier::Raw);
                continue;
            }
            assert!(
                tier == Tier::Hour || tier.holds(range.start_ms, now, &retention),
                "{tier:?} does not hold {range:?}"
            );
            if tier != Tier::Raw && step.millis() % tier.resolution_ms() != 0 {
                assert!(
                    !tier.finer().holds(range.start_ms, now, &retention),
                    "{tier:?} for step {step:?}"
                );
            }
            let minute = floor_to(now - rng.random_range(0..30 * MINUTE_MS), MINUTE_MS);
            let complete = Completeness {
                minute_ms: minute,
                hour_ms: floor_to(minute - rng.random_range(0..3 * HOUR_MS), HOUR_MS),
            };
            let segs = plan_segments(range, tier, complete, now, &retention);
            if range.len_ms() == 0 {
                assert!(segs.is_empty());
                continue;
            }
            let first = segs.first().unwrap().1;
            assert!(first.start_ms <= range.start_ms, "{range:?} {segs:?}");
            if first.start_ms < range.start_ms {
                let head = segs[0].0;
                assert!(head != Tier::Raw && !head.finer().holds(range.start_ms, now, &retention));
                assert!(range.start_ms - first.start_ms < head.resolution_ms());
            }
            assert_eq!(segs.last().unwrap().1.end_ms, range.end_ms, "{segs:?}");
            for pair in segs.windows(2) {
                assert_eq!(pair[0].1.end_ms, pair[1].1.start_ms, "{segs:?}");
            }
            for (t, r) in &segs {
                assert!(r.start_ms < r.end_ms, "{segs:?}");
                assert!(*t <= tier, "{segs:?} under {tier:?}");
                match t {
                    Tier::Raw => {}
                    Tier::Minute | Tier::Hour => {
                        let res = t.resolution_ms();
                        assert_eq!(r.start_ms % res, 0, "{segs:?}");
                        assert_eq!(r.end_ms % res, 0, "{segs:?}");
                        let done = if *t == Tier::Minute {
                            complete.minute_ms
                        } else {
                            complete.hour_ms
                        };
                        assert!(
                            r.end_ms <= done.max(floor_to(r.end_ms, res))
                                && r.end_ms <= range.end_ms
                        );
                        assert!(
                            r.end_ms <= done,
                            "{t:?} segment {r:?} past completeness {done}"
                        );
                    }
                }
            }
        }
    }
}
