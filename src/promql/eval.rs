//! The evaluator: a parsed expression evaluated at one instant over series fetched
//! beforehand, with Prometheus 2.42's semantics (left-closed range windows, the
//! lookback for instant selectors, name dropping, vector matching). Pure: no I/O.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use promql_parser::parser::ast::{BinModifier, LabelModifier, VectorMatchCardinality};
use promql_parser::parser::token::{self, TokenId};
use promql_parser::parser::{BinaryExpr, Expr, SubqueryExpr, VectorSelector};

use super::plan::{at_ms, millis, offset_ms, selector_key, Params};
use super::value::{without_name, EvalError, Labels, Sample, Series, Value, NAME};
use super::{aggregate, functions};

/// Fetched series per selector key (see [`selector_key`]), samples in time order.
#[derive(Debug, Default, Clone)]
pub struct Fetched {
    pub sets: HashMap<String, Vec<Series>>,
}

impl Fetched {
    /// What the database fetch answers for `needs` when the series are held in
    /// memory: per need, the series its matchers select (a missing label reads as ""),
    /// trimmed to its closed range, empty ones left out. For the evaluator's tests and
    /// the fuzz target, which have no database.
    pub fn from_memory(needs: Vec<super::plan::Need>, store: &[Series]) -> Fetched {
        let mut fetched = Fetched::default();
        for need in needs {
            let sets = store
                .iter()
                .filter(|s| {
                    need.matchers
                        .iter()
                        .all(|m| m.matches(s.labels.get(&m.name).map_or("", String::as_str)))
                })
                .map(|s| Series {
                    labels: s.labels.clone(),
                    samples: s
                        .samples
                        .iter()
                        .copied()
                        .filter(|(t, _)| (need.start_ms..=need.end_ms).contains(t))
                        .collect(),
                })
                .filter(|s| !s.samples.is_empty())
                .collect();
            fetched.sets.insert(need.key, sets);
        }
        fetched
    }
}

/// Evaluates one expression at many instants over one [`Fetched`].
pub struct Evaluator<'a> {
    pub fetched: &'a Fetched,
    pub params: Params,
    pub deadline: Option<Instant>,
    /// Subquery inner results per (node, time): a range query's outer steps share
    /// most inner steps.
    subquery_cache: RefCell<HashMap<(usize, i64), Vec<Sample>>>,
}

impl<'a> Evaluator<'a> {
    pub fn new(fetched: &'a Fetched, params: Params, deadline: Option<Instant>) -> Self {
        Evaluator {
            fetched,
            params,
            deadline,
            subquery_cache: RefCell::new(HashMap::new()),
        }
    }

    pub fn check_deadline(&self) -> Result<(), EvalError> {
        match self.deadline {
            Some(d) if Instant::now() > d => Err(EvalError::Timeout),
            _ => Ok(()),
        }
    }

    /// The value of `expr` at `t` (ms).
    pub fn eval(&self, expr: &Expr, t: i64) -> Result<Value, EvalError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Value::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => Ok(match self.eval(&u.expr, t)? {
                Value::Scalar(v) => Value::Scalar(-v),
                Value::Vector(v) => Value::Vector(
                    v.into_iter()
                        .map(|s| Sample {
                            labels: without_name(s.labels),
                            value: -s.value,
                        })
                        .collect(),
                ),
                other => {
                    return Err(EvalError::Unsupported(format!(
                        "unary minus on a {}",
                        other.kind()
                    )))
                }
            }),
            Expr::VectorSelector(vs) => Ok(Value::Vector(
                self.instant(vs, t)
                    .into_iter()
                    .map(|(labels, _, value)| Sample { labels, value })
                    .collect(),
            )),
            Expr::MatrixSelector(ms) => {
                let reft = self.ref_time(&ms.vs.at, &ms.vs.offset, t);
                Ok(Value::Matrix(self.window(&ms.vs, reft, millis(&ms.range))))
            }
            Expr::Subquery(sq) => Ok(Value::Matrix(self.subquery(sq, t)?)),
            Expr::Aggregate(agg) => aggregate::eval(self, agg, t),
            Expr::Binary(b) => self.binary(b, t),
            Expr::Call(call) => functions::eval(self, call, t),
            Expr::Extension(_) => Err(EvalError::Unsupported(
                "extension expressions are not supported".into(),
            )),
        }
    }

    /// The time a selector or subquery reads at when evaluated at `t`.
    pub fn ref_time(
        &self,
        at: &Option<promql_parser::parser::ast::AtModifier>,
        offset: &Option<promql_parser::parser::ast::Offset>,
        t: i64,
    ) -> i64 {
        at_ms(at, &self.params).unwrap_or(t) - offset_ms(offset)
    }

    pub(super) fn series_of(&self, vs: &VectorSelector) -> &[Series] {
        self.fetched
            .sets
            .get(&selector_key(vs))
            .map_or(&[][..], Vec::as_slice)
    }

    /// Instant selection: per series, the newest sample at or before the reference
    /// time and no older than the lookback, as (labels, sample time, value).
    pub fn instant(&self, vs: &VectorSelector, t: i64) -> Vec<(Labels, i64, f64)> {
        let reft = self.ref_time(&vs.at, &vs.offset, t);
        let oldest = reft - self.params.lookback_ms;
        let mut out = Vec::new();
        for s in self.series_of(vs) {
            let idx = s.samples.partition_point(|(ts, _)| *ts <= reft);
            if idx > 0 {
                let (ts, v) = s.samples[idx - 1];
                if ts >= oldest {
                    out.push((s.labels.clone(), ts, v));
                }
            }
        }
        out
    }

    /// The samples of every series in `[reft - range, reft]`; series with none are left out.
    pub fn window(&self, vs: &VectorSelector, reft: i64, range: i64) -> Vec<Series> {
        let lo = reft - range;
        self.series_of(vs)
            .iter()
            .filter_map(|s| {
                let a = s.samples.partition_point(|(ts, _)| *ts < lo);
                let b = s.samples.partition_point(|(ts, _)| *ts <= reft);
                (b > a).then(|| Series {
                    labels: s.labels.clone(),
                    samples: s.samples[a..b].to_vec(),
                })
            })
            .collect()
    }

    /// The inner expression at every subquery step inside `[reft - range, reft]`, steps
    /// aligned to multiples of the step as Prometheus aligns them.
    pub fn subquery(&self, sq: &SubqueryExpr, t: i64) -> Result<Vec<Series>, EvalError> {
        let step = sq
            .step
            .as_ref()
            .map_or(self.params.subquery_step_ms, millis)
            .max(1);
        let reft = self.ref_time(&sq.at, &sq.offset, t);
        let lo = reft - millis(&sq.range);
        let mut ts = lo.div_euclid(step) * step;
        if ts < lo {
            ts += step;
        }
        let mut by_labels: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        let node = sq as *const SubqueryExpr as usize;
        while ts <= reft {
            self.check_deadline()?;
            let cached = self.subquery_cache.borrow().get(&(node, ts)).cloned();
            let samples = match cached {
                Some(s) => s,
                None => {
                    let s = match self.eval(&sq.expr, ts)? {
                        Value::Vector(v) => v,
                        Value::Scalar(v) => vec![Sample {
                            labels: Labels::new(),
                            value: v,
                        }],
                        other => {
                            return Err(EvalError::Unsupported(format!(
                                "subquery over a {}",
                                other.kind()
                            )))
                        }
                    };
                    self.subquery_cache
                        .borrow_mut()
                        .insert((node, ts), s.clone());
                    s
                }
            };
            for s in samples {
                by_labels.entry(s.labels).or_default().push((ts, s.value));
            }
            ts += step;
        }
        Ok(by_labels
            .into_iter()
            .map(|(labels, samples)| Series { labels, samples })
            .collect())
    }

    fn binary(&self, b: &BinaryExpr, t: i64) -> Result<Value, EvalError> {
        let op = b.op.id();
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs, t)?;
        let rhs = self.eval(&b.rhs, t)?;
        match (lhs, rhs) {
            (Value::Scalar(l), Value::Scalar(r)) => {
                let (v, keep) = elem_op(op, l, r)?;
                Ok(Value::Scalar(if is_comparison(op) {
                    f64::from(u8::from(keep))
                } else {
                    v
                }))
            }
            (Value::Vector(l), Value::Scalar(r)) => {
                Ok(Value::Vector(vector_scalar(op, l, r, false, return_bool)?))
            }
            (Value::Scalar(l), Value::Vector(r)) => {
                Ok(Value::Vector(vector_scalar(op, r, l, true, return_bool)?))
            }
            (Value::Vector(l), Value::Vector(r)) => {
                Ok(Value::Vector(vector_vector(op, l, r, b.modifier.as_ref())?))
            }
            (l, r) => Err(EvalError::Unsupported(format!(
                "binary operator between a {} and a {}",
                l.kind(),
                r.kind()
            ))),
        }
    }
}

pub fn is_comparison(op: TokenId) -> bool {
    matches!(
        op,
        token::T_EQLC | token::T_NEQ | token::T_LTE | token::T_LSS | token::T_GTE | token::T_GTR
    )
}

/// Arithmetic drops the metric name; Prometheus 2.42 keeps it for `atan2`.
fn drops_name(op: TokenId) -> bool {
    matches!(
        op,
        token::T_ADD | token::T_SUB | token::T_MUL | token::T_DIV | token::T_MOD | token::T_POW
    )
}

/// One operator on two values: the result and, for comparisons, whether it holds.
fn elem_op(op: TokenId, l: f64, r: f64) -> Result<(f64, bool), EvalError> {
    Ok(match op {
        token::T_ADD => (l + r, true),
        token::T_SUB => (l - r, true),
        token::T_MUL => (l * r, true),
        token::T_DIV => (l / r, true),
        token::T_MOD => (l % r, true),
        token::T_POW => (l.powf(r), true),
        token::T_ATAN2 => (l.atan2(r), true),
        token::T_EQLC => (l, l == r),
        token::T_NEQ => (l, l != r),
        token::T_GTR => (l, l > r),
        token::T_LSS => (l, l < r),
        token::T_GTE => (l, l >= r),
        token::T_LTE => (l, l <= r),
        other => {
            return Err(EvalError::Unsupported(format!(
                "operator {} is not supported here",
                token::TokenType::new(other)
            )))
        }
    })
}

fn vector_scalar(
    op: TokenId,
    vector: Vec<Sample>,
    scalar: f64,
    scalar_left: bool,
    return_bool: bool,
) -> Result<Vec<Sample>, EvalError> {
    let mut out = Vec::with_capacity(vector.len());
    for s in vector {
        let (l, r) = if scalar_left {
            (scalar, s.value)
        } else {
            (s.value, scalar)
        };
        let (mut value, mut keep) = elem_op(op, l, r)?;
        if is_comparison(op) && scalar_left {
            value = s.value;
        }
        if return_bool {
            value = f64::from(u8::from(keep));
            keep = true;
        }
        if keep {
            let labels = if drops_name(op) || return_bool {
                without_name(s.labels)
            } else {
                s.labels
            };
            out.push(Sample { labels, value });
        }
    }
    Ok(out)
}

/// The matching key of a label set under `on(...)`/`ignoring(...)` (the metric name
/// never takes part unless `on` lists it).
fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> Vec<(String, String)> {
    match matching {
        Some(LabelModifier::Include(on)) => on
            .labels
            .iter()
            .filter_map(|n| labels.get(n).map(|v| (n.clone(), v.clone())))
            .collect(),
        Some(LabelModifier::Exclude(ign)) => labels
            .iter()
            .filter(|(k, _)| k.as_str() != NAME && !ign.labels.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => labels
            .iter()
            .filter(|(k, _)| k.as_str() != NAME)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

fn vector_vector(
    op: TokenId,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    modifier: Option<&BinModifier>,
) -> Result<Vec<Sample>, EvalError> {
    let matching = modifier.and_then(|m| m.matching.as_ref());
    let card = modifier.map_or(VectorMatchCardinality::OneToOne, |m| m.card.clone());
    let return_bool = modifier.is_some_and(|m| m.return_bool);
    match op {
        token::T_LAND => {
            let right: std::collections::HashSet<_> =
                rhs.iter().map(|s| signature(&s.labels, matching)).collect();
            return Ok(lhs
                .into_iter()
                .filter(|s| right.contains(&signature(&s.labels, matching)))
                .collect());
        }
        token::T_LUNLESS => {
            let right: std::collections::HashSet<_> =
                rhs.iter().map(|s| signature(&s.labels, matching)).collect();
            return Ok(lhs
                .into_iter()
                .filter(|s| !right.contains(&signature(&s.labels, matching)))
                .collect());
        }
        token::T_LOR => {
            let left: std::collections::HashSet<_> =
                lhs.iter().map(|s| signature(&s.labels, matching)).collect();
            let mut out = lhs;
            out.extend(
                rhs.into_iter()
                    .filter(|s| !left.contains(&signature(&s.labels, matching))),
            );
            return Ok(out);
        }
        _ => {}
    }
    let (many, one, swapped) = match card {
        VectorMatchCardinality::OneToMany(_) => (rhs, lhs, true),
        _ => (lhs, rhs, false),
    };
    let mut one_side: HashMap<Vec<(String, String)>, Sample> = HashMap::new();
    for s in one {
        let sig = signature(&s.labels, matching);
        if one_side.contains_key(&sig) {
            let side = if swapped { "left" } else { "right" };
            return Err(EvalError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side",
                describe(&sig)
            )));
        }
        one_side.insert(sig, s);
    }
    let include = card.labels().map(|l| l.labels.clone()).unwrap_or_default();
    let mut matched: HashMap<Vec<(String, String)>, std::collections::HashSet<Labels>> =
        HashMap::new();
    let mut out = Vec::new();
    for s in many {
        let sig = signature(&s.labels, matching);
        let Some(other) = one_side.get(&sig) else {
            continue;
        };
        let (l, r) = if swapped {
            (other.value, s.value)
        } else {
            (s.value, other.value)
        };
        let (mut value, keep) = elem_op(op, l, r)?;
        if return_bool {
            value = f64::from(u8::from(keep));
        } else if !keep {
            continue;
        }
        let mut labels = s.labels.clone();
        if drops_name(op) || return_bool {
            labels.remove(NAME);
        }
        if matches!(card, VectorMatchCardinality::OneToOne) {
            match matching {
                Some(LabelModifier::Include(on)) => labels.retain(|k, _| on.labels.contains(k)),
                Some(LabelModifier::Exclude(ign)) => labels.retain(|k, _| !ign.labels.contains(k)),
                None => {}
            }
        }
        for name in &include {
            match other.labels.get(name) {
                Some(v) if !v.is_empty() => {
                    labels.insert(name.clone(), v.clone());
                }
                _ => {
                    labels.remove(name);
                }
            }
        }
        let seen = matched.entry(sig.clone()).or_default();
        if matches!(card, VectorMatchCardinality::OneToOne) {
            if !seen.is_empty() {
                return Err(EvalError::Execution(format!(
                    "multiple matches for labels {}: many-to-one matching must be explicit (group_left/group_right)",
                    describe(&sig)
                )));
            }
        } else if seen.contains(&labels) {
            return Err(EvalError::Execution(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        seen.insert(labels.clone());
        out.push(Sample { labels, value });
    }
    Ok(out)
}

fn describe(sig: &[(String, String)]) -> String {
    let inner: Vec<String> = sig.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Refuses a vector holding two samples with one label set, as Prometheus does after
/// an operation that dropped the names that told them apart.
pub fn check_unique(v: &[Sample]) -> Result<(), EvalError> {
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    for s in v {
        if !seen.insert(&s.labels) {
            return Err(EvalError::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(())
}
