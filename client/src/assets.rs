//! The member's assets, imported from CSV or JSON. An import is checked whole first:
//! any bad row (an unknown kind, a broken CPE, a criticality out of range…) fails it
//! with every bad row named, and nothing is stored; a good file is stored in one
//! transaction, updating assets of the same name.

use crate::bail;
use crate::error::{Context as _, Result};
use crate::tables::{asset_links, assets};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};

pub const KINDS: [&str; 6] = ["system", "component", "ot_device", "data", "facility", "cloud"];
pub const EXPOSURES: [&str; 4] = ["internet", "corporate", "control", "isolated"];

/// One asset as imported (CSV columns and JSON keys alike; lists in CSV are `;`-separated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssetInput {
    pub name: String,
    pub kind: String,
    pub services: Vec<String>,
    /// 1 (low) … 5 (critical).
    pub criticality: i32,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub cpe: Option<String>,
    pub ics_asset_types: Vec<String>,
    pub suppliers: Vec<String>,
    pub offerings: Vec<String>,
    pub zone: Option<String>,
    pub exposure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = assets)]
pub struct AssetRow {
    pub name: String,
    pub kind: String,
    pub services: String,
    pub criticality: i32,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub cpe: Option<String>,
    pub cpe_vendor: Option<String>,
    pub cpe_product: Option<String>,
    pub ics_asset_types: String,
    pub supplier_ids: String,
    pub offering_ids: String,
    pub zone: Option<String>,
    pub exposure: Option<String>,
    pub updated_at: String,
}

/// Splits CSV text (RFC 4180: quoted fields, `""` for a quote, line breaks inside
/// quotes) into records.
pub fn csv_records(text: &str) -> Result<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                line += 1;
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        bail!("line {line}: a quoted field is not closed / {line}行目: 引用符が閉じていません");
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(records)
}

fn list(cell: &str) -> Vec<String> {
    cell.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn opt(cell: &str) -> Option<String> {
    Some(cell.trim().to_string()).filter(|s| !s.is_empty())
}

/// Reads a file of assets: `.json` (an array of objects), else CSV with a header row.
/// Returns (row label, input) pairs; labels name rows in messages.
pub fn read_file(path: &std::path::Path) -> Result<Vec<(String, AssetInput)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        let values: Vec<serde_json::Value> = serde_json::from_str(&text).context("the JSON file is not an array")?;
        return values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let input: AssetInput = serde_json::from_value(v).with_context(|| {
                    format!("asset {}: not an asset / 資産{}: 形式が正しくありません", i + 1, i + 1)
                })?;
                Ok((format!("asset {}", i + 1), input))
            })
            .collect();
    }
    let mut records = csv_records(&text)?.into_iter();
    let header: Vec<String> =
        records.next().context("the CSV file is empty")?.iter().map(|h| h.trim().to_lowercase()).collect();
    let known = [
        "name",
        "kind",
        "services",
        "criticality",
        "vendor",
        "product",
        "version",
        "cpe",
        "ics_asset_types",
        "suppliers",
        "offerings",
        "zone",
        "exposure",
    ];
    if let Some(bad) = header.iter().find(|h| !known.contains(&h.as_str())) {
        bail!("unknown column {bad:?}; columns: {} / 不明な列「{bad}」", known.join(", "));
    }
    let mut out = Vec::new();
    for (i, record) in records.enumerate() {
        let row = i + 2;
        let cell =
            |name: &str| header.iter().position(|h| h == name).and_then(|p| record.get(p)).map_or("", |s| s.as_str());
        let criticality = match cell("criticality").trim() {
            "" => 0,
            c => c.parse().unwrap_or(-1),
        };
        out.push((
            format!("row {row}"),
            AssetInput {
                name: cell("name").trim().to_string(),
                kind: cell("kind").trim().to_string(),
                services: list(cell("services")),
                criticality,
                vendor: opt(cell("vendor")),
                product: opt(cell("product")),
                version: opt(cell("version")),
                cpe: opt(cell("cpe")),
                ics_asset_types: list(cell("ics_asset_types")),
                suppliers: list(cell("suppliers")),
                offerings: list(cell("offerings")),
                zone: opt(cell("zone")),
                exposure: opt(cell("exposure")),
            },
        ));
    }
    Ok(out)
}

/// Checks one asset into its row, or says (in English and Japanese) what is wrong.
fn checked(input: AssetInput, now: &str) -> std::result::Result<AssetRow, String> {
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err("name is empty / 名前が空です".into());
    }
    let kind = input.kind.trim().to_lowercase().replace([' ', '-'], "_");
    if !KINDS.contains(&kind.as_str()) {
        return Err(format!(
            "kind {:?}: expected one of {} / 種別「{}」は使えません",
            input.kind,
            KINDS.join(", "),
            input.kind
        ));
    }
    let criticality = if input.criticality == 0 { 3 } else { input.criticality };
    if !(1..=5).contains(&criticality) {
        return Err("criticality must be 1 to 5 / 重要度は1〜5で指定してください".into());
    }
    let cpe = match input.cpe.as_deref() {
        Some(c) => Some(
            renkei_schema::model::vuln::Cpe23::parse(c)
                .map_err(|e| format!("cpe: {} / CPE: {}", e.reason, e.reason_ja))?,
        ),
        None => None,
    };
    if let Some(e) = input.exposure.as_deref().filter(|e| !EXPOSURES.contains(e)) {
        return Err(format!("exposure {e:?}: expected one of {} / 露出度「{e}」は使えません", EXPOSURES.join(", ")));
    }
    // Matched against the ATT&CK for ICS `targets` relation, which names assets by id.
    // By bytes: `t[..1]` panicked on a multi-byte first character ("é123").
    let is_asset_id = |t: &str| matches!(t.trim().as_bytes(), [b'a' | b'A', digits @ ..] if digits.len() == 4 && digits.iter().all(u8::is_ascii_digit));
    if let Some(bad) = input.ics_asset_types.iter().find(|t| !is_asset_id(t)) {
        return Err(format!(
            "ICS asset type {bad:?}: give the ATT&CK for ICS asset id (e.g. A0002 for Human-Machine Interface) / ICS資産種別「{bad}」: ATT&CK for ICSの資産ID(例: A0002)で指定してください"
        ));
    }
    if let Some(bad) = input.suppliers.iter().find(|s| !s.starts_with("supplier--")) {
        return Err(format!("supplier {bad:?} is not a hub supplier id / 「{bad}」はサプライヤーIDではありません"));
    }
    if let Some(bad) = input.offerings.iter().find(|s| !s.starts_with("offering--")) {
        return Err(format!("offering {bad:?} is not a hub offering id / 「{bad}」は提供物IDではありません"));
    }
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    Ok(AssetRow {
        services: json(&input.services),
        criticality,
        cpe_vendor: cpe.as_ref().map(|c| c.vendor.clone()),
        cpe_product: cpe.as_ref().map(|c| c.product.clone()),
        cpe: cpe.map(|c| c.to_string()),
        ics_asset_types: json(&input.ics_asset_types),
        supplier_ids: json(&input.suppliers),
        offering_ids: json(&input.offerings),
        name,
        kind,
        vendor: input.vendor,
        product: input.product,
        version: input.version,
        zone: input.zone,
        exposure: input.exposure,
        updated_at: now.to_string(),
    })
}

/// The key a vendor and product are matched on: lower case, blanks as `_` (the way CPE
/// names write them), `vendor:product`.
pub fn product_key(vendor: &str, product: &str) -> String {
    let norm = |s: &str| s.trim().to_lowercase().split_whitespace().collect::<Vec<_>>().join("_");
    format!("{}:{}", norm(vendor), norm(product))
}

/// What an asset is matched on (`asset_links`).
fn links(row: &AssetRow) -> Vec<(&'static str, String)> {
    let list = |json: &str| serde_json::from_str::<Vec<String>>(json).unwrap_or_default();
    let mut out = Vec::new();
    if let (Some(v), Some(p)) = (&row.cpe_vendor, &row.cpe_product) {
        out.push(("cpe", product_key(v, p)));
    }
    if let (Some(v), Some(p)) = (&row.vendor, &row.product) {
        out.push(("product", product_key(v, p)));
    }
    out.extend(list(&row.ics_asset_types).into_iter().map(|t| ("ics", t.trim().to_uppercase())));
    out.extend(list(&row.supplier_ids).into_iter().map(|s| ("supplier", s)));
    out.extend(list(&row.offering_ids).into_iter().map(|o| ("offering", o)));
    out.sort();
    out.dedup();
    out
}

/// What changed in an asset that its risks assumed (handbook trigger: internal change):
/// version, zone, exposure or supplier links. Empty when nothing did.
fn changes(old: &AssetRow, new: &AssetRow) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: &str, a: &Option<String>, b: &Option<String>| {
        if a != b {
            out.push(format!("{what}: {} -> {}", a.as_deref().unwrap_or("-"), b.as_deref().unwrap_or("-")));
        }
    };
    check("version", &old.version, &new.version);
    check("zone", &old.zone, &new.zone);
    check("exposure", &old.exposure, &new.exposure);
    check("cpe", &old.cpe, &new.cpe);
    if old.supplier_ids != new.supplier_ids || old.offering_ids != new.offering_ids {
        out.push(format!(
            "suppliers: {} {} -> {} {}",
            old.supplier_ids, old.offering_ids, new.supplier_ids, new.offering_ids
        ));
    }
    out
}

/// The criticality (1–5) of each of these assets the register holds.
pub fn criticalities(
    conn: &mut SqliteConnection,
    names: &[String],
) -> Result<std::collections::HashMap<String, usize>> {
    let rows: Vec<(String, i32)> =
        assets::table.filter(assets::name.eq_any(names)).select((assets::name, assets::criticality)).load(conn)?;
    Ok(rows.into_iter().map(|(n, c)| (n, c.max(0) as usize)).collect())
}

/// An asset that changed in an import, and how (`version: 2.1 -> 3.0`, ...): what
/// reassessment is fed with (`flags::import_assets` flags the risks resting on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetChange {
    pub asset: String,
    pub changes: Vec<String>,
}

/// What an import stored.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub count: usize,
    /// The assets that existed before and changed (new assets are not changes).
    pub changed: Vec<AssetChange>,
}

/// Imports assets: all checked first, then stored in one transaction, with the links
/// they are matched on. Returns how many, and which existing assets changed (the
/// register does not flag risks itself; see `flags::import_assets`).
pub fn import(conn: &mut SqliteConnection, inputs: Vec<(String, AssetInput)>) -> Result<Imported> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut rows = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for (label, input) in inputs {
        match checked(input, &now) {
            Ok(row) => rows.push(row),
            Err(why) => errors.push(format!("{label}: {why}")),
        }
    }
    if !errors.is_empty() {
        bail!(
            "{} bad assets, nothing imported / 不正な資産が{}件あり、何も取り込んでいません:\n{}",
            errors.len(),
            errors.len(),
            errors.join("\n")
        );
    }
    let mut changed = Vec::new();
    conn.transaction(|c| -> Result<()> {
        for row in &rows {
            let old: Option<AssetRow> =
                assets::table.find(&row.name).select(AssetRow::as_select()).first(c).optional()?;
            diesel::replace_into(assets::table).values(row).execute(c)?;
            diesel::delete(asset_links::table.filter(asset_links::asset.eq(&row.name))).execute(c)?;
            let links: Vec<_> = links(row)
                .into_iter()
                .map(|(k, v)| (asset_links::asset.eq(&row.name), asset_links::kind.eq(k), asset_links::value.eq(v)))
                .collect();
            diesel::insert_into(asset_links::table).values(&links).execute(c)?;
            if let Some(old) = old {
                let changes = changes(&old, row);
                if !changes.is_empty() {
                    changed.push(AssetChange { asset: row.name.clone(), changes });
                }
            }
        }
        Ok(())
    })?;
    Ok(Imported { count: rows.len(), changed })
}

pub fn list_all(conn: &mut SqliteConnection) -> Result<Vec<AssetRow>> {
    Ok(assets::table.order(assets::name.asc()).select(AssetRow::as_select()).load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(ics_asset_types: &[&str]) -> AssetInput {
        AssetInput {
            name: "PLC-1".into(),
            kind: "ot_device".into(),
            ics_asset_types: ics_asset_types.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn ics_asset_types_are_asset_ids() {
        assert!(checked(asset(&["A0003", " a0002 "]), "2026-01-01T00:00:00Z").is_ok());
        // A multi-byte first character of five bytes in all made `t[..1]` panic.
        for bad in ["é123", "日23", "A000é", "A00001", "A000", "PLC", ""] {
            let err = checked(asset(&[bad]), "2026-01-01T00:00:00Z").expect_err(bad);
            assert!(err.contains("ATT&CK for ICS"), "{bad}: {err}");
        }
    }
}
