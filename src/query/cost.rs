//! Whether compressed raw blocks or a rollup tier answer a query more cheaply.
//!
//! The unit of cost is one row read from PostgreSQL (a rollup row or a hot raw row:
//! both are fetched, decoded by sqlx and bucketed one by one). A point inside a
//! compressed block costs a fraction of that (`query.block_point_cost`): the block is
//! fetched as a few bytes per point and decoded in Rust at tens of millions of points
//! a second.

/// What reading a query's raw samples would touch, as the store estimates it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawEstimate {
    /// Series selected.
    pub series: i64,
    /// Points inside the compressed blocks a read would fetch (whole blocks: they are
    /// decoded whole even when the range cuts them).
    pub block_points: i64,
    /// Milliseconds of the range covered by compacted ranges.
    pub compacted_ms: i64,
    /// Length of the range, ms.
    pub range_ms: i64,
}

impl RawEstimate {
    /// Hot (uncompacted) raw rows the read would fetch: the part of the range outside
    /// compacted ranges at the density of the blocks, and never fewer than one row per
    /// series and rollup bucket (a bucket with data has at least one point).
    pub fn hot_rows(&self, rollup_resolution_ms: i64) -> f64 {
        let hot_ms = (self.range_ms - self.compacted_ms).max(0) as f64;
        let floor = self.series as f64 * hot_ms / rollup_resolution_ms.max(1) as f64;
        if self.compacted_ms > 0 && self.block_points > 0 {
            let per_series_ms =
                self.block_points as f64 / (self.series.max(1) as f64 * self.compacted_ms as f64);
            (per_series_ms * self.series as f64 * hot_ms).max(floor)
        } else {
            floor
        }
    }

    /// Cost of answering from raw samples.
    pub fn raw_cost(&self, rollup_resolution_ms: i64, block_point_cost: f64) -> f64 {
        self.block_points as f64 * block_point_cost + self.hot_rows(rollup_resolution_ms)
    }
}

/// Cost of answering from a rollup tier: at most one row per series and bucket.
pub fn rollup_cost(series: i64, range_ms: i64, resolution_ms: i64) -> f64 {
    series as f64 * (range_ms as f64 / resolution_ms.max(1) as f64).ceil()
}

/// `Some((raw cost, rollup cost))` when raw samples are the cheaper answer. Never
/// without block points: hot rows alone come at an unknown density (a point a second
/// is 60 rows a minute against one rollup row), which only blocks let us estimate; and
/// a range whose compacted hours are empty would otherwise look cheaper by exactly
/// those hours, sending a day panel over fresh data to the raw rows.
pub fn raw_is_cheaper(
    estimate: RawEstimate,
    rollup_resolution_ms: i64,
    block_point_cost: f64,
) -> Option<(f64, f64)> {
    if estimate.block_points == 0 {
        return None;
    }
    let raw = estimate.raw_cost(rollup_resolution_ms, block_point_cost);
    let rollup = rollup_cost(estimate.series, estimate.range_ms, rollup_resolution_ms);
    (raw < rollup).then_some((raw, rollup))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const DAY: i64 = 86_400_000;

    fn day_of_blocks(compacted_ms: i64) -> RawEstimate {
        RawEstimate {
            series: 1000,
            block_points: 1000 * 8640 * compacted_ms / DAY,
            compacted_ms,
            range_ms: DAY,
        }
    }

    #[test]
    fn compacted_10s_data_beats_the_minute_tier_and_hot_rows_do_not() {
        // A compacted day at 10 s: 8.64 M points at 0.05 against 1.44 M rollup rows.
        assert!(raw_is_cheaper(day_of_blocks(DAY), MIN, 0.05).is_some());
        // Nothing compacted: at least one hot row per minute, never cheaper.
        let hot = RawEstimate {
            block_points: 0,
            compacted_ms: 0,
            ..day_of_blocks(DAY)
        };
        assert_eq!(hot.hot_rows(MIN), 1000.0 * 1440.0);
        assert!(raw_is_cheaper(hot, MIN, 0.05).is_none());
        // Half the day hot at the blocks' density (6 points a minute): rollups win.
        let half = day_of_blocks(DAY / 2);
        assert!((half.hot_rows(MIN) - 4_320_000.0).abs() < 1.0);
        assert!(raw_is_cheaper(half, MIN, 0.05).is_none());
        // Compacted hours that held nothing, the rest hot: no density to go by, and
        // one row per series and minute is what the rollup costs too.
        let empty_hours = RawEstimate {
            block_points: 0,
            compacted_ms: 2 * 3_600_000,
            ..day_of_blocks(DAY)
        };
        assert!(raw_is_cheaper(empty_hours, MIN, 0.05).is_none());
        // A huge block cost forces the rollup tier (how the benchmark measures it).
        assert!(raw_is_cheaper(day_of_blocks(DAY), MIN, 1e9).is_none());
    }

    #[test]
    fn the_hour_tier_stays_cheaper_than_a_week_of_blocks() {
        let week = RawEstimate {
            series: 1000,
            block_points: 1000 * 8640 * 7,
            compacted_ms: 7 * DAY,
            range_ms: 7 * DAY,
        };
        assert!(raw_is_cheaper(week, 3_600_000, 0.05).is_none());
        assert_eq!(rollup_cost(1000, 7 * DAY, 3_600_000), 168_000.0);
        assert_eq!(rollup_cost(3, 1, MIN), 3.0);
    }
}
