//! Range queries of the dashboard shapes `f(sel[r])` and `op by|without (...) (f(sel[r]))`
//! (`f` a range function of one argument, `op` an aggregation without a parameter),
//! evaluated series by series over all steps rather than step by step. Each series'
//! result labels and group are worked out once, not cloned at every step, and its
//! window slides forward with the steps instead of being searched and copied. The
//! values come from the same functions, fed the same samples in the same order as the
//! step-by-step evaluator, so the answers are bit-identical; any other shape, or a
//! query whose results could collide on their labels, returns `None` and takes the
//! general path (which also produces the errors).

use std::collections::BTreeMap;

use promql_parser::parser::ast::AggregateExpr;
use promql_parser::parser::token;
use promql_parser::parser::{Call, Expr, MatrixSelector};

use super::aggregate::{fold, group_labels};
use super::eval::Evaluator;
use super::functions::{keeps_name, window_value, WindowArgs};
use super::plan::millis;
use super::value::{without_name, EvalError, Labels, Series};

/// Range functions whose only argument is the range vector.
const FUNCTIONS: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "resets",
    "changes",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "present_over_time",
];

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// The range function call and its matrix selector, when `e` is of that shape.
fn range_call(e: &Expr) -> Option<(&Call, &MatrixSelector)> {
    let Expr::Call(call) = unwrap_parens(e) else {
        return None;
    };
    if !FUNCTIONS.contains(&call.func.name) || call.args.args.len() != 1 {
        return None;
    }
    match unwrap_parens(&call.args.args[0]) {
        Expr::MatrixSelector(ms) => Some((call, ms)),
        _ => None,
    }
}

fn simple_aggregation(agg: &AggregateExpr) -> bool {
    agg.param.is_none()
        && matches!(
            agg.op.id(),
            token::T_SUM
                | token::T_AVG
                | token::T_MIN
                | token::T_MAX
                | token::T_COUNT
                | token::T_GROUP
                | token::T_STDDEV
                | token::T_STDVAR
        )
}

/// The range query's answer, or `None` when the expression is not of a shape this
/// module evaluates.
pub fn eval_range(ev: &Evaluator, expr: &Expr) -> Option<Result<Vec<Series>, EvalError>> {
    let (agg, (call, ms)) = match unwrap_parens(expr) {
        Expr::Aggregate(agg) if simple_aggregation(agg) => (Some(agg), range_call(&agg.expr)?),
        e => (None, range_call(e)?),
    };
    let name = call.func.name;
    let keep_name = keeps_name(name);
    let series = ev.series_of(&ms.vs);
    let labels: Vec<Labels> = series
        .iter()
        .map(|s| {
            if keep_name {
                s.labels.clone()
            } else {
                without_name(s.labels.clone())
            }
        })
        .collect();
    // Two series with one result label set: the general path decides whether a step
    // holds both (an error) or not.
    {
        let mut seen = std::collections::HashSet::with_capacity(labels.len());
        if !labels.iter().all(|l| seen.insert(l)) {
            return None;
        }
    }
    Some(evaluate(ev, agg, name, ms, series, labels))
}

fn evaluate(
    ev: &Evaluator,
    agg: Option<&AggregateExpr>,
    name: &str,
    ms: &MatrixSelector,
    series: &[Series],
    labels: Vec<Labels>,
) -> Result<Vec<Series>, EvalError> {
    let p = ev.params;
    let steps: Vec<i64> = (0..)
        .map(|i| p.start_ms + i * p.step_ms)
        .take_while(|t| *t <= p.end_ms)
        .collect();
    let range = millis(&ms.range);
    // Per group (or per series without an aggregation), per step: the values in series
    // order, as the step-by-step aggregation sees them.
    let mut group_of: BTreeMap<Labels, usize> = BTreeMap::new();
    let mut members: Vec<Vec<Vec<f64>>> = Vec::new();
    for (s, labels) in series.iter().zip(labels) {
        ev.check_deadline()?;
        let key = match agg {
            Some(a) => group_labels(&labels, a.modifier.as_ref()),
            None => labels,
        };
        let next = group_of.len();
        let g = *group_of.entry(key).or_insert(next);
        if g == members.len() {
            members.push(vec![Vec::new(); steps.len()]);
        }
        let samples = &s.samples;
        let (mut a, mut b) = (0, 0);
        for (i, &t) in steps.iter().enumerate() {
            // The reference time never decreases from step to step (a fixed @ or
            // offset), so both window edges only move forward.
            let reft = ev.ref_time(&ms.vs.at, &ms.vs.offset, t);
            let lo = reft - range;
            while b < samples.len() && samples[b].0 <= reft {
                b += 1;
            }
            while a < b && samples[a].0 < lo {
                a += 1;
            }
            if b == a {
                continue;
            }
            let args = WindowArgs {
                range_start: lo,
                range_end: reft,
                t,
                q: None,
                horizon: None,
            };
            if let Some(v) = window_value(name, &samples[a..b], args)? {
                members[g][i].push(v);
            }
        }
    }
    let mut out = Vec::with_capacity(group_of.len());
    for (labels, g) in group_of {
        let mut points = Vec::new();
        for (i, values) in members[g].iter().enumerate() {
            if values.is_empty() {
                continue;
            }
            let v = match agg {
                Some(a) => fold(a.op.id(), values, None)?,
                None => values[0],
            };
            points.push((steps[i], v));
        }
        if !points.is_empty() {
            out.push(Series {
                labels,
                samples: points,
            });
        }
    }
    Ok(out)
}
