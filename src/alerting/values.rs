//! From shared window data to one value per alert instance.
//!
//! The supervisor reads, per distinct window, the exact partials (min, max, sum,
//! count) of every series of every metric its rules use, in one statement for all of
//! them. Each rule then filters those series by its tags, groups them by its
//! `groupBy` keys and merges the partials here: a thousand rules on one metric cost one
//! database round trip per tick, not a thousand.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Aggregation, Labels};
use crate::query::partial::Partial;

/// The partials of one series over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesWindow {
    pub labels: Labels,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
}

/// Series partials by metric name, for one window ending at `end_ms`, and the merged
/// groups of the query shapes the rules share ([`WindowData::share_groups`]).
#[derive(Debug, Clone, Default)]
pub struct WindowData {
    pub end_ms: i64,
    pub by_metric: HashMap<String, Vec<SeriesWindow>>,
    pub grouped: HashMap<QueryShape, Groups>,
}

/// What a rule's series selection and grouping depend on: rules with the same shape
/// (whatever their aggregation, condition or threshold) read the same merged groups.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryShape {
    pub metric: String,
    pub tags: Labels,
    pub group_by: Vec<String>,
}

impl QueryShape {
    pub fn new(metric: &str, tags: &Labels, group_by: &[String]) -> QueryShape {
        QueryShape {
            metric: metric.to_string(),
            tags: tags.clone(),
            group_by: group_by.to_vec(),
        }
    }
}

/// min, max, sum and count per instance (the labels of the group_by keys).
pub type Groups = BTreeMap<Labels, Partial>;

impl WindowData {
    /// Merges the series of each shape once, so the thousand rules of one shape each
    /// only pick their aggregation from the groups instead of walking every series.
    pub fn share_groups(&mut self, shapes: impl IntoIterator<Item = QueryShape>) {
        for shape in shapes {
            if !self.grouped.contains_key(&shape) {
                let groups = merge_groups(self, &shape.metric, &shape.tags, &shape.group_by);
                self.grouped.insert(shape, groups);
            }
        }
    }
}

/// The canonical identity of an instance's labels (stable across processes).
pub fn instance_key(labels: &Labels) -> String {
    serde_json::to_string(labels).expect("labels serialise")
}

fn merge_groups(data: &WindowData, metric: &str, tags: &Labels, group_by: &[String]) -> Groups {
    let mut merged = Groups::new();
    for series in data.by_metric.get(metric).into_iter().flatten() {
        if series.count == 0 || !tags.iter().all(|(k, v)| series.labels.get(k) == Some(v)) {
            continue;
        }
        let key: Labels = group_by
            .iter()
            .filter_map(|k| series.labels.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        merged.entry(key).or_insert(Partial::EMPTY).merge(Partial {
            min: series.min,
            max: series.max,
            sum: series.sum,
            count: series.count,
        });
    }
    merged
}

/// One value per instance (the labels of its `group_by` keys; `{}` without groupBy)
/// from the series of `metric` whose labels contain `tags`. Instances without points
/// do not appear.
pub fn instance_values(
    data: &WindowData,
    metric: &str,
    tags: &Labels,
    group_by: &[String],
    aggregation: Aggregation,
) -> BTreeMap<Labels, f64> {
    let shape = QueryShape::new(metric, tags, group_by);
    let merged_here;
    let merged = match data.grouped.get(&shape) {
        Some(groups) => groups,
        None => {
            merged_here = merge_groups(data, metric, tags, group_by);
            &merged_here
        }
    };
    merged
        .iter()
        .map(|(labels, partial)| (labels.clone(), partial.value(aggregation)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(host: &str, dc: &str, values: &[f64]) -> SeriesWindow {
        let mut labels = Labels::new();
        labels.insert("host".into(), host.into());
        labels.insert("dc".into(), dc.into());
        SeriesWindow {
            labels,
            min: values.iter().cloned().fold(f64::INFINITY, f64::min),
            max: values.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            sum: values.iter().sum(),
            count: values.len() as i64,
        }
    }

    fn data() -> WindowData {
        let mut by_metric = HashMap::new();
        by_metric.insert(
            "cpu".to_string(),
            vec![
                series("a", "x", &[1.0, 3.0]),
                series("b", "x", &[10.0]),
                series("c", "y", &[7.0]),
            ],
        );
        WindowData {
            end_ms: 0,
            by_metric,
            ..Default::default()
        }
    }

    #[test]
    fn averages_are_exact_over_points_not_series() {
        let v = instance_values(&data(), "cpu", &Labels::new(), &[], Aggregation::Avg);
        assert_eq!(v.get(&Labels::new()), Some(&(21.0 / 4.0)));
        let v = instance_values(&data(), "cpu", &Labels::new(), &[], Aggregation::Count);
        assert_eq!(v.get(&Labels::new()), Some(&4.0));
    }

    #[test]
    fn shared_groups_give_the_same_values_as_walking_the_series() {
        let mut tags = Labels::new();
        tags.insert("dc".into(), "x".into());
        let mut shared = data();
        shared.share_groups([QueryShape {
            metric: "cpu".into(),
            tags: tags.clone(),
            group_by: vec!["host".into()],
        }]);
        assert_eq!(shared.grouped.len(), 1);
        for aggregation in [
            Aggregation::Avg,
            Aggregation::Min,
            Aggregation::Max,
            Aggregation::Sum,
            Aggregation::Count,
        ] {
            let by_host = ["host".to_string()];
            assert_eq!(
                instance_values(&shared, "cpu", &tags, &by_host, aggregation),
                instance_values(&data(), "cpu", &tags, &by_host, aggregation),
            );
        }
    }

    #[test]
    fn tags_filter_and_group_by_splits() {
        let mut tags = Labels::new();
        tags.insert("dc".into(), "x".into());
        let v = instance_values(&data(), "cpu", &tags, &["host".into()], Aggregation::Max);
        assert_eq!(v.len(), 2);
        let mut a = Labels::new();
        a.insert("host".into(), "a".into());
        assert_eq!(v[&a], 3.0);
        assert!(instance_values(&data(), "mem", &Labels::new(), &[], Aggregation::Avg).is_empty());
    }
}
