//! Before anything is read: which series sets an expression selects and the time
//! range each must cover (the lookback, range windows, offsets, `@` and subquery
//! windows included), and a refusal of every construct the evaluator does not know.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as ParserOp;
use promql_parser::parser::ast::{AtModifier, Offset};
use promql_parser::parser::{Expr, VectorSelector};

use super::functions;
use super::value::{EvalError, NAME};
use crate::model::matcher::{LabelMatcher, MatchOp};

/// The times an evaluation covers and the settings that shape its windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// First and last evaluation time, ms since the epoch (equal for an instant query).
    pub start_ms: i64,
    pub end_ms: i64,
    /// Distance between range-query steps; any positive value for an instant query.
    pub step_ms: i64,
    /// How far back an instant selector looks for a sample (Prometheus: 5 m).
    pub lookback_ms: i64,
    /// The step of a subquery written without one (Prometheus' evaluation interval).
    pub subquery_step_ms: i64,
}

/// One series set to fetch: its matchers and the closed range of sample times needed.
#[derive(Debug, Clone)]
pub struct Need {
    pub key: String,
    pub matchers: Vec<LabelMatcher>,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The fetch plan of `expr`: one entry per distinct selector, ranges merged.
pub fn plan(expr: &Expr, params: &Params) -> Result<Vec<Need>, EvalError> {
    let mut needs: Vec<Need> = Vec::new();
    walk(expr, (params.start_ms, params.end_ms), params, &mut needs)?;
    Ok(needs)
}

/// The key under which a selector's series are fetched: its matchers, whatever the
/// offset or `@`, so one read serves every use.
pub fn selector_key(vs: &VectorSelector) -> String {
    let mut parts: Vec<String> = vs
        .matchers
        .matchers
        .iter()
        .map(|m| format!("{}{}{:?}", m.name, op_of(&m.op).as_str(), m.value))
        .collect();
    if let Some(name) = &vs.name {
        parts.push(format!("{NAME}={name:?}"));
    }
    parts.sort();
    parts.join(",")
}

/// The selector's matchers as the store takes them, the metric name included.
pub fn matchers_of(vs: &VectorSelector) -> Result<Vec<LabelMatcher>, EvalError> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(EvalError::Unsupported(
            "the \"or\" form of label matchers is not supported".into(),
        ));
    }
    let mut out = Vec::new();
    if let Some(name) = &vs.name {
        out.push(LabelMatcher::new(NAME, MatchOp::Equal, name).map_err(bad)?);
    }
    for m in &vs.matchers.matchers {
        out.push(LabelMatcher::new(&m.name, op_of(&m.op), &m.value).map_err(bad)?);
    }
    Ok(out)
}

fn bad(e: impl std::fmt::Display) -> EvalError {
    EvalError::Unsupported(e.to_string())
}

fn op_of(op: &ParserOp) -> MatchOp {
    match op {
        ParserOp::Equal => MatchOp::Equal,
        ParserOp::NotEqual => MatchOp::NotEqual,
        ParserOp::Re(_) => MatchOp::Regex,
        ParserOp::NotRe(_) => MatchOp::NotRegex,
    }
}

pub fn millis(d: &Duration) -> i64 {
    d.as_millis() as i64
}

pub fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => millis(d),
        Some(Offset::Neg(d)) => -millis(d),
    }
}

fn system_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => millis(&d),
        Err(e) => -millis(&e.duration()),
    }
}

/// The fixed evaluation time an `@` modifier pins, if any.
pub fn at_ms(at: &Option<AtModifier>, params: &Params) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(params.start_ms),
        Some(AtModifier::End) => Some(params.end_ms),
        Some(AtModifier::At(t)) => Some(system_ms(t)),
    }
}

/// The reference times a node with this `@` and offset reads at, for evaluation
/// times in `window`.
fn shifted(window: (i64, i64), at: Option<i64>, offset: i64) -> (i64, i64) {
    match at {
        Some(at) => (at - offset, at - offset),
        None => (window.0 - offset, window.1 - offset),
    }
}

fn need(vs: &VectorSelector, lo: i64, hi: i64, needs: &mut Vec<Need>) -> Result<(), EvalError> {
    let key = selector_key(vs);
    if let Some(existing) = needs.iter_mut().find(|n| n.key == key) {
        existing.start_ms = existing.start_ms.min(lo);
        existing.end_ms = existing.end_ms.max(hi);
        return Ok(());
    }
    let matchers = matchers_of(vs)?;
    if matchers.iter().all(|m| m.matches_empty()) {
        return Err(EvalError::Unsupported(
            "vector selector must contain at least one non-empty matcher".into(),
        ));
    }
    needs.push(Need {
        key,
        matchers,
        start_ms: lo,
        end_ms: hi,
    });
    Ok(())
}

fn walk(
    expr: &Expr,
    window: (i64, i64),
    params: &Params,
    needs: &mut Vec<Need>,
) -> Result<(), EvalError> {
    match expr {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
        Expr::Paren(p) => walk(&p.expr, window, params, needs),
        Expr::Unary(u) => walk(&u.expr, window, params, needs),
        Expr::VectorSelector(vs) => {
            let (lo, hi) = shifted(window, at_ms(&vs.at, params), offset_ms(&vs.offset));
            need(vs, lo - params.lookback_ms, hi, needs)
        }
        Expr::MatrixSelector(ms) => {
            let vs = &ms.vs;
            let (lo, hi) = shifted(window, at_ms(&vs.at, params), offset_ms(&vs.offset));
            need(vs, lo - millis(&ms.range), hi, needs)
        }
        Expr::Subquery(sq) => {
            if sq.step.is_some_and(|s| s.is_zero()) {
                return Err(EvalError::Unsupported("zero subquery step".into()));
            }
            let (lo, hi) = shifted(window, at_ms(&sq.at, params), offset_ms(&sq.offset));
            walk(&sq.expr, (lo - millis(&sq.range), hi), params, needs)
        }
        Expr::Aggregate(agg) => {
            super::aggregate::check(agg)?;
            if let Some(p) = &agg.param {
                walk(p, window, params, needs)?;
            }
            walk(&agg.expr, window, params, needs)
        }
        Expr::Binary(b) => {
            if let Some(m) = &b.modifier {
                if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
                    return Err(EvalError::Unsupported(
                        "fill modifiers of binary operators are not supported".into(),
                    ));
                }
            }
            walk(&b.lhs, window, params, needs)?;
            walk(&b.rhs, window, params, needs)
        }
        Expr::Call(call) => {
            functions::check(call.func.name)?;
            for arg in &call.args.args {
                walk(arg, window, params, needs)?;
            }
            Ok(())
        }
        Expr::Extension(_) => Err(EvalError::Unsupported(
            "extension expressions are not supported".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            start_ms: 1_000_000,
            end_ms: 2_000_000,
            step_ms: 60_000,
            lookback_ms: 300_000,
            subquery_step_ms: 60_000,
        }
    }

    #[test]
    fn windows_include_lookback_range_offset_and_subquery() {
        let e = promql_parser::parser::parse(
            "rate(a[5m] offset 1m) + b + max_over_time(rate(a[1m])[10m:1m])",
        )
        .unwrap();
        let needs = plan(&e, &params()).unwrap();
        assert_eq!(needs.len(), 2);
        let a = needs.iter().find(|n| n.key.contains("\"a\"")).unwrap();
        // 5m range plus 1m offset for the first use; 10m subquery plus 1m for the second.
        assert_eq!(a.start_ms, 1_000_000 - 660_000);
        assert_eq!(a.end_ms, 2_000_000);
        let b = needs.iter().find(|n| n.key.contains("\"b\"")).unwrap();
        assert_eq!((b.start_ms, b.end_ms), (700_000, 2_000_000));
    }

    #[test]
    fn at_pins_the_window() {
        let e = promql_parser::parser::parse("a @ 500").unwrap();
        let needs = plan(&e, &params()).unwrap();
        assert_eq!((needs[0].start_ms, needs[0].end_ms), (200_000, 500_000));
    }

    #[test]
    fn unsupported_constructs_are_named() {
        let e = promql_parser::parser::parse("mad_over_time(a[5m])").unwrap();
        let err = plan(&e, &params()).unwrap_err();
        assert!(err.to_string().contains("mad_over_time"), "{err}");
    }
}
