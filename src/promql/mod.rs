//! Vigil's PromQL engine. `promql-parser` parses; everything after is Vigil's own:
//!
//! - [`plan`]: which series sets an expression selects and the time range each needs;
//!   unsupported constructs are refused here, before anything is read.
//! - [`fetch`]: the one I/O step: series by matchers (`store::selector`), samples through
//!   `store::samples::read_raw`, only inside the planned ranges.
//! - [`eval`], [`aggregate`], [`functions`]: pure evaluation over the fetched series.
//! - [`stepwise`]: the common dashboard shapes of range queries, series by series.
//! - [`value`]: result types and Prometheus' number and timestamp formats.

pub mod aggregate;
pub mod eval;
pub mod fetch;
pub mod functions;
pub mod plan;
pub mod stepwise;
pub mod value;

use std::collections::BTreeMap;
use std::time::Instant;

use promql_parser::parser::Expr;

pub use eval::{Evaluator, Fetched};
pub use plan::Params;
pub use value::{EvalError, Labels, Sample, Series, Value};

/// Parses a query; the message is the parser's, for a `bad_data` answer.
pub fn parse(query: &str) -> Result<Expr, String> {
    promql_parser::parser::parse(query)
}

/// What an instant query answers.
#[derive(Debug, Clone, PartialEq)]
pub enum InstantResult {
    Scalar(i64, f64),
    String(i64, String),
    /// (labels, value) at the query time.
    Vector(i64, Vec<Sample>),
    Matrix(Vec<Series>),
}

/// An instant query at `params.start_ms` over already fetched series.
pub fn eval_instant(
    expr: &Expr,
    fetched: &Fetched,
    params: Params,
    deadline: Option<Instant>,
) -> Result<InstantResult, EvalError> {
    let ev = Evaluator::new(fetched, params, deadline);
    let t = params.start_ms;
    Ok(match ev.eval(expr, t)? {
        Value::Scalar(v) => InstantResult::Scalar(t, v),
        Value::String(s) => InstantResult::String(t, s),
        Value::Vector(v) => {
            eval::check_unique(&v)?;
            InstantResult::Vector(t, v)
        }
        Value::Matrix(m) => InstantResult::Matrix(m),
    })
}

/// A range query: the expression at every step from start to end, merged per label
/// set and sorted by labels. `max_points` bounds the steps (Prometheus: 11,000).
pub fn eval_range(
    expr: &Expr,
    fetched: &Fetched,
    params: Params,
    deadline: Option<Instant>,
) -> Result<Vec<Series>, EvalError> {
    let ev = Evaluator::new(fetched, params, deadline);
    if let Some(result) = stepwise::eval_range(&ev, expr) {
        return result;
    }
    eval_steps(&ev, expr)
}

/// A range query evaluated step by step: any expression.
fn eval_steps(ev: &Evaluator, expr: &Expr) -> Result<Vec<Series>, EvalError> {
    let params = ev.params;
    let mut out: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    let mut t = params.start_ms;
    while t <= params.end_ms {
        ev.check_deadline()?;
        match ev.eval(expr, t)? {
            Value::Scalar(v) => out.entry(Labels::new()).or_default().push((t, v)),
            Value::Vector(samples) => {
                eval::check_unique(&samples)?;
                for s in samples {
                    out.entry(s.labels).or_default().push((t, s.value));
                }
            }
            other => {
                return Err(EvalError::Unsupported(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                other.kind()
            )))
            }
        }
        t += params.step_ms;
    }
    Ok(out
        .into_iter()
        .map(|(labels, samples)| Series { labels, samples })
        .collect())
}

#[cfg(test)]
mod tests;
