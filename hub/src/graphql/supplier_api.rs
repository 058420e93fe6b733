//! GraphQL for the supplier registry: suppliers and offerings (assessments and
//! ratings come on top of these). Thin callers of `services::suppliers`.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject, ID};

use super::types::{AssessorKindGql, AssuranceGql, EvidenceOut, FindingOut, SeverityGql, SupplierAssessment};
use super::{hub, identity, page_size};
use crate::auth::Identity;
use crate::services::suppliers::{self, OfferingInput as OfferingIn, SupplierInput as SupplierIn};
use crate::store::models::{OfferingRow, SupplierRow};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OfferingKind {
    Software,
    OtDevice,
    CloudService,
    ManagedService,
    Maintenance,
    Integration,
}

impl OfferingKind {
    fn as_str(self) -> &'static str {
        match self {
            OfferingKind::Software => "software",
            OfferingKind::OtDevice => "ot_device",
            OfferingKind::CloudService => "cloud_service",
            OfferingKind::ManagedService => "managed_service",
            OfferingKind::Maintenance => "maintenance",
            OfferingKind::Integration => "integration",
        }
    }

    fn parse(s: &str) -> OfferingKind {
        [
            OfferingKind::Software,
            OfferingKind::OtDevice,
            OfferingKind::CloudService,
            OfferingKind::ManagedService,
            OfferingKind::Maintenance,
            OfferingKind::Integration,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(OfferingKind::Software)
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RegistryStatus {
    Active,
    /// Proposed by a member; seen by it and the coordinators until approved.
    Proposed,
}

fn status_of(s: &str) -> RegistryStatus {
    if s == suppliers::ACTIVE {
        RegistryStatus::Active
    } else {
        RegistryStatus::Proposed
    }
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Supplier {
    pub id: ID,
    pub legal_name: String,
    pub name_ja: String,
    pub name_en: Option<String>,
    pub aliases: Vec<String>,
    /// 法人番号, 13 digits (check digit verified).
    pub corporate_number: Option<String>,
    pub lei: Option<String>,
    pub country: String,
    pub parent_id: Option<ID>,
    pub cpe_vendors: Vec<String>,
    pub status: RegistryStatus,
    pub created_at: String,
}

impl From<SupplierRow> for Supplier {
    fn from(r: SupplierRow) -> Self {
        Supplier {
            id: ID(r.id),
            legal_name: r.legal_name,
            name_ja: r.name_ja,
            name_en: r.name_en,
            aliases: list(&r.aliases),
            corporate_number: r.corporate_number,
            lei: r.lei,
            country: r.country,
            parent_id: r.parent_id.map(ID),
            cpe_vendors: list(&r.cpe_vendors),
            status: status_of(&r.status),
            created_at: r.created_at,
        }
    }
}

#[ComplexObject]
impl Supplier {
    /// The assessments of this supplier the caller may read (through the TLP policy,
    /// like every shared item), oldest first.
    #[graphql(complexity = "50 * child_complexity")]
    async fn assessments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SupplierAssessment>> {
        let who = identity(ctx)?;
        let supplier = self.id.0.clone();
        let _lane = super::guard::lane(ctx).await;
        let (rows, names) = hub(ctx)
            .db(move |_, c| {
                let rows = suppliers::visible_assessments(c, &who.viewer(), &supplier)?;
                Ok((rows, crate::services::directory::org_names(c)?))
            })
            .await?;
        super::guard::charge_rows(ctx, &rows)?;
        let who = identity(ctx)?;
        let viewer = who.viewer();
        let mut out = Vec::new();
        for row in rows {
            if let super::types::SharedItem::SupplierAssessment(a) = super::types::shared_item(&viewer, &row, &names)? {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// The rating under a scheme (default: the built-in handbook 6.4 scheme), computed
    /// only from the assessments the caller may read: never typed in, and never
    /// revealing an assessment the caller may not see.
    async fn rating(&self, ctx: &Context<'_>, scheme_id: Option<String>) -> async_graphql::Result<SupplierRating> {
        rating_of(ctx, self.id.0.clone(), None, scheme_id).await
    }

    /// The changes of this rating that mattered (tier, score by the configured delta,
    /// flags), newest first, as the caller was told of them in the change feed.
    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn rating_history(
        &self,
        ctx: &Context<'_>,
        scheme_id: Option<String>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<RatingChangeOut>> {
        history_of(ctx, self.id.0.clone(), scheme_id, first).await
    }

    /// The supplier's offerings the caller may see.
    #[graphql(complexity = "20 * child_complexity")]
    async fn offerings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Offering>> {
        let who = identity(ctx)?;
        let id = self.id.0.clone();
        let rows = hub(ctx).db(move |_, c| suppliers::offerings_of(c, &who, &id)).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Offering {
    pub id: ID,
    pub supplier_id: ID,
    pub name: String,
    pub kind: OfferingKind,
    pub cpe_products: Vec<String>,
    pub versions: Vec<String>,
    pub sectors: Vec<String>,
    /// Suppliers this offering relies on (its subcontractor chain, one level).
    pub subcontractors: Vec<ID>,
    pub status: RegistryStatus,
}

impl From<OfferingRow> for Offering {
    fn from(r: OfferingRow) -> Self {
        Offering {
            id: ID(r.id),
            supplier_id: ID(r.supplier_id),
            name: r.name,
            kind: OfferingKind::parse(&r.kind),
            cpe_products: list(&r.cpe_products),
            versions: list(&r.versions),
            sectors: list(&r.sectors),
            subcontractors: list(&r.subcontractors).into_iter().map(ID).collect(),
            status: status_of(&r.status),
        }
    }
}

#[ComplexObject]
impl Offering {
    /// The offering's own rating: from the assessments (the caller may read) that name it.
    async fn rating(&self, ctx: &Context<'_>, scheme_id: Option<String>) -> async_graphql::Result<SupplierRating> {
        rating_of(ctx, self.supplier_id.0.clone(), Some(self.id.0.clone()), scheme_id).await
    }

    /// The changes of the offering's rating that mattered, newest first.
    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn rating_history(
        &self,
        ctx: &Context<'_>,
        scheme_id: Option<String>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<RatingChangeOut>> {
        history_of(ctx, self.id.0.clone(), scheme_id, first).await
    }
}

async fn rating_of(
    ctx: &Context<'_>,
    supplier: String,
    offering: Option<String>,
    scheme_id: Option<String>,
) -> async_graphql::Result<SupplierRating> {
    let who = identity(ctx)?;
    let scheme_id = scheme_id.unwrap_or_else(|| renkei_schema::supply::scheme::HANDBOOK_SCHEME_ID.into());
    let rating = hub(ctx)
        .db(move |hub, c| {
            let stored_current = hub.ratings_follow_rules.load(std::sync::atomic::Ordering::Acquire);
            let scheme = suppliers::known_scheme(c, &scheme_id)?;
            let (rules, viewer) = (&hub.config.ratings, who.viewer());
            crate::services::ratings::current(
                c,
                rules,
                stored_current,
                &viewer,
                &supplier,
                offering.as_deref(),
                &scheme,
            )
        })
        .await?;
    Ok(rating.into())
}

async fn history_of(
    ctx: &Context<'_>,
    subject: String,
    scheme_id: Option<String>,
    first: Option<i32>,
) -> async_graphql::Result<Vec<RatingChangeOut>> {
    let who = identity(ctx)?;
    let first = page_size(first, hub(ctx).config.limits.max_page, 100)?;
    let scheme_id = scheme_id.unwrap_or_else(|| renkei_schema::supply::scheme::HANDBOOK_SCHEME_ID.into());
    let events = hub(ctx)
        .db(move |_, c| crate::services::ratings::history(c, &who.viewer(), &subject, &scheme_id, first))
        .await?;
    Ok(events.into_iter().map(RatingChangeOut::from).collect())
}

/// What a rating was, before or after a change.
#[derive(SimpleObject)]
pub struct RatingSummaryOut {
    /// 0–100, rounded.
    pub score: Option<i64>,
    pub tier: Option<String>,
    pub flags: Vec<String>,
    pub coverage_percent: i64,
    pub assessor_count: i32,
    pub inputs: Vec<ID>,
}

impl From<renkei_schema::supply::change::RatingSummary> for RatingSummaryOut {
    fn from(s: renkei_schema::supply::change::RatingSummary) -> Self {
        RatingSummaryOut {
            score: s.score,
            tier: s.tier,
            flags: s.flags.iter().map(|f| f.as_str().to_string()).collect(),
            coverage_percent: s.coverage_percent,
            assessor_count: i32::try_from(s.assessor_count).unwrap_or(i32::MAX),
            inputs: s.inputs.into_iter().map(ID).collect(),
        }
    }
}

/// A rating change that mattered (also an `x-renkei-rating-change` entry of `changes`).
#[derive(SimpleObject)]
pub struct RatingChangeOut {
    pub id: ID,
    pub at: String,
    pub supplier_id: ID,
    /// Set when the rating is an offering's.
    pub offering_id: Option<ID>,
    pub scheme_id: String,
    pub previous: RatingSummaryOut,
    pub current: RatingSummaryOut,
    /// Why it matters, in English (e.g. `tier A -> B`, `STALE raised`).
    pub reasons: Vec<String>,
    /// The same in Japanese.
    pub reasons_ja: Vec<String>,
    /// Whether it is a change for the worse.
    pub worsened: bool,
}

impl From<renkei_schema::supply::change::RatingChange> for RatingChangeOut {
    fn from(e: renkei_schema::supply::change::RatingChange) -> Self {
        RatingChangeOut {
            id: ID(e.id),
            at: e.created,
            supplier_id: ID(e.supplier_ref),
            offering_id: e.offering_ref.map(ID),
            scheme_id: e.scheme,
            previous: e.previous.into(),
            current: e.current.into(),
            reasons: e.reasons.iter().map(|r| r.en.clone()).collect(),
            reasons_ja: e.reasons.iter().map(|r| r.ja.clone()).collect(),
            worsened: e.worsened,
        }
    }
}

#[derive(InputObject)]
pub struct SupplierInput {
    pub legal_name: String,
    pub name_ja: String,
    pub name_en: Option<String>,
    #[graphql(default)]
    pub aliases: Vec<String>,
    /// 法人番号 (13 digits; the check digit is verified).
    pub corporate_number: Option<String>,
    pub lei: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. JP.
    pub country: String,
    pub parent_id: Option<ID>,
    #[graphql(default)]
    pub cpe_vendors: Vec<String>,
}

#[derive(InputObject)]
pub struct OfferingInput {
    pub supplier_id: ID,
    pub name: String,
    pub kind: OfferingKind,
    /// CPE 2.3 strings of the products.
    #[graphql(default)]
    pub cpe_products: Vec<String>,
    #[graphql(default)]
    pub versions: Vec<String>,
    #[graphql(default)]
    pub sectors: Vec<String>,
    /// Suppliers the offering relies on.
    #[graphql(default)]
    pub subcontractor_ids: Vec<ID>,
}

/// Procurement filters on the rating each caller sees (built-in scheme).
#[derive(InputObject, Default)]
pub struct SupplierFilter {
    /// Only these tiers (A–D).
    #[graphql(default)]
    pub tiers: Vec<String>,
    /// Only suppliers with all these flags (STALE, CONTESTED, INSUFFICIENT_COVERAGE,
    /// BLOCKER_OPEN).
    #[graphql(default)]
    pub flags: Vec<String>,
    /// Only suppliers with no valid assessment the caller may read.
    #[graphql(default)]
    pub no_valid_assessment: bool,
    /// Only suppliers whose rating (or an offering's) worsened, as the caller sees it,
    /// within this many days (e.g. 90).
    pub worsened_within_days: Option<i32>,
    /// Only suppliers with an offering serving one of these sectors.
    #[graphql(default)]
    pub sectors: Vec<String>,
}

#[derive(Default)]
pub struct SupplierQuery;

#[Object]
impl SupplierQuery {
    /// Suppliers whose names (Japanese or English), aliases or corporate number contain
    /// `query`.
    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn suppliers(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        filter: Option<SupplierFilter>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Supplier>> {
        let who: Identity = identity(ctx)?;
        let first = page_size(first, hub(ctx).config.limits.max_page, 100)?;
        let filter = match filter {
            Some(f) => suppliers::RatingFilter {
                tiers: f.tiers,
                flags: f
                    .flags
                    .iter()
                    .map(|flag| {
                        serde_json::from_value(serde_json::Value::String(flag.clone())).map_err(|_| {
                            crate::error::AppError::invalid(
                                format!(
                                    "flag {flag:?}: expected STALE, CONTESTED, INSUFFICIENT_COVERAGE or BLOCKER_OPEN"
                                ),
                                format!("フラグ「{flag}」は使えません"),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
                no_valid_assessment: f.no_valid_assessment,
                worsened_within_days: match f.worsened_within_days {
                    None => None,
                    Some(d) => Some(u32::try_from(d).ok().filter(|d| *d <= 36_500).ok_or_else(|| {
                        crate::error::AppError::invalid(
                            format!("worsenedWithinDays {d}: expected 0 to 36500"),
                            format!("worsenedWithinDays（{d}）は0〜36500で指定してください"),
                        )
                    })?),
                },
                sectors: f.sectors,
            },
            None => suppliers::RatingFilter::default(),
        };
        let rows = hub(ctx)
            .db(move |hub, c| {
                suppliers::search_rated(
                    c,
                    &hub.supplier_search,
                    &who,
                    &hub.config.ratings,
                    query.as_deref(),
                    &filter,
                    first,
                )
            })
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn supplier(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Supplier>> {
        let who = identity(ctx)?;
        let row = hub(ctx).db(move |_, c| suppliers::get(c, &who, &id)).await?;
        Ok(row.map(Into::into))
    }

    /// One offering, with the supplier that offers it.
    async fn offering(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Offering>> {
        let who = identity(ctx)?;
        let row = hub(ctx).db(move |_, c| suppliers::get_offering(c, &who, &id)).await?;
        Ok(row.map(Into::into))
    }
}

#[derive(Default)]
pub struct SupplierMutation;

#[Object]
impl SupplierMutation {
    /// Adds a supplier (coordinators) or proposes one (members).
    async fn add_supplier(&self, ctx: &Context<'_>, input: SupplierInput) -> async_graphql::Result<Supplier> {
        let who = identity(ctx)?;
        let input = SupplierIn {
            legal_name: input.legal_name,
            name_ja: input.name_ja,
            name_en: input.name_en,
            aliases: input.aliases,
            corporate_number: input.corporate_number,
            lei: input.lei,
            country: input.country,
            parent_id: input.parent_id.map(|p| p.0),
            cpe_vendors: input.cpe_vendors,
        };
        let row = hub(ctx).db(move |hub, c| suppliers::add_supplier(c, &hub.keys, &who, input)).await?;
        Ok(row.into())
    }

    /// Adds an offering (coordinators) or proposes one (members).
    async fn add_offering(&self, ctx: &Context<'_>, input: OfferingInput) -> async_graphql::Result<Offering> {
        let who = identity(ctx)?;
        let input = OfferingIn {
            supplier_id: input.supplier_id.0,
            name: input.name,
            kind: input.kind.as_str().into(),
            cpe_products: input.cpe_products,
            versions: input.versions,
            sectors: input.sectors,
            subcontractor_ids: input.subcontractor_ids.into_iter().map(|s| s.0).collect(),
        };
        let row = hub(ctx).db(move |hub, c| suppliers::add_offering(c, &hub.keys, &who, input)).await?;
        Ok(row.into())
    }

    /// Approves a member's proposed supplier or offering (a coordinator of another
    /// organisation). Answers the entry's id.
    async fn approve_registry_entry(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let who = identity(ctx)?;
        let target = id.0.clone();
        hub(ctx).db(move |hub, c| suppliers::approve(c, &hub.keys, &who, &target)).await?;
        Ok(id)
    }
}

/// One criterion of an assessment scheme, answered on a 0–4 scale.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "CriterionInput")]
pub struct CriterionOut {
    pub id: String,
    pub weight: f64,
    /// Absent for reference-only schemes (SIG, CAIQ), whose text may not be copied.
    pub text_ja: Option<String>,
    pub text_en: Option<String>,
}

#[derive(SimpleObject)]
pub struct AssessmentScheme {
    pub id: String,
    pub version: String,
    pub name_ja: String,
    pub name_en: String,
    pub reference_only: bool,
    pub default_validity_days: i32,
    pub criteria: Vec<CriterionOut>,
}

#[derive(InputObject)]
pub struct AssessmentSchemeInput {
    pub id: String,
    pub version: String,
    pub name_ja: String,
    pub name_en: String,
    #[graphql(default)]
    pub reference_only: bool,
    #[graphql(default = 365)]
    pub default_validity_days: i32,
    pub criteria: Vec<CriterionOut>,
}

fn scheme_out((s, reference_only): (renkei_schema::supply::scheme::Scheme, bool)) -> AssessmentScheme {
    AssessmentScheme {
        id: s.id,
        version: s.version,
        name_ja: s.name_ja,
        name_en: s.name_en,
        reference_only,
        default_validity_days: i32::try_from(s.default_validity_days).unwrap_or(i32::MAX),
        criteria: s
            .criteria
            .into_iter()
            .map(|c| CriterionOut { id: c.id, weight: c.weight, text_ja: c.text_ja, text_en: c.text_en })
            .collect(),
    }
}

#[derive(Default)]
pub struct SchemeQuery;

#[Object]
impl SchemeQuery {
    /// The assessment schemes (the handbook 6.4 scheme is built in).
    async fn assessment_schemes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AssessmentScheme>> {
        identity(ctx)?;
        let rows = hub(ctx).db(|_, c| suppliers::schemes(c)).await?;
        Ok(rows.into_iter().map(scheme_out).collect())
    }

    /// The last (or running) recomputation of every stored rating, which a new scheme
    /// version starts (coordinators).
    async fn rating_recompute(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RatingRecompute>> {
        let who = identity(ctx)?;
        if !who.is_coordinator() {
            return Err(crate::error::AppError::forbidden("read the rating recomputation").into());
        }
        let status = hub(ctx)
            .rating_recompute
            .lock()
            .map_err(|_| crate::error::AppError::internal("rating status lock poisoned"))?
            .clone();
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(status.started_at.is_some().then(|| RatingRecompute {
            running: status.running,
            started_at: status.started_at.clone(),
            finished_at: status.finished_at.clone(),
            seconds: status.seconds,
            suppliers: status.done.map(|d| count(d.suppliers)),
            ratings_written: status.done.map(|d| count(d.ratings_written)),
            events: status.done.map(|d| count(d.events)),
            error: status.error.clone(),
        }))
    }
}

/// The last (or running) recomputation of every stored rating.
#[derive(SimpleObject)]
pub struct RatingRecompute {
    pub running: bool,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub seconds: Option<f64>,
    pub suppliers: Option<i32>,
    pub ratings_written: Option<i32>,
    pub events: Option<i32>,
    pub error: Option<String>,
}

#[derive(Default)]
pub struct SchemeMutation;

#[Object]
impl SchemeMutation {
    /// Adds an assessment scheme version (coordinators).
    async fn add_assessment_scheme(
        &self,
        ctx: &Context<'_>,
        input: AssessmentSchemeInput,
    ) -> async_graphql::Result<AssessmentScheme> {
        let who = identity(ctx)?;
        let days = u32::try_from(input.default_validity_days).map_err(|_| {
            crate::error::AppError::invalid(
                "defaultValidityDays must be positive",
                "defaultValidityDaysは正の数にしてください",
            )
        })?;
        let scheme = renkei_schema::supply::scheme::Scheme {
            id: input.id,
            version: input.version,
            name_ja: input.name_ja,
            name_en: input.name_en,
            criteria: input
                .criteria
                .into_iter()
                .map(|c| renkei_schema::supply::scheme::Criterion {
                    id: c.id,
                    weight: c.weight,
                    text_ja: c.text_ja,
                    text_en: c.text_en,
                })
                .collect(),
            default_validity_days: days,
        };
        let reference_only = input.reference_only;
        let stored =
            hub(ctx).db(move |hub, c| suppliers::add_scheme(c, &hub.keys, &who, scheme, reference_only)).await?;
        // Ratings follow a scheme's latest version: recompute the stored ones (in the
        // background; `supplier(id).rating` uses the new version at once).
        hub(ctx).recompute_ratings();
        Ok(scheme_out((stored, reference_only)))
    }
}

#[derive(InputObject)]
pub struct CriterionResultInput {
    pub criterion: String,
    /// 0–4; omit (or null) for not applicable.
    pub answer: Option<i32>,
    pub comment: Option<String>,
    #[graphql(default)]
    pub evidence: Vec<EvidenceOut>,
}

#[derive(InputObject)]
pub struct AssessmentInput {
    pub supplier_id: ID,
    #[graphql(default)]
    pub offering_ids: Vec<ID>,
    pub scheme_id: String,
    /// Default: the scheme's latest version.
    pub scheme_version: Option<String>,
    pub assessor: AssessorKindGql,
    pub assessor_name: Option<String>,
    pub assurance: AssuranceGql,
    /// RFC 3339.
    pub observed: String,
    /// RFC 3339; default: observed + the scheme's validity.
    pub valid_until: Option<String>,
    pub results: Vec<CriterionResultInput>,
    #[graphql(default)]
    pub findings: Vec<FindingOut>,
    /// ok, warning, blocker or not_applicable.
    pub conclusion: String,
}

#[derive(Default)]
pub struct AssessmentMutation;

#[Object]
impl AssessmentMutation {
    /// Records a supplier's dispute of an assessment (coordinators). While open, the
    /// assessment does not count towards ratings. Answers the dispute's id.
    async fn record_dispute(&self, ctx: &Context<'_>, assessment: ID, statement: String) -> async_graphql::Result<ID> {
        let who = identity(ctx)?;
        let id = hub(ctx)
            .db(move |hub, c| suppliers::record_dispute(c, &hub.signer(), &who, &assessment, &statement))
            .await?;
        Ok(ID(id))
    }

    /// Resolves a dispute (coordinators): upheld (the assessment stops counting) or
    /// dismissed (it counts again).
    async fn resolve_dispute(
        &self,
        ctx: &Context<'_>,
        dispute: ID,
        upheld: bool,
        reason: String,
    ) -> async_graphql::Result<ID> {
        let who = identity(ctx)?;
        let target = dispute.0.clone();
        hub(ctx).db(move |hub, c| suppliers::resolve_dispute(c, &hub.signer(), &who, &target, upheld, &reason)).await?;
        Ok(dispute)
    }

    /// Shares a supplier assessment under TLP (procurement teams may too), signed and
    /// moderated like every item.
    async fn submit_assessment(
        &self,
        ctx: &Context<'_>,
        input: AssessmentInput,
        sharing: super::types::SharingInput,
    ) -> async_graphql::Result<SupplierAssessment> {
        let time = |field: &str, v: &str| {
            crate::store::parse_time(v).ok_or_else(|| {
                crate::error::AppError::invalid(
                    format!("{field} is not an RFC 3339 time"),
                    format!("{field}がRFC 3339形式の日時ではありません"),
                )
            })
        };
        let observed = time("observed", &input.observed)?;
        let valid_until = input.valid_until.as_deref().map(|v| time("validUntil", v)).transpose()?;
        let results = input
            .results
            .into_iter()
            .map(|r| {
                let evidence = r
                    .evidence
                    .into_iter()
                    .map(|e| renkei_schema::model::Evidence {
                        sha256: e.sha256,
                        kind: e.kind,
                        issued: e.issued.as_deref().and_then(crate::store::parse_time),
                        expires: e.expires.as_deref().and_then(crate::store::parse_time),
                    })
                    .collect();
                (r.criterion, r.answer, r.comment, evidence)
            })
            .collect();
        let findings = input
            .findings
            .into_iter()
            .map(|f| renkei_schema::model::Finding {
                severity: f.severity.into(),
                description: f.description,
                open: f.open,
            })
            .collect();
        let input = suppliers::AssessmentInput {
            supplier_id: input.supplier_id.0,
            offering_ids: input.offering_ids.into_iter().map(|o| o.0).collect(),
            scheme_id: input.scheme_id,
            scheme_version: input.scheme_version,
            assessor: input.assessor.into(),
            assessor_name: input.assessor_name,
            assurance: input.assurance.into(),
            observed,
            valid_until,
            results,
            findings,
            conclusion: input.conclusion,
        };
        let items = super::publish_assessment(ctx, input, sharing).await?;
        match items {
            super::types::SharedItem::SupplierAssessment(a) => Ok(a),
            _ => Err(crate::error::AppError::internal("an assessment was published as another kind").into()),
        }
    }
}

#[derive(SimpleObject)]
pub struct CriterionRating {
    pub criterion: String,
    /// 0..1 consensus points.
    pub points: f64,
    pub assurance: AssuranceGql,
    pub contested: bool,
}

#[derive(SimpleObject)]
pub struct FindingCount {
    pub severity: SeverityGql,
    pub count: i32,
}

/// A supplier's rating (higher is better: a posture, not a risk level).
#[derive(SimpleObject)]
pub struct SupplierRating {
    /// 0–100; null when no valid assessment scores anything.
    pub score: Option<f64>,
    /// A (≥ 80), B (≥ 60), C (≥ 40), D; an open blocker found by a member review or
    /// better caps it at D.
    pub tier: Option<String>,
    /// Weighted share (0–1) of the applicable criteria with a valid result.
    pub coverage: f64,
    pub freshness_days: Option<i64>,
    pub top_assurance: Option<AssuranceGql>,
    pub assessor_count: i32,
    /// The widest spread between assessors on one criterion (0–1).
    pub disagreement: f64,
    pub open_findings: Vec<FindingCount>,
    /// STALE, CONTESTED, INSUFFICIENT_COVERAGE, BLOCKER_OPEN.
    pub flags: Vec<String>,
    pub criteria: Vec<CriterionRating>,
    /// The assessments it was computed from.
    pub inputs: Vec<ID>,
    pub version: String,
}

impl From<renkei_schema::supply::rating::Rating> for SupplierRating {
    fn from(r: renkei_schema::supply::rating::Rating) -> Self {
        SupplierRating {
            score: r.score,
            tier: r.tier,
            coverage: r.coverage,
            freshness_days: r.freshness_days,
            top_assurance: r.top_assurance.map(Into::into),
            assessor_count: i32::try_from(r.assessor_count).unwrap_or(i32::MAX),
            disagreement: r.disagreement,
            open_findings: r
                .open_findings
                .into_iter()
                .map(|(severity, count)| FindingCount {
                    severity: severity.into(),
                    count: i32::try_from(count).unwrap_or(i32::MAX),
                })
                .collect(),
            flags: r
                .flags
                .iter()
                .map(|f| serde_json::to_value(f).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
                .collect(),
            criteria: r
                .criteria
                .into_iter()
                .map(|c| CriterionRating {
                    criterion: c.criterion,
                    points: c.points,
                    assurance: c.assurance.into(),
                    contested: c.contested,
                })
                .collect(),
            inputs: r.inputs.into_iter().map(ID).collect(),
            version: r.version,
        }
    }
}
