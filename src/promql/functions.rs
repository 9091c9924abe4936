//! PromQL functions as Prometheus 2.42 computes them: counter rates with
//! extrapolation, `*_over_time`, `histogram_quantile` over classic `le` buckets, math,
//! labels, dates and `absent`.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike};
use promql_parser::parser::{Call, Expr};

use super::eval::{check_unique, Evaluator};
use super::plan::millis;
use super::value::{without_name, EvalError, Labels, Sample, Series, Value, NAME};

const RANGE_FUNCTIONS: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "resets",
    "changes",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "quantile_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "present_over_time",
    "absent_over_time",
];

const MATH_FUNCTIONS: &[&str] = &[
    "abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn", "acos", "acosh", "asin",
    "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad",
];

const DATE_FUNCTIONS: &[&str] = &[
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "hour",
    "minute",
    "month",
    "year",
];

const OTHER_FUNCTIONS: &[&str] = &[
    "round",
    "clamp",
    "clamp_min",
    "clamp_max",
    "scalar",
    "vector",
    "time",
    "timestamp",
    "label_replace",
    "label_join",
    "sort",
    "sort_desc",
    "absent",
    "histogram_quantile",
    "pi",
];

/// Refuses the functions the evaluator does not know, by name.
pub fn check(name: &str) -> Result<(), EvalError> {
    let known = [
        RANGE_FUNCTIONS,
        MATH_FUNCTIONS,
        DATE_FUNCTIONS,
        OTHER_FUNCTIONS,
    ]
    .iter()
    .any(|list| list.contains(&name));
    if known {
        Ok(())
    } else {
        Err(EvalError::Unsupported(format!(
            "function {name}() is not supported"
        )))
    }
}

fn arg(call: &Call, i: usize) -> Result<&Expr, EvalError> {
    call.args.args.get(i).map(|b| b.as_ref()).ok_or_else(|| {
        EvalError::Unsupported(format!("{}() is missing an argument", call.func.name))
    })
}

fn scalar_arg(ev: &Evaluator, call: &Call, i: usize, t: i64) -> Result<f64, EvalError> {
    match ev.eval(arg(call, i)?, t)? {
        Value::Scalar(v) => Ok(v),
        other => Err(EvalError::Unsupported(format!(
            "argument {} of {}() must be a scalar, not a {}",
            i + 1,
            call.func.name,
            other.kind()
        ))),
    }
}

fn string_arg(ev: &Evaluator, call: &Call, i: usize, t: i64) -> Result<String, EvalError> {
    match ev.eval(arg(call, i)?, t)? {
        Value::String(s) => Ok(s),
        other => Err(EvalError::Unsupported(format!(
            "argument {} of {}() must be a string, not a {}",
            i + 1,
            call.func.name,
            other.kind()
        ))),
    }
}

fn vector_arg(ev: &Evaluator, call: &Call, i: usize, t: i64) -> Result<Vec<Sample>, EvalError> {
    match ev.eval(arg(call, i)?, t)? {
        Value::Vector(v) => Ok(v),
        other => Err(EvalError::Unsupported(format!(
            "argument {} of {}() must be an instant vector, not a {}",
            i + 1,
            call.func.name,
            other.kind()
        ))),
    }
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// The range argument of a range function: its series in the window, and the window's
/// `(start, end)` that extrapolation measures against.
fn range_arg(
    ev: &Evaluator,
    call: &Call,
    i: usize,
    t: i64,
) -> Result<(Vec<Series>, i64, i64), EvalError> {
    match unwrap_parens(arg(call, i)?) {
        Expr::MatrixSelector(ms) => {
            let reft = ev.ref_time(&ms.vs.at, &ms.vs.offset, t);
            let range = millis(&ms.range);
            Ok((ev.window(&ms.vs, reft, range), reft - range, reft))
        }
        Expr::Subquery(sq) => {
            let reft = ev.ref_time(&sq.at, &sq.offset, t);
            Ok((ev.subquery(sq, t)?, reft - millis(&sq.range), reft))
        }
        _ => Err(EvalError::Unsupported(format!(
            "{}() needs a range vector argument",
            call.func.name
        ))),
    }
}

pub fn eval(ev: &Evaluator, call: &Call, t: i64) -> Result<Value, EvalError> {
    let name = call.func.name;
    check(name)?;
    let out = if RANGE_FUNCTIONS.contains(&name) {
        Value::Vector(range_function(ev, call, t)?)
    } else if MATH_FUNCTIONS.contains(&name) {
        let f = math(name);
        Value::Vector(map_values(vector_arg(ev, call, 0, t)?, f))
    } else if DATE_FUNCTIONS.contains(&name) {
        let input = if call.args.args.is_empty() {
            vec![Sample {
                labels: Labels::new(),
                value: t as f64 / 1000.0,
            }]
        } else {
            vector_arg(ev, call, 0, t)?
        };
        let f = date(name);
        Value::Vector(map_values(input, f))
    } else {
        return other_function(ev, call, t);
    };
    if let Value::Vector(v) = &out {
        check_unique(v)?;
    }
    Ok(out)
}

fn map_values(input: Vec<Sample>, f: impl Fn(f64) -> f64) -> Vec<Sample> {
    input
        .into_iter()
        .map(|s| Sample {
            labels: without_name(s.labels),
            value: f(s.value),
        })
        .collect()
}

fn math(name: &str) -> fn(f64) -> f64 {
    match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sgn" => |v: f64| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => |v: f64| v * 180.0 / std::f64::consts::PI,
        _ => |v: f64| v * std::f64::consts::PI / 180.0,
    }
}

fn date(name: &str) -> fn(f64) -> f64 {
    fn at(v: f64) -> Option<DateTime<chrono::Utc>> {
        DateTime::from_timestamp(v as i64, 0)
    }
    fn with(v: f64, f: impl Fn(DateTime<chrono::Utc>) -> u32) -> f64 {
        if v.is_nan() || v.is_infinite() {
            return v;
        }
        at(v).map_or(f64::NAN, |d| f64::from(f(d)))
    }
    match name {
        "day_of_month" => |v| with(v, |d| d.day()),
        "day_of_week" => |v| with(v, |d| d.weekday().num_days_from_sunday()),
        "day_of_year" => |v| with(v, |d| d.ordinal()),
        "days_in_month" => |v| {
            with(v, |d| {
                let (y, m) = (d.year(), d.month());
                let next = if m == 12 {
                    chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)
                } else {
                    chrono::NaiveDate::from_ymd_opt(y, m + 1, 1)
                };
                next.and_then(|n| n.pred_opt()).map_or(0, |l| l.day())
            })
        },
        "hour" => |v| with(v, |d| d.hour()),
        "minute" => |v| with(v, |d| d.minute()),
        "month" => |v| with(v, |d| d.month()),
        _ => |v| with(v, |d| d.year() as u32),
    }
}

/// Neumaier's compensated addition, as Prometheus' `kahanSumInc`.
fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

fn range_function(ev: &Evaluator, call: &Call, t: i64) -> Result<Vec<Sample>, EvalError> {
    let name = call.func.name;
    let (data_index, q) = match name {
        "quantile_over_time" => (1, Some(scalar_arg(ev, call, 0, t)?)),
        _ => (0, None),
    };
    let horizon = if name == "predict_linear" {
        Some(scalar_arg(ev, call, 1, t)?)
    } else {
        None
    };
    let (series, range_start, range_end) = range_arg(ev, call, data_index, t)?;
    if name == "absent_over_time" {
        if !series.is_empty() {
            return Ok(Vec::new());
        }
        return Ok(vec![Sample {
            labels: absent_labels(arg(call, 0)?),
            value: 1.0,
        }]);
    }
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        let args = WindowArgs {
            range_start,
            range_end,
            t,
            q,
            horizon,
        };
        if let Some(value) = window_value(name, &s.samples, args)? {
            let labels = if keeps_name(name) {
                s.labels
            } else {
                without_name(s.labels)
            };
            out.push(Sample { labels, value });
        }
    }
    Ok(out)
}

/// Whether a range function's result keeps the metric name.
pub fn keeps_name(name: &str) -> bool {
    name == "last_over_time"
}

/// Where a range function's window lies and its scalar arguments.
#[derive(Debug, Clone, Copy)]
pub struct WindowArgs {
    pub range_start: i64,
    pub range_end: i64,
    /// The evaluation time (`predict_linear` predicts from it).
    pub t: i64,
    /// `quantile_over_time`'s quantile.
    pub q: Option<f64>,
    /// `predict_linear`'s horizon, seconds.
    pub horizon: Option<f64>,
}

/// A range function's value over one series' samples in its window (at least one),
/// or `None` where Prometheus leaves the series out.
pub fn window_value(
    name: &str,
    points: &[(i64, f64)],
    args: WindowArgs,
) -> Result<Option<f64>, EvalError> {
    let WindowArgs {
        range_start,
        range_end,
        t,
        q,
        horizon,
    } = args;
    Ok(match name {
        "rate" => extrapolated_rate(points, range_start, range_end, true, true),
        "increase" => extrapolated_rate(points, range_start, range_end, true, false),
        "delta" => extrapolated_rate(points, range_start, range_end, false, false),
        "irate" => instant_value(points, true),
        "idelta" => instant_value(points, false),
        "deriv" => {
            if points.len() < 2 {
                None
            } else {
                Some(linear_regression(points, points[0].0).0)
            }
        }
        "predict_linear" => {
            if points.len() < 2 {
                None
            } else {
                let (slope, intercept) = linear_regression(points, t);
                Some(intercept + slope * horizon.unwrap_or(0.0))
            }
        }
        "resets" => Some(points.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64),
        "changes" => Some(
            points
                .windows(2)
                .filter(|w| !(w[1].1 == w[0].1 || (w[1].1.is_nan() && w[0].1.is_nan())))
                .count() as f64,
        ),
        "avg_over_time" => Some(avg_over_time(points)),
        "min_over_time" => {
            Some(points.iter().fold(
                points[0].1,
                |m, &(_, v)| {
                    if v < m || m.is_nan() {
                        v
                    } else {
                        m
                    }
                },
            ))
        }
        "max_over_time" => {
            Some(points.iter().fold(
                points[0].1,
                |m, &(_, v)| {
                    if v > m || m.is_nan() {
                        v
                    } else {
                        m
                    }
                },
            ))
        }
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for &(_, v) in points {
                (sum, c) = kahan_inc(v, sum, c);
            }
            Some(if sum.is_infinite() { sum } else { sum + c })
        }
        "count_over_time" => Some(points.len() as f64),
        "quantile_over_time" => Some(quantile(
            q.unwrap_or(f64::NAN),
            points.iter().map(|p| p.1).collect(),
        )),
        "stdvar_over_time" => Some(stdvar_over_time(points)),
        "stddev_over_time" => Some(stdvar_over_time(points).sqrt()),
        "last_over_time" => points.last().map(|p| p.1),
        "present_over_time" => Some(1.0),
        other => {
            return Err(EvalError::Unsupported(format!(
                "function {other}() is not supported"
            )))
        }
    })
}

/// `rate`, `increase` and `delta`: the change over the samples, corrected for counter
/// resets, extrapolated towards the window's edges (never past half a sample
/// interval beyond the samples, nor below zero for counters).
fn extrapolated_rate(
    points: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (first, last) = (points[0], points[points.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        let mut prev = 0.0;
        for &(_, v) in points {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let mut to_start = (first.0 - range_start) as f64 / 1000.0;
    let to_end = (range_end - last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let average = sampled / (points.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        average / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        average / 2.0
    };
    result *= interval / sampled;
    if is_rate {
        result /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result)
}

/// `irate` and `idelta`: from the last two samples only.
fn instant_value(points: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (prev, last) = (points[points.len() - 2], points[points.len() - 1]);
    let mut result = if is_rate && last.1 < prev.1 {
        last.1
    } else {
        last.1 - prev.1
    };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// Least-squares slope and the intercept at `intercept_time` (ms).
fn linear_regression(points: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let init = points[0].1;
    let constant = points.iter().all(|p| p.1 == init);
    if constant {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for &(ts, v) in points {
        n += 1.0;
        let x = (ts - intercept_time) as f64 / 1000.0;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn avg_over_time(points: &[(i64, f64)]) -> f64 {
    let (mut mean, mut count, mut c) = (0.0f64, 0.0f64, 0.0f64);
    for &(_, v) in points {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_inc(v / count - mean / count, mean, c);
    }
    if mean.is_infinite() {
        mean
    } else {
        mean + c
    }
}

fn stdvar_over_time(points: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(_, v) in points {
        count += 1.0;
        let delta = v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / count, mean, cmean);
        (aux, caux) = kahan_inc(delta * (v - (mean + cmean)), aux, caux);
    }
    (aux + caux) / count
}

/// The φ-quantile by linear interpolation between closest ranks.
pub fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// The labels `absent()` gives its one sample: the selector's equality matchers.
fn absent_labels(expr: &Expr) -> Labels {
    let vs = match unwrap_parens(expr) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::new(),
    };
    let mut labels = Labels::new();
    let mut repeated = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == NAME || !matches!(m.op, promql_parser::label::MatchOp::Equal) {
            continue;
        }
        if labels.insert(m.name.clone(), m.value.clone()).is_some() {
            repeated.push(m.name.clone());
        }
    }
    for name in repeated {
        labels.remove(&name);
    }
    labels
}

fn other_function(ev: &Evaluator, call: &Call, t: i64) -> Result<Value, EvalError> {
    let name = call.func.name;
    let vector = |v: Vec<Sample>| -> Result<Value, EvalError> {
        check_unique(&v)?;
        Ok(Value::Vector(v))
    };
    match name {
        "time" => Ok(Value::Scalar(t as f64 / 1000.0)),
        "pi" => Ok(Value::Scalar(std::f64::consts::PI)),
        "vector" => Ok(Value::Vector(vec![Sample {
            labels: Labels::new(),
            value: scalar_arg(ev, call, 0, t)?,
        }])),
        "scalar" => {
            let v = vector_arg(ev, call, 0, t)?;
            Ok(Value::Scalar(if v.len() == 1 {
                v[0].value
            } else {
                f64::NAN
            }))
        }
        "round" => {
            let input = vector_arg(ev, call, 0, t)?;
            let to = if call.args.args.len() > 1 {
                scalar_arg(ev, call, 1, t)?
            } else {
                1.0
            };
            let inverse = 1.0 / to;
            vector(map_values(input, |v| (v * inverse + 0.5).floor() / inverse))
        }
        "clamp" => {
            let input = vector_arg(ev, call, 0, t)?;
            let (lo, hi) = (scalar_arg(ev, call, 1, t)?, scalar_arg(ev, call, 2, t)?);
            if hi < lo {
                return Ok(Value::Vector(Vec::new()));
            }
            vector(map_values(input, |v| go_min(hi, go_max(lo, v))))
        }
        "clamp_min" => {
            let input = vector_arg(ev, call, 0, t)?;
            let lo = scalar_arg(ev, call, 1, t)?;
            vector(map_values(input, |v| go_max(lo, v)))
        }
        "clamp_max" => {
            let input = vector_arg(ev, call, 0, t)?;
            let hi = scalar_arg(ev, call, 1, t)?;
            vector(map_values(input, |v| go_min(hi, v)))
        }
        "timestamp" => {
            let out = match unwrap_parens(arg(call, 0)?) {
                Expr::VectorSelector(vs) => ev
                    .instant(vs, t)
                    .into_iter()
                    .map(|(labels, ts, _)| Sample {
                        labels: without_name(labels),
                        value: ts as f64 / 1000.0,
                    })
                    .collect(),
                _ => map_values(vector_arg(ev, call, 0, t)?, |_| t as f64 / 1000.0),
            };
            vector(out)
        }
        "sort" | "sort_desc" => {
            let mut v = vector_arg(ev, call, 0, t)?;
            let desc = name == "sort_desc";
            v.sort_by(|a, b| {
                let o = a
                    .value
                    .partial_cmp(&b.value)
                    .unwrap_or_else(|| a.value.is_nan().cmp(&b.value.is_nan()).reverse());
                if desc {
                    o.reverse()
                } else {
                    o
                }
            });
            Ok(Value::Vector(v))
        }
        "absent" => {
            let v = vector_arg(ev, call, 0, t)?;
            if !v.is_empty() {
                return Ok(Value::Vector(Vec::new()));
            }
            Ok(Value::Vector(vec![Sample {
                labels: absent_labels(arg(call, 0)?),
                value: 1.0,
            }]))
        }
        "label_replace" => {
            let input = vector_arg(ev, call, 0, t)?;
            let dst = string_arg(ev, call, 1, t)?;
            let replacement = string_arg(ev, call, 2, t)?;
            let src = string_arg(ev, call, 3, t)?;
            let pattern = string_arg(ev, call, 4, t)?;
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                EvalError::Unsupported(format!(
                    "invalid regular expression in label_replace(): {pattern}: {e}"
                ))
            })?;
            if !is_label_name(&dst) {
                return Err(EvalError::Unsupported(format!(
                    "invalid destination label name in label_replace(): {dst}"
                )));
            }
            let mut out = Vec::with_capacity(input.len());
            for mut s in input {
                let value = s.labels.get(&src).cloned().unwrap_or_default();
                if let Some(caps) = re.captures(&value) {
                    let mut res = String::new();
                    caps.expand(&replacement, &mut res);
                    if res.is_empty() {
                        s.labels.remove(&dst);
                    } else {
                        s.labels.insert(dst.clone(), res);
                    }
                }
                out.push(s);
            }
            vector(out)
        }
        "label_join" => {
            let input = vector_arg(ev, call, 0, t)?;
            let dst = string_arg(ev, call, 1, t)?;
            let sep = string_arg(ev, call, 2, t)?;
            let mut srcs = Vec::new();
            for i in 3..call.args.args.len() {
                srcs.push(string_arg(ev, call, i, t)?);
            }
            if !is_label_name(&dst) {
                return Err(EvalError::Unsupported(format!(
                    "invalid destination label name in label_join(): {dst}"
                )));
            }
            let out = input
                .into_iter()
                .map(|mut s| {
                    let joined: Vec<String> = srcs
                        .iter()
                        .map(|k| s.labels.get(k).cloned().unwrap_or_default())
                        .collect();
                    let joined = joined.join(&sep);
                    if joined.is_empty() {
                        s.labels.remove(&dst);
                    } else {
                        s.labels.insert(dst.clone(), joined);
                    }
                    s
                })
                .collect();
            vector(out)
        }
        "histogram_quantile" => {
            let q = scalar_arg(ev, call, 0, t)?;
            let input = vector_arg(ev, call, 1, t)?;
            vector(histogram_quantile(q, input))
        }
        other => Err(EvalError::Unsupported(format!(
            "function {other}() is not supported"
        ))),
    }
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(b.first(), Some(c) if c.is_ascii_alphabetic() || *c == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Classic-histogram quantiles: buckets grouped by their labels without `le`.
fn histogram_quantile(q: f64, input: Vec<Sample>) -> Vec<Sample> {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for s in input {
        let Some(upper) = s.labels.get("le").and_then(|le| parse_le(le)) else {
            continue;
        };
        let mut labels = without_name(s.labels);
        labels.remove("le");
        groups.entry(labels).or_default().push((upper, s.value));
    }
    groups
        .into_iter()
        .map(|(labels, buckets)| Sample {
            labels,
            value: bucket_quantile(q, buckets),
        })
        .collect()
}

fn parse_le(s: &str) -> Option<f64> {
    match s.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce equal bounds, then force the counts to be monotonic.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for (upper, count) in buckets {
        match merged.last_mut() {
            Some(last) if last.0 == upper => last.1 += count,
            _ => merged.push((upper, count)),
        }
    }
    let mut max = f64::NEG_INFINITY;
    for b in merged.iter_mut() {
        if b.1 > max {
            max = b.1;
        } else {
            b.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = merged[..merged.len() - 1].partition_point(|x| x.1 < rank);
    if b == merged.len() - 1 {
        return merged[merged.len() - 2].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// Go's `math.Max`, which Prometheus' clamps use: a NaN operand gives NaN, where
/// Rust's `f64::max` returns the other operand.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`, as [`go_max`].
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_keep_nan_as_prometheus_does() {
        assert!(go_max(4.0, f64::NAN).is_nan());
        assert!(go_min(f64::NAN, 4.0).is_nan());
        assert_eq!(go_min(6.0, go_max(2.0, 1.0)), 2.0);
        assert_eq!(go_max(2.0, f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn rate_extrapolates_and_handles_resets() {
        // A counter at 10 s intervals covering a 60 s window, with one reset.
        let pts: Vec<(i64, f64)> = vec![(10_000, 1.0), (20_000, 3.0), (30_000, 1.0), (40_000, 4.0)];
        let inc = extrapolated_rate(&pts, 0, 60_000, true, false).unwrap();
        // Raw increase 3 + 3 (reset adds the 3 before it) = 6 over 30 s; extrapolated to
        // the start by min(10 s, 5 s to zero) and to the end by half an interval.
        let to_zero: f64 = 30.0 * (1.0 / 6.0);
        let expected = 6.0 * (30.0 + to_zero.min(10.0) + 5.0) / 30.0;
        assert!((inc - expected).abs() < 1e-12, "{inc} vs {expected}");
        let rate = extrapolated_rate(&pts, 0, 60_000, true, true).unwrap();
        assert!((rate - expected / 60.0).abs() < 1e-12);
        assert_eq!(extrapolated_rate(&pts[..1], 0, 60_000, true, true), None);
    }

    #[test]
    fn irate_uses_the_last_two_samples() {
        let pts = vec![(0, 5.0), (10_000, 7.0), (20_000, 2.0)];
        assert_eq!(instant_value(&pts, true), Some(0.2));
        assert_eq!(instant_value(&pts, false), Some(-5.0));
    }

    #[test]
    fn regression_slope_and_prediction() {
        let pts = vec![(0, 1.0), (10_000, 3.0), (20_000, 5.0)];
        let (slope, intercept) = linear_regression(&pts, 20_000);
        assert!((slope - 0.2).abs() < 1e-12);
        assert!((intercept - 5.0).abs() < 1e-12);
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(0.5, vec![1.0, 3.0, 2.0, 4.0]), 2.5);
        assert_eq!(quantile(2.0, vec![1.0]), f64::INFINITY);
        assert!(quantile(0.5, vec![]).is_nan());
    }

    #[test]
    fn bucket_quantile_interpolates_inside_the_bucket() {
        let buckets = vec![(0.1, 10.0), (0.5, 30.0), (f64::INFINITY, 40.0)];
        // rank 20 falls in (0.1, 0.5]: 0.1 + 0.4 * (10 / 20).
        assert!((bucket_quantile(0.5, buckets.clone()) - 0.3).abs() < 1e-12);
        // Beyond the last finite bucket: its upper bound.
        assert_eq!(bucket_quantile(0.99, buckets), 0.5);
        assert!(bucket_quantile(0.5, vec![(1.0, 1.0)]).is_nan());
    }

    #[test]
    fn dates_are_utc() {
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300.0;
        assert_eq!(date("day_of_month")(t), 29.0);
        assert_eq!(date("days_in_month")(t), 29.0);
        assert_eq!(date("hour")(t), 13.0);
        assert_eq!(date("minute")(t), 45.0);
        assert_eq!(date("day_of_week")(t), 4.0);
        assert_eq!(date("year")(t), 2024.0);
    }
}
