//! A dashboard query, parsed from the wire into types: the aggregation is an enum and
//! the step a duration, so nothing the client wrote is ever spliced into SQL.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::matcher::{LabelMatcher, MatchOp};
use super::point::{Labels, MetricName};
use crate::config::QuerySettings;

/// Most label matchers one query may carry.
const MAX_MATCHERS: usize = 16;
/// Longest matcher value (a regex of alternatives from a multi-value variable).
const MAX_MATCHER_VALUE_LEN: usize = 4096;

/// Query ranges are aligned outward to this grid so that dashboards refreshing every
/// few seconds share cache entries (and the executed range equals the cached one).
pub const RANGE_ALIGN_MS: i64 = 10_000;

/// Smallest step chosen automatically: agents report every 10 s, so a finer default
/// would only produce gaps.
const MIN_DEFAULT_STEP_MS: i64 = 10_000;

/// Steps a default is rounded up to, so bucket edges fall on familiar boundaries.
const NICE_STEPS_MS: [i64; 17] = [
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    Avg,
    Min,
    Max,
    Sum,
    Count,
    /// Per-second increase of each counter series (resets handled), summed across series.
    Rate,
    P50,
    P90,
    P95,
    P99,
}

impl Aggregation {
    pub fn parse(raw: &str) -> Result<Aggregation, QueryError> {
        match raw {
            "avg" => Ok(Aggregation::Avg),
            "min" => Ok(Aggregation::Min),
            "max" => Ok(Aggregation::Max),
            "sum" => Ok(Aggregation::Sum),
            "count" => Ok(Aggregation::Count),
            "rate" => Ok(Aggregation::Rate),
            "p50" => Ok(Aggregation::P50),
            "p90" => Ok(Aggregation::P90),
            "p95" => Ok(Aggregation::P95),
            "p99" => Ok(Aggregation::P99),
            other => Err(QueryError::field(
                "aggregation",
                format!("unknown aggregation {other:?}; expected avg, min, max, sum, count, rate, p50, p90, p95 or p99"),
            )),
        }
    }

    /// The quantile of a percentile aggregation.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Aggregation::P50 => Some(0.5),
            Aggregation::P90 => Some(0.9),
            Aggregation::P95 => Some(0.95),
            Aggregation::P99 => Some(0.99),
            _ => None,
        }
    }

    /// Whether rollups (min/max/sum/count per bucket) can answer it exactly.
    pub fn rollups_can_answer(self) -> bool {
        matches!(
            self,
            Aggregation::Avg
                | Aggregation::Min
                | Aggregation::Max
                | Aggregation::Sum
                | Aggregation::Count
        )
    }
}

/// Bucket width, whole seconds, at least one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    ms: i64,
}

impl Step {
    pub fn parse(raw: &str) -> Result<Step, QueryError> {
        let duration = humantime::parse_duration(raw.trim()).map_err(|_| {
            QueryError::field(
                "step",
                format!("{raw:?} is not a duration such as 10s, 1m or 1h"),
            )
        })?;
        Step::from_duration(duration)
    }

    pub fn from_duration(duration: Duration) -> Result<Step, QueryError> {
        let ms = duration.as_millis() as i64;
        if ms < 1000 || ms % 1000 != 0 {
            return Err(QueryError::field(
                "step",
                "step must be a whole number of seconds, at least 1s",
            ));
        }
        Ok(Step { ms })
    }

    pub fn millis(self) -> i64 {
        self.ms
    }

    /// The step in the form a user writes it (`1m`, `1h30m`).
    pub fn label(self) -> String {
        humantime::format_duration(Duration::from_millis(self.ms as u64))
            .to_string()
            .replace(' ', "")
    }

    /// The default for a range: about `target` buckets, rounded up to a nice step, and
    /// never finer than the tier that answers such a range by default (1 m above 1 h,
    /// 1 h above 24 h), so a default query is answered by its rollup tier.
    pub fn default_for(range: TimeRange, target: u32) -> Step {
        let raw = (range.len_ms() + target as i64 - 1) / target as i64;
        let raw = raw.max(default_resolution_ms(range.len_ms()));
        let ms = NICE_STEPS_MS
            .iter()
            .copied()
            .find(|s| *s >= raw.max(MIN_DEFAULT_STEP_MS))
            .unwrap_or_else(|| (raw + 86_399_999) / 86_400_000 * 86_400_000);
        Step { ms }
    }
}

/// Resolution of the tier that answers a range of this length by default: raw up to
/// 1 h, 1-minute rollups up to 24 h, 1-hour rollups beyond.
pub fn default_resolution_ms(len_ms: i64) -> i64 {
    if len_ms <= 3_600_000 {
        1
    } else if len_ms <= 86_400_000 {
        60_000
    } else {
        3_600_000
    }
}

/// Half-open `[start, end)` in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl TimeRange {
    pub fn len_ms(self) -> i64 {
        self.end_ms - self.start_ms
    }

    /// Start rounded down and end rounded up to the alignment grid.
    pub fn aligned(self) -> TimeRange {
        TimeRange {
            start_ms: self.start_ms.div_euclid(RANGE_ALIGN_MS) * RANGE_ALIGN_MS,
            end_ms: (self.end_ms + RANGE_ALIGN_MS - 1).div_euclid(RANGE_ALIGN_MS) * RANGE_ALIGN_MS,
        }
    }
}

/// The body of `POST /api/v1/query` as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryRequest {
    /// Metric name.
    #[schema(example = "cpu.usage")]
    pub query: String,
    /// Range start (inclusive): RFC 3339 string or milliseconds since the epoch.
    #[schema(schema_with = time_schema)]
    pub start: serde_json::Value,
    /// Range end (exclusive): RFC 3339 string or milliseconds since the epoch.
    #[schema(schema_with = time_schema)]
    pub end: serde_json::Value,
    /// avg (default), min, max, sum or count.
    #[serde(default)]
    #[schema(example = "avg")]
    pub aggregation: Option<String>,
    /// Bucket width such as `10s`, `1m`, `1h`; default: about 1,500 buckets.
    #[serde(default)]
    #[schema(example = "1m")]
    pub step: Option<String>,
    /// Only series whose labels contain all of these.
    #[serde(default)]
    pub tags: Option<Labels>,
    /// Tag keys: one result series per distinct combination of their values.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Prometheus-style label matchers (`=`, `!=`, `=~`, `!~`, regexes fully anchored;
    /// a missing label reads as ""), all of which a series must satisfy, with `tags`.
    #[serde(default)]
    pub matchers: Option<Vec<MatcherInput>>,
    /// Incremental refresh: the client holds data up to this time (ms since the epoch);
    /// the answer then holds only the buckets from the one containing it on.
    #[serde(default)]
    #[schema(example = 1795305600000i64)]
    pub since: Option<i64>,
}

/// One label matcher as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatcherInput {
    /// Label (tag) name.
    #[schema(example = "host")]
    pub label: String,
    pub op: MatchOp,
    /// Value, or a regex (RE2 syntax, anchored at both ends) for `=~` and `!~`.
    #[schema(example = "web-1|web-2")]
    pub value: String,
}

/// The body of `POST /api/v1/query/batch`: the queries of one dashboard refresh over
/// one shared range.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchQueryRequest {
    /// Range start (inclusive) shared by every query: RFC 3339 or ms since the epoch.
    #[schema(schema_with = time_schema)]
    pub start: serde_json::Value,
    /// Range end (exclusive): RFC 3339 or ms since the epoch.
    #[schema(schema_with = time_schema)]
    pub end: serde_json::Value,
    /// Each query is parsed on its own, so one bad query fails alone.
    #[schema(value_type = Vec<BatchQuery>)]
    pub queries: Vec<serde_json::Value>,
}

/// One query of a batch: `POST /api/v1/query`'s fields without the range, plus an id.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchQuery {
    /// 1 to 64 characters, unique in the batch; the answer carries it back.
    #[schema(example = "p1", min_length = 1, max_length = 64)]
    pub id: String,
    #[schema(example = "cpu.usage")]
    pub query: String,
    #[serde(default)]
    pub aggregation: Option<String>,
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub tags: Option<Labels>,
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    #[serde(default)]
    pub matchers: Option<Vec<MatcherInput>>,
    #[serde(default)]
    pub since: Option<i64>,
}

/// Longest id of a batch query.
pub const MAX_BATCH_ID_LEN: usize = 64;

impl BatchQuery {
    /// The single query this stands for, over the batch's range.
    pub fn into_request(self, start: serde_json::Value, end: serde_json::Value) -> QueryRequest {
        QueryRequest {
            query: self.query,
            start,
            end,
            aggregation: self.aggregation,
            step: self.step,
            tags: self.tags,
            group_by: self.group_by,
            matchers: self.matchers,
            since: self.since,
        }
    }
}

fn time_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
    };
    Schema::OneOf(
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0))
                    .maximum(Some(MAX_TIME_MS)),
            )
            .build(),
    )
}

/// A parsed, normalised query: valid by construction.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    pub metric: MetricName,
    pub tags: Labels,
    pub range: TimeRange,
    pub aggregation: Aggregation,
    pub step: Step,
    /// Tag keys to group by; empty: one series across everything that matched.
    pub group_by: Vec<String>,
    /// Label matchers besides `tags`.
    pub matchers: Vec<LabelMatcher>,
    /// Incremental refresh: only buckets at or after the one holding this time.
    pub since: Option<i64>,
}

/// What was wrong with a query, field by field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct QueryError {
    pub field: &'static str,
    pub reason: String,
}

impl QueryError {
    fn field(field: &'static str, reason: impl Into<String>) -> QueryError {
        QueryError {
            field,
            reason: reason.into(),
        }
    }
}

impl QuerySpec {
    pub fn parse(
        request: &QueryRequest,
        settings: &QuerySettings,
    ) -> Result<QuerySpec, QueryError> {
        let range = parse_range(&request.start, &request.end, settings)?;
        QuerySpec::parse_in(request, range, settings)
    }

    /// Parses everything but the range, which the caller already validated (a batch
    /// shares one range among its queries).
    pub fn parse_in(
        request: &QueryRequest,
        range: TimeRange,
        settings: &QuerySettings,
    ) -> Result<QuerySpec, QueryError> {
        let metric =
            MetricName::parse(&request.query, 200).map_err(|e| QueryError::field("query", e.0))?;
        let aggregation = Aggregation::parse(request.aggregation.as_deref().unwrap_or("avg"))?;
        let step = match request.step.as_deref() {
            Some(raw) => Step::parse(raw)?,
            None => Step::default_for(range, settings.target_buckets),
        };
        let buckets = (range.len_ms() + step.millis() - 1) / step.millis();
        if buckets > settings.max_buckets as i64 {
            return Err(QueryError::field(
                "step",
                format!(
                    "{buckets} buckets requested, at most {} allowed: use a larger step",
                    settings.max_buckets
                ),
            ));
        }
        let tags = request.tags.clone().unwrap_or_default();
        let group_by = request.group_by.clone().unwrap_or_default();
        if group_by.len() > 8 {
            return Err(QueryError::field("groupBy", "at most 8 tag keys"));
        }
        for key in &group_by {
            let valid = !key.is_empty()
                && key.len() <= 100
                && key
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            if !valid {
                return Err(QueryError::field(
                    "groupBy",
                    format!("{key:?} is not a tag key"),
                ));
            }
        }
        let matchers = parse_matchers(request.matchers.as_deref().unwrap_or_default())?;
        if request.since.is_some_and(|since| since < 0) {
            return Err(QueryError::field(
                "since",
                "must be milliseconds since the epoch",
            ));
        }
        Ok(QuerySpec {
            metric,
            tags,
            range,
            aggregation,
            step,
            group_by,
            matchers,
            since: request.since,
        })
    }

    /// Where an incremental answer starts: the start of the bucket holding `since`
    /// (buckets are aligned to multiples of the step since the epoch, so this may lie
    /// before the range when `since` is in its first bucket). `None` for a full answer.
    pub fn incremental_from(&self) -> Option<i64> {
        self.since
            .map(|since| since.div_euclid(self.step.millis()) * self.step.millis())
    }

    /// A stable text form used as the cache key: equal specs give equal keys.
    pub fn cache_identity(&self) -> String {
        let tags = serde_json::to_string(&self.tags).unwrap_or_default();
        let matchers: Vec<String> = self
            .matchers
            .iter()
            .map(|m| format!("{:?}{}{:?}", m.name, m.op.as_str(), m.value))
            .collect();
        format!(
            "v3|{}|{}|{}|{}|{:?}|{}|{}|{}|{:?}",
            self.metric.as_str(),
            tags,
            self.range.start_ms,
            self.range.end_ms,
            self.aggregation,
            self.step.millis(),
            self.group_by.join(","),
            matchers.join(","),
            self.incremental_from(),
        )
    }
}

/// One bucket of a query answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DataPoint {
    /// Bucket start, RFC 3339 UTC.
    #[schema(value_type = String)]
    pub time: BucketTime,
    pub value: f64,
}

/// One result series of a `groupBy` query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupSeries {
    /// The group's values of the `groupBy` keys (a missing tag is absent).
    pub tags: Labels,
    pub data: Vec<DataPoint>,
}

/// Buckets of one series, or one series per group when `groupBy` was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum QueryData {
    Single(Vec<DataPoint>),
    Grouped(Vec<GroupSeries>),
}

impl QueryData {
    /// Points in the answer (every group's), to size its serialised form.
    pub fn points(&self) -> usize {
        match self {
            QueryData::Single(points) => points.len(),
            QueryData::Grouped(groups) => groups.iter().map(|g| g.data.len()).sum(),
        }
    }
}

/// What answered a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryMeta {
    /// The table (storage tier) that answered most of the range.
    pub table: String,
    /// That tier's resolution: `raw`, `1m` or `1h`.
    pub resolution: String,
    /// Every tier that contributed, in time order of their segments (e.g. the
    /// not-yet-materialised tail of a range comes from `points`).
    pub tiers: Vec<String>,
    /// Why a finer tier than the range alone suggests was used, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Result series dropped by `query.max_series` (groupBy only).
    #[serde(default)]
    pub truncated: bool,
    pub step: String,
    pub step_ms: i64,
    /// Whether the answer came from the cache.
    pub cached: bool,
    /// How many series matched the metric and tag filter.
    pub series: usize,
    /// The range actually queried, after alignment.
    pub start: String,
    pub end: String,
    /// Incremental answers only: the start (ms) of the first bucket sent; the client
    /// replaces what it holds from this time on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
}

/// The answer to `POST /api/v1/query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryResult {
    pub data: QueryData,
    pub meta: QueryMeta,
}

/// The range of a query or batch: both ends valid, end after start, aligned outward to
/// [`RANGE_ALIGN_MS`], no longer than `query.max_range`.
pub fn parse_range(
    start: &serde_json::Value,
    end: &serde_json::Value,
    settings: &QuerySettings,
) -> Result<TimeRange, QueryError> {
    let start = parse_time("start", start)?;
    let end = parse_time("end", end)?;
    if end <= start {
        return Err(QueryError::field("end", "end must be after start"));
    }
    let range = TimeRange {
        start_ms: start,
        end_ms: end,
    }
    .aligned();
    if range.len_ms() > settings.max_range.as_millis() as i64 {
        return Err(QueryError::field(
            "end",
            format!(
                "range is longer than query.max_range ({})",
                humantime::format_duration(settings.max_range)
            ),
        ));
    }
    Ok(range)
}

fn parse_matchers(inputs: &[MatcherInput]) -> Result<Vec<LabelMatcher>, QueryError> {
    if inputs.len() > MAX_MATCHERS {
        return Err(QueryError::field(
            "matchers",
            format!("at most {MAX_MATCHERS} matchers"),
        ));
    }
    inputs
        .iter()
        .map(|m| {
            if m.value.len() > MAX_MATCHER_VALUE_LEN {
                return Err(QueryError::field(
                    "matchers",
                    format!(
                        "{:?}: value longer than {MAX_MATCHER_VALUE_LEN} bytes",
                        m.label
                    ),
                ));
            }
            LabelMatcher::new(&m.label, m.op, &m.value)
                .map_err(|e| QueryError::field("matchers", format!("{:?}: {e}", m.label)))
        })
        .collect()
}

/// The last millisecond a time may name: 9999-12-31T23:59:59.999Z, which RFC 3339
/// can still write.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

fn parse_time(field: &'static str, value: &serde_json::Value) -> Result<i64, QueryError> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_TIME_MS as f64)
                    .map(|f| f as i64)
            })
            .filter(|ms| (0..=MAX_TIME_MS).contains(ms))
            .ok_or_else(|| {
                QueryError::field(
                    field,
                    format!("must be whole milliseconds since the epoch, 0 to {MAX_TIME_MS}"),
                )
            }),
        serde_json::Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|_| QueryError::field(field, format!("{s:?} is not an RFC 3339 time"))),
        _ => Err(QueryError::field(
            field,
            "must be an RFC 3339 string or milliseconds since the epoch",
        )),
    }
}

/// RFC 3339 with milliseconds only when needed, UTC `Z`.
pub fn format_time(ms: i64) -> String {
    let mut buf = [0u8; TIME_TEXT_MAX];
    match write_time(ms, &mut buf) {
        Some(len) => String::from_utf8_lossy(&buf[..len]).into_owned(),
        None => DateTime::<Utc>::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            .unwrap_or_default(),
    }
}

/// Longest text [`write_time`] writes: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) const TIME_TEXT_MAX: usize = 24;

/// [`format_time`] into `buf` for years 0..=9999, the length written; `None` outside
/// them. A large answer formats one time per point, so this is written by hand
/// (chrono's formatter costs several times more) and allocates nothing.
pub(crate) fn write_time(ms: i64, buf: &mut [u8; TIME_TEXT_MAX]) -> Option<usize> {
    const MIN_MS: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00Z
    const MAX_MS: i64 = 253_402_300_800_000; // 10000-01-01T00:00:00Z
    if !(MIN_MS..MAX_MS).contains(&ms) {
        return None;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let secs = in_day / 1000;
    let millis = in_day % 1000;
    let digits = |buf: &mut [u8; TIME_TEXT_MAX], at: usize, value: i64, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    *buf = *b"0000-00-00T00:00:00.000Z";
    digits(buf, 0, year, 4);
    digits(buf, 5, month, 2);
    digits(buf, 8, day, 2);
    digits(buf, 11, secs / 3600, 2);
    digits(buf, 14, secs / 60 % 60, 2);
    digits(buf, 17, secs % 60, 2);
    if millis == 0 {
        buf[19] = b'Z';
        return Some(20);
    }
    digits(buf, 20, millis, 3);
    Some(TIME_TEXT_MAX)
}

/// A bucket's start in an answer: milliseconds, written as [`format_time`] writes
/// them. Kept as a number until serialised, so an answer of many points formats each
/// time straight into the response instead of allocating a string per point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BucketTime(pub i64);

impl Serialize for BucketTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; TIME_TEXT_MAX];
        match write_time(self.0, &mut buf) {
            Some(len) => {
                serializer.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default())
            }
            None => serializer.serialize_str(&format_time(self.0)),
        }
    }
}

impl<'de> Deserialize<'de> for BucketTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| BucketTime(t.timestamp_millis()))
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }
}

/// Days since 1970-01-01 to (year, month, day) of the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use serde_json::json;

    #[test]
    fn bucket_times_serialise_as_format_time_writes_and_read_back() {
        for ms in [
            0,
            1,
            -1,
            1_795_305_600_123,
            253_402_300_800_000,
            -62_167_219_200_001,
        ] {
            let text = serde_json::to_string(&BucketTime(ms)).unwrap();
            assert_eq!(text, format!("\"{}\"", format_time(ms)));
            // RFC 3339 has no years outside 0..=9999 to read back.
            if (-62_167_219_200_000..253_402_300_800_000).contains(&ms) {
                let back: BucketTime = serde_json::from_str(&text).unwrap();
                assert_eq!(back, BucketTime(ms));
            }
        }
        assert!(serde_json::from_str::<BucketTime>("\"yesterday\"").is_err());
    }

    #[test]
    fn format_time_writes_what_chrono_writes() {
        use rand::{Rng, SeedableRng};
        let chrono_text = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                .unwrap_or_default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        let edges = [
            0,
            -1,
            1,
            951_782_400_000, // 2000-02-29
            -62_167_219_200_000,
            -62_167_219_200_001,
            253_402_300_799_999,
            253_402_300_800_000,
            1_795_305_600_000,
        ];
        let mut times: Vec<i64> = edges.to_vec();
        times.extend(
            (0..20_000).map(|_| rng.random_range(-70_000_000_000_000..260_000_000_000_000)),
        );
        times.extend((0..2_000).map(|_| rng.random_range(0..4_000_000_000_000) / 1000 * 1000));
        for ms in times {
            assert_eq!(format_time(ms), chrono_text(ms), "{ms}");
        }
    }

    fn parse(body: serde_json::Value) -> Result<QuerySpec, QueryError> {
        let request: QueryRequest = serde_json::from_value(body).unwrap();
        QuerySpec::parse(&request, &Settings::default().query)
    }

    #[test]
    fn parses_and_aligns() {
        let spec = parse(
            json!({"query": "cpu", "start": 1_000_005, "end": "1970-01-01T00:20:00.001Z",
            "aggregation": "max", "step": "1m", "tags": {"host": "a"}}),
        )
        .unwrap();
        assert_eq!(
            spec.range,
            TimeRange {
                start_ms: 1_000_000,
                end_ms: 1_210_000
            }
        );
        assert_eq!(spec.aggregation, Aggregation::Max);
        assert_eq!(spec.step.millis(), 60_000);
        assert_eq!(spec.step.label(), "1m");
    }

    #[test]
    fn rejects_bad_input_with_the_field() {
        let base = json!({"query": "cpu", "start": 0, "end": 3_600_000});
        let with = |k: &str, v: serde_json::Value| {
            let mut b = base.clone();
            b[k] = v;
            parse(b).unwrap_err().field
        };
        assert_eq!(
            with("aggregation", json!("median; DROP TABLE points")),
            "aggregation"
        );
        assert_eq!(with("step", json!("soon")), "step");
        assert_eq!(with("step", json!("500ms")), "step");
        let too_many = json!({"query": "cpu", "start": 0, "end": 86_400_000, "step": "1s"});
        assert_eq!(parse(too_many).unwrap_err().field, "step");
        assert_eq!(with("end", json!(0)), "end");
        assert_eq!(with("start", json!("yesterday")), "start");
        assert_eq!(with("query", json!("bad name")), "query");
    }

    #[test]
    fn default_step_gives_at_most_target_buckets() {
        for hours in [1, 6, 24, 24 * 7, 24 * 30, 24 * 365] {
            let range = TimeRange {
                start_ms: 0,
                end_ms: hours * 3_600_000,
            };
            let step = Step::default_for(range, 1500);
            assert!(
                range.len_ms() / step.millis() <= 1500,
                "{hours}h -> {step:?}"
            );
        }
        assert_eq!(
            Step::default_for(
                TimeRange {
                    start_ms: 0,
                    end_ms: 3_600_000
                },
                1500
            )
            .millis(),
            10_000
        );
    }

    #[test]
    fn incremental_start_is_the_bucket_holding_since() {
        let spec = |since: i64| {
            parse(json!({"query": "cpu", "start": 30_000, "end": 600_000, "step": "1m", "since": since}))
                .unwrap()
        };
        assert_eq!(spec(125_000).incremental_from(), Some(120_000));
        assert_eq!(spec(120_000).incremental_from(), Some(120_000));
        // In the range's first, partial bucket: that bucket's start.
        assert_eq!(spec(40_000).incremental_from(), Some(0));
        let full = parse(json!({"query": "cpu", "start": 0, "end": 600_000})).unwrap();
        assert_eq!(full.incremental_from(), None);
        assert_ne!(spec(125_000).cache_identity(), full.cache_identity());
        let bad = json!({"query": "cpu", "start": 0, "end": 600_000, "since": -1});
        assert_eq!(parse(bad).unwrap_err().field, "since");
    }

    #[test]
    fn matchers_are_validated() {
        let with = |m: serde_json::Value| {
            parse(json!({"query": "cpu", "start": 0, "end": 600_000, "matchers": m}))
        };
        let ok = with(json!([{"label": "host", "op": "=~", "value": "a|b"}])).unwrap();
        assert!(ok.matchers[0].matches("b") && !ok.matchers[0].matches("ab"));
        assert_eq!(
            with(json!([{"label": "host", "op": "=~", "value": "("}]))
                .unwrap_err()
                .field,
            "matchers"
        );
        let many: Vec<_> = (0..17)
            .map(|i| json!({"label": format!("k{i}"), "op": "!=", "value": ""}))
            .collect();
        assert_eq!(with(json!(many)).unwrap_err().field, "matchers");
    }

    #[test]
    fn time_format_is_rfc3339_utc() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_500), "1970-01-01T00:00:01.500Z");
    }
}
