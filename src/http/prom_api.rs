//! The Prometheus HTTP query API under `/prometheus/api/v1/`, so Grafana's stock
//! Prometheus data source (URL `http://vigil:8080/prometheus`) and `promtool` read from
//! Vigil: `query`, `query_range` (the PromQL engine in `crate::promql`), `series`,
//! `labels`, `label/{name}/values`, `metadata`, `status/buildinfo`, `rules`, `alerts`
//! and `query_exemplars`.
//!
//! Parameters come from the query string and, for POST, from a form body. Answers use
//! Prometheus' envelope (`status`, `data`, `errorType`, `error`), not Vigil's own, so
//! this file maps its errors itself ([`PromError`]) instead of through `error.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::ser::{SerializeTuple, Serializer};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Principal;
use super::AppState;
use crate::alerting::AlertState;
use crate::promql::fetch::{fetch, FetchError};
use crate::promql::value::{format_timestamp, format_value, NAME};
use crate::promql::{self, EvalError, InstantResult, Labels, Params, Series};
use crate::store::{alerts, catalog, selector};

/// The version `buildinfo` reports: Grafana treats 2.24.0 or later as supporting the
/// label-matching APIs and uses them instead of the slow `/series` path.
const REPORTED_VERSION: &str = "2.42.0";
/// Subquery step when a subquery gives none (Prometheus' default evaluation interval).
const SUBQUERY_STEP_MS: i64 = 60_000;

// ---------------------------------------------------------------------------------
// Envelope and errors.

/// `errorType` values and their statuses, as Prometheus' API maps them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PromErrorType {
    BadData,
    Execution,
    Timeout,
    Internal,
    NotFound,
    Unavailable,
}

impl PromErrorType {
    fn as_str(self) -> &'static str {
        match self {
            PromErrorType::BadData => "bad_data",
            PromErrorType::Execution => "execution",
            PromErrorType::Timeout => "timeout",
            PromErrorType::Internal => "internal",
            PromErrorType::NotFound => "not_found",
            PromErrorType::Unavailable => "unavailable",
        }
    }
}

/// An error in Prometheus' envelope.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PromError {
    pub kind: PromErrorType,
    pub message: String,
}

impl PromError {
    fn bad(message: impl Into<String>) -> PromError {
        PromError {
            kind: PromErrorType::BadData,
            message: message.into(),
        }
    }

    fn internal(cause: impl std::fmt::Display) -> PromError {
        tracing::error!(error = %cause, "Prometheus API request failed with an internal error.");
        PromError {
            kind: PromErrorType::Internal,
            message: "internal error".into(),
        }
    }
}

impl From<sqlx::Error> for PromError {
    fn from(e: sqlx::Error) -> PromError {
        if crate::store::is_transient(&e) {
            tracing::warn!(error = %e, "Prometheus API read failed; the database is unavailable.");
            PromError {
                kind: PromErrorType::Unavailable,
                message: "the database is unavailable; retry".into(),
            }
        } else {
            PromError::internal(e)
        }
    }
}

impl From<EvalError> for PromError {
    fn from(e: EvalError) -> PromError {
        let kind = match &e {
            EvalError::Unsupported(_) => PromErrorType::BadData,
            EvalError::Execution(_) | EvalError::TooManySamples => PromErrorType::Execution,
            EvalError::Timeout => PromErrorType::Timeout,
        };
        PromError {
            kind,
            message: e.to_string(),
        }
    }
}

impl From<FetchError> for PromError {
    fn from(e: FetchError) -> PromError {
        match e {
            FetchError::Eval(e) => e.into(),
            FetchError::Database(e) => e.into(),
        }
    }
}

/// `{"status":"error","errorType":…,"error":…}`.
#[derive(Serialize, ToSchema)]
pub struct PromErrorBody {
    #[schema(example = "error")]
    pub status: &'static str,
    #[serde(rename = "errorType")]
    #[schema(example = "bad_data")]
    pub error_type: &'static str,
    pub error: String,
}

impl ResponseError for PromError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            PromErrorType::BadData => StatusCode::BAD_REQUEST,
            PromErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            PromErrorType::Timeout | PromErrorType::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PromErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            PromErrorType::NotFound => StatusCode::NOT_FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(PromErrorBody {
            status: "error",
            error_type: self.kind.as_str(),
            error: self.message.clone(),
        })
    }
}

fn success<T: Serialize>(data: T) -> HttpResponse {
    #[derive(Serialize)]
    struct Envelope<T> {
        status: &'static str,
        data: T,
    }
    HttpResponse::Ok().json(Envelope {
        status: "success",
        data,
    })
}

/// `[<unix seconds>, "<value>"]`, both formatted as Prometheus formats them.
#[derive(Debug, Clone, Copy)]
pub struct PromPoint(pub i64, pub f64);

impl Serialize for PromPoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ts = serde_json::value::RawValue::from_string(format_timestamp(self.0))
            .map_err(serde::ser::Error::custom)?;
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&ts)?;
        t.serialize_element(&format_value(self.1))?;
        t.end()
    }
}

/// One element of a `vector` result.
#[derive(Serialize, ToSchema)]
pub struct VectorItem {
    pub metric: Labels,
    #[schema(value_type = Vec<Object>)]
    pub value: PromPoint,
}

/// One series of a `matrix` result.
#[derive(Serialize, ToSchema)]
pub struct MatrixItem {
    pub metric: Labels,
    #[schema(value_type = Vec<Vec<Object>>)]
    pub values: Vec<PromPoint>,
}

/// `result` by `resultType`.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ResultData {
    Scalar(PromPoint),
    String((serde_json::Value, String)),
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
}

/// `data` of `query` and `query_range`.
#[derive(Serialize, ToSchema)]
pub struct PromQueryData {
    /// matrix, vector, scalar or string.
    #[serde(rename = "resultType")]
    pub result_type: &'static str,
    #[schema(value_type = Object)]
    pub result: ResultData,
}

/// `{"status":"success","data":{"resultType":…,"result":…}}`.
#[derive(Serialize, ToSchema)]
pub struct PromQueryResponse {
    pub status: &'static str,
    pub data: PromQueryData,
}

/// `data` is a list of label sets (`series`).
#[derive(Serialize, ToSchema)]
pub struct PromSeriesResponse {
    pub status: &'static str,
    pub data: Vec<Labels>,
}

/// `data` is a list of strings (`labels`, `label/{name}/values`).
#[derive(Serialize, ToSchema)]
pub struct PromStringsResponse {
    pub status: &'static str,
    pub data: Vec<String>,
}

/// One metric's metadata.
#[derive(Serialize, ToSchema)]
pub struct MetadataEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// `data` maps metric name -> metadata entries.
#[derive(Serialize, ToSchema)]
pub struct PromMetadataResponse {
    pub status: &'static str,
    pub data: BTreeMap<String, Vec<MetadataEntry>>,
}

/// `status/buildinfo` data: a `version` and no `features` (which would make Grafana
/// take Vigil for Mimir).
#[derive(Serialize, ToSchema)]
pub struct BuildInfo {
    pub version: &'static str,
    pub revision: &'static str,
    pub branch: &'static str,
    #[serde(rename = "buildUser")]
    pub build_user: &'static str,
    #[serde(rename = "buildDate")]
    pub build_date: &'static str,
    #[serde(rename = "goVersion")]
    pub go_version: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct PromBuildInfoResponse {
    pub status: &'static str,
    pub data: BuildInfo,
}

/// A firing or pending alert instance in Prometheus' shape.
#[derive(Serialize, ToSchema)]
pub struct PromAlert {
    pub labels: Labels,
    pub annotations: Labels,
    /// pending or firing.
    pub state: &'static str,
    #[serde(rename = "activeAt", skip_serializing_if = "Option::is_none")]
    pub active_at: Option<String>,
    pub value: String,
}

/// One Vigil alert rule as a Prometheus alerting rule.
#[derive(Serialize, ToSchema)]
pub struct PromRule {
    pub name: String,
    /// What the rule watches, in Vigil's terms (Vigil rules are not PromQL).
    pub query: String,
    pub duration: f64,
    pub labels: Labels,
    pub annotations: Labels,
    pub alerts: Vec<PromAlert>,
    /// ok or err.
    pub health: &'static str,
    /// inactive, pending or firing.
    pub state: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct PromRuleGroup {
    pub name: String,
    pub file: String,
    pub rules: Vec<PromRule>,
    pub interval: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PromRuleGroups {
    pub groups: Vec<PromRuleGroup>,
}

#[derive(Serialize, ToSchema)]
pub struct PromRulesResponse {
    pub status: &'static str,
    pub data: PromRuleGroups,
}

#[derive(Serialize, ToSchema)]
pub struct PromAlertList {
    pub alerts: Vec<PromAlert>,
}

#[derive(Serialize, ToSchema)]
pub struct PromAlertsResponse {
    pub status: &'static str,
    pub data: PromAlertList,
}

/// `query_exemplars`: always an empty list (Vigil keeps no exemplars).
#[derive(Serialize, ToSchema)]
pub struct PromExemplarsResponse {
    pub status: &'static str,
    pub data: Vec<serde_json::Value>,
}

// ---------------------------------------------------------------------------------
// Parameters.

/// Query-string and form-body parameters, repeats kept (`match[]`).
struct Form(Vec<(String, String)>);

impl Form {
    fn of(req: &HttpRequest, body: &web::Bytes) -> Form {
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .collect();
        if req.method() == Method::POST {
            pairs.extend(url::form_urlencoded::parse(body).into_owned());
        }
        Form(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Unix seconds (fractions allowed) or RFC 3339, to ms.
pub fn parse_time(raw: &str) -> Result<i64, String> {
    if let Ok(secs) = raw.parse::<f64>() {
        if !secs.is_finite() {
            return Err(format!("cannot parse {raw:?} to a valid timestamp"));
        }
        return Ok((secs * 1000.0).round() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("cannot parse {raw:?} to a valid timestamp"))
}

/// Seconds (fractions allowed) or a Prometheus duration (`15s`, `1m30s`), to ms.
pub fn parse_duration(raw: &str) -> Result<i64, String> {
    if let Ok(secs) = raw.parse::<f64>() {
        if !secs.is_finite() || !(0.0..=9.2e15).contains(&secs) {
            return Err(format!("cannot parse {raw:?} to a valid duration"));
        }
        return Ok((secs * 1000.0).round() as i64);
    }
    promql_parser::util::parse_duration(raw)
        .map(|d| d.as_millis() as i64)
        .map_err(|_| format!("cannot parse {raw:?} to a valid duration"))
}

fn time_param(form: &Form, name: &str, default: i64) -> Result<i64, PromError> {
    match form.get(name) {
        None | Some("") => Ok(default),
        Some(raw) => {
            parse_time(raw).map_err(|e| PromError::bad(format!("invalid parameter {name:?}: {e}")))
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn parse_query(form: &Form) -> Result<promql_parser::parser::Expr, PromError> {
    let query = form
        .get("query")
        .ok_or_else(|| PromError::bad("invalid parameter \"query\": query must not be empty"))?;
    promql::parse(query).map_err(|e| {
        // The parser knows only the functions Vigil could evaluate; one it does not
        // know is, to the client, an unsupported construct.
        match e.split("unknown function with name '").nth(1) {
            Some(rest) => PromError::bad(format!(
                "invalid parameter \"query\": function {}() is not supported",
                rest.trim_end_matches('\'')
            )),
            None => PromError::bad(format!("invalid parameter \"query\": parse error: {e}")),
        }
    })
}

/// The query timeout: the `timeout` parameter, never above `query.timeout`.
fn timeout_of(form: &Form, state: &AppState) -> Result<Duration, PromError> {
    let limit = state.settings.query.timeout;
    match form.get("timeout") {
        None | Some("") => Ok(limit),
        Some(raw) => {
            let ms = parse_duration(raw)
                .map_err(|e| PromError::bad(format!("invalid parameter \"timeout\": {e}")))?;
            Ok(Duration::from_millis(ms as u64).min(limit))
        }
    }
}

fn lookback_of(form: &Form, state: &AppState) -> Result<i64, PromError> {
    match form.get("lookback_delta") {
        None | Some("") => Ok(state.settings.query.lookback_delta.as_millis() as i64),
        Some(raw) => parse_duration(raw)
            .map_err(|e| PromError::bad(format!("invalid parameter \"lookback_delta\": {e}"))),
    }
}

// ---------------------------------------------------------------------------------
// Evaluation.

enum Outcome {
    Instant(InstantResult),
    Range(Vec<Series>),
}

/// Plans, fetches (async, on the pool) and evaluates (on a blocking thread, since a
/// wide query is CPU work) one expression, all inside the timeout.
async fn run(
    state: &AppState,
    expr: promql_parser::parser::Expr,
    params: Params,
    timeout: Duration,
    range: bool,
) -> Result<Outcome, PromError> {
    let deadline = Instant::now() + timeout;
    let needs = promql::plan::plan(&expr, &params)?;
    let q = &state.settings.query;
    let fetched = tokio::time::timeout(
        timeout,
        fetch(
            &state.pg,
            &needs,
            q.max_samples as usize,
            q.max_selector_series as usize,
        ),
    )
    .await
    .map_err(|_| PromError::from(EvalError::Timeout))??;
    let outcome = web::block(move || {
        if range {
            promql::eval_range(&expr, &fetched, params, Some(deadline)).map(Outcome::Range)
        } else {
            promql::eval_instant(&expr, &fetched, params, Some(deadline)).map(Outcome::Instant)
        }
    })
    .await
    .map_err(PromError::internal)??;
    Ok(outcome)
}

fn matrix(series: Vec<Series>) -> Vec<MatrixItem> {
    series
        .into_iter()
        .map(|s| MatrixItem {
            metric: s.labels,
            values: s
                .samples
                .into_iter()
                .map(|(t, v)| PromPoint(t, v))
                .collect(),
        })
        .collect()
}

fn query_response(outcome: Outcome) -> HttpResponse {
    let (result_type, result) = match outcome {
        Outcome::Range(series) => ("matrix", ResultData::Matrix(matrix(series))),
        Outcome::Instant(InstantResult::Matrix(series)) => {
            ("matrix", ResultData::Matrix(matrix(series)))
        }
        Outcome::Instant(InstantResult::Scalar(t, v)) => {
            ("scalar", ResultData::Scalar(PromPoint(t, v)))
        }
        Outcome::Instant(InstantResult::String(t, s)) => {
            let ts = serde_json::from_str(&format_timestamp(t)).unwrap_or_default();
            ("string", ResultData::String((ts, s)))
        }
        Outcome::Instant(InstantResult::Vector(t, v)) => (
            "vector",
            ResultData::Vector(
                v.into_iter()
                    .map(|s| VectorItem {
                        metric: s.labels,
                        value: PromPoint(t, s.value),
                    })
                    .collect(),
            ),
        ),
    };
    success(PromQueryData {
        result_type,
        result,
    })
}

#[utoipa::path(get, path = "/prometheus/api/v1/query", tag = "prometheus", operation_id = "prom_query",
    params(
        ("query" = String, Query, description = "PromQL expression"),
        ("time" = Option<String>, Query, description = "Evaluation time: Unix seconds or RFC 3339; default now"),
        ("timeout" = Option<String>, Query, description = "At most query.timeout"),
    ),
    responses(
        (status = 200, description = "vector, scalar, string or matrix", body = PromQueryResponse),
        (status = 400, description = "bad_data: parse error, bad parameter or unsupported construct", body = PromErrorBody),
        (status = 422, description = "execution: e.g. query.max_samples exceeded", body = PromErrorBody),
        (status = 503, description = "timeout, or the database is unavailable", body = PromErrorBody),
    ))]
pub async fn query(
    _principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PromError> {
    let form = Form::of(&req, &body);
    let expr = parse_query(&form)?;
    let t = time_param(&form, "time", now_ms())?;
    let params = Params {
        start_ms: t,
        end_ms: t,
        step_ms: 1,
        lookback_ms: lookback_of(&form, &state)?,
        subquery_step_ms: SUBQUERY_STEP_MS,
    };
    let timeout = timeout_of(&form, &state)?;
    Ok(query_response(
        run(&state, expr, params, timeout, false).await?,
    ))
}

#[utoipa::path(get, path = "/prometheus/api/v1/query_range", tag = "prometheus", operation_id = "prom_query_range",
    params(
        ("query" = String, Query, description = "PromQL expression"),
        ("start" = String, Query, description = "Unix seconds or RFC 3339"),
        ("end" = String, Query, description = "Unix seconds or RFC 3339"),
        ("step" = String, Query, description = "Seconds or a duration such as 15s"),
        ("timeout" = Option<String>, Query, description = "At most query.timeout"),
    ),
    responses(
        (status = 200, description = "Always a matrix", body = PromQueryResponse),
        (status = 400, description = "bad_data, including more than query.max_buckets points per series", body = PromErrorBody),
        (status = 422, description = "execution", body = PromErrorBody),
        (status = 503, description = "timeout, or the database is unavailable", body = PromErrorBody),
    ))]
pub async fn query_range(
    _principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PromError> {
    let form = Form::of(&req, &body);
    let expr = parse_query(&form)?;
    let required = |name: &str| {
        form.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| PromError::bad(format!("invalid parameter {name:?}: missing")))
    };
    let start = parse_time(required("start")?)
        .map_err(|e| PromError::bad(format!("invalid parameter \"start\": {e}")))?;
    let end = parse_time(required("end")?)
        .map_err(|e| PromError::bad(format!("invalid parameter \"end\": {e}")))?;
    if end < start {
        return Err(PromError::bad(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step = parse_duration(required("step")?)
        .map_err(|e| PromError::bad(format!("invalid parameter \"step\": {e}")))?;
    if step <= 0 {
        return Err(PromError::bad(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    let max_points = i64::from(state.settings.query.max_buckets);
    if (end - start) / step > max_points {
        return Err(PromError::bad(format!(
            "exceeded maximum resolution of {max_points} points per timeseries. Try decreasing the query resolution (?step=XX)"
        )));
    }
    let params = Params {
        start_ms: start,
        end_ms: end,
        step_ms: step,
        lookback_ms: lookback_of(&form, &state)?,
        subquery_step_ms: SUBQUERY_STEP_MS,
    };
    let timeout = timeout_of(&form, &state)?;
    Ok(query_response(
        run(&state, expr, params, timeout, true).await?,
    ))
}

// ---------------------------------------------------------------------------------
// Series and labels.

/// The series every `match[]` selects, de-duplicated, as full label sets.
async fn matched_series(state: &AppState, form: &Form) -> Result<Vec<Labels>, PromError> {
    let mut out: BTreeSet<Labels> = BTreeSet::new();
    let limit = state.settings.query.max_selector_series as usize;
    for raw in form.all("match[]") {
        let expr = promql::parse(raw)
            .map_err(|e| PromError::bad(format!("invalid parameter \"match[]\": {e}")))?;
        let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
            return Err(PromError::bad(format!(
                "invalid parameter \"match[]\": {raw:?} is not a series selector"
            )));
        };
        let matchers = promql::plan::matchers_of(&vs)?;
        let selection = selector::select_series(&state.pg, &matchers, limit).await?;
        for s in selection.series {
            let mut labels = s.labels;
            labels.insert(NAME.to_string(), s.metric);
            out.insert(labels);
        }
    }
    Ok(out.into_iter().collect())
}

fn limit_of(form: &Form) -> Result<Option<usize>, PromError> {
    match form.get("limit") {
        None | Some("") | Some("0") => Ok(None),
        Some(raw) => raw
            .parse::<usize>()
            .map(Some)
            .map_err(|_| PromError::bad(format!("invalid parameter \"limit\": {raw:?}"))),
    }
}

fn limited<T>(mut v: Vec<T>, limit: Option<usize>) -> Vec<T> {
    if let Some(n) = limit {
        v.truncate(n);
    }
    v
}

#[utoipa::path(get, path = "/prometheus/api/v1/series", tag = "prometheus", operation_id = "prom_series",
    params(("match[]" = Vec<String>, Query, description = "Series selectors, at least one")),
    responses(
        (status = 200, description = "Label sets of the matching series", body = PromSeriesResponse),
        (status = 400, description = "bad_data", body = PromErrorBody),
    ))]
pub async fn series(
    _principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PromError> {
    let form = Form::of(&req, &body);
    if form.all("match[]").is_empty() {
        return Err(PromError::bad("no match[] parameter provided"));
    }
    let found = matched_series(&state, &form).await?;
    Ok(success(limited(found, limit_of(&form)?)))
}

#[utoipa::path(get, path = "/prometheus/api/v1/labels", tag = "prometheus", operation_id = "prom_labels",
    params(("match[]" = Option<Vec<String>>, Query, description = "Only labels of these series")),
    responses((status = 200, description = "Label names, sorted", body = PromStringsResponse)))]
pub async fn labels(
    _principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PromError> {
    let form = Form::of(&req, &body);
    let names: Vec<String> = if form.all("match[]").is_empty() {
        let mut names = selector::label_names(&state.pg).await?;
        names.push(NAME.to_string());
        names.sort();
        names.dedup();
        names
    } else {
        let set: BTreeSet<String> = matched_series(&state, &form)
            .await?
            .into_iter()
            .flat_map(|l| l.into_keys())
            .collect();
        set.into_iter().collect()
    };
    Ok(success(limited(names, limit_of(&form)?)))
}

/// Grafana escapes label names that are not plain identifiers as `U__` + `_xx_` hex
/// code points (Prometheus' UTF-8 escaping).
fn unescape_label(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        let hex: String = chars.by_ref().take_while(|c| *c != '_').collect();
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(decoded) if !hex.is_empty() => out.push(decoded),
            _ => out.push('_'),
        }
    }
    out
}

#[utoipa::path(get, path = "/prometheus/api/v1/label/{name}/values", tag = "prometheus", operation_id = "prom_label_values",
    params(
        ("name" = String, Path, description = "Label name; __name__ lists metric names"),
        ("match[]" = Option<Vec<String>>, Query, description = "Only values of these series"),
    ),
    responses((status = 200, description = "Values, sorted", body = PromStringsResponse)))]
pub async fn label_values(
    _principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, PromError> {
    let form = Form::of(&req, &web::Bytes::new());
    let name = unescape_label(&name);
    let values: Vec<String> = if form.all("match[]").is_empty() {
        if name == NAME {
            selector::metric_names(&state.pg).await?
        } else {
            selector::label_values(&state.pg, &name).await?
        }
    } else {
        let set: BTreeSet<String> = matched_series(&state, &form)
            .await?
            .into_iter()
            .filter_map(|mut l| l.remove(&name))
            .collect();
        set.into_iter().collect()
    };
    Ok(success(limited(values, limit_of(&form)?)))
}

// ---------------------------------------------------------------------------------
// Metadata, build info, rules, alerts, exemplars.

#[utoipa::path(get, path = "/prometheus/api/v1/metadata", tag = "prometheus", operation_id = "prom_metadata",
    params(("metric" = Option<String>, Query, description = "Only this metric")),
    responses((status = 200, description = "TYPE, HELP and UNIT per metric, from metric_definitions", body = PromMetadataResponse)))]
pub async fn metadata(
    _principal: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PromError> {
    let form = Form::of(&req, &web::Bytes::new());
    let only = form.get("metric").filter(|m| !m.is_empty());
    let mut data = BTreeMap::new();
    // Paged by name, as the catalogue is, so a large catalogue is never one query.
    let page = i64::from(state.settings.query.catalog_page_max);
    let mut after: Option<String> = None;
    loop {
        let rows = catalog::list_metrics(&state.pg, after.as_deref(), page).await?;
        let full = rows.len() as i64 == page;
        after = rows.last().map(|m| m.name.clone());
        for m in rows {
            if only.is_some_and(|o| o != m.name) {
                continue;
            }
            data.insert(
                m.name,
                vec![MetadataEntry {
                    kind: if m.kind.is_empty() {
                        "unknown".into()
                    } else {
                        m.kind
                    },
                    help: m.description,
                    unit: m.unit,
                }],
            );
        }
        if !full {
            break;
        }
    }
    if let Some(n) = limit_of(&form)? {
        data = data.into_iter().take(n).collect();
    }
    Ok(success(data))
}

#[utoipa::path(get, path = "/prometheus/api/v1/status/buildinfo", tag = "prometheus", operation_id = "prom_buildinfo",
    responses((status = 200, description = "A Prometheus version Grafana accepts; no features key", body = PromBuildInfoResponse)))]
pub async fn buildinfo(_principal: Principal) -> HttpResponse {
    success(BuildInfo {
        version: REPORTED_VERSION,
        revision: env!("CARGO_PKG_VERSION"),
        branch: "vigil",
        build_user: "vigil",
        build_date: "",
        go_version: "",
    })
}

fn alert_of(rule: &alerts::RuleRow, inst: &alerts::InstanceRow) -> Option<PromAlert> {
    let state = match inst.state.state {
        AlertState::Pending => "pending",
        AlertState::Firing => "firing",
        AlertState::Ok => return None,
    };
    let since = inst.state.firing_since.or(inst.state.pending_since);
    let mut labels = inst.labels.clone();
    labels.insert("alertname".into(), rule.spec.name.clone());
    labels.insert("severity".into(), rule.spec.severity.as_str().into());
    Some(PromAlert {
        labels,
        annotations: Labels::new(),
        state,
        active_at: since
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        value: inst
            .state
            .last_value
            .map_or_else(|| "NaN".into(), format_value),
    })
}

fn condition_symbol(c: crate::model::alert::Condition) -> &'static str {
    use crate::model::alert::Condition as C;
    match c {
        C::Gt => ">",
        C::Gte => ">=",
        C::Lt => "<",
        C::Lte => "<=",
        C::Eq => "==",
        C::Ne => "!=",
    }
}

async fn rules_and_alerts(
    state: &AppState,
) -> Result<Vec<(alerts::RuleRow, Vec<PromAlert>)>, PromError> {
    let rules = alerts::list_rules(&state.pg, false).await?;
    let instances = alerts::instance_rows(&state.pg, None).await?;
    Ok(rules
        .into_iter()
        .map(|rule| {
            let firing: Vec<PromAlert> = instances
                .iter()
                .filter(|i| i.rule_id == rule.id)
                .filter_map(|i| alert_of(&rule, i))
                .collect();
            (rule, firing)
        })
        .collect())
}

#[utoipa::path(get, path = "/prometheus/api/v1/rules", tag = "prometheus", operation_id = "prom_rules",
    responses((status = 200, description = "Vigil's alert rules as one Prometheus rule group", body = PromRulesResponse)))]
pub async fn rules(
    _principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PromError> {
    let interval = state.settings.alerts.evaluation_interval.as_secs_f64();
    let rules: Vec<PromRule> = rules_and_alerts(&state)
        .await?
        .into_iter()
        .map(|(rule, alerts)| {
            let rule_state = if alerts.iter().any(|a| a.state == "firing") {
                "firing"
            } else if alerts.is_empty() {
                "inactive"
            } else {
                "pending"
            };
            let mut labels = Labels::new();
            labels.insert("severity".into(), rule.spec.severity.as_str().into());
            PromRule {
                name: rule.spec.name.clone(),
                query: format!(
                    "{}({}) {} {}",
                    format!("{:?}", rule.spec.query.aggregation).to_lowercase(),
                    rule.spec.query.query,
                    condition_symbol(rule.spec.condition),
                    rule.spec.threshold
                ),
                duration: humantime::parse_duration(&rule.spec.duration)
                    .map_or(0.0, |d| d.as_secs_f64()),
                labels,
                annotations: Labels::new(),
                alerts,
                health: "ok",
                state: rule_state,
                kind: "alerting",
            }
        })
        .collect();
    let groups = if rules.is_empty() {
        Vec::new()
    } else {
        vec![PromRuleGroup {
            name: "vigil".into(),
            file: "vigil".into(),
            rules,
            interval,
        }]
    };
    Ok(success(PromRuleGroups { groups }))
}

#[utoipa::path(get, path = "/prometheus/api/v1/alerts", tag = "prometheus", operation_id = "prom_alerts",
    responses((status = 200, description = "Pending and firing alert instances", body = PromAlertsResponse)))]
pub async fn alerts(
    _principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PromError> {
    let alerts: Vec<PromAlert> = rules_and_alerts(&state)
        .await?
        .into_iter()
        .flat_map(|(_, a)| a)
        .collect();
    Ok(success(PromAlertList { alerts }))
}

#[utoipa::path(get, path = "/prometheus/api/v1/query_exemplars", tag = "prometheus", operation_id = "prom_query_exemplars",
    responses((status = 200, description = "Always empty", body = PromExemplarsResponse)))]
pub async fn query_exemplars(_principal: Principal) -> HttpResponse {
    success(Vec::<serde_json::Value>::new())
}

/// The POST (form body) twin of a GET route: the same handler, its own operation in
/// the OpenAPI document.
macro_rules! form_post {
    ($name:ident, $get:ident, $path:literal, $body:ty) => {
        #[utoipa::path(post, path = $path, tag = "prometheus",
            request_body(content = Option<String>, content_type = "application/x-www-form-urlencoded",
                description = "The GET route's parameters as a form"),
            responses(
                (status = 200, description = "As the GET route", body = $body),
                (status = 400, description = "bad_data", body = PromErrorBody),
            ))]
        pub async fn $name(
            principal: Principal,
            state: web::Data<AppState>,
            req: HttpRequest,
            body: web::Bytes,
        ) -> Result<HttpResponse, PromError> {
            $get(principal, state, req, body).await
        }
    };
}

form_post!(
    query_post,
    query,
    "/prometheus/api/v1/query",
    PromQueryResponse
);
form_post!(
    query_range_post,
    query_range,
    "/prometheus/api/v1/query_range",
    PromQueryResponse
);
form_post!(
    series_post,
    series,
    "/prometheus/api/v1/series",
    PromSeriesResponse
);
form_post!(
    labels_post,
    labels,
    "/prometheus/api/v1/labels",
    PromStringsResponse
);

#[utoipa::path(post, path = "/prometheus/api/v1/query_exemplars", tag = "prometheus",
    responses((status = 200, description = "Always empty", body = PromExemplarsResponse)))]
pub async fn query_exemplars_post(principal: Principal) -> HttpResponse {
    query_exemplars(principal).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_parse_both_forms() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("1700000000.5").unwrap(), 1_700_000_000_500);
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_duration("15").unwrap(), 15_000);
        assert_eq!(parse_duration("0.5").unwrap(), 500);
        assert_eq!(parse_duration("1m30s").unwrap(), 90_000);
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn escaped_label_names_decode() {
        assert_eq!(unescape_label("job"), "job");
        assert_eq!(unescape_label("U__my_2e_label"), "my.label");
    }

    #[test]
    fn points_serialize_as_prometheus_writes_them() {
        let s = serde_json::to_string(&PromPoint(1_500, f64::NAN)).unwrap();
        assert_eq!(s, r#"[1.500,"NaN"]"#);
        let s = serde_json::to_string(&PromPoint(2_000, 0.25)).unwrap();
        assert_eq!(s, r#"[2,"0.25"]"#);
    }
}
