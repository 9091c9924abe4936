//! The mergeable per-bucket aggregate every tier produces and every reader merges.
//!
//! min, max and count merge exactly whatever the order; sums merge in the order the
//! partials arrive, so two tiers answering the same bucket may differ in the last bits
//! of a sum, never in anything else.

use crate::model::Aggregation;

/// min, max, sum and count of the samples of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Partial {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
}

impl Partial {
    /// No sample: the identity of [`Partial::merge`].
    pub const EMPTY: Partial = Partial {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sum: 0.0,
        count: 0,
    };

    /// The partial of one sample.
    pub fn of(value: f64) -> Partial {
        Partial {
            min: value,
            max: value,
            sum: value,
            count: 1,
        }
    }

    /// Adds one sample. `f64::min`/`max` ignore NaN as PostgreSQL's `min`/`max` on
    /// double precision do not; the stored points never hold NaN (ingest refuses it).
    #[inline]
    pub fn add(&mut self, value: f64) {
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += value;
        self.count += 1;
    }

    #[inline]
    pub fn merge(&mut self, other: Partial) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The final value of a rollup-answerable aggregation (anything else: the mean).
    pub fn value(&self, aggregation: Aggregation) -> f64 {
        match aggregation {
            Aggregation::Min => self.min,
            Aggregation::Max => self.max,
            Aggregation::Sum => self.sum,
            Aggregation::Count => self.count as f64,
            _ => self.sum / self.count as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partials_merge_exactly_and_empty_is_the_identity() {
        let mut a = Partial {
            min: 1.0,
            max: 5.0,
            sum: 6.0,
            count: 2,
        };
        a.merge(Partial {
            min: 0.5,
            max: 2.0,
            sum: 3.0,
            count: 4,
        });
        assert_eq!(
            a,
            Partial {
                min: 0.5,
                max: 5.0,
                sum: 9.0,
                count: 6
            }
        );
        assert_eq!(a.value(Aggregation::Avg), 1.5);
        assert_eq!(a.value(Aggregation::Count), 6.0);
        let mut e = Partial::EMPTY;
        assert!(e.is_empty());
        e.merge(a);
        assert_eq!(e, a);
        let mut one = Partial::EMPTY;
        one.add(-2.5);
        assert_eq!(one, Partial::of(-2.5));
    }
}
