//! Decoder for the InfluxDB line protocol, as Telegraf and Influx clients send it:
//! `measurement[,tag=value...] field=value[,field=value...] [timestamp]`.
//!
//! Each numeric field becomes one point named `{measurement}_{field}` (the naming
//! VictoriaMetrics uses), with the line's tags as Vigil tags, checked by the same
//! [`PointLimits`] as JSON ingest. Floats, integers (`1i`), unsigned integers (`1u`)
//! and booleans (stored as 1 and 0) are numeric; string fields are skipped and
//! counted, since Vigil stores numbers only. A line that does not parse is rejected
//! by its number (1-based), and the other lines are still decoded.

use crate::model::{Labels, PointLimits};
use crate::protocol::json::{DecodeError, Decoded, Rejection};

/// The unit of the timestamps in a request (`precision=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
}

impl Precision {
    /// Accepts the spellings of both APIs: v1 `n u ms s m h`, v2 `ns us ms s`.
    pub fn parse(raw: &str) -> Option<Precision> {
        Some(match raw {
            "" | "n" | "ns" => Precision::Nanoseconds,
            "u" | "us" | "µ" | "µs" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            _ => return None,
        })
    }

    /// The timestamp in milliseconds (sub-millisecond parts are cut, rounding down).
    fn to_millis(self, t: i64) -> Option<i64> {
        match self {
            Precision::Nanoseconds => Some(t.div_euclid(1_000_000)),
            Precision::Microseconds => Some(t.div_euclid(1_000)),
            Precision::Milliseconds => Some(t),
            Precision::Seconds => t.checked_mul(1_000),
            Precision::Minutes => t.checked_mul(60_000),
            Precision::Hours => t.checked_mul(3_600_000),
        }
    }
}

/// What a request held.
#[derive(Debug, Default)]
pub struct Lines {
    /// Valid points; rejected lines with `index` = the line number.
    pub decoded: Decoded,
    /// Lines that held at least one field (comments and blank lines not counted).
    pub lines: usize,
    /// String fields, which Vigil does not store.
    pub string_fields: usize,
}

/// Decodes every line of `body`. `db` (the v1 `db` or v2 `bucket` parameter) becomes
/// the tag `db` unless the line has its own.
pub fn decode_lines(
    body: &[u8],
    precision: Precision,
    db: Option<&str>,
    limits: &PointLimits,
    max_points: usize,
) -> Result<Lines, DecodeError> {
    let mut out = Lines {
        decoded: Decoded {
            all_timestamped: true,
            ..Decoded::default()
        },
        ..Lines::default()
    };
    for (n, raw) in body.split(|&b| b == b'\n').enumerate() {
        let number = n + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let reject = |out: &mut Lines, reason: String| {
            out.decoded.rejected.push(Rejection {
                index: number,
                reason,
            })
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            reject(&mut out, "line is not UTF-8".into());
            continue;
        };
        let text = text.trim_start();
        if text.trim_end().is_empty() || text.starts_with('#') {
            continue;
        }
        out.lines += 1;
        let line = match parse_line(text) {
            Ok(line) => line,
            Err(reason) => {
                reject(&mut out, reason);
                continue;
            }
        };
        let timestamp = match line.timestamp {
            None => {
                out.decoded.all_timestamped = false;
                None
            }
            Some(t) => match precision.to_millis(t) {
                Some(ms) => Some(ms),
                None => {
                    reject(&mut out, format!("timestamp {t} is out of range"));
                    continue;
                }
            },
        };
        let mut tags: Labels = line.tags.into_iter().collect();
        if let Some(db) = db.filter(|db| !db.is_empty()) {
            tags.entry("db".into()).or_insert_with(|| db.to_string());
        }
        let mut reasons = Vec::new();
        for (field, value) in line.fields {
            let value = match value {
                FieldValue::Number(v) => v,
                FieldValue::Text => {
                    out.string_fields += 1;
                    continue;
                }
            };
            if out.decoded.points.len() == max_points {
                return Err(DecodeError::TooManyPoints { max: max_points });
            }
            let name = format!("{}_{}", line.measurement, field);
            match limits.check(&name, value, Some(tags.clone()), timestamp) {
                Ok(point) => out.decoded.points.push(point),
                Err(e) => reasons.push(format!("field {field:?}: {}", e.0)),
            }
        }
        if !reasons.is_empty() {
            reject(&mut out, reasons.join("; "));
        }
    }
    Ok(out)
}

enum FieldValue {
    Number(f64),
    Text,
}

struct Line {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, FieldValue)>,
    timestamp: Option<i64>,
}

fn parse_line(text: &str) -> Result<Line, String> {
    let mut cursor = Cursor { rest: text };
    let measurement = cursor.take_until(&[',', ' '], &[',', ' ']);
    if measurement.is_empty() {
        return Err("missing measurement".into());
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    while cursor.eat(',') {
        let key = cursor.take_until(&['=', ',', ' '], TAG_ESCAPES);
        if !cursor.eat('=') || key.is_empty() {
            return Err(format!("tag {key:?} has no value (expected key=value)"));
        }
        let value = cursor.take_until(&[',', ' '], TAG_ESCAPES);
        if value.is_empty() {
            return Err(format!("tag {key:?} has an empty value"));
        }
        if tags.iter().any(|(k, _)| *k == key) {
            return Err(format!("tag {key:?} appears twice"));
        }
        tags.push((key, value));
    }
    if !cursor.eat(' ') {
        return Err("expected a space before the fields".into());
    }
    let mut fields = Vec::new();
    loop {
        let key = cursor.take_until(&['=', ',', ' '], TAG_ESCAPES);
        if key.is_empty() || !cursor.eat('=') {
            return Err(format!("field {key:?} has no value (expected key=value)"));
        }
        let value = cursor
            .field_value()
            .map_err(|e| format!("field {key:?}: {e}"))?;
        fields.push((key, value));
        if !cursor.eat(',') {
            break;
        }
    }
    let timestamp = match cursor.rest.trim() {
        "" => None,
        rest if cursor.rest.starts_with(' ') => Some(
            rest.parse::<i64>()
                .map_err(|_| format!("timestamp {rest:?} is not an integer"))?,
        ),
        rest => return Err(format!("unexpected text after the fields: {rest:?}")),
    };
    Ok(Line {
        measurement,
        tags,
        fields,
        timestamp,
    })
}

const TAG_ESCAPES: &[char] = &[',', '=', ' '];

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// Reads up to the first unescaped `stop`; `\x` for x in `escapes` (or `\\`) is x,
    /// any other backslash is literal.
    fn take_until(&mut self, stop: &[char], escapes: &[char]) -> String {
        let mut out = String::new();
        let mut chars = self.rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                if let Some(&(_, next)) = chars.peek() {
                    if escapes.contains(&next) || next == '\\' {
                        out.push(next);
                        chars.next();
                        continue;
                    }
                }
                out.push(c);
            } else if stop.contains(&c) {
                self.rest = &self.rest[i..];
                return out;
            } else {
                out.push(c);
            }
        }
        self.rest = "";
        out
    }

    fn field_value(&mut self) -> Result<FieldValue, String> {
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        self.rest = &quoted[i + 1..];
                        return Ok(FieldValue::Text);
                    }
                    _ => {}
                }
            }
            return Err("unterminated string value".into());
        }
        let end = self.rest.find([',', ' ']).unwrap_or(self.rest.len());
        let raw = &self.rest[..end];
        self.rest = &self.rest[end..];
        parse_number(raw).map(FieldValue::Number)
    }
}

fn parse_number(raw: &str) -> Result<f64, String> {
    match raw {
        "t" | "T" | "true" | "True" | "TRUE" => return Ok(1.0),
        "f" | "F" | "false" | "False" | "FALSE" => return Ok(0.0),
        "" => return Err("empty value".into()),
        _ => {}
    }
    if let Some(int) = raw.strip_suffix('i') {
        return int
            .parse::<i64>()
            .map(|v| v as f64)
            .map_err(|_| format!("{raw:?} is not a 64-bit integer"));
    }
    if let Some(uint) = raw.strip_suffix('u') {
        return uint
            .parse::<u64>()
            .map(|v| v as f64)
            .map_err(|_| format!("{raw:?} is not an unsigned 64-bit integer"));
    }
    // Rust also parses "inf" and "NaN", which line protocol does not allow.
    let valid = raw
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    match raw.parse::<f64>() {
        Ok(v) if valid => Ok(v),
        _ => Err(format!("{raw:?} is not a number, boolean or string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    const NOW: i64 = 1_700_000_000_000;

    fn limits() -> PointLimits {
        PointLimits::new(&Settings::default().ingest, NOW)
    }

    fn run(body: &str, precision: Precision) -> Lines {
        decode_lines(body.as_bytes(), precision, None, &limits(), 1000).unwrap()
    }

    fn points(lines: &Lines) -> Vec<(String, Vec<(String, String)>, i64, f64)> {
        lines
            .decoded
            .points
            .iter()
            .map(|p| {
                (
                    p.name.as_str().to_string(),
                    p.labels.clone().into_iter().collect(),
                    p.timestamp_ms,
                    p.value,
                )
            })
            .collect()
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn decodes_every_field_type() {
        let body = "cpu,host=a,region=eu usage_idle=99.5,count=3i,big=7u,up=true,down=F,note=\"hi, there\" 1700000000000000000\n";
        let out = run(body, Precision::Nanoseconds);
        assert!(
            out.decoded.rejected.is_empty(),
            "{:?}",
            out.decoded.rejected
        );
        let host = tags(&[("host", "a"), ("region", "eu")]);
        assert_eq!(
            points(&out),
            vec![
                ("cpu_usage_idle".into(), host.clone(), NOW, 99.5),
                ("cpu_count".into(), host.clone(), NOW, 3.0),
                ("cpu_big".into(), host.clone(), NOW, 7.0),
                ("cpu_up".into(), host.clone(), NOW, 1.0),
                ("cpu_down".into(), host, NOW, 0.0),
            ]
        );
        assert_eq!(out.string_fields, 1);
        assert_eq!(out.lines, 1);
        assert!(out.decoded.all_timestamped);
    }

    #[test]
    fn unescapes_names_tags_and_strings() {
        let body =
            r#"disk\ io,path=/var\,log,dev\=name=a\ b read\ ops=1,msg="say \"x\" \\" 1700000000"#;
        // The escapes parse, and "disk io_read ops" then fails Vigil's name rule.
        let out = run(body, Precision::Seconds);
        assert_eq!(out.decoded.rejected.len(), 1, "{:?}", out.decoded.rejected);
        assert!(out.decoded.rejected[0]
            .reason
            .contains("\"disk io_read ops\""));
        assert_eq!(out.string_fields, 1);
        let body2 = r#"disk_io,path=/var\,log,host=a\ b\=c,odd=c\d reads=1 1700000000"#;
        let out2 = run(body2, Precision::Seconds);
        assert_eq!(
            points(&out2),
            vec![(
                "disk_io_reads".into(),
                tags(&[("host", "a b=c"), ("odd", "c\\d"), ("path", "/var,log")]),
                NOW,
                1.0
            )]
        );
        // An escaped `=` in a key parses, and then fails Vigil's tag key rule.
        let out3 = run(r#"m,dev\=name=a v=1"#, Precision::Seconds);
        assert!(
            out3.decoded.rejected[0].reason.contains("\"dev=name\""),
            "{:?}",
            out3.decoded.rejected
        );
    }

    #[test]
    fn converts_every_precision() {
        for (precision, ts) in [
            (Precision::Nanoseconds, "1700000000000000000"),
            (Precision::Microseconds, "1700000000000000"),
            (Precision::Milliseconds, "1700000000000"),
            (Precision::Seconds, "1700000000"),
        ] {
            let out = run(&format!("m v=1 {ts}"), precision);
            assert_eq!(out.decoded.points[0].timestamp_ms, NOW, "{precision:?}");
        }
        let minutes = run("m v=1 28333333", Precision::Minutes);
        assert_eq!(minutes.decoded.points[0].timestamp_ms, 28_333_333 * 60_000);
        let hours = run("m v=1 472222", Precision::Hours);
        assert_eq!(hours.decoded.points[0].timestamp_ms, 472_222 * 3_600_000);
        for (raw, want) in [
            ("n", Precision::Nanoseconds),
            ("us", Precision::Microseconds),
            ("h", Precision::Hours),
        ] {
            assert_eq!(Precision::parse(raw), Some(want));
        }
        assert_eq!(Precision::parse("d"), None);
    }

    #[test]
    fn missing_timestamps_mean_now() {
        let out = run("m v=1\n", Precision::Nanoseconds);
        assert_eq!(out.decoded.points[0].timestamp_ms, NOW);
        assert!(!out.decoded.all_timestamped);
    }

    #[test]
    fn a_bad_line_among_good_ones_is_rejected_by_number() {
        let body = "# comment\nm v=1 1700000000000\n\nbroken line here\nm,host= v=2\nm v=abc\nm v=1 12x\nm v=2 1700000000000\r\nm,a=1,a=2 v=1\nm v=\"open\n";
        let out = run(body, Precision::Milliseconds);
        assert_eq!(out.decoded.points.len(), 2);
        let lines: Vec<usize> = out.decoded.rejected.iter().map(|r| r.index).collect();
        assert_eq!(lines, [4, 5, 6, 7, 9, 10], "{:?}", out.decoded.rejected);
        assert_eq!(out.lines, 8);
    }

    #[test]
    fn db_becomes_a_tag_unless_the_line_has_one() {
        let out = decode_lines(
            b"m v=1\nm,db=own v=1",
            Precision::Nanoseconds,
            Some("telegraf"),
            &limits(),
            10,
        )
        .unwrap();
        assert_eq!(out.decoded.points[0].labels["db"], "telegraf");
        assert_eq!(out.decoded.points[1].labels["db"], "own");
    }

    #[test]
    fn rejects_non_utf8_lines_and_nan() {
        let mut body = b"m v=1 1700000000000\n".to_vec();
        body.extend_from_slice(b"m,h=\xff v=1\nm v=NaN\nm v=inf\n");
        let out = decode_lines(&body, Precision::Milliseconds, None, &limits(), 10).unwrap();
        assert_eq!(out.decoded.points.len(), 1);
        let lines: Vec<usize> = out.decoded.rejected.iter().map(|r| r.index).collect();
        assert_eq!(lines, [2, 3, 4]);
    }

    #[test]
    fn stops_at_the_point_limit() {
        let body = "m a=1,b=2,c=3\nm a=1,b=2,c=3\n";
        assert_eq!(
            decode_lines(body.as_bytes(), Precision::Nanoseconds, None, &limits(), 5).unwrap_err(),
            DecodeError::TooManyPoints { max: 5 }
        );
    }
}
