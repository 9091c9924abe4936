//! Series selection by label matchers: the one way readers turn `metric{k=~"v"}` into
//! series ids.
//!
//! Equality matchers (and the metric name) are pushed into the statement, where the
//! `series` indexes serve them (btree on `metric`, GIN on `labels`); `!=`, `=~` and
//! `!~` are applied in Rust to the rows those return, so their semantics are exactly
//! the `regex` crate's (RE2 syntax, as Prometheus uses), not PostgreSQL's dialect.
//! Rows are streamed and at most the caller's limit of them kept, so memory stays
//! bounded; which series a cut list keeps is not defined.

use sqlx::PgPool;

use crate::model::matcher::{LabelMatcher, MatchOp, METRIC_NAME_LABEL};
use crate::model::Labels;

/// One selected series.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedSeries {
    pub id: i64,
    pub metric: String,
    pub labels: Labels,
}

/// The series that matched, in id order, and whether `limit` cut the list short.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub series: Vec<SelectedSeries>,
    pub truncated: bool,
}

const METRIC_NAMES: &str = "SELECT name FROM metric_definitions ORDER BY name";
// One metric's series, streamed. No ORDER BY or LIMIT: prepared statements end on a
// generic plan, and for an ordered, limited read of one metric that plan walks the
// primary key through every series of every metric. Without them the plan follows
// the filter alone (the metric's index, or the labels' GIN index for containment),
// and the cut and the id order are applied in Rust.
const METRIC_SERIES: &str = "SELECT id, metric, labels FROM series WHERE metric = $1";
const METRIC_SERIES_CONTAINING: &str =
    "SELECT id, metric, labels FROM series WHERE metric = $1 AND labels @> $2::jsonb";

const LABEL_NAMES: &str = "SELECT DISTINCT jsonb_object_keys(labels) FROM series";
const LABEL_VALUES: &str = "SELECT DISTINCT labels->>$1 FROM series WHERE labels ? $1 ORDER BY 1";
const SERIES_METRICS: &str = "SELECT DISTINCT metric FROM series ORDER BY 1";

/// Every label name any series carries (the metric name not included), sorted.
pub async fn label_names(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let mut names: Vec<String> = sqlx::query_scalar(LABEL_NAMES).fetch_all(pool).await?;
    names.sort();
    Ok(names)
}

/// Every value of one label across all series, sorted.
pub async fn label_values(pool: &PgPool, name: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(LABEL_VALUES)
        .bind(name)
        .fetch_all(pool)
        .await
}

/// Every metric name that has a series, sorted.
pub async fn metric_names(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(SERIES_METRICS).fetch_all(pool).await
}

/// Series whose metric name and labels satisfy every matcher, at most `limit` of them.
pub async fn select_series(
    pool: &PgPool,
    matchers: &[LabelMatcher],
    limit: usize,
) -> Result<Selection, sqlx::Error> {
    let metrics = candidate_metrics(pool, matchers).await?;
    if metrics.is_empty() || limit == 0 {
        return Ok(Selection::default());
    }
    let contained = pushed_down_labels(matchers);
    let filter = serde_json::to_string(&contained).expect("labels serialise");
    let rest: Vec<&LabelMatcher> = matchers
        .iter()
        .filter(|m| m.name != METRIC_NAME_LABEL && !is_pushed_down(m))
        .collect();
    let mut out = Selection::default();
    // Metric by metric (a selection names one, unless a regex on the name matches
    // several), then in id order across them.
    let mut per_metric: Vec<Vec<SelectedSeries>> = Vec::with_capacity(metrics.len());
    for metric in &metrics {
        let left = limit - per_metric.iter().map(Vec::len).sum::<usize>();
        let (series, truncated) =
            metric_series(pool, metric, &contained, &filter, &rest, left).await?;
        per_metric.push(series);
        if truncated {
            out.truncated = true;
            break;
        }
    }
    out.series = per_metric.into_iter().flatten().collect();
    out.series.sort_unstable_by_key(|s| s.id);
    Ok(out)
}

/// The series of one metric that pass every matcher, at most `limit`, and whether
/// there were more.
async fn metric_series(
    pool: &PgPool,
    metric: &str,
    contained: &Labels,
    filter: &str,
    rest: &[&LabelMatcher],
    limit: usize,
) -> Result<(Vec<SelectedSeries>, bool), sqlx::Error> {
    use futures_util::TryStreamExt;
    let query = if contained.is_empty() {
        sqlx::query_as(METRIC_SERIES).bind(metric)
    } else {
        sqlx::query_as(METRIC_SERIES_CONTAINING)
            .bind(metric)
            .bind(filter)
    };
    let mut rows = query.fetch(pool);
    let mut out = Vec::new();
    while let Some((id, metric, sqlx::types::Json(labels))) =
        rows.try_next().await? as Option<(i64, String, sqlx::types::Json<Labels>)>
    {
        if rest
            .iter()
            .all(|m| m.matches(labels.get(&m.name).map_or("", String::as_str)))
        {
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push(SelectedSeries { id, metric, labels });
        }
    }
    Ok((out, false))
}

/// Metric names the `__name__` matchers allow: the equality one directly, otherwise
/// every known name that passes them (the catalogue of names is small).
async fn candidate_metrics(
    pool: &PgPool,
    matchers: &[LabelMatcher],
) -> Result<Vec<String>, sqlx::Error> {
    let on_name: Vec<&LabelMatcher> = matchers
        .iter()
        .filter(|m| m.name == METRIC_NAME_LABEL)
        .collect();
    if let Some(eq) = on_name.iter().find(|m| m.op == MatchOp::Equal) {
        let name = eq.value.clone();
        return Ok(if on_name.iter().all(|m| m.matches(&name)) {
            vec![name]
        } else {
            Vec::new()
        });
    }
    let names: Vec<String> = sqlx::query_scalar(METRIC_NAMES).fetch_all(pool).await?;
    Ok(names
        .into_iter()
        .filter(|n| on_name.iter().all(|m| m.matches(n)))
        .collect())
}

/// Equality with a non-empty value is containment in the label set; an empty value
/// means "label absent", which containment cannot say.
fn is_pushed_down(m: &LabelMatcher) -> bool {
    m.op == MatchOp::Equal && !m.value.is_empty()
}

fn pushed_down_labels(matchers: &[LabelMatcher]) -> Labels {
    matchers
        .iter()
        .filter(|m| m.name != METRIC_NAME_LABEL && is_pushed_down(m))
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_empty_equalities_are_pushed_down() {
        let ms = vec![
            LabelMatcher::new("host", MatchOp::Equal, "a").unwrap(),
            LabelMatcher::new("zone", MatchOp::Equal, "").unwrap(),
            LabelMatcher::new("dc", MatchOp::Regex, "x.*").unwrap(),
            LabelMatcher::new(METRIC_NAME_LABEL, MatchOp::Equal, "cpu").unwrap(),
        ];
        let pushed = pushed_down_labels(&ms);
        assert_eq!(pushed.len(), 1);
        assert_eq!(pushed.get("host").map(String::as_str), Some("a"));
    }
}
