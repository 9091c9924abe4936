//! Evaluator tests over hand-built series: no database.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Series `name{pairs}` with a sample every 10 s from 0 to 600 s, value f(i).
fn series(name: &str, pairs: &[(&str, &str)], f: impl Fn(i64) -> f64) -> Series {
    let mut l = labels(pairs);
    l.insert("__name__".into(), name.into());
    Series {
        labels: l,
        samples: (0..=60).map(|i| (i * 10_000, f(i))).collect(),
    }
}

fn store() -> Vec<Series> {
    vec![
        series("up", &[("job", "a"), ("instance", "1")], |_| 1.0),
        series("up", &[("job", "a"), ("instance", "2")], |_| 0.0),
        series("up", &[("job", "b"), ("instance", "3")], |_| 1.0),
        series("req_total", &[("job", "a"), ("instance", "1")], |i| {
            (i * 2) as f64
        }),
        series("req_total", &[("job", "b"), ("instance", "3")], |i| {
            (i % 30) as f64
        }),
        series("info", &[("job", "a"), ("version", "v1")], |_| 1.0),
        series("info", &[("job", "b"), ("version", "v2")], |_| 1.0),
    ]
}

fn params(start: i64, end: i64, step: i64) -> Params {
    Params {
        start_ms: start,
        end_ms: end,
        step_ms: step,
        lookback_ms: 300_000,
        subquery_step_ms: 60_000,
    }
}

/// Plans the query and fills each planned set from the in-memory store, as the
/// database fetch would.
fn fetched_for(expr: &promql_parser::parser::Expr, p: &Params) -> Fetched {
    Fetched::from_memory(plan::plan(expr, p).unwrap(), &store())
}

fn instant(q: &str, t: i64) -> Result<InstantResult, EvalError> {
    let expr = parse(q).unwrap();
    let p = params(t, t, 1);
    eval_instant(&expr, &fetched_for(&expr, &p), p, None)
}

fn vector(q: &str, t: i64) -> Vec<(Labels, f64)> {
    match instant(q, t).unwrap() {
        InstantResult::Vector(_, mut v) => {
            v.sort_by(|a, b| a.labels.cmp(&b.labels));
            v.into_iter().map(|s| (s.labels, s.value)).collect()
        }
        other => panic!("{q}: expected a vector, got {other:?}"),
    }
}

fn scalar(q: &str, t: i64) -> f64 {
    match instant(q, t).unwrap() {
        InstantResult::Scalar(_, v) => v,
        other => panic!("{q}: expected a scalar, got {other:?}"),
    }
}

#[test]
fn scalar_arithmetic() {
    assert_eq!(scalar("1+1", 0), 2.0);
    assert_eq!(scalar("2 ^ 3 * 2", 0), 16.0);
    assert_eq!(scalar("5 > bool 3", 0), 1.0);
    assert_eq!(scalar("time()", 42_000), 42.0);
}

#[test]
fn selectors_and_lookback() {
    assert_eq!(vector("up", 300_000).len(), 3);
    assert_eq!(
        vector("up{job=~\"a|b\", instance!=\"2\"}", 300_000).len(),
        2
    );
    // The last sample is at 600 s: visible up to 900 s, gone after.
    assert_eq!(vector("up", 900_000).len(), 3);
    assert!(vector("up", 900_001).is_empty());
    // Offset shifts the read back.
    assert_eq!(vector("req_total{job=\"a\"} offset 1m", 300_000)[0].1, 48.0);
    assert_eq!(vector("req_total{job=\"a\"} @ 100", 500_000)[0].1, 20.0);
}

#[test]
fn aggregations_group() {
    let v = vector("sum by (job) (up)", 300_000);
    assert_eq!(
        v,
        vec![
            (labels(&[("job", "a")]), 1.0),
            (labels(&[("job", "b")]), 1.0)
        ]
    );
    assert_eq!(vector("count without (instance) (up)", 300_000).len(), 2);
    assert_eq!(vector("topk(1, req_total)", 300_000)[0].1, 60.0);
    assert_eq!(vector("count_values(\"v\", up)", 300_000).len(), 2);
    assert_eq!(vector("quantile(0.5, up)", 300_000)[0].1, 1.0);
}

#[test]
fn rates_over_counters() {
    // A steady 2 per 10 s is 0.2/s, exactly, whatever the extrapolation.
    let v = vector("rate(req_total{job=\"a\"}[1m])", 300_000);
    assert!((v[0].1 - 0.2).abs() < 1e-12, "{v:?}");
    assert_eq!(v[0].0, labels(&[("instance", "1"), ("job", "a")]));
    // The reset at 300 s (29 -> 0) is counted once.
    assert_eq!(
        vector("resets(req_total{job=\"b\"}[2m])", 360_000)[0].1,
        1.0
    );
}

#[test]
fn vector_matching() {
    // group_left copies `version` from the one side.
    let v = vector("up * on(job) group_left(version) info", 300_000);
    assert_eq!(v.len(), 3);
    assert!(v
        .iter()
        .all(|(l, _)| l.contains_key("version") && !l.contains_key("__name__")));
    // Without group_left the many side is an error.
    assert!(matches!(
        instant("up * on(job) info", 300_000),
        Err(EvalError::Execution(_))
    ));
    assert_eq!(vector("up > 0", 300_000).len(), 2);
    assert_eq!(vector("up == bool 0", 300_000).len(), 3);
    assert_eq!(vector("up and on(instance) req_total", 300_000).len(), 2);
    assert_eq!(vector("up unless on(instance) req_total", 300_000).len(), 1);
    assert_eq!(vector("req_total or up", 300_000).len(), 3);
}

#[test]
fn functions_and_labels() {
    let v = vector(
        "label_replace(up, \"host\", \"h-$1\", \"instance\", \"(.*)\")",
        0,
    );
    assert!(v.iter().all(|(l, _)| l["host"].starts_with("h-")));
    assert_eq!(
        vector("absent(nope{job=\"x\"})", 0),
        vec![(labels(&[("job", "x")]), 1.0)]
    );
    assert!(vector("absent(up)", 0).is_empty());
    assert_eq!(vector("clamp_max(req_total, 5)", 300_000)[0].1, 5.0);
    assert_eq!(
        vector("max_over_time(req_total{job=\"b\"}[5m])", 300_000)[0].1,
        29.0
    );
    // A 2-minute subquery at 1-minute steps holds 3 inner points.
    assert_eq!(
        vector("count_over_time(up{instance=\"1\"}[2m:1m])", 300_000)[0].1,
        3.0
    );
}

#[test]
fn range_queries_merge_steps() {
    let expr = parse("sum(up)").unwrap();
    let p = params(0, 120_000, 60_000);
    let m = eval_range(&expr, &fetched_for(&expr, &p), p, None).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].samples, vec![(0, 2.0), (60_000, 2.0), (120_000, 2.0)]);
}

#[test]
fn unsupported_is_refused_not_answered() {
    let expr = parse("limitk(1, up)").unwrap();
    assert!(matches!(
        plan::plan(&expr, &params(0, 0, 1)),
        Err(EvalError::Unsupported(_))
    ));
}

/// The series-by-series path answers exactly what step-by-step evaluation answers.
#[test]
fn stepwise_range_queries_equal_step_by_step_evaluation() {
    let queries = [
        "avg(avg_over_time(req_total[1m]))",
        "sum by (job) (rate(req_total[2m]))",
        "count without (instance) (increase(up[90s]))",
        "max(max_over_time(req_total[35s] offset 1m))",
        "min by (job) (delta(req_total[1m] @ 300))",
        "stddev(irate(req_total[1m]))",
        "rate(req_total[1m])",
        "last_over_time(up[20s])",
        "(sum(resets((req_total[3m]))))",
        "group by (job) (changes(up[5m]))",
        "sum(rate(req_total[15s]))",
    ];
    for q in queries {
        for (start, end, step) in [
            (0, 600_000, 15_000),
            (-60_000, 700_000, 7_000),
            (120_000, 120_000, 1),
        ] {
            let expr = parse(q).unwrap();
            let p = params(start, end, step);
            let fetched = fetched_for(&expr, &p);
            let ev = Evaluator::new(&fetched, p, None);
            let fast = stepwise::eval_range(&ev, &expr)
                .unwrap_or_else(|| panic!("{q} takes the series-by-series path"))
                .unwrap();
            let general = eval_steps(&ev, &expr).unwrap();
            assert!(!general.is_empty(), "{q}: the comparison needs an answer");
            assert_eq!(fast.len(), general.len(), "{q} at {start}..{end}/{step}");
            for (f, g) in fast.iter().zip(&general) {
                assert_eq!(f.labels, g.labels, "{q}");
                let bits = |s: &Series| -> Vec<(i64, u64)> {
                    s.samples.iter().map(|(t, v)| (*t, v.to_bits())).collect()
                };
                assert_eq!(bits(f), bits(g), "{q} at {start}..{end}/{step}");
            }
        }
    }
}

/// Shapes it does not evaluate, and results that would collide on their labels, are
/// left to the general path.
#[test]
fn stepwise_declines_other_shapes() {
    for q in [
        "quantile_over_time(0.5, up[1m])",
        "topk(1, rate(req_total[1m]))",
        "sum(rate(req_total[1m])) / 2",
        "rate({job=\"a\"}[1m])",
    ] {
        let expr = parse(q).unwrap();
        let p = params(0, 600_000, 15_000);
        let fetched = fetched_for(&expr, &p);
        let ev = Evaluator::new(&fetched, p, None);
        assert!(stepwise::eval_range(&ev, &expr).is_none(), "{q}");
    }
}
