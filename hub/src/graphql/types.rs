//! GraphQL output and input types. Output values are built from rows that the
//! services already filtered through the TLP policy; viewer-dependent fields
//! (`createdBy`, `recipients`) are decided here through the same policy functions.

use async_graphql::{Enum, InputObject, Scalar, ScalarType, SimpleObject, Union, Value, ID};
use std::collections::HashMap;

use renkei_schema::model::indicator::IndicatorType as SchemaIndicatorType;
use renkei_schema::model::vuln::ExploitationStatus as SchemaExploitation;
use renkei_schema::model::{Body, Envelope, ServiceImpact as SchemaImpact};
use renkei_schema::tlp::{Status, Tlp as SchemaTlp, Viewer};

use crate::error::{AppError, AppResult};
use crate::services::stored::{may_see_recipients, visible_submitter};
use crate::store::models::ObjectRow;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Tlp")]
pub enum TlpGql {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

impl From<TlpGql> for SchemaTlp {
    fn from(t: TlpGql) -> Self {
        match t {
            TlpGql::Clear => SchemaTlp::Clear,
            TlpGql::Green => SchemaTlp::Green,
            TlpGql::Amber => SchemaTlp::Amber,
            TlpGql::AmberStrict => SchemaTlp::AmberStrict,
            TlpGql::Red => SchemaTlp::Red,
        }
    }
}

impl From<SchemaTlp> for TlpGql {
    fn from(t: SchemaTlp) -> Self {
        match t {
            SchemaTlp::Clear => TlpGql::Clear,
            SchemaTlp::Green => TlpGql::Green,
            SchemaTlp::Amber => TlpGql::Amber,
            SchemaTlp::AmberStrict => TlpGql::AmberStrict,
            SchemaTlp::Red => TlpGql::Red,
        }
    }
}

pub fn tlp_of(text: &str) -> AppResult<TlpGql> {
    text.parse::<SchemaTlp>().map(TlpGql::from).map_err(AppError::internal)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "IndicatorType")]
pub enum IndicatorTypeGql {
    #[graphql(name = "IPV4")]
    Ipv4,
    #[graphql(name = "IPV6")]
    Ipv6,
    Cidr,
    Domain,
    Url,
    Email,
    #[graphql(name = "MD5")]
    Md5,
    #[graphql(name = "SHA1")]
    Sha1,
    #[graphql(name = "SHA256")]
    Sha256,
    Filename,
}

impl From<IndicatorTypeGql> for SchemaIndicatorType {
    fn from(t: IndicatorTypeGql) -> Self {
        match t {
            IndicatorTypeGql::Ipv4 => SchemaIndicatorType::Ipv4,
            IndicatorTypeGql::Ipv6 => SchemaIndicatorType::Ipv6,
            IndicatorTypeGql::Cidr => SchemaIndicatorType::Cidr,
            IndicatorTypeGql::Domain => SchemaIndicatorType::Domain,
            IndicatorTypeGql::Url => SchemaIndicatorType::Url,
            IndicatorTypeGql::Email => SchemaIndicatorType::Email,
            IndicatorTypeGql::Md5 => SchemaIndicatorType::Md5,
            IndicatorTypeGql::Sha1 => SchemaIndicatorType::Sha1,
            IndicatorTypeGql::Sha256 => SchemaIndicatorType::Sha256,
            IndicatorTypeGql::Filename => SchemaIndicatorType::Filename,
        }
    }
}

impl From<SchemaIndicatorType> for IndicatorTypeGql {
    fn from(t: SchemaIndicatorType) -> Self {
        match t {
            SchemaIndicatorType::Ipv4 => IndicatorTypeGql::Ipv4,
            SchemaIndicatorType::Ipv6 => IndicatorTypeGql::Ipv6,
            SchemaIndicatorType::Cidr => IndicatorTypeGql::Cidr,
            SchemaIndicatorType::Domain => IndicatorTypeGql::Domain,
            SchemaIndicatorType::Url => IndicatorTypeGql::Url,
            SchemaIndicatorType::Email => IndicatorTypeGql::Email,
            SchemaIndicatorType::Md5 => IndicatorTypeGql::Md5,
            SchemaIndicatorType::Sha1 => IndicatorTypeGql::Sha1,
            SchemaIndicatorType::Sha256 => IndicatorTypeGql::Sha256,
            SchemaIndicatorType::Filename => IndicatorTypeGql::Filename,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ItemStatus")]
pub enum StatusGql {
    Pending,
    Published,
    Rejected,
    Revoked,
}

impl From<Status> for StatusGql {
    fn from(s: Status) -> Self {
        match s {
            Status::Pending => StatusGql::Pending,
            Status::Published => StatusGql::Published,
            Status::Rejected => StatusGql::Rejected,
            Status::Revoked => StatusGql::Revoked,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ServiceImpact")]
pub enum ImpactGql {
    None,
    Degraded,
    Disrupted,
    Outage,
}

impl From<ImpactGql> for SchemaImpact {
    fn from(i: ImpactGql) -> Self {
        match i {
            ImpactGql::None => SchemaImpact::None,
            ImpactGql::Degraded => SchemaImpact::Degraded,
            ImpactGql::Disrupted => SchemaImpact::Disrupted,
            ImpactGql::Outage => SchemaImpact::Outage,
        }
    }
}

impl From<SchemaImpact> for ImpactGql {
    fn from(i: SchemaImpact) -> Self {
        match i {
            SchemaImpact::None => ImpactGql::None,
            SchemaImpact::Degraded => ImpactGql::Degraded,
            SchemaImpact::Disrupted => ImpactGql::Disrupted,
            SchemaImpact::Outage => ImpactGql::Outage,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ExploitationStatus")]
pub enum ExploitationGql {
    Unknown,
    NotKnown,
    PocPublic,
    KnownExploited,
}

impl From<ExploitationGql> for SchemaExploitation {
    fn from(e: ExploitationGql) -> Self {
        match e {
            ExploitationGql::Unknown => SchemaExploitation::Unknown,
            ExploitationGql::NotKnown => SchemaExploitation::NotKnown,
            ExploitationGql::PocPublic => SchemaExploitation::PocPublic,
            ExploitationGql::KnownExploited => SchemaExploitation::KnownExploited,
        }
    }
}

impl From<SchemaExploitation> for ExploitationGql {
    fn from(e: SchemaExploitation) -> Self {
        match e {
            SchemaExploitation::Unknown => ExploitationGql::Unknown,
            SchemaExploitation::NotKnown => ExploitationGql::NotKnown,
            SchemaExploitation::PocPublic => ExploitationGql::PocPublic,
            SchemaExploitation::KnownExploited => ExploitationGql::KnownExploited,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Role")]
pub enum RoleGql {
    Coordinator,
    Analyst,
    Procurement,
}

/// JSON output (STIX objects, audit details). Values travel through the response tree
/// already serialised, as `Value::Binary`, and [`super::response_json`] writes them
/// verbatim: the change feed never rebuilds a JSON tree per object. A STIX object of a
/// list entry is built only when its field is selected.
#[derive(Clone, Debug)]
pub enum Json {
    /// JSON text produced by serde_json (stored STIX, audit detail).
    Text(String),
    Stix(Box<(Envelope, Body)>),
}

#[Scalar(name = "JSON")]
impl ScalarType for Json {
    fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
        Ok(Json::Text(
            value.into_json().map_err(|e| async_graphql::InputValueError::custom(e.to_string()))?.to_string(),
        ))
    }

    fn to_value(&self) -> Value {
        let text = match self {
            Json::Text(text) => text.clone(),
            Json::Stix(parts) => renkei_schema::stix::to_stix(&parts.0, &parts.1).to_string(),
        };
        Value::Binary(actix_web::web::Bytes::from(text))
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct OrgRef {
    pub id: ID,
    pub name: String,
}

/// Fields every shared object has.
#[derive(SimpleObject, Clone, Debug)]
pub struct SharedFields {
    pub id: ID,
    /// The object's kind: indicator, technique, incident or advisory.
    pub kind: String,
    pub tlp: TlpGql,
    /// Revision on the origin hub, 1 for the first version.
    pub version: i64,
    pub status: StatusGql,
    /// Why the item was rejected or revoked (those versions reach only the submitter
    /// and the coordinators).
    pub status_reason: Option<String>,
    pub created: String,
    pub modified: String,
    /// The submitting organisation; null where the viewer may not know it
    /// (anonymous submissions, for everyone but the coordinators and the submitter).
    pub created_by: Option<OrgRef>,
    /// Organisations named on a TLP:RED item; shown to its submitter and the coordinators.
    pub recipients: Option<Vec<ID>>,
    pub origin_hub: String,
    pub confidence: Option<i32>,
    pub valid_from: String,
    pub valid_until: Option<String>,
    pub labels: Vec<String>,
    /// The STIX 2.1 object of this version.
    pub stix: Json,
    /// Sealed TLP:RED: the content is encrypted to its recipients' keys and the hub
    /// cannot read it; every content field of the item is empty (null, "" or []), and
    /// `sealedEnvelope` holds what recipients open in their client.
    pub sealed: bool,
    /// A sealed item's envelope as recipients read it (the JSON of
    /// `renkei_schema::seal::SealedBody`, its wraps without the keys they are for);
    /// null unless `sealed`.
    pub sealed_envelope: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Indicator {
    #[graphql(flatten)]
    pub shared: SharedFields,
    /// Null only on a sealed item (`sealed`), whose type the hub cannot read.
    #[graphql(name = "type")]
    pub indicator_type: Option<IndicatorTypeGql>,
    pub value: String,
    pub description: Option<String>,
    /// Sightings aggregates loaded for a whole page at once (`sightings` reads them).
    #[graphql(skip)]
    pub preloaded_sightings: Option<SightingSummary>,
}

impl Indicator {
    /// The fields [`Indicator::from_index`] fills in truly. A lookup answers from the
    /// index only when nothing else is selected.
    pub const FROM_INDEX: &'static [&'static str] =
        &["__typename", "id", "kind", "type", "value", "tlp", "version", "status"];

    /// An indicator as the lookup index knows it: only the fields named in
    /// [`Indicator::FROM_INDEX`] are real; the others are left empty and must not be
    /// served (the lookup resolver reads the database when they are selected).
    pub fn from_index(found: crate::services::indicator_index::IndexedIndicator) -> Indicator {
        Indicator {
            shared: SharedFields {
                id: ID(found.id),
                kind: "indicator".into(),
                tlp: found.tlp.into(),
                version: found.revision,
                status: found.status.into(),
                status_reason: None,
                created: String::new(),
                modified: String::new(),
                created_by: None,
                recipients: None,
                origin_hub: String::new(),
                confidence: None,
                valid_from: String::new(),
                valid_until: None,
                labels: Vec::new(),
                stix: Json::Text(String::new()),
                sealed: false,
                sealed_envelope: None,
            },
            indicator_type: Some(found.indicator_type.into()),
            value: found.value,
            description: None,
            preloaded_sightings: None,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Technique {
    #[graphql(flatten)]
    pub shared: SharedFields,
    /// The object's kind, as in the change feed: `technique`.
    #[graphql(name = "type")]
    pub object_type: &'static str,
    pub attack_id: String,
    pub name: String,
    pub tactics: Vec<String>,
    pub narrative: String,
    pub platforms: Vec<String>,
    pub ics_asset_types: Vec<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Incident {
    #[graphql(flatten)]
    pub shared: SharedFields,
    /// The object's kind, as in the change feed: `incident`.
    #[graphql(name = "type")]
    pub object_type: &'static str,
    pub title: String,
    pub summary: String,
    pub sector: String,
    pub occurred_at: Option<String>,
    /// Null only on a sealed item (`sealed`).
    pub service_impact: Option<ImpactGql>,
    pub impact_description: Option<String>,
    pub technique_ids: Vec<String>,
    pub indicator_ids: Vec<ID>,
    /// Registry suppliers the incident involves.
    pub supplier_ids: Vec<ID>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct AffectedProductOut {
    pub cpe: String,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Advisory {
    #[graphql(flatten)]
    pub shared: SharedFields,
    /// The object's kind, as in the change feed: `advisory`.
    #[graphql(name = "type")]
    pub object_type: &'static str,
    pub cve_id: String,
    pub title: String,
    pub description: Option<String>,
    pub affected: Vec<AffectedProductOut>,
    pub cvss_vector: Option<String>,
    pub cvss_base_score: Option<f64>,
    pub exploitation: ExploitationGql,
    pub fixes: Vec<String>,
    pub workarounds: Vec<String>,
}

/// Any shared object, for lookups by id.
#[derive(Union, Clone, Debug)]
pub enum SharedItem {
    Indicator(Indicator),
    Technique(Technique),
    Incident(Incident),
    Advisory(Advisory),
    SupplierAssessment(SupplierAssessment),
}

fn stamp(t: &chrono::DateTime<chrono::Utc>) -> String {
    renkei_schema::stix::timestamp(t)
}

/// Builds the GraphQL value of a row the viewer may read. `names` maps organisation
/// ids to names.
pub fn shared_item(viewer: &Viewer<'_>, row: &ObjectRow, names: &HashMap<String, String>) -> AppResult<SharedItem> {
    let env = crate::services::stored::envelope_of(row)?;
    let body: Body = serde_json::from_str(&row.body).map_err(AppError::internal)?;
    shared_item_of(viewer, row, env, body, names)
}

/// [`shared_item`] for a row whose envelope and body are already parsed.
pub fn shared_item_of(
    viewer: &Viewer<'_>,
    row: &ObjectRow,
    env: Envelope,
    body: Body,
    names: &HashMap<String, String>,
) -> AppResult<SharedItem> {
    let created_by = visible_submitter(viewer, row)?
        .map(|id| OrgRef { id: ID(id.to_string()), name: names.get(id).cloned().unwrap_or_default() });
    let recipients = (env.tlp == SchemaTlp::Red && may_see_recipients(viewer, row))
        .then(|| env.recipients.iter().map(|r| ID(r.clone())).collect());
    let shared = SharedFields {
        id: ID(env.id.clone()),
        kind: env.kind.as_str().into(),
        tlp: env.tlp.into(),
        version: env.revision,
        status: env.status.into(),
        status_reason: env.status_reason.clone(),
        created: stamp(&env.created),
        modified: stamp(&env.modified),
        created_by,
        recipients,
        origin_hub: env.origin_hub.clone(),
        confidence: env.confidence.map(i32::from),
        valid_from: stamp(&env.valid_from),
        valid_until: env.valid_until.as_ref().map(stamp),
        labels: env.labels.clone(),
        stix: Json::Stix(Box::new((env.clone(), body.clone()))),
        sealed: matches!(body, Body::Sealed(_)),
        sealed_envelope: match &body {
            Body::Sealed(s) => Some(serde_json::to_string(&s.for_readers()).map_err(AppError::internal)?),
            _ => None,
        },
    };
    Ok(match body {
        Body::Indicator(b) => SharedItem::Indicator(Indicator {
            shared,
            indicator_type: Some(b.indicator_type.into()),
            value: b.value,
            description: b.description,
            preloaded_sightings: None,
        }),
        Body::Technique(b) => SharedItem::Technique(Technique {
            shared,
            object_type: "technique",
            attack_id: b.attack_id,
            name: b.name,
            tactics: b.tactics,
            narrative: b.narrative,
            platforms: b.platforms,
            ics_asset_types: b.ics_asset_types,
        }),
        Body::Incident(b) => SharedItem::Incident(Incident {
            shared,
            object_type: "incident",
            title: b.title,
            summary: b.summary,
            sector: b.sector,
            occurred_at: b.occurred_at.as_ref().map(stamp),
            service_impact: Some(b.service_impact.into()),
            impact_description: b.impact_description,
            technique_ids: b.technique_ids,
            indicator_ids: b.indicator_refs.into_iter().map(ID).collect(),
            supplier_ids: b.supplier_refs.into_iter().map(ID).collect(),
        }),
        Body::Advisory(b) => SharedItem::Advisory(Advisory {
            shared,
            object_type: "advisory",
            cve_id: b.cve_id,
            title: b.title,
            description: b.description,
            affected: b
                .affected
                .into_iter()
                .map(|a| AffectedProductOut {
                    cpe: a.cpe.to_string(),
                    version_start_including: a.version_start_including,
                    version_start_excluding: a.version_start_excluding,
                    version_end_including: a.version_end_including,
                    version_end_excluding: a.version_end_excluding,
                })
                .collect(),
            cvss_vector: b.cvss_vector,
            cvss_base_score: b.cvss_base_score,
            exploitation: b.exploitation.into(),
            fixes: b.fixes,
            workarounds: b.workarounds,
        }),
        Body::Assessment(b) => SharedItem::SupplierAssessment(assessment_of(shared, b)),
        Body::Sealed(s) => sealed_item(shared, s.content_kind),
    })
}

/// A sealed item as its kind's type, with nothing of its content (the hub holds only
/// ciphertext): empty strings and lists, nulls.
fn sealed_item(shared: SharedFields, kind: renkei_schema::model::Kind) -> SharedItem {
    use renkei_schema::model::Kind;
    match kind {
        Kind::Indicator => SharedItem::Indicator(Indicator {
            shared,
            indicator_type: None,
            value: String::new(),
            description: None,
            preloaded_sightings: None,
        }),
        Kind::Technique => SharedItem::Technique(Technique {
            shared,
            object_type: "technique",
            attack_id: String::new(),
            name: String::new(),
            tactics: Vec::new(),
            narrative: String::new(),
            platforms: Vec::new(),
            ics_asset_types: Vec::new(),
        }),
        Kind::Incident => SharedItem::Incident(Incident {
            shared,
            object_type: "incident",
            title: String::new(),
            summary: String::new(),
            sector: String::new(),
            occurred_at: None,
            service_impact: None,
            impact_description: None,
            technique_ids: Vec::new(),
            indicator_ids: Vec::new(),
            supplier_ids: Vec::new(),
        }),
        Kind::Advisory => SharedItem::Advisory(Advisory {
            shared,
            object_type: "advisory",
            cve_id: String::new(),
            title: String::new(),
            description: None,
            affected: Vec::new(),
            cvss_vector: None,
            cvss_base_score: None,
            exploitation: ExploitationGql::Unknown,
            fixes: Vec::new(),
            workarounds: Vec::new(),
        }),
        Kind::Assessment => SharedItem::SupplierAssessment(SupplierAssessment {
            shared,
            supplier_id: ID(String::new()),
            offering_ids: Vec::new(),
            scheme_id: String::new(),
            scheme_version: String::new(),
            assessor: None,
            assessor_name: None,
            assurance: None,
            observed: String::new(),
            results: Vec::new(),
            findings: Vec::new(),
            conclusion: String::new(),
            posture: None,
        }),
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct SharingInput {
    pub tlp: TlpGql,
    /// Organisation ids; required for RED and only for RED.
    #[graphql(default)]
    pub recipients: Vec<ID>,
    /// Publish as "a member of this hub": only coordinators see the submitter.
    #[graphql(default)]
    pub anonymous: bool,
    /// 0–100.
    pub confidence: Option<i32>,
    /// RFC 3339 time after which the item is no longer current.
    pub valid_until: Option<String>,
    #[graphql(default)]
    pub labels: Vec<String>,
    /// Indicators on an allowlist are refused (ALLOWLISTED) unless this is set; then
    /// those indicators are queued for a coordinator, the others follow the policy.
    #[graphql(default)]
    pub force_allowlisted: bool,
}

#[derive(InputObject, Clone, Debug)]
pub struct IndicatorInput {
    #[graphql(name = "type")]
    pub indicator_type: IndicatorTypeGql,
    pub value: String,
    pub description: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct IndicatorFilter {
    #[graphql(name = "type")]
    pub indicator_type: Option<IndicatorTypeGql>,
    pub tlp: Option<TlpGql>,
    /// Only live indicators: published, unexpired, and scoring at least `minScore`
    /// (default: the hub's `indicators.active_min_score`).
    #[graphql(default)]
    pub active: bool,
    /// Only indicators scoring at least this (0–100); implied by `active`.
    pub min_score: Option<i32>,
    #[graphql(default)]
    pub include_revoked: bool,
}

#[derive(InputObject, Clone, Debug)]
pub struct TechniqueInput {
    /// MITRE ATT&CK id, e.g. T1566.001 or ICS T0866.
    pub attack_id: String,
    /// Required only while no ATT&CK catalog is loaded; otherwise taken from the catalog.
    pub name: Option<String>,
    #[graphql(default)]
    pub tactics: Vec<String>,
    /// How the technique was seen being used.
    pub narrative: String,
    #[graphql(default)]
    pub platforms: Vec<String>,
    #[graphql(default)]
    pub ics_asset_types: Vec<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct IncidentInput {
    pub title: String,
    pub summary: String,
    pub sector: String,
    /// RFC 3339.
    pub occurred_at: Option<String>,
    pub service_impact: ImpactGql,
    pub impact_description: Option<String>,
    #[graphql(default)]
    pub technique_ids: Vec<String>,
    #[graphql(default)]
    pub indicator_ids: Vec<ID>,
    /// Registry suppliers the incident involves (a breach at a supplier, a compromised
    /// update channel): members whose risks depend on them are told to reassess.
    #[graphql(default)]
    pub supplier_ids: Vec<ID>,
}

#[derive(InputObject, Clone, Debug)]
pub struct AffectedProductInput {
    /// CPE 2.3 formatted string.
    pub cpe: String,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct AdvisoryInput {
    pub cve_id: String,
    pub title: String,
    pub description: Option<String>,
    #[graphql(default)]
    pub affected: Vec<AffectedProductInput>,
    pub cvss_vector: Option<String>,
    #[graphql(default_with = "ExploitationGql::Unknown")]
    pub exploitation: ExploitationGql,
    #[graphql(default)]
    pub fixes: Vec<String>,
    #[graphql(default)]
    pub workarounds: Vec<String>,
}

// ---- Supplier assessments (the SharedItem member; the registry's own types are in
// supplier_api.rs).

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AssessorKindGql {
    Member,
    Supplier,
    ThirdParty,
    Automated,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "AssuranceLevel")]
pub enum AssuranceGql {
    Automated,
    SelfAttested,
    QuestionnaireReviewed,
    TechnicalTest,
    IndependentCertification,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "FindingSeverity")]
pub enum SeverityGql {
    Low,
    Medium,
    High,
    Blocker,
}

macro_rules! mirror {
    ($gql:ident, $schema:ty, [$($v:ident),+]) => {
        impl From<$gql> for $schema {
            fn from(v: $gql) -> Self {
                match v { $($gql::$v => <$schema>::$v),+ }
            }
        }
        impl From<$schema> for $gql {
            fn from(v: $schema) -> Self {
                match v { $(<$schema>::$v => $gql::$v),+ }
            }
        }
    };
}
mirror!(AssessorKindGql, renkei_schema::model::AssessorKind, [Member, Supplier, ThirdParty, Automated]);
mirror!(
    AssuranceGql,
    renkei_schema::supply::rating::Assurance,
    [Automated, SelfAttested, QuestionnaireReviewed, TechnicalTest, IndependentCertification]
);
mirror!(SeverityGql, renkei_schema::supply::rating::Severity, [Low, Medium, High, Blocker]);

#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "EvidenceInput")]
pub struct EvidenceOut {
    /// SHA-256 (hex) of the document.
    pub sha256: String,
    /// certificate, audit_report, pen_test, sbom, policy or other.
    pub kind: String,
    pub issued: Option<String>,
    pub expires: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CriterionResultOut {
    pub criterion: String,
    /// 0–4; null when not applicable.
    pub answer: Option<i32>,
    pub not_applicable: bool,
    pub comment: Option<String>,
    pub evidence: Vec<EvidenceOut>,
}

#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "FindingInput")]
pub struct FindingOut {
    pub severity: SeverityGql,
    pub description: String,
    #[graphql(default = true)]
    pub open: bool,
}

/// A supplier assessment result, shared under TLP like every item.
#[derive(SimpleObject, Clone, Debug)]
pub struct SupplierAssessment {
    #[graphql(flatten)]
    pub shared: SharedFields,
    pub supplier_id: ID,
    pub offering_ids: Vec<ID>,
    pub scheme_id: String,
    pub scheme_version: String,
    /// Null only on a sealed item (`sealed`).
    pub assessor: Option<AssessorKindGql>,
    pub assessor_name: Option<String>,
    /// Null only on a sealed item (`sealed`).
    pub assurance: Option<AssuranceGql>,
    pub observed: String,
    pub results: Vec<CriterionResultOut>,
    pub findings: Vec<FindingOut>,
    pub conclusion: String,
    /// 0–100 over the scheme's criteria answered (not-applicable excluded, unanswered
    /// counted as worst); null when nothing is scorable.
    pub posture: Option<f64>,
}

pub fn assessment_of(shared: SharedFields, b: renkei_schema::model::AssessmentBody) -> SupplierAssessment {
    use renkei_schema::supply::rating::Answer;
    SupplierAssessment {
        shared,
        supplier_id: ID(b.supplier_id),
        offering_ids: b.offering_ids.into_iter().map(ID).collect(),
        scheme_id: b.scheme_id,
        scheme_version: b.scheme_version,
        assessor: Some(b.assessor.into()),
        assessor_name: b.assessor_name,
        assurance: Some(b.assurance.into()),
        observed: stamp(&b.observed),
        results: b
            .results
            .into_iter()
            .map(|r| CriterionResultOut {
                criterion: r.criterion,
                answer: match r.answer {
                    Answer::Scale(v) => Some(i32::from(v)),
                    Answer::Unanswered => Some(0),
                    Answer::NotApplicable => None,
                },
                not_applicable: r.answer == Answer::NotApplicable,
                comment: r.comment,
                evidence: r
                    .evidence
                    .into_iter()
                    .map(|e| EvidenceOut {
                        sha256: e.sha256,
                        kind: e.kind,
                        issued: e.issued.as_ref().map(stamp),
                        expires: e.expires.as_ref().map(stamp),
                    })
                    .collect(),
            })
            .collect(),
        findings: b
            .findings
            .into_iter()
            .map(|f| FindingOut { severity: f.severity.into(), description: f.description, open: f.open })
            .collect(),
        conclusion: b.conclusion,
        posture: b.posture,
    }
}

// ---- Sightings

/// What members reported about an indicator; never which members.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct SightingSummary {
    /// Organisations that saw it: this hub's members, and other hubs' members as their
    /// hubs count them (sightings aggregates over federation links).
    pub organizations: i64,
    /// Sum of the counts they reported.
    pub total: i64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Organisations that reported it as a false positive.
    pub false_positive_organizations: i64,
    pub false_positive_reports: i64,
    /// When the latest report (of either kind) arrived.
    pub last_reported: Option<String>,
}

impl From<crate::services::sightings::Summary> for SightingSummary {
    fn from(s: crate::services::sightings::Summary) -> Self {
        SightingSummary {
            organizations: s.organizations,
            total: s.total,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
            false_positive_organizations: s.false_positive_organizations,
            false_positive_reports: s.false_positive_reports,
            last_reported: s.last_reported,
        }
    }
}
