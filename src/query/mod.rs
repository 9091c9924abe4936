//! The query engine's pure core: the planner (tier choice, segments, and the cost of
//! blocks against rollups), the partial aggregate every tier yields and every reader
//! merges, and the bucketing of raw samples.
//!
//! SQL stays in `store`; this module turns what the store returns into answers.

pub mod cached_part;
pub mod cost;
pub mod partial;
pub mod planner;
pub mod raw_buckets;
