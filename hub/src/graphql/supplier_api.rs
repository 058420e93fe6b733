//! GraphQL for the supplier registry: suppliers and offerings (assessments and
//! ratings come on top of these). Thin callers of `services::suppliers`.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject, ID};

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
    /// The supplier's offerings the caller may see.
    async fn offerings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Offering>> {
        let who = identity(ctx)?;
        let id = self.id.0.clone();
        let rows = hub(ctx).db(move |_, c| suppliers::offerings_of(c, &who, &id)).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[derive(SimpleObject, Clone)]
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

#[derive(Default)]
pub struct SupplierQuery;

#[Object]
impl SupplierQuery {
    /// Suppliers whose names (Japanese or English), aliases or corporate number contain
    /// `query`.
    async fn suppliers(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Supplier>> {
        let who: Identity = identity(ctx)?;
        let first = page_size(first, hub(ctx).config.limits.max_page, 100)?;
        let rows = hub(ctx).db(move |_, c| suppliers::search(c, &who, query.as_deref(), first)).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn supplier(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Supplier>> {
        let who = identity(ctx)?;
        let row = hub(ctx).db(move |_, c| suppliers::get(c, &who, &id)).await?;
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
        let row = hub(ctx).db(move |_, c| suppliers::add_supplier(c, &who, input)).await?;
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
        let row = hub(ctx).db(move |_, c| suppliers::add_offering(c, &who, input)).await?;
        Ok(row.into())
    }

    /// Approves a member's proposed supplier or offering (a coordinator of another
    /// organisation). Answers the entry's id.
    async fn approve_registry_entry(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let who = identity(ctx)?;
        let target = id.0.clone();
        hub(ctx).db(move |_, c| suppliers::approve(c, &who, &target)).await?;
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
        let stored = hub(ctx).db(move |_, c| suppliers::add_scheme(c, &who, scheme, reference_only)).await?;
        Ok(scheme_out((stored, reference_only)))
    }
}
