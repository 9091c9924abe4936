//! Domain types that validate on construction: once parsed, a value is valid everywhere.

pub mod alert;
pub mod answer_json;
pub mod cardinality;
pub mod dashboard;
pub mod matcher;
pub mod point;
pub mod query;
pub mod series;
pub mod user;
pub mod whole_number;

pub use point::{Labels, MetricName, Point, PointError, PointLimits};
pub use query::{
    Aggregation, BatchQuery, BatchQueryRequest, DataPoint, GroupSeries, MatcherInput, QueryData,
    QueryError, QueryMeta, QueryRequest, QueryResult, QuerySpec, Step, TimeRange,
};
pub use series::SeriesKey;
pub use user::{Email, Role, User};
