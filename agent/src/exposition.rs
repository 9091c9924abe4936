//! A parser for the Prometheus text exposition format (version 0.0.4): pure, no I/O.
//!
//! Why by hand: the crates on crates.io for this format (`prometheus-parse`,
//! `prom_text_format_parser`, `prometheus-exposition-format-rs`) either regex every
//! line into owned strings, group samples into histogram structs the agent would only
//! flatten again, or have not been released for years. The agent needs flat samples
//! at tens of thousands per second, so this parser borrows from the body and only
//! allocates for label values that carry escapes.
//!
//! Semantics follow Prometheus' own text parser: `# HELP`/`# TYPE`/other comments are
//! read and skipped (histograms and summaries are already flat `_bucket`/`_sum`/
//! `_count` and `quantile` samples in this format), label values unescape `\\`, `\"`
//! and `\n`, values are Go floats (`NaN`, `+Inf`, `-Inf` included; the caller decides
//! what to do with them), the timestamp is optional milliseconds. Any malformed line
//! fails the whole exposition, as a Prometheus scrape does: a half-read histogram
//! would be worse than none.

use std::borrow::Cow;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// In the order written; names are unique within a sample.
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    pub value: f64,
    /// Milliseconds since the Unix epoch, when the exposition gives one.
    pub timestamp_ms: Option<i64>,
}

/// Why an exposition was refused: the first bad line (1-based) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// Parses a whole exposition into its samples.
pub fn parse(text: &str) -> Result<Vec<Sample<'_>>, ParseError> {
    let mut samples = Vec::with_capacity(text.len() / 48);
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let fail = |reason: String| ParseError {
            line: index + 1,
            reason,
        };
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            check_comment(comment).map_err(fail)?;
            continue;
        }
        samples.push(parse_sample(trimmed).map_err(fail)?);
    }
    Ok(samples)
}

/// `# TYPE name type` must name a known type; `# HELP name ...` a valid name; other
/// comments are free text.
fn check_comment(comment: &str) -> Result<(), String> {
    let mut words = comment.split_whitespace();
    match words.next() {
        Some("TYPE") => {
            let name = words.next().ok_or("TYPE without a metric name")?;
            if !is_metric_name(name) {
                return Err(format!("invalid metric name {name:?} in TYPE"));
            }
            match words.next() {
                Some("counter" | "gauge" | "histogram" | "summary" | "untyped") => {}
                Some(other) => return Err(format!("unknown metric type {other:?}")),
                None => return Err("TYPE without a type".into()),
            }
            if words.next().is_some() {
                return Err("text after the type in a TYPE line".into());
            }
            Ok(())
        }
        Some("HELP") => match words.next() {
            Some(name) if is_metric_name(name) => Ok(()),
            Some(name) => Err(format!("invalid metric name {name:?} in HELP")),
            None => Err("HELP without a metric name".into()),
        },
        _ => Ok(()),
    }
}

fn parse_sample(line: &str) -> Result<Sample<'_>, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!(
            "expected a metric name at the start of the line, found {:?}",
            cut(line)
        ));
    }
    let mut rest = skip_blanks(&line[name_end..]);
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels)?;
        rest = skip_blanks(rest);
    } else if name_end < line.len() && !line[name_end..].starts_with([' ', '\t']) {
        return Err(format!("unexpected character after metric name {name:?}"));
    }
    let (value_text, rest) = split_word(rest);
    if value_text.is_empty() {
        return Err(format!("sample {name:?} has no value"));
    }
    let value = parse_value(value_text)
        .ok_or_else(|| format!("value {value_text:?} of {name:?} is not a number"))?;
    let rest = skip_blanks(rest);
    let (timestamp_text, rest) = split_word(rest);
    let timestamp_ms =
        if timestamp_text.is_empty() {
            None
        } else {
            Some(timestamp_text.parse::<i64>().map_err(|_| {
                format!("timestamp {timestamp_text:?} of {name:?} is not an integer")
            })?)
        };
    if !skip_blanks(rest).is_empty() {
        return Err(format!("unexpected text after the sample of {name:?}"));
    }
    Ok(Sample {
        name,
        labels,
        value,
        timestamp_ms,
    })
}

/// Parses `name="value",...}` (the `{` already consumed); returns what follows `}`.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut Vec<(&'a str, Cow<'a, str>)>,
) -> Result<&'a str, String> {
    loop {
        rest = skip_blanks(rest);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let key_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        if !is_label_name(key) {
            return Err(format!("expected a label name, found {:?}", cut(rest)));
        }
        rest = skip_blanks(&rest[key_end..]);
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("expected '=' after label {key:?}"))?;
        rest = skip_blanks(rest);
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("expected '\"' to open the value of label {key:?}"))?;
        let (value, after) = parse_label_value(rest)
            .ok_or_else(|| format!("unterminated value of label {key:?}"))?;
        if labels.iter().any(|(k, _)| *k == key) {
            return Err(format!("label {key:?} given twice"));
        }
        labels.push((key, value));
        rest = skip_blanks(after);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("expected ',' or '}}' after label {key:?}"));
        }
    }
}

/// Reads a label value up to its closing quote; borrows unless it holds escapes.
fn parse_label_value(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut escaped = false;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => break,
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    if i >= bytes.len() {
        return None;
    }
    let raw = &text[..i];
    let after = &text[i + 1..];
    if !escaped {
        return Some((Cow::Borrowed(raw), after));
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            // Prometheus keeps unknown escapes as written.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Some((Cow::Owned(out), after))
}

/// A Go `ParseFloat` value: decimals, exponents, `NaN`, `+Inf`, `-Inf`, `Inf`.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => {
            // Rust also accepts "infinity" and friends; Go's words are handled above,
            // anything else alphabetic is not a Prometheus value.
            if text
                .bytes()
                .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
            {
                return None;
            }
            text.parse::<f64>().ok()
        }
    }
}

fn is_metric_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_' || *b == b':')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b':')
}

fn is_label_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

fn skip_blanks(text: &str) -> &str {
    text.trim_start_matches([' ', '\t'])
}

fn split_word(text: &str) -> (&str, &str) {
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    (&text[..end], &text[end..])
}

/// The start of a line, for error messages.
fn cut(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels<'a>(sample: &'a Sample<'a>) -> Vec<(&'a str, &'a str)> {
        sample
            .labels
            .iter()
            .map(|(k, v)| (*k, v.as_ref()))
            .collect()
    }

    #[test]
    fn counters_and_gauges_with_help_and_type() {
        let text = "# HELP http_requests_total The total number of HTTP requests.\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
                    http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n\
                    \n\
                    # TYPE temperature gauge\n\
                    temperature -12.5\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].name, "http_requests_total");
        assert_eq!(labels(&samples[0]), [("method", "post"), ("code", "200")]);
        assert_eq!(samples[0].value, 1027.0);
        assert_eq!(samples[0].timestamp_ms, Some(1395066363000));
        assert_eq!(samples[1].value, 3.0);
        assert_eq!(samples[2].name, "temperature");
        assert!(samples[2].labels.is_empty());
        assert_eq!(samples[2].value, -12.5);
        assert_eq!(samples[2].timestamp_ms, None);
    }

    #[test]
    fn escaped_label_values_are_unescaped() {
        let text = r#"msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\"",odd="a\tb"} 1.458255915e9"#;
        let samples = parse(text).unwrap();
        assert_eq!(
            labels(&samples[0]),
            [
                ("path", r"C:\DIR\FILE.TXT"),
                ("error", "Cannot find file:\n\"FILE.TXT\""),
                ("odd", r"a\tb"),
            ]
        );
        assert_eq!(samples[0].value, 1.458255915e9);
    }

    #[test]
    fn histograms_and_summaries_are_flat_samples() {
        let text = "# TYPE rpc_duration_seconds summary\n\
                    rpc_duration_seconds{quantile=\"0.5\"} 4773\n\
                    rpc_duration_seconds{quantile=\"0.99\"} NaN\n\
                    rpc_duration_seconds_sum 1.7560473e+07\n\
                    rpc_duration_seconds_count 2693\n\
                    # TYPE http_request_duration_seconds histogram\n\
                    http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n\
                    http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n\
                    http_request_duration_seconds_sum 53423\n\
                    http_request_duration_seconds_count 144320\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 8);
        assert_eq!(labels(&samples[0]), [("quantile", "0.5")]);
        assert!(samples[1].value.is_nan());
        assert_eq!(samples[2].value, 1.7560473e7);
        assert_eq!(labels(&samples[5]), [("le", "+Inf")]);
        assert_eq!(samples[7].name, "http_request_duration_seconds_count");
    }

    #[test]
    fn special_values() {
        let samples = parse("a +Inf\nb -Inf\nc NaN\nd 1e-3\ne -0\nf 0x1p3").unwrap_err();
        // Go's ParseFloat would take a hex float; Prometheus exporters never write one,
        // and refusing it keeps the value grammar small.
        assert_eq!(samples.line, 6);
        let samples = parse("a +Inf\nb -Inf\nc NaN\nd 1e-3\ne -0").unwrap();
        assert_eq!(samples[0].value, f64::INFINITY);
        assert_eq!(samples[1].value, f64::NEG_INFINITY);
        assert!(samples[2].value.is_nan());
        assert_eq!(samples[3].value, 0.001);
        assert_eq!(samples[4].value, 0.0);
    }

    #[test]
    fn whitespace_tabs_trailing_commas_and_crlf() {
        let text = "  a{ x = \"1\" , y=\"2\", }\t5\t123\r\nb{} 1\r\n";
        let samples = parse(text).unwrap();
        assert_eq!(labels(&samples[0]), [("x", "1"), ("y", "2")]);
        assert_eq!(samples[0].timestamp_ms, Some(123));
        assert_eq!(samples[1].name, "b");
        assert!(samples[1].labels.is_empty());
    }

    #[test]
    fn comments_that_are_not_help_or_type_are_ignored() {
        let samples = parse("# just a note {not a sample}\n#\nx 1").unwrap();
        assert_eq!(samples.len(), 1);
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        for (text, line, needle) in [
            ("ok 1\nbad line here", 2, "not a number"),
            ("x{a=\"1\" 2", 1, "expected ',' or '}'"),
            ("x{a=\"1} 2", 1, "unterminated"),
            ("x{a=1} 2", 1, "expected '\"'"),
            ("x{a=\"1\",a=\"2\"} 2", 1, "given twice"),
            ("x", 1, "has no value"),
            ("x 1 2 3", 1, "unexpected text"),
            ("x 1 1.5", 1, "not an integer"),
            ("9x 1", 1, "expected a metric name"),
            ("x{0a=\"1\"} 1", 1, "expected a label name"),
            ("# TYPE x bogus", 1, "unknown metric type"),
            ("# TYPE", 1, "without a metric name"),
            ("x-y 1", 1, "unexpected character"),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
            assert!(
                error.reason.contains(needle),
                "{text:?}: expected {needle:?} in {:?}",
                error.reason
            );
        }
    }

    #[test]
    fn borrowed_unless_escaped() {
        let samples = parse("x{a=\"plain\",b=\"q\\\"\"} 1").unwrap();
        assert!(matches!(samples[0].labels[0].1, Cow::Borrowed(_)));
        assert!(matches!(samples[0].labels[1].1, Cow::Owned(_)));
    }
}
