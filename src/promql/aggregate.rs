//! Aggregation operators (`sum`, `avg`, ..., `topk`, `quantile`, `count_values`) with
//! `by`/`without`, as Prometheus 2.42 computes them (incremental mean, Welford
//! variance, NaN replaced by any number in `min`/`max`).

use std::collections::BTreeMap;

use promql_parser::parser::ast::LabelModifier;
use promql_parser::parser::token::{self, TokenId};
use promql_parser::parser::AggregateExpr;

use super::eval::Evaluator;
use super::functions::quantile;
use super::value::{format_plain, EvalError, Labels, Sample, Value, NAME};

/// Refuses the aggregations the evaluator does not know.
pub fn check(agg: &AggregateExpr) -> Result<(), EvalError> {
    match agg.op.id() {
        token::T_SUM
        | token::T_AVG
        | token::T_MIN
        | token::T_MAX
        | token::T_COUNT
        | token::T_GROUP
        | token::T_STDDEV
        | token::T_STDVAR
        | token::T_TOPK
        | token::T_BOTTOMK
        | token::T_QUANTILE
        | token::T_COUNT_VALUES => Ok(()),
        other => Err(EvalError::Unsupported(format!(
            "aggregation {} is not supported",
            token::TokenType::new(other)
        ))),
    }
}

/// The labels a sample's group is known by.
pub(super) fn group_labels(labels: &Labels, modifier: Option<&LabelModifier>) -> Labels {
    match modifier {
        Some(LabelModifier::Include(by)) => labels
            .iter()
            .filter(|(k, _)| by.labels.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        Some(LabelModifier::Exclude(without)) => labels
            .iter()
            .filter(|(k, _)| k.as_str() != NAME && !without.labels.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => Labels::new(),
    }
}

pub fn eval(ev: &Evaluator, agg: &AggregateExpr, t: i64) -> Result<Value, EvalError> {
    let op = agg.op.id();
    let param = match &agg.param {
        Some(p) => Some(ev.eval(p, t)?),
        None => None,
    };
    let input = match ev.eval(&agg.expr, t)? {
        Value::Vector(v) => v,
        other => {
            return Err(EvalError::Unsupported(format!(
                "aggregation over a {}",
                other.kind()
            )))
        }
    };
    let modifier = agg.modifier.as_ref();
    let scalar_param = |name: &str| match &param {
        Some(Value::Scalar(v)) => Ok(*v),
        _ => Err(EvalError::Unsupported(format!(
            "{name} needs a scalar parameter"
        ))),
    };
    let mut groups: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    for s in input {
        groups
            .entry(group_labels(&s.labels, modifier))
            .or_default()
            .push(s);
    }
    let mut out = Vec::new();
    match op {
        token::T_TOPK | token::T_BOTTOMK => {
            let k = scalar_param("topk/bottomk")?;
            if k.is_nan() {
                return Err(EvalError::Execution("Parameter value is NaN".into()));
            }
            let k = k as i64;
            if k < 1 {
                return Ok(Value::Vector(out));
            }
            let top = op == token::T_TOPK;
            for (_, mut members) in groups {
                // NaN ranks below every number either way, as in Prometheus' heaps.
                members.sort_by(|a, b| match (a.value.is_nan(), b.value.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if top => b.value.total_cmp(&a.value),
                    _ => a.value.total_cmp(&b.value),
                });
                members.truncate(k.min(members.len() as i64) as usize);
                out.extend(members);
            }
        }
        token::T_COUNT_VALUES => {
            let label = match &param {
                Some(Value::String(s)) => s.clone(),
                _ => {
                    return Err(EvalError::Unsupported(
                        "count_values needs a string parameter".into(),
                    ))
                }
            };
            if !is_label_name(&label) {
                return Err(EvalError::Execution(format!(
                    "invalid label name {label:?}"
                )));
            }
            let mut counts: BTreeMap<Labels, f64> = BTreeMap::new();
            for (group, members) in groups {
                for s in members {
                    let mut labels = group.clone();
                    labels.insert(label.clone(), format_plain(s.value));
                    *counts.entry(labels).or_default() += 1.0;
                }
            }
            out.extend(
                counts
                    .into_iter()
                    .map(|(labels, value)| Sample { labels, value }),
            );
        }
        _ => {
            let q = if op == token::T_QUANTILE {
                Some(scalar_param("quantile")?)
            } else {
                None
            };
            for (labels, members) in groups {
                let values: Vec<f64> = members.iter().map(|s| s.value).collect();
                let value = fold(op, &values, q)?;
                out.push(Sample { labels, value });
            }
        }
    }
    Ok(Value::Vector(out))
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(b.first(), Some(c) if c.is_ascii_alphabetic() || *c == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// One group's value.
pub(super) fn fold(op: TokenId, values: &[f64], q: Option<f64>) -> Result<f64, EvalError> {
    Ok(match op {
        token::T_SUM => values.iter().sum(),
        token::T_COUNT => values.len() as f64,
        token::T_GROUP => 1.0,
        token::T_MIN => values
            .iter()
            .fold(f64::NAN, |m, &v| if m > v || m.is_nan() { v } else { m }),
        token::T_MAX => values
            .iter()
            .fold(f64::NAN, |m, &v| if m < v || m.is_nan() { v } else { m }),
        token::T_AVG => avg(values),
        token::T_STDVAR => variance(values),
        token::T_STDDEV => variance(values).sqrt(),
        token::T_QUANTILE => quantile(q.unwrap_or(f64::NAN), values.to_vec()),
        other => {
            return Err(EvalError::Unsupported(format!(
                "aggregation {} is not supported",
                token::TokenType::new(other)
            )))
        }
    })
}

/// Prometheus 2.x's running mean: each step divides both terms by the count, which
/// keeps large values from overflowing and makes results bit-comparable.
fn avg(values: &[f64]) -> f64 {
    let mut mean = 0.0f64;
    let mut count = 0.0f64;
    for &v in values {
        count += 1.0;
        if count == 1.0 {
            mean = v;
            continue;
        }
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

fn variance(values: &[f64]) -> f64 {
    let (mut count, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
    for &v in values {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        m2 += delta * (v - mean);
    }
    m2 / count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_match_prometheus() {
        let v = [1.0, 2.0, 4.0, f64::NAN];
        assert_eq!(fold(token::T_MIN, &v, None).unwrap(), 1.0);
        assert_eq!(fold(token::T_MAX, &[f64::NAN, 3.0], None).unwrap(), 3.0);
        assert_eq!(fold(token::T_COUNT, &v, None).unwrap(), 4.0);
        assert!((avg(&[1.0, 2.0, 4.0]) - 7.0 / 3.0).abs() < 1e-15);
        assert!((variance(&[1.0, 2.0, 3.0, 4.0]) - 1.25).abs() < 1e-15);
        assert_eq!(avg(&[f64::INFINITY, 1.0]), f64::INFINITY);
    }

    #[test]
    fn groups_by_and_without() {
        let labels: Labels = [("__name__", "m"), ("a", "1"), ("b", "2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let by = LabelModifier::include(vec!["a"]);
        let without = LabelModifier::exclude(vec!["a"]);
        assert_eq!(group_labels(&labels, Some(&by)).len(), 1);
        let w = group_labels(&labels, Some(&without));
        assert_eq!(w.keys().collect::<Vec<_>>(), vec!["b"]);
    }
}
