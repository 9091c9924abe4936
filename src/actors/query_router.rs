//! `QueryRouterActor`: answers dashboard queries.
//!
//! Takes [`RunQuery`] from the query HTTP handler. Looks the normalised query up in
//! the Redis cache; on a miss, asks the circuit breaker, picks the storage tier for
//! the range (`query::planner::pick_tier`, or compressed raw blocks when they are the
//! cheaper read: `query::cost`), splits the range into segments so the
//! not-yet-materialised tail and unaligned edges come from finer tiers, resolves the
//! matching series (and their `groupBy` groups), runs the aggregate, then caches the
//! answer (short TTL for ranges that reach into the last minute, long otherwise).
//! Holds no state besides its handles, so a restart loses nothing; queries are
//! answered concurrently (each is its own future), bounded by the mailbox and the
//! database pool.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::actors::downsampler::{hour_tier_complete_before, minute_tier_complete_before};
use crate::breaker::{BreakerState, CircuitBreaker};
use crate::config::Settings;
use crate::model::matcher::{LabelMatcher, MatchOp, METRIC_NAME_LABEL};
use crate::model::query::{format_time, BucketTime};
use crate::model::{
    Aggregation, DataPoint, GroupSeries, Labels, QueryData, QueryMeta, QueryResult, QuerySpec,
    TimeRange,
};
use crate::query::cached_part;
use crate::query::cost::{raw_is_cheaper, RawEstimate};
use crate::query::planner::{pick_tier, plan_segments, Completeness, Tier};
use crate::store::aggregate::{aggregate, tier_table, Buckets, SeriesSelection};
use crate::store::is_transient;
use crate::store::query_generations::{generations, GENERATION_SPAN_MS};
use crate::store::redis::RedisStore;
use crate::store::rollups::floor_to;
use crate::store::samples::{estimate_raw_read, is_corrupt_block};
use crate::store::selector::{select_series, SelectedSeries};
use crate::telemetry::Metrics;

/// Answer one parsed query.
#[derive(Message)]
#[rtype(result = "Result<QueryResult, QueryFailure>")]
pub struct RunQuery {
    pub spec: QuerySpec,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryFailure {
    #[error("{0}")]
    Invalid(String),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("query failed: {0}")]
    Internal(#[source] sqlx::Error),
}

pub struct QueryRouterActor {
    settings: Arc<Settings>,
    pg: PgPool,
    redis: RedisStore,
    breaker: Arc<CircuitBreaker>,
    metrics: Arc<Metrics>,
}

impl QueryRouterActor {
    pub fn new(
        settings: Arc<Settings>,
        pg: PgPool,
        redis: RedisStore,
        breaker: Arc<CircuitBreaker>,
        metrics: Arc<Metrics>,
    ) -> QueryRouterActor {
        QueryRouterActor {
            settings,
            pg,
            redis,
            breaker,
            metrics,
        }
    }
}

impl Actor for QueryRouterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.settings.actors.mailbox_capacity);
    }
}

impl Supervised for QueryRouterActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.metrics
            .actor_restarts
            .with_label_values(&["query_router"])
            .inc();
    }
}

impl Handler<RunQuery> for QueryRouterActor {
    type Result = ResponseFuture<Result<QueryResult, QueryFailure>>;

    fn handle(&mut self, msg: RunQuery, _: &mut Self::Context) -> Self::Result {
        let settings = self.settings.clone();
        let pg = self.pg.clone();
        let redis = self.redis.clone();
        let breaker = self.breaker.clone();
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let started = Instant::now();
            let spec = msg.spec;
            let cache = PartCache {
                redis: &redis,
                pg: &pg,
                metrics: &metrics,
                settings: &settings,
            };
            let result = run_on_database(&settings, &pg, &breaker, &cache, &spec).await;
            metrics
                .query_breaker_open
                .set(i64::from(breaker.state() != BreakerState::Closed));
            let result = result?;
            metrics
                .query_seconds
                .with_label_values(&[if result.meta.cached { "true" } else { "false" }])
                .observe(started.elapsed().as_secs_f64());
            Ok(result)
        })
    }
}

/// The query cache, in parts. A range is cut at the start of the current generation
/// span (rounded down to the step, so no bucket is split) and before it into blocks
/// (see [`cache_parts`]): the settled blocks and the live part are cached separately,
/// each keyed by the query, its own range and the write generation of the spans it
/// covers. Live ingest bumps only the current span's generation, so a dashboard
/// refreshing over live data recomputes the live part and takes the settled part
/// from the cache; a commit anywhere else (backfill, late point) changes the key of
/// the parts covering it, so no answer computed before a commit is served after it.
struct PartCache<'a> {
    redis: &'a RedisStore,
    pg: &'a PgPool,
    metrics: &'a Metrics,
    settings: &'a Settings,
}

/// Bumped when the cached form of a part changes.
const PART_FORMAT: &str = "part-v3";

impl PartCache<'_> {
    /// The write generation of each part, or `None` when Redis is down (nothing to look
    /// up, so the generations are not read either). Read before the series are
    /// selected: a series created after this read bumps a generation read here, so an
    /// answer computed without it is cached under a key no later read asks for.
    async fn generations(
        &self,
        spec: &QuerySpec,
        picked: Tier,
        parts: &[TimeRange],
    ) -> Result<Option<Vec<i64>>, sqlx::Error> {
        if self.redis.is_down() || parts.is_empty() {
            return Ok(None);
        }
        // Rate reads one step before its range; a rollup head may read its whole
        // bucket: the generation covers both. The tier that answers is `picked` or
        // raw, whose resolution is finer, so `picked` covers either.
        let covered: Vec<TimeRange> = parts
            .iter()
            .map(|part| TimeRange {
                start_ms: part.start_ms - spec.step.millis() - picked.resolution_ms(),
                end_ms: part.end_ms,
            })
            .collect();
        Ok(Some(
            generations(self.pg, spec.metric.as_str(), &covered).await?,
        ))
    }

    /// The cache key of each part. The selected series are not part of it unless the
    /// selection was truncated: a series that appears later (churn adds some every
    /// minute) holds no point in a part unless writing that point bumped the part's
    /// generation, and group numbers follow series ids, so existing groups keep their
    /// numbers when new series come. Keying by the ids made every new series of a
    /// metric recompute every panel over it, whole range and all.
    fn keys(
        &self,
        spec: &QuerySpec,
        selection: &SeriesSelection,
        truncated: bool,
        tier: Tier,
        parts: &[TimeRange],
        generations: &[i64],
    ) -> Vec<String> {
        // The query without its range: the part's own range is in the key, so a range
        // that moves on keeps the blocks it still covers.
        let query = QuerySpec {
            range: TimeRange {
                start_ms: 0,
                end_ms: 0,
            },
            since: None,
            ..spec.clone()
        };
        let mut base = Sha256::new();
        base.update(query.cache_identity());
        if truncated {
            base.update(b"|truncated|");
            for id in &selection.ids {
                base.update(id.to_le_bytes());
            }
            for group in selection.groups.iter().flatten() {
                base.update(group.to_le_bytes());
            }
        }
        parts
            .iter()
            .zip(generations)
            .map(|(part, generation)| {
                let mut digest = base.clone();
                digest.update(format!(
                    "|{PART_FORMAT}|{:?}|{}|{}|{generation}|",
                    tier, part.start_ms, part.end_ms
                ));
                self.redis.query_key(&hex::encode(digest.finalize()))
            })
            .collect()
    }

    /// The newest settled block, when it missed, from the base parts it was cached as
    /// before it settled. A block is cut once the current span has moved past its end;
    /// until then the same minutes were cached one by one, so without this the first
    /// refresh after a block settles recomputes all of it from raw (four minutes of
    /// every series of a 1 h panel, once every four minutes; two hours of a day panel).
    /// When every piece is cached the block is assembled and cached whole; when some
    /// are (the block's last minute was the live part until now), the block is replaced
    /// by its pieces in `parts`, `keys` and `found`, so only the missing pieces are
    /// computed, and the next refresh assembles the block. The pieces' generations were
    /// read with the parts', before the series were selected. Nothing is looked up
    /// when no part was cached at all (a first look, an emptied cache): the pieces are
    /// not there either.
    #[allow(clippy::too_many_arguments)]
    async fn assemble_block(
        &self,
        spec: &QuerySpec,
        selection: &SeriesSelection,
        truncated: bool,
        tier: Tier,
        (i, pieces, generations): (usize, Vec<TimeRange>, &[i64]),
        parts: &mut Vec<TimeRange>,
        keys: &mut Vec<String>,
        found: &mut Vec<Option<Buckets>>,
    ) {
        if found[i].is_some() || found.iter().all(Option::is_none) {
            return;
        }
        let piece_keys = self.keys(spec, selection, truncated, tier, &pieces, generations);
        let cached: Vec<Option<Buckets>> = self
            .redis
            .mget::<Vec<u8>>(&piece_keys)
            .await
            .into_iter()
            .map(|bytes| bytes.and_then(|bytes| cached_part::decode(&bytes)))
            .collect();
        if cached.iter().all(Option::is_some) {
            let mut block: Buckets = cached.into_iter().flatten().flatten().collect();
            // Pieces follow each other in time; a cached part is in key order.
            block.sort_by_key(|(key, _)| *key);
            self.put_many(vec![(keys[i].clone(), parts[i], &block)])
                .await;
            found[i] = Some(block);
        } else if cached.iter().any(Option::is_some) {
            parts.splice(i..=i, pieces);
            keys.splice(i..=i, piece_keys);
            found.splice(i..=i, cached);
        }
    }

    /// The cached buckets of each key, in one round trip.
    async fn get_many(&self, keys: &[String]) -> Vec<Option<Buckets>> {
        let found = self.redis.mget::<Vec<u8>>(keys).await;
        found
            .into_iter()
            .map(|bytes| {
                let hit = bytes.and_then(|bytes| cached_part::decode(&bytes));
                let counter = if hit.is_some() {
                    &self.metrics.cache_hits
                } else {
                    &self.metrics.cache_misses
                };
                counter.with_label_values(&["query"]).inc();
                hit
            })
            .collect()
    }

    /// Stores computed parts: the live one (reaching into the current generation span)
    /// with the short TTL, settled ones with the long one, spread per key (see
    /// [`cached_part::spread_ttl`]). A late point into a settled part bumps its span's
    /// generation and so changes its key: the short TTL is not needed for freshness
    /// there, and giving it to the blocks that settled a moment ago made every refresh
    /// recompute the last minutes of raw.
    async fn put_many(&self, entries: Vec<(String, TimeRange, &Buckets)>) {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let live_from = now_ms.div_euclid(GENERATION_SPAN_MS) * GENERATION_SPAN_MS;
        let (mut live, mut historical) = (Vec::new(), Vec::new());
        for (key, part, buckets) in entries {
            let bytes = cached_part::encode(buckets);
            if part.end_ms > live_from {
                live.push((key, bytes));
            } else {
                historical.push((key, bytes));
            }
        }
        let query = &self.settings.query;
        self.redis.set_many_ex(&live, query.cache_ttl_live).await;
        let historical: Vec<(String, Vec<u8>, Duration)> = historical
            .into_iter()
            .map(|(key, bytes)| {
                let ttl = cached_part::spread_ttl(query.cache_ttl_historical, &key);
                (key, bytes, ttl)
            })
            .collect();
        self.redis.set_each_ex(&historical).await;
    }
}

/// Contiguous runs of the parts at `missing` (indices in time order): each run is
/// planned and computed as one range.
fn missing_runs(parts: &[TimeRange], missing: &[usize]) -> Vec<TimeRange> {
    let mut runs: Vec<TimeRange> = Vec::new();
    for &i in missing {
        match runs.last_mut() {
            Some(run) if run.end_ms == parts[i].start_ms => run.end_ms = parts[i].end_ms,
            _ => runs.push(parts[i]),
        }
    }
    runs
}

/// The part a bucket belongs to: the last part starting at or before it (the first
/// part when the bucket starts before the range, mid-bucket).
fn part_of(parts: &[TimeRange], bucket_ms: i64) -> usize {
    parts
        .partition_point(|p| p.start_ms <= bucket_ms)
        .saturating_sub(1)
}

/// Most settled blocks a range is cut into; longer ranges get wider blocks.
const MAX_SETTLED_BLOCKS: i64 = 16;

/// The parts a query's computed range `[from, end)` is cached in: settled parts
/// aligned to a multiple of both the step and the generation span, then the live part
/// from the start of the current span (rounded down to the step). Where whole large
/// blocks fit they are used (so a long range is few keys); the moving head and tail of
/// the range are cut into base blocks, so a dashboard whose range moves on at every
/// refresh recomputes one base block at each end, not a large block. Rate is one part
/// (its buckets look back one step, so it is not cut).
fn cache_parts(spec: &QuerySpec, from: i64, now_ms: i64) -> Vec<TimeRange> {
    let end = spec.range.end_ms;
    if from >= end {
        return Vec::new();
    }
    let whole = vec![TimeRange {
        start_ms: from,
        end_ms: end,
    }];
    let step = spec.step.millis();
    if spec.aggregation == Aggregation::Rate {
        return whole;
    }
    let base = base_block(spec);
    let mut block = base;
    while spec.range.len_ms() / block > MAX_SETTLED_BLOCKS {
        block *= 2;
    }
    let span = now_ms.div_euclid(GENERATION_SPAN_MS) * GENERATION_SPAN_MS;
    let cut = (span.div_euclid(step) * step).clamp(from, end);
    let mut parts = Vec::new();
    let mut at = from;
    while at < cut {
        let next = if at.rem_euclid(block) == 0 && at + block <= cut {
            at + block
        } else {
            ((at.div_euclid(base) + 1) * base).min(cut)
        };
        parts.push(TimeRange {
            start_ms: at,
            end_ms: next,
        });
        at = next;
    }
    if cut < end {
        parts.push(TimeRange {
            start_ms: cut,
            end_ms: end,
        });
    }
    parts
}

/// The smallest settled part: a whole number of steps and of generation spans.
fn base_block(spec: &QuerySpec) -> i64 {
    lcm(spec.step.millis(), GENERATION_SPAN_MS)
}

/// A settled block cut into the base parts it was cached as before it settled.
fn base_parts(block: TimeRange, base: i64) -> Vec<TimeRange> {
    let mut out = Vec::new();
    let mut at = block.start_ms;
    while at < block.end_ms {
        let next = ((at.div_euclid(base) + 1) * base).min(block.end_ms);
        out.push(TimeRange {
            start_ms: at,
            end_ms: next,
        });
        at = next;
    }
    out
}

/// The index of the block that has just settled (the newest settled part larger than
/// a base part, ending at most two base parts before the live one), which may be
/// assembled from its base parts. Only a block that just settled is looked for: its
/// pieces are what the last refreshes cached, and looking up the pieces of an older one
/// would add a generation range per minute of it to every query. Rate is one uncut
/// part, and the live part is never assembled.
fn newest_block(spec: &QuerySpec, parts: &[TimeRange], now_ms: i64) -> Option<usize> {
    if spec.aggregation == Aggregation::Rate {
        return None;
    }
    let base = base_block(spec);
    let live_from = now_ms.div_euclid(GENERATION_SPAN_MS) * GENERATION_SPAN_MS;
    (0..parts.len()).rev().find(|&i| {
        parts[i].len_ms() > base
            && parts[i].end_ms <= live_from
            && parts[i].end_ms >= live_from - 2 * base
    })
}

fn lcm(a: i64, b: i64) -> i64 {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x * b
}

async fn run_on_database(
    settings: &Settings,
    pg: &PgPool,
    breaker: &CircuitBreaker,
    cache: &PartCache<'_>,
    spec: &QuerySpec,
) -> Result<QueryResult, QueryFailure> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let (picked, picked_note) = pick_tier(
        spec.range,
        spec.step,
        spec.aggregation,
        now_ms,
        &settings.retention,
    );
    if picked == Tier::Raw
        && !spec.aggregation.rollups_can_answer()
        && !Tier::Raw.holds(spec.range.start_ms, now_ms, &settings.retention)
    {
        return Err(QueryFailure::Invalid(format!(
            "{:?} needs raw points, which are kept for {}; shorten the range",
            spec.aggregation,
            humantime::format_duration(settings.retention.raw)
        )));
    }
    if !breaker.allow() {
        return Err(QueryFailure::Unavailable(
            "circuit breaker open after repeated database failures".into(),
        ));
    }
    // An incremental answer computes only its buckets, over the segments the full
    // range would use from there on (same tier, same completeness), so each bucket
    // is the full answer's. Rate looks back one step before its range, so it is
    // computed over the whole range and cut.
    let from = spec.incremental_from();
    let compute_from = match from {
        Some(from) if spec.aggregation != Aggregation::Rate => from.max(spec.range.start_ms),
        _ => spec.range.start_ms,
    };
    let mut parts = cache_parts(spec, compute_from, now_ms);
    let newest = newest_block(spec, &parts, now_ms);
    let pieces = newest.map_or_else(Vec::new, |i| base_parts(parts[i], base_block(spec)));
    let outcome = async {
        // The newest block's pieces' generations in the same read, in case it missed.
        let looked_up: Vec<TimeRange> = parts.iter().chain(&pieces).copied().collect();
        let mut generations = cache.generations(spec, picked, &looked_up).await?;
        let piece_generations = generations
            .as_mut()
            .map(|g| g.split_off(parts.len()))
            .unwrap_or_default();
        let series = select_series(pg, &selection_matchers(spec), usize::MAX)
            .await?
            .series;
        let (selection, groups, truncated) =
            select_groups(series, &spec.group_by, settings.query.max_series as usize);
        let (tier, note) = match cheaper_raw(settings, pg, spec, &selection, picked, now_ms).await?
        {
            Some(why) => (Tier::Raw, Some(why)),
            None => (picked, picked_note),
        };
        let complete = if tier == Tier::Raw {
            Completeness {
                minute_ms: i64::MIN,
                hour_ms: i64::MIN,
            }
        } else {
            let settle = chrono::Duration::from_std(settings.rollup.settle).unwrap_or_default();
            let settled = floor_to(chrono::Utc::now() - settle, 60);
            let minute = minute_tier_complete_before(pg, settled).await?;
            let hour = hour_tier_complete_before(pg, minute).await?;
            Completeness {
                minute_ms: minute.timestamp_millis(),
                hour_ms: hour.timestamp_millis(),
            }
        };
        let segments = plan_segments(spec.range, tier, complete, now_ms, &settings.retention);
        let mut keys = generations
            .map(|generations| cache.keys(spec, &selection, truncated, tier, &parts, &generations));
        let mut found = match &keys {
            Some(keys) => cache.get_many(keys).await,
            None => vec![None; parts.len()],
        };
        if let (Some(keys), Some(i)) = (&mut keys, newest) {
            cache
                .assemble_block(
                    spec,
                    &selection,
                    truncated,
                    tier,
                    (i, pieces, &piece_generations),
                    &mut parts,
                    keys,
                    &mut found,
                )
                .await;
        }
        let missing: Vec<usize> = (0..parts.len()).filter(|&i| found[i].is_none()).collect();
        let all_cached = missing.is_empty();
        if !missing.is_empty() {
            // Every missing part in one pass: raw segments share one read, so blocks
            // covering several parts are fetched and decoded once.
            let runs = missing_runs(&parts, &missing);
            let mut run_segments = Vec::new();
            for run in &runs {
                if *run == spec.range {
                    run_segments.extend(segments.iter().copied());
                } else {
                    run_segments.extend(plan_segments(
                        *run,
                        tier,
                        complete,
                        now_ms,
                        &settings.retention,
                    ));
                }
            }
            let computed = if selection.ids.is_empty() || run_segments.is_empty() {
                Buckets::new()
            } else {
                aggregate(
                    pg,
                    &run_segments,
                    &selection,
                    spec.step,
                    spec.aggregation,
                    settings.query.timeout,
                )
                .await?
            };
            // `computed` is in key order, so each part's buckets are too.
            let mut per_part: Vec<Buckets> = vec![Buckets::new(); parts.len()];
            for (key, value) in computed {
                per_part[part_of(&parts, key.1)].push((key, value));
            }
            for &i in &missing {
                found[i] = Some(std::mem::take(&mut per_part[i]));
            }
            if let Some(keys) = &keys {
                cache
                    .put_many(
                        missing
                            .iter()
                            .filter_map(|&i| Some((keys[i].clone(), parts[i], found[i].as_ref()?)))
                            .collect(),
                    )
                    .await;
            }
        }
        let mut buckets = Buckets::new();
        let several = found.iter().flatten().filter(|p| !p.is_empty()).count() > 1;
        for part in found.into_iter().flatten() {
            buckets.extend(part);
        }
        // Parts follow each other in time, each in key order: with several groups the
        // concatenation is a few sorted runs, which a stable sort merges.
        if several && !spec.group_by.is_empty() {
            buckets.sort_by_key(|(key, _)| *key);
        }
        if let Some(from) = from {
            buckets.retain(|((_, bucket), _)| *bucket >= from);
        }
        Ok::<_, sqlx::Error>((
            tier,
            note,
            selection.ids.len(),
            groups,
            truncated,
            segments,
            buckets,
            all_cached,
        ))
    }
    .await;
    match outcome {
        Ok((tier, note, series, groups, truncated, segments, buckets, all_cached)) => {
            breaker.record_success();
            let data = shape(buckets, groups, !spec.group_by.is_empty());
            let mut tiers: Vec<String> = Vec::new();
            for (t, _) in &segments {
                if tiers.last().map(String::as_str) != Some(tier_table(*t)) {
                    tiers.push(tier_table(*t).to_string());
                }
            }
            Ok(QueryResult {
                data,
                meta: QueryMeta {
                    table: tier_table(tier).into(),
                    resolution: tier.resolution().into(),
                    tiers,
                    note,
                    truncated,
                    step: spec.step.label(),
                    step_ms: spec.step.millis(),
                    cached: all_cached,
                    series,
                    start: format_time(spec.range.start_ms),
                    end: format_time(spec.range.end_ms),
                    since: spec.incremental_from(),
                },
            })
        }
        Err(error) => {
            let cancelled = matches!(&error, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"));
            if is_corrupt_block(&error) {
                // The database answered; one block of it is bad. Counted as a failure, a
                // panel refreshing over that block would open the breaker and turn every
                // other query into a 503 (and, as the half-open probe, keep it open).
                breaker.record_success();
            } else if !cancelled {
                // A query that hits its own timeout says the query is too big, not that
                // the database is sick: it must not open the breaker for everyone else.
                breaker.record_failure();
            }
            if is_transient(&error) || cancelled {
                tracing::warn!(%error, "Query failed on the database.");
                Err(QueryFailure::Unavailable(if cancelled {
                    "query timed out".into()
                } else {
                    "database unreachable".into()
                }))
            } else {
                tracing::error!(%error, "Query failed.");
                Err(QueryFailure::Internal(error))
            }
        }
    }
}

/// Why compressed raw blocks answer a query that `picked` (a rollup tier) could
/// answer, when the blocks are the cheaper read; `None` keeps the rollup tier.
async fn cheaper_raw(
    settings: &Settings,
    pg: &PgPool,
    spec: &QuerySpec,
    selection: &SeriesSelection,
    picked: Tier,
    now_ms: i64,
) -> Result<Option<String>, sqlx::Error> {
    if picked == Tier::Raw
        || selection.ids.is_empty()
        || !spec.aggregation.rollups_can_answer()
        || !Tier::Raw.holds(spec.range.start_ms, now_ms, &settings.retention)
    {
        return Ok(None);
    }
    let (block_points, compacted_ms) = estimate_raw_read(pg, &selection.ids, spec.range).await?;
    let estimate = RawEstimate {
        series: selection.ids.len() as i64,
        block_points,
        compacted_ms,
        range_ms: spec.range.len_ms(),
    };
    Ok(raw_is_cheaper(
        estimate,
        picked.resolution_ms(),
        settings.query.block_point_cost,
    )
    .map(|(raw, rollup)| {
        format!(
            "read from compressed raw blocks: {block_points} block points cost about {raw:.0} rows against {rollup:.0} {} rows",
            tier_table(picked)
        )
    }))
}

/// Assigns each matching series to its group (the values of the `groupBy` keys), at
/// most `max_groups` groups; series of further groups are dropped (`truncated`).
/// The query's series selection as matchers: the metric name, `tags` as equalities,
/// then the query's own matchers.
fn selection_matchers(spec: &QuerySpec) -> Vec<LabelMatcher> {
    let mut out = Vec::with_capacity(1 + spec.tags.len() + spec.matchers.len());
    out.extend(LabelMatcher::new(METRIC_NAME_LABEL, MatchOp::Equal, spec.metric.as_str()).ok());
    out.extend(
        spec.tags
            .iter()
            .filter_map(|(k, v)| LabelMatcher::new(k, MatchOp::Equal, v).ok()),
    );
    out.extend(spec.matchers.iter().cloned());
    out
}

fn select_groups(
    series: Vec<SelectedSeries>,
    group_by: &[String],
    max_groups: usize,
) -> (SeriesSelection, Vec<Labels>, bool) {
    if group_by.is_empty() {
        let ids = series.into_iter().map(|s| s.id).collect();
        return (
            SeriesSelection { ids, groups: None },
            vec![Labels::new()],
            false,
        );
    }
    let mut index: HashMap<Labels, i32> = HashMap::new();
    let mut groups: Vec<Labels> = Vec::new();
    let (mut ids, mut numbers) = (Vec::new(), Vec::new());
    let mut truncated = false;
    let mut sorted = series;
    sorted.sort_by_key(|s| s.id);
    for SelectedSeries { id, labels, .. } in sorted {
        let key: Labels = group_by
            .iter()
            .filter_map(|k| labels.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        let number = match index.get(&key) {
            Some(n) => *n,
            None if groups.len() < max_groups => {
                groups.push(key.clone());
                index.insert(key, groups.len() as i32 - 1);
                groups.len() as i32 - 1
            }
            None => {
                truncated = true;
                continue;
            }
        };
        ids.push(id);
        numbers.push(number);
    }
    (
        SeriesSelection {
            ids,
            groups: Some(numbers),
        },
        groups,
        truncated,
    )
}

fn shape(buckets: Buckets, groups: Vec<Labels>, grouped: bool) -> QueryData {
    let mut per_group: Vec<Vec<DataPoint>> = vec![Vec::new(); groups.len().max(1)];
    for ((g, b), value) in buckets {
        if let Some(points) = per_group.get_mut(g as usize) {
            points.push(DataPoint {
                time: BucketTime(b),
                value,
            });
        }
    }
    if grouped {
        QueryData::Grouped(
            groups
                .into_iter()
                .zip(per_group)
                .map(|(tags, data)| GroupSeries { tags, data })
                .collect(),
        )
    } else {
        QueryData::Single(per_group.into_iter().next().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::model::QueryRequest;

    fn spec(aggregation: &str, start: i64, end: i64) -> QuerySpec {
        let request: QueryRequest = serde_json::from_value(serde_json::json!({
            "query": "cpu", "start": start, "end": end, "aggregation": aggregation, "step": "1m"
        }))
        .unwrap();
        QuerySpec::parse(&request, &Settings::default().query).unwrap()
    }

    #[test]
    fn parts_cover_the_range_with_stable_settled_blocks() {
        const H: i64 = 3_600_000;
        const M: i64 = 60_000;
        let now = 100 * H + 27 * M + 30_000;
        let parts = cache_parts(&spec("avg", 94 * H + 10_000, now), 94 * H + 10_000, now);
        assert_eq!(parts.first().unwrap().start_ms, 94 * H + 10_000);
        assert_eq!(parts.last().unwrap().end_ms, now);
        for pair in parts.windows(2) {
            assert_eq!(pair[0].end_ms, pair[1].start_ms);
        }
        // A 6 h range at 1 m steps: the head up to the next minute, 1-minute blocks up
        // to the first 32-minute boundary, 32-minute blocks, 1-minute blocks up to the
        // current span, and the live part from the current minute.
        assert_eq!(parts[0].end_ms, 94 * H + M);
        assert!(
            parts[1..24].iter().all(|p| p.end_ms - p.start_ms == M),
            "{parts:?}"
        );
        assert_eq!(
            parts[24],
            TimeRange {
                start_ms: 94 * H + 24 * M,
                end_ms: 94 * H + 56 * M
            }
        );
        assert!(
            parts[24..35]
                .iter()
                .all(|p| p.end_ms - p.start_ms == 32 * M),
            "{parts:?}"
        );
        assert!(
            parts[35..46].iter().all(|p| p.end_ms - p.start_ms == M),
            "{parts:?}"
        );
        assert_eq!(parts.len(), 47, "{parts:?}");
        assert_eq!(parts[46].start_ms, 100 * H + 27 * M);
        // Ten seconds later only the head and the live part differ.
        let later = cache_parts(
            &spec("avg", 94 * H + 20_000, now + 10_000),
            94 * H + 20_000,
            now + 10_000,
        );
        assert_eq!(later.len(), parts.len());
        assert_eq!(&later[1..46], &parts[1..46]);
        assert_eq!(
            cache_parts(&spec("rate", 94 * H, now), 94 * H, now).len(),
            1
        );
        assert_eq!(lcm(300_000, H), H);
        assert_eq!(lcm(420_000, H), 7 * H);
    }

    /// When the range moves on far enough for a 32-minute block to settle, the block is
    /// exactly the 1-minute parts it was cached as the refresh before, so it can be
    /// assembled from them; the live part and rate are never assembled.
    #[test]
    fn a_block_that_settles_is_the_base_parts_it_was_cached_as() {
        const H: i64 = 3_600_000;
        const M: i64 = 60_000;
        let start = 94 * H + 10_000;
        // Just before the current span reaches the end of the 32-minute block that
        // starts at 99 h 44 min (blocks are aligned to 32 minutes from the epoch).
        let before = 100 * H + 15 * M + 30_000;
        let after = before + M;
        let (b, a) = (
            cache_parts(&spec("avg", start, before), start, before),
            cache_parts(&spec("avg", start + M, after), start + M, after),
        );
        let block = TimeRange {
            start_ms: 99 * H + 44 * M,
            end_ms: 100 * H + 16 * M,
        };
        let i = a
            .iter()
            .position(|p| *p == block)
            .expect("the block is a part after");
        assert!(!b.contains(&block), "not yet a part before: {b:?}");
        let pieces = base_parts(block, base_block(&spec("avg", start, after)));
        assert_eq!(pieces.len(), 32);
        let avg = spec("avg", start + M, after);
        assert_eq!(newest_block(&avg, &a, after), Some(i));
        assert_eq!(
            newest_block(&spec("avg", start, before), &b, before),
            None,
            "before, the newest block settled half an hour ago: not looked for"
        );
        let later = after + 2 * M;
        let later_spec = spec("avg", start + 3 * M, later);
        let later_parts = cache_parts(&later_spec, start + 3 * M, later);
        assert_eq!(
            newest_block(&later_spec, &later_parts, later).map(|k| later_parts[k]),
            Some(block),
            "still looked for two minutes after it settled"
        );
        assert_eq!(
            newest_block(&later_spec, &later_parts, later + M),
            None,
            "and no longer a minute after that"
        );
        assert_eq!(
            newest_block(&spec("rate", start + M, after), &a, after),
            None
        );
        // The block's last minute was the live part before, not a base part: that piece
        // is computed when the block first misses, the others come from the cache.
        let last = *pieces.last().unwrap();
        assert_eq!(b.last().unwrap().start_ms, last.start_ms);
        assert!(
            pieces[..31].iter().all(|p| b.contains(p)),
            "{pieces:?} in {b:?}"
        );
    }
}
