//! The values PromQL expressions evaluate to, and the errors evaluation can end in.

use std::collections::BTreeMap;

/// A label set including the metric name under `__name__`, sorted by label name.
pub type Labels = BTreeMap<String, String>;

/// The label that holds the metric name.
pub const NAME: &str = "__name__";

/// One series as fetched or as a range result: labels and `(ms, value)` in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// One element of an instant vector at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// What an expression evaluates to at one instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
    String(String),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
            Value::String(_) => "string",
        }
    }
}

/// Why evaluation stopped; each maps to one Prometheus `errorType`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The expression uses a construct Vigil does not evaluate, or is ill-typed
    /// (`bad_data`, 400).
    #[error("{0}")]
    Unsupported(String),
    /// The expression is valid but its data breaks a rule, such as duplicate series
    /// on the "one" side of a match (`execution`, 422).
    #[error("{0}")]
    Execution(String),
    /// More samples than `query.max_samples` would be loaded (`execution`, 422).
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    /// The query ran past its deadline (`timeout`, 503).
    #[error("query timed out in expression evaluation")]
    Timeout,
}

/// Drops the metric name, as every operation that changes a value's meaning does.
pub fn without_name(mut labels: Labels) -> Labels {
    labels.remove(NAME);
    labels
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that read back,
/// never in exponent form, with Prometheus' spellings of the specials.
pub fn format_plain(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A sample value as Prometheus' JSON writes it: plain digits, exponent form below
/// 1e-6 and from 1e21 (`1e-07`, `1.5e+21`, exponents of at least two digits).
pub fn format_value(v: f64) -> String {
    let abs = v.abs();
    if !v.is_finite() || abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return format_plain(v);
    }
    let rust = format!("{v:e}");
    let (mantissa, exponent) = rust.split_once('e').expect("exponent form has an e");
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// A timestamp as Prometheus' JSON writes it: seconds, with a three-digit millisecond
/// fraction only when there is one (`12`, `12.500`).
pub fn format_timestamp(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        format!("{sign}{secs}")
    } else {
        format!("{sign}{secs}.{frac:03}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_format_like_prometheus() {
        assert_eq!(format_value(2.0), "2");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(-1.5), "-1.5");
        assert_eq!(format_value(1e-7), "1e-07");
        assert_eq!(format_value(1.5e21), "1.5e+21");
        assert_eq!(format_value(1e100), "1e+100");
        assert_eq!(format_value(123456789.0), "123456789");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(0.0), "0");
    }

    #[test]
    fn timestamps_format_like_prometheus() {
        assert_eq!(format_timestamp(12_000), "12");
        assert_eq!(format_timestamp(12_500), "12.500");
        assert_eq!(format_timestamp(12_005), "12.005");
        assert_eq!(format_timestamp(-1_500), "-1.500");
    }
}
