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
    read_csv(text.as_bytes())
}

/// The columns an asset CSV may have (in any order; all but name and kind optional).
pub const CSV_COLUMNS: [&str; 13] = [
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

/// Reads asset CSV (RFC 4180 with a header row: quoted fields may hold commas, quotes
/// and line breaks). Rows are labelled by the line they start on.
pub fn read_csv(input: impl std::io::Read) -> Result<Vec<(String, AssetInput)>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        bail!("the CSV file is empty / CSVファイルが空です");
    }
    let unknown: Vec<&String> = header.iter().filter(|h| !CSV_COLUMNS.contains(&h.as_str())).collect();
    if !unknown.is_empty() {
        let names = unknown.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", ");
        bail!("unknown column {names}; columns: {} / 不明な列 {names}", CSV_COLUMNS.join(", "));
    }
    let (mut out, mut unreadable) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                unreadable.push(csv_error(&e).to_string());
                continue;
            }
        };
        // A blank line between rows is not an asset.
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let row = record.position().map_or(0, |p| p.line());
        let cell = |name: &str| header.iter().position(|h| h == name).and_then(|p| record.get(p)).unwrap_or("");
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
    if !unreadable.is_empty() {
        bail!(
            "{} unreadable rows, nothing imported / 読めない行が{}件あり、何も取り込んでいません:\n{}",
            unreadable.len(),
            unreadable.len(),
            unreadable.join("\n")
        );
    }
    Ok(out)
}

/// A CSV reader's error, with the line, in both languages.
fn csv_error(e: &csv::Error) -> crate::error::Error {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            crate::error::Error::Invalid(format!("line {line}: not UTF-8 / {line}行目: UTF-8ではありません"))
        }
        _ => crate::error::Error::Invalid(format!("line {line}: {e} / {line}行目: CSVとして読めません")),
    }
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
    import_with_progress(conn, inputs, &mut |_| {})
}

/// How many assets are stored between two calls of an import's progress.
const PROGRESS_STEP: usize = 500;

/// `import`, telling `progress` how many more assets were stored as it goes.
pub fn import_with_progress(
    conn: &mut SqliteConnection,
    inputs: Vec<(String, AssetInput)>,
    progress: &mut dyn FnMut(usize),
) -> Result<Imported> {
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
        for (i, row) in rows.iter().enumerate() {
            if i > 0 && i % PROGRESS_STEP == 0 {
                progress(PROGRESS_STEP);
            }
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
        let last = rows.len() % PROGRESS_STEP;
        progress(if last == 0 && !rows.is_empty() { PROGRESS_STEP } else { last });
        Ok(())
    })?;
    Ok(Imported { count: rows.len(), changed })
}

impl AssetRow {
    /// The asset as it would be imported (lists as lists): what `asset list --json` prints.
    pub fn as_input(&self) -> AssetInput {
        let list = |json: &str| serde_json::from_str::<Vec<String>>(json).unwrap_or_default();
        AssetInput {
            name: self.name.clone(),
            kind: self.kind.clone(),
            services: list(&self.services),
            criticality: self.criticality,
            vendor: self.vendor.clone(),
            product: self.product.clone(),
            version: self.version.clone(),
            cpe: self.cpe.clone(),
            ics_asset_types: list(&self.ics_asset_types),
            suppliers: list(&self.supplier_ids),
            offerings: list(&self.offering_ids),
            zone: self.zone.clone(),
            exposure: self.exposure.clone(),
        }
    }
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
    fn csv_rows_not_utf8_are_all_named() {
        let text = b"name,kind\nA\xff,system\nB,system\nC\xfe,data\n";
        let err = read_csv(&text[..]).expect_err("refused").to_string();
        assert!(err.contains("line 2") && err.contains("line 4") && err.contains("2 unreadable rows"), "{err}");
        assert!(!err.contains("line 3"), "{err}");
        let good = read_csv(&b"NAME , Kind\n\"a \"\"b\"\", c\",system\n"[..]).expect("read");
        assert_eq!(good.len(), 1);
        assert_eq!((good[0].0.as_str(), good[0].1.name.as_str()), ("row 2", "a \"b\", c"));
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
