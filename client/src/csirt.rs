//! For the member's CSIRT: the active indicators held, exported for firewalls, DNS
//! block lists, SIEMs and IDS (`plain`, `csv`, `stix`, `suricata`), and `match`, which
//! reports the lines of a log or list that contain a held indicator.

use renkei_schema::stix::StixRead;
use std::collections::HashMap;
use std::io::{BufRead, Write};

use crate::bail;
use crate::error::{Context as _, Result};
use diesel::sqlite::SqliteConnection;
use serde_json::Value;

use crate::register::ItemRow;

/// One active indicator held.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub id: String,
    pub kind: String,
    pub value: String,
    pub tlp: String,
    pub valid_until: Option<String>,
    pub stix: Value,
}

/// The indicators held that are live now (not past `valid_until`), in value order.
pub fn active_indicators(conn: &mut SqliteConnection) -> Result<Vec<Held>> {
    let rows: Vec<ItemRow> = crate::register::held_items(conn, Some("indicator"))?;
    let now = chrono::Utc::now();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let stix: Value = serde_json::from_str(&row.stix).with_context(|| format!("stored item {}", row.id))?;
        let read = StixRead(&stix);
        let valid_until = read.valid_until().map(str::to_string);
        let expired =
            valid_until.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).is_some_and(|t| t <= now);
        if expired || read.revoked() {
            continue;
        }
        let Some((kind, value)) = read.indicator().map(|(k, v)| (k.to_string(), v.to_string())) else {
            continue;
        };
        out.push(Held { id: row.id, kind, value, tlp: row.tlp, valid_until, stix });
    }
    out.sort_by(|a, b| (&a.value, &a.id).cmp(&(&b.value, &b.id)));
    Ok(out)
}

/// A Suricata signature id for an indicator: stable across exports (from its id), in
/// the range set aside for local rules.
fn sid(id: &str) -> u64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest.as_ref()[..8]);
    1_000_000 + u64::from_be_bytes(n) % 999_000_000
}

/// A Suricata rule for one indicator, or `None` for a type Suricata cannot match on
/// the wire (file names, e-mail addresses).
fn suricata_rule(h: &Held) -> Option<String> {
    let msg = format!("renkei {} {} {}", h.tlp, h.kind, h.id);
    let quoted = h.value.replace('\\', "\\\\").replace('"', "\\\"").replace(';', "\\;");
    let body = match h.kind.as_str() {
        "ipv4" | "ipv6" | "cidr" => {
            return Some(format!("alert ip any any -> [{}] any (msg:\"{msg}\"; sid:{}; rev:1;)", h.value, sid(&h.id)))
        }
        "domain" => {
            format!("alert dns any any -> any any (msg:\"{msg}\"; dns.query; content:\"{quoted}\"; nocase; endswith;")
        }
        "url" => {
            let without_scheme = h.value.split_once("://").map_or(h.value.as_str(), |(_, rest)| rest);
            let path = without_scheme.find('/').map_or("/", |i| &without_scheme[i..]);
            let host = without_scheme.split('/').next().unwrap_or_default();
            let path = path.replace('\\', "\\\\").replace('"', "\\\"").replace(';', "\\;");
            format!("alert http any any -> any any (msg:\"{msg}\"; http.host; content:\"{host}\"; nocase; http.uri; content:\"{path}\";")
        }
        "md5" | "sha1" | "sha256" => {
            format!("alert http any any -> any any (msg:\"{msg}\"; file.data; file{}:{};", h.kind, h.value)
        }
        _ => return None,
    };
    Some(format!("{body} sid:{}; rev:1;)", sid(&h.id)))
}

/// Writes the export in `format`: plain, csv, stix or suricata.
pub fn export(held: &[Held], format: &str, out: &mut dyn Write) -> Result<()> {
    match format {
        "plain" => {
            for h in held {
                writeln!(out, "{}", h.value)?;
            }
        }
        "csv" => {
            writeln!(out, "value,type,tlp,valid_until,id")?;
            for h in held {
                // Cells a spreadsheet would take as formulas are neutralised (see renkei_schema::csv).
                let cells = [h.value.as_str(), &h.kind, &h.tlp, h.valid_until.as_deref().unwrap_or(""), &h.id];
                out.write_all(renkei_schema::csv::row(&cells).as_bytes())?;
            }
        }
        "stix" => {
            let bundle = serde_json::json!({
                "type": "bundle",
                "id": format!("bundle--{}", uuid_from(&held.iter().map(|h| h.id.as_str()).collect::<Vec<_>>().join(","))),
                "objects": held.iter().map(|h| h.stix.clone()).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut *out, &bundle)?;
            writeln!(out)?;
        }
        "suricata" => {
            for h in held {
                match suricata_rule(h) {
                    Some(rule) => writeln!(out, "{rule}")?,
                    None => writeln!(out, "# {} {} ({}): no Suricata rule for this type", h.kind, h.value, h.id)?,
                }
            }
        }
        other => bail!("format {other:?}: use plain, csv, stix or suricata"),
    }
    Ok(())
}

/// A UUID-shaped name derived from text (the bundle of the same objects keeps its id).
fn uuid_from(text: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let h: String = d.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-4{}-8{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// A line that contains held indicators.
#[derive(Debug, Clone, PartialEq)]
pub struct LineMatch {
    /// 1-based.
    pub line: usize,
    /// (value as held, indicator id).
    pub hits: Vec<(String, String)>,
}

/// The lines of `input` containing a held value: each line is split into tokens at
/// characters no indicator holds (spaces, quotes, brackets, commas, `=`, `;`, `|`), and
/// each token, normalised as the hub normalises values (case, defanging such as
/// `[.]` and `hxxp`), is looked up;
/// a URL token is also looked up by its host.
pub fn match_lines(held: &[Held], input: &mut dyn BufRead) -> Result<Vec<LineMatch>> {
    let mut by_value: HashMap<&str, Vec<&str>> = HashMap::new();
    for h in held {
        by_value.entry(h.value.as_str()).or_default().push(h.id.as_str());
    }
    let mut out = Vec::new();
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(out);
        }
        number += 1;
        let mut hits: Vec<(String, String)> = Vec::new();
        // Defanged dots and colons would be split apart below: join them first.
        let refanged = line.replace("[.]", ".").replace("(.)", ".").replace("{.}", ".").replace("[:]", ":");
        let tokens =
            refanged.split(|c: char| c.is_whitespace() || "\"'<>()[]{},;|=".contains(c)).filter(|t| !t.is_empty());
        for token in tokens {
            let mut candidates: Vec<String> =
                renkei_schema::model::indicator::normalize_any(token).into_iter().map(|(_, v)| v).collect();
            if let Some((_, rest)) = token.split_once("://") {
                let host = rest.split(['/', ':', '?', '#']).next().unwrap_or_default();
                candidates.extend(renkei_schema::model::indicator::normalize_any(host).into_iter().map(|(_, v)| v));
            }
            for value in candidates {
                for id in by_value.get(value.as_str()).into_iter().flatten() {
                    let hit = (value.clone(), (*id).to_string());
                    if !hits.contains(&hit) {
                        hits.push(hit);
                    }
                }
            }
        }
        if !hits.is_empty() {
            out.push(LineMatch { line: number, hits });
        }
    }
}
