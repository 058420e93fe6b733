//! The supplier registry: suppliers and their offerings, hub reference data. A
//! coordinator's entries are active at once; a member's are proposals that only its own
//! organisation and the coordinators see until a coordinator approves them.
//! (Assessments and ratings build on this: `renkei_schema::supply`.)

use diesel::prelude::*;
use serde_json::json;

use chrono::{DateTime, Utc};
use renkei_schema::model::vuln::Cpe23;
use renkei_schema::model::{AssessmentBody, AssessorKind, Body, CriterionResult, Evidence, Finding};
use renkei_schema::supply::corporate_number;
use renkei_schema::supply::rating::{
    posture, rate, Answer, AssessmentInput as AssessmentInput2, Assurance, RatingRules,
};
use renkei_schema::supply::scheme::{Scheme, MAX_ANSWER};
use renkei_schema::tlp::Viewer;

use super::audit::{self, AuditEvent};
use super::stored::Signer;
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::store::models::{ObjectRow, OfferingRow, SupplierRow};
use crate::store::schema::{offerings, suppliers};
use crate::store::{acquire_write_lock, now_text, DbConn};
use renkei_schema::errors::Code;

pub const ACTIVE: &str = "active";
pub const PROPOSED: &str = "proposed";

/// What `addSupplier` takes.
#[derive(Debug, Clone, Default)]
pub struct SupplierInput {
    pub legal_name: String,
    pub name_ja: String,
    pub name_en: Option<String>,
    pub aliases: Vec<String>,
    pub corporate_number: Option<String>,
    pub lei: Option<String>,
    pub country: String,
    pub parent_id: Option<String>,
    pub cpe_vendors: Vec<String>,
}

/// What `addOffering` takes.
#[derive(Debug, Clone, Default)]
pub struct OfferingInput {
    pub supplier_id: String,
    pub name: String,
    pub kind: String,
    pub cpe_products: Vec<String>,
    pub versions: Vec<String>,
    pub sectors: Vec<String>,
    pub subcontractor_ids: Vec<String>,
}

/// The kinds of offering.
pub const OFFERING_KINDS: [&str; 6] =
    ["software", "ot_device", "cloud_service", "managed_service", "maintenance", "integration"];

use super::text;

fn texts(field: &'static str, values: &[String], max: usize) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = values.iter().map(|v| text(field, v, max)).collect::<AppResult<_>>()?;
    out.dedup();
    Ok(out)
}

fn json_list(values: &[String]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
}

fn duplicate_supplier(number: &str, existing: &str) -> AppError {
    AppError::new(
        Code::DuplicateSupplier,
        format!("corporate number {number} is already registered (supplier {existing})"),
        format!("法人番号{number}は既に登録されています（サプライヤー {existing}）"),
    )
}

/// Whether the viewer may see a registry entry: active ones everyone, proposals their
/// proposer and the coordinators.
fn visible(actor: &Identity, status: &str, proposed_by: Option<&str>) -> bool {
    status == ACTIVE || actor.is_coordinator() || proposed_by == Some(actor.org_id.as_str())
}

/// Whether a viewer (as the TLP policy knows it) may see a registry entry: the same
/// rule as [`visible`].
pub fn visible_to(viewer: &Viewer<'_>, status: &str, proposed_by: Option<&str>) -> bool {
    status == ACTIVE || viewer.role == renkei_schema::tlp::ViewerRole::Coordinator || proposed_by == Some(viewer.org)
}

/// One supplier as the actor may see it.
pub fn get(conn: &mut DbConn, actor: &Identity, id: &str) -> AppResult<Option<SupplierRow>> {
    let row: Option<SupplierRow> = suppliers::table.find(id).select(SupplierRow::as_select()).first(conn).optional()?;
    Ok(row.filter(|r| visible(actor, &r.status, r.proposed_by.as_deref())))
}

/// One offering as the actor may see it (a client resolves an asset that names only an
/// offering to its supplier with it).
pub fn get_offering(conn: &mut DbConn, actor: &Identity, id: &str) -> AppResult<Option<OfferingRow>> {
    let row: Option<OfferingRow> = offerings::table.find(id).select(OfferingRow::as_select()).first(conn).optional()?;
    Ok(row.filter(|r| visible(actor, &r.status, r.proposed_by.as_deref())))
}

/// Adds (coordinators) or proposes (members) a supplier, in one transaction.
pub fn add_supplier(
    conn: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    actor: &Identity,
    input: SupplierInput,
) -> AppResult<SupplierRow> {
    let legal_name = text("legalName", &input.legal_name, 300)?;
    let name_ja = text("nameJa", &input.name_ja, 300)?;
    let name_en = input.name_en.as_deref().map(|n| text("nameEn", n, 300)).transpose()?;
    let aliases = texts("aliases", &input.aliases, 300)?;
    let corporate_number = match input.corporate_number.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(n) => Some(
            corporate_number::validate(n)
                .map_err(|e| AppError::new(Code::InvalidCorporateNumber, e.reason, e.reason_ja))?,
        ),
        None => None,
    };
    let lei = match input.lei.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(n) => Some(
            corporate_number::validate_lei(n).map_err(|e| AppError::new(Code::InvalidLei, e.reason, e.reason_ja))?,
        ),
        None => None,
    };
    let country = input.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(AppError::invalid(
            format!("country {:?} is not an ISO 3166-1 alpha-2 code such as JP", input.country),
            format!("国コード「{}」はISO 3166-1 alpha-2（例: JP）ではありません", input.country),
        ));
    }
    let cpe_vendors: Vec<String> = input.cpe_vendors.iter().map(|v| v.trim().to_ascii_lowercase()).collect();
    if let Some(bad) = cpe_vendors
        .iter()
        .find(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)))
    {
        return Err(AppError::invalid(
            format!("{bad:?} is not a CPE vendor string (letters, digits, _ - .)"),
            format!("「{bad}」はCPEのベンダー文字列ではありません"),
        ));
    }
    let status = if actor.is_coordinator() { ACTIVE } else { PROPOSED };
    let mut search: Vec<String> = vec![legal_name.clone(), name_ja.clone()];
    search.extend(name_en.clone());
    search.extend(aliases.iter().cloned());
    search.extend(corporate_number.clone());
    let search_text = search.join("\n").to_lowercase();
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        if let Some(n) = &corporate_number {
            // Only entries the caller may see count: another member's proposal of the
            // same company is answered as if it did not exist (numbers are unique among
            // active suppliers only; a coordinator approving a duplicate is refused).
            let taken: Vec<(String, String, Option<String>)> = suppliers::table
                .filter(suppliers::corporate_number.eq(n))
                .select((suppliers::id, suppliers::status, suppliers::proposed_by))
                .load(c)?;
            if let Some((existing, _, _)) =
                taken.iter().find(|(_, status, proposer)| visible(actor, status, proposer.as_deref()))
            {
                return Err(duplicate_supplier(n, existing));
            }
        }
        if let Some(parent) = &input.parent_id {
            if get(c, actor, parent)?.is_none() {
                return Err(AppError::not_found("parent supplier"));
            }
        }
        let row = SupplierRow {
            id: format!("supplier--{}", uuid::Uuid::new_v4()),
            legal_name: legal_name.clone(),
            name_ja: name_ja.clone(),
            name_en: name_en.clone(),
            aliases: json_list(&aliases),
            corporate_number: corporate_number.clone(),
            lei: lei.clone(),
            country: country.clone(),
            parent_id: input.parent_id.clone(),
            cpe_vendors: json_list(&cpe_vendors),
            status: status.into(),
            proposed_by: (status == PROPOSED).then(|| actor.org_id.clone()),
            created_at: now_text(),
            search_text: search_text.clone(),
        };
        diesel::insert_into(suppliers::table).values(&row).execute(c)?;
        bump_registry_version(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: if status == ACTIVE { "supplier.add".into() } else { "supplier.propose".into() },
                target: Some(row.id.clone()),
                detail: json!({"legalName": row.legal_name, "corporateNumber": row.corporate_number}),
                source: actor.source.clone(),
            },
        )?;
        Ok(row)
    })
}

/// Approves a proposed supplier or offering (coordinators; never one's own proposal).
pub fn approve(conn: &mut DbConn, keys: &crate::crypto::HubKeys, actor: &Identity, id: &str) -> AppResult<()> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("approve registry proposals"));
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let (status, proposer): (String, Option<String>) = if id.starts_with("offering--") {
            offerings::table.find(id).select((offerings::status, offerings::proposed_by)).first(c).optional()?
        } else {
            suppliers::table.find(id).select((suppliers::status, suppliers::proposed_by)).first(c).optional()?
        }
        .ok_or_else(|| AppError::not_found("registry entry"))?;
        if status != PROPOSED {
            return Err(AppError::new(
                Code::NotPending,
                "the entry is not a proposal",
                "この登録は提案中ではありません",
            ));
        }
        if proposer.as_deref() == Some(actor.org_id.as_str()) {
            return Err(AppError::new(
                Code::SelfApproval,
                "nobody may approve their own organisation's proposal",
                "自組織の提案は承認できません",
            ));
        }
        if id.starts_with("offering--") {
            diesel::update(offerings::table.find(id)).set(offerings::status.eq(ACTIVE)).execute(c)?;
        } else {
            let number: Option<String> =
                suppliers::table.find(id).select(suppliers::corporate_number).first::<Option<String>>(c)?;
            if let Some(n) = number {
                let active: Option<String> = suppliers::table
                    .filter(suppliers::corporate_number.eq(&n))
                    .filter(suppliers::status.eq(ACTIVE))
                    .select(suppliers::id)
                    .first(c)
                    .optional()?;
                if let Some(existing) = active {
                    return Err(duplicate_supplier(&n, &existing));
                }
            }
            diesel::update(suppliers::table.find(id)).set(suppliers::status.eq(ACTIVE)).execute(c)?;
            bump_registry_version(c)?;
        }
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "registry.approve".into(),
                target: Some(id.to_string()),
                detail: json!({}),
                source: actor.source.clone(),
            },
        )?;
        Ok(())
    })
}

/// Adds (coordinators) or proposes (members) an offering of a supplier the actor sees.
pub fn add_offering(
    conn: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    actor: &Identity,
    input: OfferingInput,
) -> AppResult<OfferingRow> {
    let name = text("name", &input.name, 300)?;
    let kind = input.kind.trim().to_ascii_lowercase();
    if !OFFERING_KINDS.contains(&kind.as_str()) {
        return Err(AppError::invalid(
            format!("kind {:?}: expected one of {}", input.kind, OFFERING_KINDS.join(", ")),
            format!("種別「{}」は使えません（{}）", input.kind, OFFERING_KINDS.join(", ")),
        ));
    }
    let cpe_products: Vec<String> = input
        .cpe_products
        .iter()
        .map(|c| {
            Cpe23::parse(c).map(|c| c.to_string()).map_err(|e| {
                AppError::invalid(format!("cpeProducts: {}", e.reason), format!("cpeProducts: {}", e.reason_ja))
            })
        })
        .collect::<AppResult<_>>()?;
    let versions = texts("versions", &input.versions, 100)?;
    let sectors = texts("sectors", &input.sectors, 100)?;
    let status = if actor.is_coordinator() { ACTIVE } else { PROPOSED };
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        if get(c, actor, &input.supplier_id)?.is_none() {
            return Err(AppError::not_found("supplier"));
        }
        let mut subcontractors = Vec::new();
        for sub in &input.subcontractor_ids {
            if *sub == input.supplier_id {
                return Err(AppError::invalid(
                    "a supplier is not its own subcontractor",
                    "サプライヤー自身を再委託先にはできません",
                ));
            }
            if get(c, actor, sub)?.is_none() {
                return Err(AppError::not_found("subcontractor supplier"));
            }
            if !subcontractors.contains(sub) {
                subcontractors.push(sub.clone());
            }
        }
        let row = OfferingRow {
            id: format!("offering--{}", uuid::Uuid::new_v4()),
            supplier_id: input.supplier_id.clone(),
            name: name.clone(),
            kind: kind.clone(),
            cpe_products: json_list(&cpe_products),
            versions: json_list(&versions),
            sectors: json_list(&sectors),
            subcontractors: json_list(&subcontractors),
            status: status.into(),
            proposed_by: (status == PROPOSED).then(|| actor.org_id.clone()),
            created_at: now_text(),
        };
        diesel::insert_into(offerings::table).values(&row).execute(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: if status == ACTIVE { "offering.add".into() } else { "offering.propose".into() },
                target: Some(row.id.clone()),
                detail: json!({"supplier": row.supplier_id, "name": row.name}),
                source: actor.source.clone(),
            },
        )?;
        Ok(row)
    })
}

/// A supplier's offerings the actor may see.
pub fn offerings_of(conn: &mut DbConn, actor: &Identity, supplier_id: &str) -> AppResult<Vec<OfferingRow>> {
    let rows: Vec<OfferingRow> = offerings::table
        .filter(offerings::supplier_id.eq(supplier_id))
        .order(offerings::created_at.asc())
        .select(OfferingRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().filter(|o| visible(actor, &o.status, o.proposed_by.as_deref())).collect())
}

/// The supplier ids an offering relies on (its subcontractors, one level), as stored.
/// Each is still to be read with [`get`] for the viewer: one it may not see is only an id.
pub fn subcontractors_of(offering: &OfferingRow) -> Vec<String> {
    serde_json::from_str(&offering.subcontractors).unwrap_or_default()
}

/// Whether the actor may submit supplier assessments (`submitAssessment`, the console's
/// form): those who share items, and procurement teams (who share nothing else).
pub fn may_submit_assessment(actor: &Identity) -> bool {
    actor.may_share() || actor.role == crate::auth::Role::Procurement
}

/// Procurement filters on the rating each viewer sees (under the built-in scheme) and
/// on what the supplier offers.
#[derive(Debug, Clone, Default)]
pub struct RatingFilter {
    /// Only these tiers.
    pub tiers: Vec<String>,
    /// Only suppliers with all of these flags.
    pub flags: Vec<renkei_schema::supply::rating::Flag>,
    /// Only suppliers with no valid assessment the viewer may read.
    pub no_valid_assessment: bool,
    /// Only suppliers whose rating (or an offering's) worsened for the viewer within
    /// this many days.
    pub worsened_within_days: Option<u32>,
    /// Only suppliers with an offering serving one of these sectors.
    pub sectors: Vec<String>,
}

impl RatingFilter {
    fn on_rating(&self) -> bool {
        !self.tiers.is_empty() || !self.flags.is_empty() || self.no_valid_assessment
    }

    /// Whether a stored rating summary (tier, `,FLAG,` text, anything valid read) passes.
    fn admits(&self, tier: Option<&str>, flags: &str, has_inputs: bool) -> bool {
        (self.tiers.is_empty() || tier.is_some_and(|t| self.tiers.iter().any(|x| x == t)))
            && self.flags.iter().all(|f| flags.contains(&format!(",{},", f.as_str())))
            && (!self.no_valid_assessment || !has_inputs)
    }
}

/// The key of the registry's version in `hub_meta`: a new value on every change that
/// supplier search sees (a supplier added or approved).
const REGISTRY_VERSION_KEY: &str = "registry_version";

fn bump_registry_version(c: &mut DbConn) -> AppResult<()> {
    use crate::store::schema::hub_meta;
    diesel::update(hub_meta::table.find(REGISTRY_VERSION_KEY))
        .set(hub_meta::value.eq(uuid::Uuid::new_v4().to_string()))
        .execute(c)?;
    Ok(())
}

/// What supplier search matches on, for one supplier.
struct Searchable {
    id: String,
    name_ja: String,
    search_text: String,
    active: bool,
    proposed_by: Option<String>,
}

/// The suppliers' names in memory, in (Japanese name, id) order, reloaded when the
/// registry's version changes (so other replicas' additions show at the next search).
/// A substring search of 10,000 suppliers is a millisecond here; `LIKE '%…%'` in the
/// database scanned and sorted the table on every search (p99 57 ms under 8 clients).
#[derive(Default)]
pub struct SearchIndex {
    current: std::sync::Mutex<(Option<String>, std::sync::Arc<Vec<Searchable>>)>,
}

impl SearchIndex {
    fn entries(&self, conn: &mut DbConn) -> AppResult<std::sync::Arc<Vec<Searchable>>> {
        use crate::store::schema::hub_meta;
        let version: Option<String> =
            hub_meta::table.find(REGISTRY_VERSION_KEY).select(hub_meta::value).first(conn).optional()?;
        {
            let current = self.current.lock().map_err(|_| AppError::internal("search index lock poisoned"))?;
            if current.0.is_some() && current.0 == version {
                return Ok(std::sync::Arc::clone(&current.1));
            }
        }
        let rows: Vec<(String, String, String, String, Option<String>)> = suppliers::table
            .select((
                suppliers::id,
                suppliers::name_ja,
                suppliers::search_text,
                suppliers::status,
                suppliers::proposed_by,
            ))
            .load(conn)?;
        let mut entries: Vec<Searchable> = rows
            .into_iter()
            .map(|(id, name_ja, search_text, status, proposed_by)| Searchable {
                id,
                name_ja,
                search_text,
                active: status == ACTIVE,
                proposed_by,
            })
            .collect();
        entries.sort_by(|a, b| (&a.name_ja, &a.id).cmp(&(&b.name_ja, &b.id)));
        let entries = std::sync::Arc::new(entries);
        let mut current = self.current.lock().map_err(|_| AppError::internal("search index lock poisoned"))?;
        *current = (version, std::sync::Arc::clone(&entries));
        Ok(entries)
    }
}

/// Suppliers whose names (either language), aliases or corporate number contain the
/// query, as the actor may see them, in Japanese-name order, passing `filter` on the
/// rating the actor sees (read from the stored ratings); at most `first`.
pub fn search_rated(
    conn: &mut DbConn,
    index: &SearchIndex,
    actor: &Identity,
    rules: &RatingRules,
    query: Option<&str>,
    filter: &RatingFilter,
    first: usize,
) -> AppResult<Vec<SupplierRow>> {
    let viewer = actor.viewer();
    let scheme_id = renkei_schema::supply::scheme::HANDBOOK_SCHEME_ID;
    let worsened_since = filter.worsened_within_days.map(|days| Utc::now() - chrono::Duration::days(i64::from(days)));
    // A supplier without a stored rating has the rating of nothing.
    let empty = if filter.on_rating() {
        let scheme = known_scheme(conn, scheme_id)?;
        let r = rate(&scheme, &[], rules, Utc::now());
        let flags: String = r.flags.iter().fold(String::from(","), |s, f| s + f.as_str() + ",");
        (r.tier, flags)
    } else {
        (None, String::new())
    };
    let needle = query.map(str::trim).filter(|t| !t.is_empty()).map(str::to_lowercase);
    let entries = index.entries(conn)?;
    let candidates = entries
        .iter()
        .filter(|e| e.active || actor.is_coordinator() || e.proposed_by.as_deref() == Some(actor.org_id.as_str()))
        .filter(|e| needle.as_ref().is_none_or(|n| e.search_text.contains(n.as_str())))
        .map(|e| e.id.clone());
    // Candidates in name order, a page at a time (growing from 100 to 3,200: a
    // selective filter over a broad query reads few pages), through the filters that
    // read the database for that page only, until `first` pass.
    let mut passed: Vec<String> = Vec::new();
    let mut candidates = candidates.peekable();
    let mut page_size = 100;
    while passed.len() < first && candidates.peek().is_some() {
        let page: Vec<String> = candidates.by_ref().take(page_size).collect();
        page_size = (page_size * 2).min(3_200);
        let serving =
            if filter.sectors.is_empty() { None } else { Some(serving_sectors(conn, actor, &filter.sectors, &page)?) };
        let worsened = match worsened_since {
            Some(since) => Some(super::ratings::worsened_among(conn, &viewer, scheme_id, since, &page)?),
            None => None,
        };
        let summaries = if filter.on_rating() {
            Some(super::ratings::current_summaries(conn, &viewer, scheme_id, &page)?)
        } else {
            None
        };
        for id in page {
            let excluded =
                |set: &Option<std::collections::HashSet<String>>| set.as_ref().is_some_and(|s| !s.contains(&id));
            if excluded(&serving) || excluded(&worsened) {
                continue;
            }
            let admitted = match summaries.as_ref().map(|s| s.get(&id)) {
                None => true,
                Some(Some(r)) => filter.admits(r.tier.as_deref(), &r.flags, r.has_inputs),
                Some(None) => filter.admits(empty.0.as_deref(), &empty.1, false),
            };
            if admitted {
                passed.push(id);
                if passed.len() == first {
                    break;
                }
            }
        }
    }
    let mut rows: std::collections::HashMap<String, SupplierRow> = suppliers::table
        .filter(suppliers::id.eq_any(&passed))
        .select(SupplierRow::as_select())
        .load::<SupplierRow>(conn)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    Ok(passed.iter().filter_map(|id| rows.remove(id)).collect())
}

/// Which of these suppliers have an offering (that the actor may see) serving one of
/// these sectors.
fn serving_sectors(
    conn: &mut DbConn,
    actor: &Identity,
    sectors: &[String],
    supplier_ids: &[String],
) -> AppResult<std::collections::HashSet<String>> {
    let wanted: Vec<String> = sectors.iter().map(|s| s.trim().to_string()).collect();
    let rows: Vec<(String, String, String, Option<String>)> = offerings::table
        .filter(offerings::supplier_id.eq_any(supplier_ids))
        .select((offerings::supplier_id, offerings::sectors, offerings::status, offerings::proposed_by))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, status, by)| visible(actor, status, by.as_deref()))
        .filter(|(_, json, _, _)| {
            serde_json::from_str::<Vec<String>>(json).is_ok_and(|served| served.iter().any(|s| wanted.contains(s)))
        })
        .map(|(supplier, _, _, _)| supplier)
        .collect())
}

pub use super::ratings::schemes;

/// Adds a scheme version (coordinators). A reference-only scheme (SIG, CAIQ: text that
/// may not be copied) stores its criteria by id only; others need text in at least one
/// language per criterion.
pub fn add_scheme(
    conn: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    actor: &Identity,
    scheme: Scheme,
    reference_only: bool,
) -> AppResult<Scheme> {
    use crate::store::schema::assessment_schemes as s;
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("add assessment schemes"));
    }
    let bad = |en: String, ja: String| AppError::new(Code::InvalidScheme, en, ja);
    text("id", &scheme.id, 100)?;
    text("version", &scheme.version, 50)?;
    text("nameJa", &scheme.name_ja, 300)?;
    text("nameEn", &scheme.name_en, 300)?;
    if scheme.criteria.is_empty() {
        return Err(bad("a scheme needs at least one criterion".into(), "評価項目が1つ以上必要です".into()));
    }
    let mut ids = std::collections::HashSet::new();
    for c in &scheme.criteria {
        text("criterion id", &c.id, 100)?;
        if !ids.insert(c.id.as_str()) {
            return Err(bad(format!("criterion {} appears twice", c.id), format!("評価項目{}が重複しています", c.id)));
        }
        if !(c.weight > 0.0 && c.weight.is_finite()) {
            return Err(bad(
                format!("criterion {} needs a positive weight", c.id),
                format!("評価項目{}の重みは正の数にしてください", c.id),
            ));
        }
        let has_text = c.text_ja.is_some() || c.text_en.is_some();
        if reference_only && has_text {
            return Err(bad(
                format!("criterion {}: a reference-only scheme stores ids, not question text", c.id),
                format!("評価項目{}: 参照のみのスキームには設問文を保存しません", c.id),
            ));
        }
        if !reference_only && !has_text {
            return Err(bad(
                format!("criterion {} has no text", c.id),
                format!("評価項目{}に設問文がありません", c.id),
            ));
        }
    }
    let body = serde_json::to_string(&scheme).map_err(AppError::internal)?;
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let exists: i64 =
            s::table.filter(s::id.eq(&scheme.id)).filter(s::version.eq(&scheme.version)).count().get_result(c)?;
        if exists > 0 {
            return Err(AppError::new(
                Code::DuplicateScheme,
                format!(
                    "scheme {} version {} exists; schemes are versioned, add a new version",
                    scheme.id, scheme.version
                ),
                format!(
                    "スキーム{}のバージョン{}は既にあります。新しいバージョンとして追加してください",
                    scheme.id, scheme.version
                ),
            ));
        }
        diesel::insert_into(s::table)
            .values((
                s::id.eq(&scheme.id),
                s::version.eq(&scheme.version),
                s::reference_only.eq(reference_only),
                s::body.eq(&body),
                s::created_at.eq(now_text()),
            ))
            .execute(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "scheme.add".into(),
                target: Some(format!("{}@{}", scheme.id, scheme.version)),
                detail: json!({"criteria": scheme.criteria.len(), "referenceOnly": reference_only}),
                source: actor.source.clone(),
            },
        )?;
        Ok(scheme)
    })
}

/// One criterion's result as given: criterion, answer 0..=4 (None: not applicable),
/// comment, evidence.
pub type ResultInput = (String, Option<i32>, Option<String>, Vec<Evidence>);

/// What `submitAssessment` takes.
#[derive(Debug, Clone)]
pub struct AssessmentInput {
    pub supplier_id: String,
    pub offering_ids: Vec<String>,
    pub scheme_id: String,
    pub scheme_version: Option<String>,
    pub assessor: AssessorKind,
    pub assessor_name: Option<String>,
    pub assurance: Assurance,
    pub observed: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub results: Vec<ResultInput>,
    pub findings: Vec<Finding>,
    pub conclusion: String,
}

/// The latest version of a scheme, or the given one.
fn scheme_of(conn: &mut DbConn, id: &str, version: Option<&str>) -> AppResult<Option<Scheme>> {
    Ok(schemes(conn)?.into_iter().map(|(s, _)| s).rfind(|s| s.id == id && version.is_none_or(|v| v == s.version)))
}

/// Validates an assessment into its body and validity end. Everything refused gets a
/// code naming the problem; the caller stores nothing on error.
pub fn assessment_body(
    conn: &mut DbConn,
    actor: &Identity,
    input: AssessmentInput,
) -> AppResult<(Body, DateTime<Utc>)> {
    let supplier = get(conn, actor, &input.supplier_id)?.ok_or_else(|| AppError::not_found("supplier"))?;
    if supplier.status != ACTIVE {
        return Err(AppError::new(
            Code::SupplierNotActive,
            "assessments are of registered suppliers; this one is still a proposal",
            "評価は登録済みのサプライヤーが対象です（このサプライヤーは提案中です）",
        ));
    }
    let offered = offerings_of(conn, actor, &supplier.id)?;
    for wanted in &input.offering_ids {
        match offered.iter().find(|o| &o.id == wanted) {
            // One the caller may not see answers exactly like one that does not exist.
            None => {
                return Err(AppError::new(
                    Code::UnknownOffering,
                    format!("{wanted} is not an offering of this supplier"),
                    format!("{wanted}はこのサプライヤーの提供物ではありません"),
                ))
            }
            // A shared assessment never names an entry its readers may not see.
            Some(o) if o.status != ACTIVE => {
                return Err(AppError::new(
                    Code::OfferingNotActive,
                    format!("{wanted} is still a proposal; assessments name registered offerings"),
                    format!("{wanted}は提案中です。評価の対象にできるのは登録済みの提供物のみです"),
                ))
            }
            Some(_) => {}
        }
    }
    let scheme = scheme_of(conn, &input.scheme_id, input.scheme_version.as_deref())?.ok_or_else(|| {
        AppError::new(
            Code::UnknownScheme,
            format!("no assessment scheme {} {}", input.scheme_id, input.scheme_version.as_deref().unwrap_or("")),
            format!("評価スキーム{}は登録されていません", input.scheme_id),
        )
    })?;
    let mut results = Vec::with_capacity(input.results.len());
    let mut seen = std::collections::HashSet::new();
    for (criterion, answer, comment, evidence) in input.results {
        if scheme.criterion(&criterion).is_none() {
            return Err(AppError::new(
                Code::UnknownCriterion,
                format!("scheme {} {} has no criterion {criterion}", scheme.id, scheme.version),
                format!("スキーム{}に評価項目{criterion}はありません", scheme.id),
            ));
        }
        if !seen.insert(criterion.clone()) {
            return Err(AppError::invalid(
                format!("criterion {criterion} is answered twice"),
                format!("評価項目{criterion}の回答が重複しています"),
            ));
        }
        let answer = match answer {
            None => Answer::NotApplicable,
            Some(v) if (0..=i32::from(MAX_ANSWER)).contains(&v) => Answer::Scale(v as u8),
            Some(v) => {
                return Err(AppError::new(
                    Code::AnswerOutOfScale,
                    format!("criterion {criterion}: {v} is outside the 0–{MAX_ANSWER} scale"),
                    format!("評価項目{criterion}: {v}は0〜{MAX_ANSWER}の範囲外です"),
                ))
            }
        };
        for e in &evidence {
            if e.sha256.len() != 64 || !e.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(AppError::invalid(
                    format!("criterion {criterion}: evidence sha256 {:?} is not 64 hexadecimal digits", e.sha256),
                    format!("評価項目{criterion}: 証跡のSHA-256が64桁の16進数ではありません"),
                ));
            }
        }
        let comment = comment.as_deref().map(|c| text("comment", c, 5000)).transpose()?;
        let evidence = evidence.into_iter().map(|e| Evidence { sha256: e.sha256.to_ascii_lowercase(), ..e }).collect();
        results.push(CriterionResult { criterion, answer, comment, evidence });
    }
    let findings: Vec<Finding> = input
        .findings
        .into_iter()
        .map(|f| Ok(Finding { description: text("finding", &f.description, 5000)?, ..f }))
        .collect::<AppResult<_>>()?;
    let conclusion = input.conclusion.trim().to_ascii_lowercase();
    if !["ok", "warning", "blocker", "not_applicable"].contains(&conclusion.as_str()) {
        return Err(AppError::invalid(
            format!("conclusion {:?}: expected ok, warning, blocker or not_applicable", input.conclusion),
            format!("結論「{}」は使えません（ok、warning、blocker、not_applicable）", input.conclusion),
        ));
    }
    let valid_until =
        input.valid_until.unwrap_or(input.observed + chrono::Duration::days(i64::from(scheme.default_validity_days)));
    if valid_until <= input.observed {
        return Err(AppError::invalid("validUntil is not after the observed date", "validUntilが観測日以前です"));
    }
    if input.observed > Utc::now() + chrono::Duration::days(1) {
        return Err(AppError::invalid("the observed date is in the future", "観測日が未来の日付です"));
    }
    let assessor_name = input.assessor_name.as_deref().map(|n| text("assessorName", n, 300)).transpose()?;
    let mut body = AssessmentBody {
        supplier_id: supplier.id,
        offering_ids: input.offering_ids,
        scheme_id: scheme.id.clone(),
        scheme_version: scheme.version.clone(),
        assessor: input.assessor,
        assessor_name,
        assurance: input.assurance,
        observed: input.observed,
        results,
        findings,
        conclusion,
        posture: None,
    };
    body.posture = posture(&scheme, &AssessmentInput2::of_body(&body, valid_until, "", ""));
    Ok((Body::Assessment(body), valid_until))
}

/// The assessments of a supplier this viewer may read (not revoked), oldest first:
/// found through `assessment_subjects`, each checked by the schema policy.
pub fn visible_assessments(conn: &mut DbConn, viewer: &Viewer<'_>, supplier_id: &str) -> AppResult<Vec<ObjectRow>> {
    use crate::store::schema::{assessment_subjects as subjects, objects};
    let ids: Vec<String> = subjects::table
        .filter(subjects::supplier_id.eq(supplier_id))
        .order(subjects::first_seq.asc())
        .select(subjects::object_id)
        .load(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<ObjectRow> = objects::table
            .filter(objects::id.eq_any(chunk))
            .order(objects::first_seq.asc())
            .select(ObjectRow::as_select())
            .load(conn)?;
        for row in rows {
            let access = super::stored::Access::of_object(&row)?;
            if access.status != renkei_schema::tlp::Status::Revoked
                && renkei_schema::tlp::visibility(viewer, &access.item()) == renkei_schema::tlp::Visibility::Full
            {
                out.push(row);
            }
        }
    }
    Ok(out)
}

/// The latest version of a scheme, or UNKNOWN_SCHEME.
pub fn known_scheme(conn: &mut DbConn, scheme_id: &str) -> AppResult<Scheme> {
    scheme_of(conn, scheme_id, None)?.ok_or_else(|| {
        AppError::new(
            Code::UnknownScheme,
            format!("no assessment scheme {scheme_id}"),
            format!("評価スキーム{scheme_id}は登録されていません"),
        )
    })
}

/// Records a supplier's dispute of an assessment (coordinators, who must be able to
/// read the assessment). Returns the dispute id.
pub fn record_dispute(
    conn: &mut DbConn,
    origin: &Signer<'_>,
    actor: &Identity,
    assessment_id: &str,
    statement: &str,
) -> AppResult<String> {
    use crate::store::schema::assessment_disputes as d;
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("record disputes"));
    }
    let statement = text("statement", statement, 5000)?;
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let row = super::stored::get(c, &actor.viewer(), assessment_id)?
            .filter(|r| r.kind == "assessment")
            .ok_or_else(|| AppError::not_found("assessment"))?;
        let open: i64 =
            d::table.filter(d::assessment_id.eq(&row.id)).filter(d::state.eq("open")).count().get_result(c)?;
        if open > 0 {
            return Err(AppError::new(
                Code::AlreadyDisputed,
                "the assessment already has an open dispute",
                "この評価には未解決の異議が既にあります",
            ));
        }
        let id = format!("dispute--{}", uuid::Uuid::new_v4());
        diesel::insert_into(d::table)
            .values((
                d::id.eq(&id),
                d::assessment_id.eq(&row.id),
                d::statement.eq(&statement),
                d::recorded_by.eq(&actor.org_id),
                d::recorded_at.eq(now_text()),
                d::state.eq("open"),
                d::resolution.eq(None::<String>),
                d::resolved_at.eq(None::<String>),
            ))
            .execute(c)?;
        audit::append(
            c,
            origin.keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "assessment.dispute".into(),
                target: Some(row.id.clone()),
                detail: json!({"dispute": id}),
                source: actor.source.clone(),
            },
        )?;
        // While the dispute is open the assessment does not count.
        refresh_supplier_of(c, origin, &row.id)?;
        Ok(id)
    })
}

/// Resolves an open dispute (coordinators): `upheld` or `dismissed`, with a reason.
pub fn resolve_dispute(
    conn: &mut DbConn,
    origin: &Signer<'_>,
    actor: &Identity,
    dispute_id: &str,
    upheld: bool,
    reason: &str,
) -> AppResult<()> {
    use crate::store::schema::assessment_disputes as d;
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("resolve disputes"));
    }
    let reason = text("reason", reason, 5000)?;
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let found: Option<(String, String)> =
            d::table.find(dispute_id).select((d::state, d::assessment_id)).first(c).optional()?;
        let Some((state, assessment)) = found else { return Err(AppError::not_found("dispute")) };
        match state.as_str() {
            "open" => {}
            _ => {
                return Err(AppError::new(
                    Code::NotPending,
                    "the dispute is already resolved",
                    "この異議は解決済みです",
                ))
            }
        }
        let outcome = if upheld { "upheld" } else { "dismissed" };
        diesel::update(d::table.find(dispute_id))
            .set((d::state.eq(outcome), d::resolution.eq(Some(&reason)), d::resolved_at.eq(Some(now_text()))))
            .execute(c)?;
        audit::append(
            c,
            origin.keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "assessment.dispute.resolve".into(),
                target: Some(dispute_id.to_string()),
                detail: json!({"outcome": outcome, "reason": reason}),
                source: actor.source.clone(),
            },
        )?;
        // Dismissed, the assessment counts again; upheld, it stays out.
        refresh_supplier_of(c, origin, &assessment)?;
        Ok(())
    })
}

/// Refreshes the stored ratings of the supplier an assessment is about.
fn refresh_supplier_of(c: &mut DbConn, origin: &Signer<'_>, assessment_id: &str) -> AppResult<()> {
    use crate::store::schema::assessment_subjects as subjects;
    let supplier: Option<String> =
        subjects::table.find(assessment_id).select(subjects::supplier_id).first(c).optional()?;
    super::ratings::refresh(c, origin, &supplier.into_iter().collect::<Vec<_>>(), Utc::now())?;
    Ok(())
}
