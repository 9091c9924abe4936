//! JSON numbers that must be whole: `3` and `3.0` are the same integer in JSON Schema
//! (and in JavaScript, which sends what the UI computed), so both are accepted; `3.5`,
//! negatives and values past the type's range are refused with serde's own errors.

use serde::de::{Deserializer, Error, Unexpected, Visitor};

struct WholeU32;

impl Visitor<'_> for WholeU32 {
    type Value = u32;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a whole number from 0 to 4294967295")
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<u32, E> {
        if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
            Ok(v as u32)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }
}

/// For `#[serde(deserialize_with = "whole_number::u32")]`.
pub fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    deserializer.deserialize_any(WholeU32)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    struct P {
        #[serde(deserialize_with = "super::u32")]
        x: u32,
    }

    fn parse(text: &str) -> Result<u32, String> {
        serde_json::from_str::<P>(text)
            .map(|p| p.x)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integral_floats_are_integers_and_nothing_else_is() {
        assert_eq!(parse(r#"{"x": 3}"#), Ok(3));
        assert_eq!(parse(r#"{"x": 3.0}"#), Ok(3));
        assert_eq!(parse(r#"{"x": 4294967295}"#), Ok(u32::MAX));
        assert!(parse(r#"{"x": 3.5}"#).is_err());
        assert!(parse(r#"{"x": -1}"#).is_err());
        assert!(parse(r#"{"x": 4294967296}"#).is_err());
        assert!(parse(r#"{"x": "3"}"#).is_err());
    }
}
