//! GraphQL for sightings: reporting them, the per-indicator aggregate (a field of
//! `Indicator`, so it exists exactly where the indicator is visible to the reader),
//! and the individual reports for coordinators.

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject, ID};

use super::types::{Indicator, SightingSummary};
use super::{hub, identity};
use crate::error::AppError;
use crate::services::sightings::{self, NewSighting, SightingKind};
use crate::store::models::SightingRow;
use crate::store::parse_time;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "SightingKind")]
pub enum SightingKindGql {
    /// Seen in the reporter's environment.
    Seen,
    /// Matched something benign there.
    FalsePositive,
}

/// One report, as coordinators read it.
#[derive(SimpleObject)]
pub struct SightingReport {
    pub id: ID,
    /// The reporting organisation (coordinators see it even for anonymous reports).
    pub organization: ID,
    pub anonymous: bool,
    pub kind: SightingKindGql,
    pub count: i64,
    pub first_seen: String,
    pub last_seen: String,
    pub recorded_at: String,
}

/// The receipt of a report: the reporter's own view.
#[derive(SimpleObject)]
pub struct SightingReceipt {
    pub id: ID,
    pub indicator: ID,
    pub kind: SightingKindGql,
    pub count: i64,
}

fn kind_of(text: &str) -> SightingKindGql {
    if text == SightingKind::FalsePositive.as_str() {
        SightingKindGql::FalsePositive
    } else {
        SightingKindGql::Seen
    }
}

impl Indicator {
    async fn summary(&self, ctx: &Context<'_>) -> async_graphql::Result<SightingSummary> {
        if let Some(s) = &self.preloaded_sightings {
            return Ok(s.clone());
        }
        let id = self.shared.id.0.clone();
        let key = id.clone();
        let mut found = hub(ctx).db(move |_, c| sightings::summaries(c, &[id])).await?;
        Ok(found.remove(&key).map(Into::into).unwrap_or_default())
    }
}

#[ComplexObject]
impl Indicator {
    /// Sightings reported by members, aggregated (organisations are never named).
    async fn sightings(&self, ctx: &Context<'_>) -> async_graphql::Result<SightingSummary> {
        self.summary(ctx).await
    }

    /// How current the indicator is, 0–100: its confidence (50 if none was given),
    /// halving every `indicators.half_life_days` of its type since it was published or
    /// last seen, halved again per organisation that reported a false positive, and 0
    /// once `validUntil` has passed.
    async fn score(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let summary = self.summary(ctx).await?;
        // A sealed indicator's type is unknown here: the default half-life.
        let kind: Option<renkei_schema::model::indicator::IndicatorType> = self.indicator_type.map(Into::into);
        let half_life = kind.map_or(30, |k| hub(ctx).config.indicators.half_life_days.get(k));
        let published = parse_time(&self.shared.valid_from)
            .ok_or_else(|| AppError::internal(format!("valid_from {}", self.shared.valid_from)))?;
        let input = renkei_schema::score::ScoreInput {
            confidence: self.shared.confidence.and_then(|c| u8::try_from(c).ok()),
            published,
            last_seen: summary.last_seen.as_deref().and_then(parse_time),
            false_positive_organizations: summary.false_positive_organizations,
            valid_until: self.shared.valid_until.as_deref().and_then(parse_time),
            half_life_days: f64::from(half_life),
        };
        Ok(i32::from(renkei_schema::score::score(&input, chrono::Utc::now())))
    }
}

/// Loads the aggregates of a page of indicators in one query, when `sightings` is
/// selected, so a list of 1,000 indicators is not 1,000 queries.
pub async fn preload(ctx: &Context<'_>, nodes: &mut [&mut Indicator]) -> async_graphql::Result<()> {
    let ids: Vec<String> = nodes.iter().map(|n| n.shared.id.0.clone()).collect();
    let mut found = hub(ctx).db(move |_, c| sightings::summaries(c, &ids)).await?;
    for node in nodes.iter_mut() {
        node.preloaded_sightings = Some(found.remove(&node.shared.id.0).map(Into::into).unwrap_or_default());
    }
    Ok(())
}

#[derive(Default)]
pub struct SightingsQuery;

#[Object]
impl SightingsQuery {
    /// The individual sighting reports on an indicator (coordinators).
    async fn sighting_reports(&self, ctx: &Context<'_>, indicator: ID) -> async_graphql::Result<Vec<SightingReport>> {
        let who = identity(ctx)?;
        let rows: Vec<SightingRow> = hub(ctx).db(move |_, c| sightings::reports(c, &who, &indicator)).await?;
        Ok(rows
            .into_iter()
            .map(|r| SightingReport {
                id: ID(r.id),
                organization: ID(r.org_id),
                anonymous: r.anonymous,
                kind: kind_of(&r.kind),
                count: r.count,
                first_seen: r.first_seen,
                last_seen: r.last_seen,
                recorded_at: r.recorded_at,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct SightingsMutation;

#[Object]
impl SightingsMutation {
    /// Reports that the caller's organisation saw an indicator (or found it a false
    /// positive). Side data: the indicator gets no new version. An indicator the
    /// caller may not read is answered as if it did not exist.
    // Each GraphQL argument is a Rust parameter: the arguments are the interface.
    #[allow(clippy::too_many_arguments)]
    async fn report_sighting(
        &self,
        ctx: &Context<'_>,
        indicator: ID,
        #[graphql(desc = "How many times (default 1).")] count: Option<i64>,
        first_seen: Option<String>,
        last_seen: Option<String>,
        #[graphql(desc = "SEEN (default) or FALSE_POSITIVE.")] kind: Option<SightingKindGql>,
        #[graphql(desc = "Report as \"a member\" (default false).")] anonymous: Option<bool>,
    ) -> async_graphql::Result<SightingReceipt> {
        let who = identity(ctx)?;
        who.require_indicators()?;
        let time = |field: &str, v: Option<String>| -> Result<_, AppError> {
            v.map(|s| {
                parse_time(&s).ok_or_else(|| {
                    AppError::invalid(
                        format!("{field} is not an RFC 3339 time"),
                        format!("{field}がRFC 3339形式の日時ではありません"),
                    )
                })
            })
            .transpose()
        };
        let sighting = NewSighting {
            indicator_id: indicator.0,
            kind: match kind.unwrap_or(SightingKindGql::Seen) {
                SightingKindGql::Seen => SightingKind::Seen,
                SightingKindGql::FalsePositive => SightingKind::FalsePositive,
            },
            count: count.unwrap_or(1),
            first_seen: time("firstSeen", first_seen)?,
            last_seen: time("lastSeen", last_seen)?,
            anonymous: anonymous.unwrap_or(false),
        };
        let row = hub(ctx).db(move |hub, c| sightings::report(c, &hub.keys, &hub.hub_id, &who, &sighting)).await?;
        Ok(SightingReceipt { id: ID(row.id), indicator: ID(row.object_id), kind: kind_of(&row.kind), count: row.count })
    }
}
