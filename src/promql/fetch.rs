//! The fetch step: every planned selector's series (label matchers pushed down to the
//! series table by `store::selector`) and their samples inside the planned range, read
//! through `store::samples::read_raw`, the one raw reader.

use sqlx::PgPool;

use super::eval::Fetched;
use super::plan::Need;
use super::value::{EvalError, Labels, Series, NAME};
use crate::model::TimeRange;
use crate::store::{samples, selector};

/// Why the fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Reads what `needs` asks for; more than `max_samples` samples in total, or more than
/// `max_series` series for one selector, is refused rather than loaded.
pub async fn fetch(
    pool: &PgPool,
    needs: &[Need],
    max_samples: usize,
    max_series: usize,
) -> Result<Fetched, FetchError> {
    let mut fetched = Fetched::default();
    let mut total = 0usize;
    for need in needs {
        let selection = selector::select_series(pool, &need.matchers, max_series).await?;
        if selection.truncated {
            return Err(EvalError::Execution(format!(
                "a selector matches more than {max_series} series (query.max_series_per_selector)"
            ))
            .into());
        }
        let ids: Vec<i64> = selection.series.iter().map(|s| s.id).collect();
        // read_raw's range is half-open; the plan's is closed.
        let range = TimeRange {
            start_ms: need.start_ms,
            end_ms: need.end_ms + 1,
        };
        let raw = samples::read_raw(pool, &ids, range).await?;
        let mut by_id: std::collections::HashMap<i64, Labels> = selection
            .series
            .into_iter()
            .map(|s| {
                let mut labels = s.labels;
                labels.insert(NAME.to_string(), s.metric);
                (s.id, labels)
            })
            .collect();
        let mut series = Vec::with_capacity(raw.len());
        for r in raw {
            total += r.len();
            if total > max_samples {
                return Err(EvalError::TooManySamples.into());
            }
            let Some(labels) = by_id.remove(&r.series_id) else {
                continue;
            };
            series.push(Series {
                labels,
                samples: r.times_ms.into_iter().zip(r.values).collect(),
            });
        }
        fetched.sets.insert(need.key.clone(), series);
    }
    Ok(fetched)
}
