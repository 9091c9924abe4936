//! Dashboards and panels (the full-stack seed's contract), validated on input.
//!
//! Panels sit on a grid of [`GRID_COLUMNS`] columns: `x + w` may not pass the right
//! edge, heights and rows are bounded. Overlap is allowed (the UI compacts the grid);
//! nonsense positions are not.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::model::{Aggregation, Labels, MetricName, Step};

/// Columns of the dashboard grid.
pub const GRID_COLUMNS: u32 = 24;
/// Tallest panel, in grid rows.
pub const MAX_PANEL_HEIGHT: u32 = 64;
/// Lowest row a panel may start on.
pub const MAX_ROW: u32 = 10_000;
const MAX_TITLE_LEN: usize = 200;
const MAX_NAME_LEN: usize = 200;
const MAX_DESCRIPTION_LEN: usize = 4000;
const MAX_UNIT_LEN: usize = 32;
const MAX_COLOR_LEN: usize = 32;
const MAX_THRESHOLDS: usize = 16;
const MAX_GROUP_BY: usize = 8;
const MAX_VARIABLES: usize = 32;
const MAX_VARIABLE_NAME_LEN: usize = 64;
const MAX_VARIABLE_DEFAULTS: usize = 100;
const MAX_TAG_LEN: usize = 200;
const MAX_TIME_ZONE_LEN: usize = 64;
const MAX_TIME_EXPR_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PanelType {
    Line,
    Area,
    Bar,
    Gauge,
    Stat,
}

impl PanelType {
    pub fn as_str(self) -> &'static str {
        match self {
            PanelType::Line => "line",
            PanelType::Area => "area",
            PanelType::Bar => "bar",
            PanelType::Gauge => "gauge",
            PanelType::Stat => "stat",
        }
    }

    pub fn parse(text: &str) -> Option<PanelType> {
        [
            PanelType::Line,
            PanelType::Area,
            PanelType::Bar,
            PanelType::Gauge,
            PanelType::Stat,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

/// Where a panel sits on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Column, 0 to 23; `x + w` at most 24.
    #[serde(deserialize_with = "super::whole_number::u32")]
    #[schema(minimum = 0, maximum = 23)]
    pub x: u32,
    #[serde(deserialize_with = "super::whole_number::u32")]
    #[schema(minimum = 0, maximum = 10000)]
    pub y: u32,
    #[serde(deserialize_with = "super::whole_number::u32")]
    #[schema(minimum = 1, maximum = 24)]
    pub w: u32,
    #[serde(deserialize_with = "super::whole_number::u32")]
    #[schema(minimum = 1, maximum = 64)]
    pub h: u32,
}

/// What a panel shows: a query in the shape of `POST /api/v1/query` without the
/// time range, which the dashboard supplies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PanelQuery {
    /// Metric name.
    pub query: String,
    /// avg, min, max, sum, count, rate, p50, p90, p95 or p99.
    pub aggregation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Labels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// Bucket width such as "1m"; absent: chosen from the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// How a stat or gauge panel reduces a series to one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Calculation {
    Last,
    Avg,
    Min,
    Max,
    Sum,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub value: f64,
    pub color: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PanelOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_legend: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Vec<Threshold>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculation: Option<Calculation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A panel as a client sends it (create, update, import).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PanelInput {
    pub title: String,
    #[serde(rename = "type")]
    pub panel_type: PanelType,
    pub query: PanelQuery,
    #[serde(default)]
    pub options: PanelOptions,
    pub position: Position,
    /// The dashboard version the client last saw; when given and stale the write is
    /// refused with 409.
    #[serde(default, skip_serializing)]
    pub version: Option<i64>,
}

/// A stored panel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    pub id: Uuid,
    pub dashboard_id: Uuid,
    pub title: String,
    #[serde(rename = "type")]
    pub panel_type: PanelType,
    pub query: PanelQuery,
    pub options: PanelOptions,
    pub position: Position,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a dashboard's layout: panel `i` at `x, y, w, h` (react-grid-layout's
/// shape, so a drag-and-drop save sends what the grid reports).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayoutItem {
    pub i: Uuid,
    #[serde(deserialize_with = "super::whole_number::u32")]
    #[schema(minimum = 0, maximum = 23)]
    pub x: u32,
    #[serde(deserialize_with = "super::whole_number::u32")]
    #[schema(minimum = 0, maximum = 10000)]
    pub y: u32,
    #[serde(deserialize_with = "super::whole_number::u32")]
    #[schema(minimum = 1, maximum = 24)]
    pub w: u32,
    #[serde(deserialize_with = "super::whole_number::u32")]
    #[schema(minimum = 1, maximum = 64)]
    pub h: u32,
}

impl LayoutItem {
    pub fn position(&self) -> Position {
        Position {
            x: self.x,
            y: self.y,
            w: self.w,
            h: self.h,
        }
    }
}

/// A template variable: its values are a tag's values (`GET /api/v1/metrics/{metric}/tags`),
/// and panels refer to it in tag filters as `$name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Variable {
    /// `[a-zA-Z_][a-zA-Z0-9_]*`, unique on the dashboard.
    #[schema(
        example = "host",
        pattern = "^[a-zA-Z_][a-zA-Z0-9_]*$",
        max_length = 64
    )]
    pub name: String,
    /// Shown instead of the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Host")]
    pub label: Option<String>,
    /// The metric whose tag values are offered.
    #[schema(example = "cpu.usage")]
    pub metric: String,
    /// The tag whose values are offered.
    #[schema(example = "host")]
    pub tag_key: String,
    /// Several values may be selected at once.
    #[serde(default)]
    pub multi: bool,
    /// An "All" choice (drops the filter).
    #[serde(default)]
    pub include_all: bool,
    /// Values selected when the URL names none; empty or absent means All when
    /// `includeAll` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<String>>,
}

/// A dashboard's auto-refresh interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub enum Refresh {
    #[serde(rename = "off")]
    Off,
    #[serde(rename = "5s")]
    FiveSeconds,
    #[default]
    #[serde(rename = "10s")]
    TenSeconds,
    #[serde(rename = "30s")]
    ThirtySeconds,
    #[serde(rename = "1m")]
    OneMinute,
    #[serde(rename = "5m")]
    FiveMinutes,
}

/// The default time range: each end `now`, `now-6h`, `now/d` (Grafana's relative
/// syntax) or an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeSetting {
    #[schema(example = "now-6h", max_length = 64)]
    pub from: String,
    #[schema(example = "now", max_length = 64)]
    pub to: String,
}

impl Default for TimeRangeSetting {
    fn default() -> Self {
        TimeRangeSetting {
            from: "now-6h".into(),
            to: "now".into(),
        }
    }
}

fn default_time_zone() -> String {
    "browser".into()
}

/// How the dashboard opens: range, refresh and time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DashboardSettings {
    #[serde(default)]
    pub time_range: TimeRangeSetting,
    #[serde(default)]
    pub refresh: Refresh,
    /// `browser`, `utc` or an IANA zone name such as `Europe/Paris`.
    #[serde(default = "default_time_zone")]
    #[schema(example = "browser", max_length = 64)]
    pub time_zone: String,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        DashboardSettings {
            time_range: TimeRangeSetting::default(),
            refresh: Refresh::default(),
            time_zone: default_time_zone(),
        }
    }
}

/// A dashboard with its panels.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub owner_id: Uuid,
    pub is_public: bool,
    /// Bumped by every write to the dashboard or its panels.
    pub version: i64,
    pub panels: Vec<Panel>,
    pub layout: Vec<LayoutItem>,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub settings: DashboardSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A dashboard in a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DashboardSummary {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub owner_id: Uuid,
    /// The owner's email; null once the owner's account is gone.
    pub owner_email: Option<String>,
    pub is_public: bool,
    pub version: i64,
    pub panel_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/dashboards`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDashboard {
    #[schema(pattern = "\\S", max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: String,
    #[serde(default)]
    pub is_public: bool,
    #[serde(default)]
    pub panels: Vec<PanelInput>,
    /// Template variables; default none.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// Default: last 6 hours, refresh 10s, the browser's time zone.
    #[serde(default)]
    pub settings: DashboardSettings,
}

/// `PUT /api/v1/dashboards/{id}`: the fields to change and, for drag-and-drop saves,
/// the whole layout in one request. `version` is required: the write applies only if
/// it is still the dashboard's version.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateDashboard {
    pub version: i64,
    #[schema(pattern = "\\S", max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    pub is_public: Option<bool>,
    pub layout: Option<Vec<LayoutItem>>,
    /// Replaces all variables.
    pub variables: Option<Vec<Variable>>,
    /// Replaces the settings.
    pub settings: Option<DashboardSettings>,
}

/// The portable form of a dashboard (export and import): no ids, owner or times.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DashboardExport {
    /// Format version of this document; 1.
    #[schema(minimum = 1, maximum = 1)]
    pub schema_version: u32,
    #[schema(pattern = "\\S", max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: String,
    pub panels: Vec<PanelInput>,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub settings: DashboardSettings,
}

/// The current export format version.
pub const EXPORT_SCHEMA_VERSION: u32 = 1;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

/// Limits that come from configuration.
#[derive(Debug, Clone, Copy)]
pub struct DashboardLimits {
    pub max_panels: usize,
    pub max_name_len: usize,
    pub max_tags: usize,
}

/// Every problem of a new (or imported) dashboard, each naming its field.
pub fn check_new_dashboard(
    body: &CreateDashboard,
    limits: &DashboardLimits,
) -> Result<(), Vec<FieldProblem>> {
    let mut problems = Problems::default();
    problems.name("name", &body.name);
    problems.description("description", &body.description);
    if body.panels.len() > limits.max_panels {
        problems.add("panels", format!("at most {} panels", limits.max_panels));
    }
    for (i, panel) in body.panels.iter().enumerate() {
        problems.panel(&format!("panels[{i}]"), panel, limits);
    }
    problems.variables("variables", &body.variables, limits);
    problems.settings("settings", &body.settings);
    problems.into_result()
}

/// Collects every problem of a request rather than stopping at the first, so a form
/// can mark all bad fields at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldProblem>);

impl Problems {
    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldProblem {
            field: field.into(),
            reason: reason.into(),
        });
    }

    pub fn into_result(self) -> Result<(), Vec<FieldProblem>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }

    pub fn name(&mut self, field: &str, name: &str) {
        let len = name.trim().chars().count();
        if len == 0 || len > MAX_NAME_LEN {
            self.add(field, format!("must be 1 to {MAX_NAME_LEN} characters"));
        }
    }

    pub fn description(&mut self, field: &str, description: &str) {
        if description.chars().count() > MAX_DESCRIPTION_LEN {
            self.add(field, format!("at most {MAX_DESCRIPTION_LEN} characters"));
        }
    }

    pub fn position(&mut self, field: &str, p: &Position) {
        if p.w == 0 || p.w > GRID_COLUMNS {
            self.add(format!("{field}.w"), format!("must be 1 to {GRID_COLUMNS}"));
        }
        if p.x >= GRID_COLUMNS || p.x + p.w > GRID_COLUMNS {
            self.add(
                format!("{field}.x"),
                format!("x + w must not pass the {GRID_COLUMNS}-column grid"),
            );
        }
        if p.h == 0 || p.h > MAX_PANEL_HEIGHT {
            self.add(
                format!("{field}.h"),
                format!("must be 1 to {MAX_PANEL_HEIGHT}"),
            );
        }
        if p.y > MAX_ROW {
            self.add(format!("{field}.y"), format!("must be at most {MAX_ROW}"));
        }
    }

    pub fn panel(&mut self, field: &str, panel: &PanelInput, limits: &DashboardLimits) {
        let title = panel.title.trim().chars().count();
        if title == 0 || title > MAX_TITLE_LEN {
            self.add(
                format!("{field}.title"),
                format!("must be 1 to {MAX_TITLE_LEN} characters"),
            );
        }
        self.position(&format!("{field}.position"), &panel.position);
        self.query(&format!("{field}.query"), &panel.query, limits);
        self.options(&format!("{field}.options"), &panel.options);
    }

    fn query(&mut self, field: &str, query: &PanelQuery, limits: &DashboardLimits) {
        if let Err(e) = MetricName::parse(&query.query, limits.max_name_len) {
            self.add(format!("{field}.query"), e.0);
        }
        if let Err(e) = Aggregation::parse(&query.aggregation) {
            self.add(format!("{field}.aggregation"), e.reason);
        }
        if let Some(step) = &query.step {
            if let Err(e) = Step::parse(step) {
                self.add(format!("{field}.step"), e.reason);
            }
        }
        if let Some(tags) = &query.tags {
            if tags.len() > limits.max_tags {
                self.add(
                    format!("{field}.tags"),
                    format!("at most {} tags", limits.max_tags),
                );
            }
            if tags.iter().any(|(k, v)| k.is_empty() || v.is_empty()) {
                self.add(
                    format!("{field}.tags"),
                    "tag keys and values must not be empty",
                );
            }
        }
        if let Some(group_by) = &query.group_by {
            if group_by.len() > MAX_GROUP_BY || group_by.iter().any(|k| k.is_empty()) {
                self.add(
                    format!("{field}.groupBy"),
                    format!("at most {MAX_GROUP_BY} non-empty tag keys"),
                );
            }
        }
    }

    fn options(&mut self, field: &str, options: &PanelOptions) {
        if options
            .unit
            .as_ref()
            .is_some_and(|u| u.chars().count() > MAX_UNIT_LEN)
        {
            self.add(
                format!("{field}.unit"),
                format!("at most {MAX_UNIT_LEN} characters"),
            );
        }
        if let Some(color) = &options.color {
            if !is_color(color) {
                self.add(
                    format!("{field}.color"),
                    "must be #rgb, #rrggbb, #rrggbbaa or a CSS color name",
                );
            }
        }
        if let Some(thresholds) = &options.thresholds {
            if thresholds.len() > MAX_THRESHOLDS {
                self.add(
                    format!("{field}.thresholds"),
                    format!("at most {MAX_THRESHOLDS}"),
                );
            }
            for (i, t) in thresholds.iter().enumerate() {
                if !t.value.is_finite() {
                    self.add(
                        format!("{field}.thresholds[{i}].value"),
                        "must be a finite number",
                    );
                }
                if !is_color(&t.color) {
                    self.add(
                        format!("{field}.thresholds[{i}].color"),
                        "must be #rgb, #rrggbb, #rrggbbaa or a CSS color name",
                    );
                }
            }
        }
        for (name, value) in [("min", options.min), ("max", options.max)] {
            if value.is_some_and(|v| !v.is_finite()) {
                self.add(format!("{field}.{name}"), "must be a finite number");
            }
        }
        if let (Some(min), Some(max)) = (options.min, options.max) {
            if min >= max {
                self.add(format!("{field}.min"), "must be less than max");
            }
        }
    }
}

impl Problems {
    /// Variables: valid names, unique, a real metric and tag key, defaults that fit.
    pub fn variables(&mut self, field: &str, variables: &[Variable], limits: &DashboardLimits) {
        if variables.len() > MAX_VARIABLES {
            self.add(field, format!("at most {MAX_VARIABLES} variables"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, v) in variables.iter().enumerate() {
            let at = format!("{field}[{i}]");
            if !is_identifier(&v.name, MAX_VARIABLE_NAME_LEN) {
                self.add(
                    format!("{at}.name"),
                    format!("must match [a-zA-Z_][a-zA-Z0-9_]*, at most {MAX_VARIABLE_NAME_LEN} characters"),
                );
            } else if !seen.insert(v.name.as_str()) {
                self.add(
                    format!("{at}.name"),
                    format!("{:?} is defined twice", v.name),
                );
            }
            if v.label
                .as_ref()
                .is_some_and(|l| l.trim().is_empty() || l.chars().count() > MAX_TITLE_LEN)
            {
                self.add(
                    format!("{at}.label"),
                    format!("must be 1 to {MAX_TITLE_LEN} characters"),
                );
            }
            if let Err(e) = MetricName::parse(&v.metric, limits.max_name_len) {
                self.add(format!("{at}.metric"), e.0);
            }
            if v.tag_key.is_empty() || v.tag_key.chars().count() > MAX_TAG_LEN {
                self.add(
                    format!("{at}.tagKey"),
                    format!("must be 1 to {MAX_TAG_LEN} characters"),
                );
            }
            if let Some(default) = &v.default {
                if default.len() > MAX_VARIABLE_DEFAULTS {
                    self.add(
                        format!("{at}.default"),
                        format!("at most {MAX_VARIABLE_DEFAULTS} values"),
                    );
                } else if !v.multi && default.len() > 1 {
                    self.add(
                        format!("{at}.default"),
                        "only a multi-value variable may default to several values",
                    );
                }
                if default
                    .iter()
                    .any(|d| d.is_empty() || d.chars().count() > MAX_TAG_LEN)
                {
                    self.add(
                        format!("{at}.default"),
                        format!("values must be 1 to {MAX_TAG_LEN} characters"),
                    );
                }
            }
        }
    }

    pub fn settings(&mut self, field: &str, settings: &DashboardSettings) {
        let range = &settings.time_range;
        for (end, text) in [("from", &range.from), ("to", &range.to)] {
            if !is_time_expression(text) {
                self.add(
                    format!("{field}.timeRange.{end}"),
                    "must be now, now-6h, now/d (relative) or an RFC 3339 time",
                );
            }
        }
        if let (Ok(from), Ok(to)) = (
            DateTime::parse_from_rfc3339(&range.from),
            DateTime::parse_from_rfc3339(&range.to),
        ) {
            if from >= to {
                self.add(format!("{field}.timeRange.to"), "must be after from");
            }
        }
        if !is_time_zone(&settings.time_zone) {
            self.add(
                format!("{field}.timeZone"),
                "must be browser, utc or an IANA zone name such as Europe/Paris",
            );
        }
    }
}

fn is_identifier(text: &str, max_len: usize) -> bool {
    let mut bytes = text.bytes();
    text.len() <= max_len
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `now`, then any number of `+N<unit>` / `-N<unit>`, then at most one `/<unit>`
/// (units s, m, h, d, w, M, y); or an RFC 3339 time.
fn is_time_expression(text: &str) -> bool {
    const UNITS: &[u8] = b"smhdwMy";
    if text.len() > MAX_TIME_EXPR_LEN {
        return false;
    }
    if DateTime::parse_from_rfc3339(text).is_ok() {
        return true;
    }
    let Some(mut rest) = text.strip_prefix("now").map(str::as_bytes) else {
        return false;
    };
    while let Some((&sign, tail)) = rest.split_first() {
        match sign {
            b'+' | b'-' => {
                let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
                match tail.get(digits) {
                    Some(unit) if digits > 0 && UNITS.contains(unit) => rest = &tail[digits + 1..],
                    _ => return false,
                }
            }
            b'/' => return matches!(tail, [unit] if UNITS.contains(unit)),
            _ => return false,
        }
    }
    true
}

/// `browser`, `utc`, or the shape of an IANA name (`Area/Location`, `UTC`, `EST5EDT`):
/// the browser resolves it, so only its form is checked here.
fn is_time_zone(text: &str) -> bool {
    if text == "browser" || text == "utc" {
        return true;
    }
    text.len() <= MAX_TIME_ZONE_LEN
        && text.split('/').all(|part| {
            part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
        })
}

fn is_color(text: &str) -> bool {
    if text.is_empty() || text.len() > MAX_COLOR_LEN {
        return false;
    }
    match text.strip_prefix('#') {
        Some(hex) => {
            matches!(hex.len(), 3 | 4 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit())
        }
        None => text.chars().all(|c| c.is_ascii_alphabetic()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DashboardLimits = DashboardLimits {
        max_panels: 10,
        max_name_len: 200,
        max_tags: 4,
    };

    fn panel() -> PanelInput {
        serde_json::from_value(serde_json::json!({
            "title": "CPU",
            "type": "line",
            "query": {"query": "cpu.usage", "aggregation": "avg", "step": "1m"},
            "options": {"unit": "%", "color": "#ff0000", "thresholds": [{"value": 90, "color": "red"}]},
            "position": {"x": 0, "y": 0, "w": 12, "h": 8}
        }))
        .unwrap()
    }

    fn problems_of(p: &PanelInput) -> Vec<String> {
        let mut problems = Problems::default();
        problems.panel("panel", p, &LIMITS);
        problems.0.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_good_panel_passes() {
        assert!(problems_of(&panel()).is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut p = panel();
        p.title = " ".into();
        p.position = Position {
            x: 20,
            y: 0,
            w: 6,
            h: 0,
        };
        p.query.query = "bad name!".into();
        p.query.aggregation = "median".into();
        p.query.step = Some("soon".into());
        p.options.color = Some("url(javascript:1)".into());
        p.options.min = Some(5.0);
        p.options.max = Some(1.0);
        let fields = problems_of(&p);
        for expected in [
            "panel.title",
            "panel.position.x",
            "panel.position.h",
            "panel.query.query",
            "panel.query.aggregation",
            "panel.query.step",
            "panel.options.color",
            "panel.options.min",
        ] {
            assert!(
                fields.contains(&expected.to_string()),
                "{expected} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn time_expressions_and_zones() {
        for ok in [
            "now",
            "now-6h",
            "now/d",
            "now-1d/d",
            "now+15m",
            "2026-12-01T10:00:00Z",
        ] {
            assert!(is_time_expression(ok), "{ok}");
        }
        for bad in [
            "",
            "today",
            "now-",
            "now-6",
            "now-6x",
            "now/",
            "now/dd",
            "now//d",
            "now-6h/d/d",
        ] {
            assert!(!is_time_expression(bad), "{bad}");
        }
        for ok in [
            "browser",
            "utc",
            "UTC",
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
        ] {
            assert!(is_time_zone(ok), "{ok}");
        }
        for bad in ["", "Europe/", "/Paris", "Europe/Pa ris", "$(x)"] {
            assert!(!is_time_zone(bad), "{bad}");
        }
    }

    #[test]
    fn variables_are_checked_field_by_field() {
        let vars: Vec<Variable> = serde_json::from_value(serde_json::json!([
            {"name": "host", "metric": "cpu.usage", "tagKey": "host", "multi": true, "includeAll": true, "default": ["a", "b"]},
            {"name": "host", "metric": "cpu.usage", "tagKey": "host"},
            {"name": "9x", "metric": "bad name", "tagKey": "", "default": ["a", "b"]}
        ]))
        .unwrap();
        let mut problems = Problems::default();
        problems.variables("variables", &vars, &LIMITS);
        let fields: Vec<String> = problems.0.into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            vec![
                "variables[1].name",
                "variables[2].name",
                "variables[2].metric",
                "variables[2].tagKey",
                "variables[2].default"
            ]
        );
    }

    #[test]
    fn grid_edges() {
        for (x, w, ok) in [
            (0, 24, true),
            (23, 1, true),
            (23, 2, false),
            (24, 1, false),
            (0, 25, false),
            (0, 0, false),
        ] {
            let mut problems = Problems::default();
            problems.position("p", &Position { x, y: 0, w, h: 4 });
            assert_eq!(problems.0.is_empty(), ok, "x={x} w={w}: {:?}", problems.0);
        }
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let bad_type = serde_json::json!({"title": "t", "type": "pie", "query": {"query": "a", "aggregation": "avg"}, "position": {"x": 0, "y": 0, "w": 1, "h": 1}});
        assert!(serde_json::from_value::<PanelInput>(bad_type).is_err());
        let extra = serde_json::json!({"title": "t", "type": "bar", "query": {"query": "a", "aggregation": "avg"}, "position": {"x": 0, "y": 0, "w": 1, "h": 1}, "evil": 1});
        assert!(serde_json::from_value::<PanelInput>(extra).is_err());
    }
}
