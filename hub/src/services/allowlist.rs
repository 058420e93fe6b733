//! The hub's false-positive allowlists: stored per list in the database, matched in
//! memory (`renkei_schema::allowlist::Matcher`), rebuilt whenever the stored version
//! changes, so every replica checks submissions against the same lists.

use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use serde_json::json;

use renkei_schema::allowlist::{self, parse_list, Matcher};
use renkei_schema::model::Body;

use super::audit::{self, AuditEvent};
use crate::auth::Identity;
use crate::error::{AppError, AppResult, EntryError};
use crate::store::schema::{allowlist_entries, hub_meta};
use crate::store::{acquire_write_lock, now_text, DbConn};
use renkei_schema::errors::Code;

const VERSION_KEY: &str = "allowlist_version";

/// The matcher in force, rebuilt when the lists change.
pub struct Allowlists {
    builtin: bool,
    current: Mutex<(Option<String>, Arc<Matcher>)>,
}

impl Allowlists {
    pub fn new(builtin: bool) -> Allowlists {
        Allowlists { builtin, current: Mutex::new((None, Arc::new(Matcher::default()))) }
    }

    /// The matcher for the lists as stored now: one small read, and a rebuild only
    /// after an import or removal (by this replica or another).
    pub fn matcher(&self, conn: &mut DbConn) -> AppResult<Arc<Matcher>> {
        let version: Option<String> =
            hub_meta::table.find(VERSION_KEY).select(hub_meta::value).first(conn).optional()?;
        {
            let current = self.current.lock().map_err(|_| AppError::internal("allowlist lock poisoned"))?;
            if current.0.is_some() && current.0 == version {
                return Ok(Arc::clone(&current.1));
            }
        }
        let rows: Vec<(String, String)> = allowlist_entries::table
            .select((allowlist_entries::list_name, allowlist_entries::entry))
            .order((allowlist_entries::list_name.asc(), allowlist_entries::entry.asc()))
            .load(conn)?;
        let mut matcher = Matcher::default();
        if self.builtin {
            matcher.add(allowlist::BUILTIN_NAME, allowlist::builtin_entries());
        }
        let mut by_list: Vec<(String, Vec<(allowlist::Entry, String)>)> = Vec::new();
        for (list, text) in rows {
            // Stored entries were parsed on import; one that no longer parses is skipped.
            let Ok(Some(entry)) = allowlist::Entry::parse(&text) else { continue };
            match by_list.last_mut() {
                Some((name, entries)) if *name == list => entries.push((entry, text)),
                _ => by_list.push((list, vec![(entry, text)])),
            }
        }
        for (list, entries) in by_list {
            matcher.add(&list, entries);
        }
        let matcher = Arc::new(matcher);
        let mut current = self.current.lock().map_err(|_| AppError::internal("allowlist lock poisoned"))?;
        *current = (version, Arc::clone(&matcher));
        Ok(matcher)
    }
}

/// An indicator of a batch that is on an allowlist.
#[derive(Debug, Clone)]
pub struct Listed {
    pub index: usize,
    pub list: String,
    pub entry: String,
}

/// The indicators of a batch that are on an allowlist.
pub fn listed(matcher: &Matcher, bodies: &[Body]) -> Vec<Listed> {
    bodies
        .iter()
        .enumerate()
        .filter_map(|(index, body)| match body {
            Body::Indicator(b) => matcher.check(b.indicator_type, &b.value).map(|hit| Listed {
                index,
                list: hit.list.to_string(),
                entry: hit.entry.to_string(),
            }),
            _ => None,
        })
        .collect()
}

/// The refusal of a batch with allowlisted indicators, naming each and its list.
/// `can_force`: whether `forceAllowlisted` would send them to a coordinator (it cannot
/// for TLP:RED, which is never queued).
pub fn refusal(bodies: &[Body], hits: &[Listed], can_force: bool) -> AppError {
    let entries = hits
        .iter()
        .map(|h| {
            let value = match &bodies[h.index] {
                Body::Indicator(b) => b.value.as_str(),
                _ => "",
            };
            EntryError {
                index: h.index,
                code: Code::Allowlisted,
                message: format!("{value} is on allowlist '{}' (entry {})", h.list, h.entry),
                message_ja: format!("{value} は許可リスト「{}」に含まれています（エントリ {}）", h.list, h.entry),
            }
        })
        .collect();
    let (hint, hint_ja) = if can_force {
        (
            "Set forceAllowlisted to send them to a coordinator",
            "forceAllowlistedを指定するとコーディネーターの確認に回ります",
        )
    } else {
        (
            "TLP:RED items are never queued, so they cannot be forced; remove them or share them at another label",
            "TLP:REDの情報は保留にできないため強制できません。除外するか別のラベルで共有してください",
        )
    };
    let first = &hits[0];
    AppError::new(
        Code::Allowlisted,
        format!(
            "{} indicator(s) are on an allowlist, first at index {} (list '{}'); nothing was stored. {hint}",
            hits.len(),
            first.index,
            first.list
        ),
        format!(
            "許可リストに含まれる指標が{}件あります（最初はインデックス{}、リスト「{}」）。何も保存されていません。{hint_ja}",
            hits.len(),
            first.index,
            first.list
        ),
    )
    .with_entries(entries)
}

fn bump_version(c: &mut DbConn) -> QueryResult<()> {
    diesel::update(hub_meta::table.find(VERSION_KEY))
        .set(hub_meta::value.eq(uuid::Uuid::new_v4().to_string()))
        .execute(c)?;
    Ok(())
}

fn check_name(name: &str) -> AppResult<String> {
    let name = renkei_schema::model::clean_text("name", name, 100)
        .map_err(|e| AppError::invalid(e.to_string(), e.message_ja()))?;
    if name == allowlist::BUILTIN_NAME {
        return Err(AppError::invalid(
            format!("'{name}' is the built-in list's name"),
            format!("「{name}」は組み込みリストの名前です"),
        ));
    }
    Ok(name)
}

/// Imports a list from text (replacing a list of the same name), all or nothing:
/// every bad line is named and nothing is stored.
pub fn import(
    conn: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    actor: Option<&Identity>,
    name: &str,
    text: &str,
) -> AppResult<usize> {
    if actor.is_some_and(|a| !a.is_coordinator()) {
        return Err(AppError::forbidden("manage allowlists"));
    }
    let name = check_name(name)?;
    let entries = parse_list(text).map_err(|bad| {
        let first = bad[0].line;
        AppError::new(
            Code::InvalidAllowlist,
            format!("{} line(s) are not allowlist entries, first line {first}; nothing was stored", bad.len()),
            format!(
                "許可リストのエントリとして不正な行が{}行あります（最初は{first}行目）。何も保存されていません",
                bad.len()
            ),
        )
        .with_entries(
            bad.into_iter()
                .map(|b| EntryError {
                    index: b.line,
                    code: Code::InvalidAllowlistEntry,
                    message: format!("line {}: {} ({})", b.line, b.reason, b.text),
                    message_ja: format!("{}行目: {}（{}）", b.line, b.reason_ja, b.text),
                })
                .collect(),
        )
    })?;
    let mut texts: Vec<String> = entries.into_iter().map(|(_, text)| text).collect();
    texts.sort();
    texts.dedup();
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        diesel::delete(allowlist_entries::table.filter(allowlist_entries::list_name.eq(&name))).execute(c)?;
        let added_at = now_text();
        let rows: Vec<_> = texts
            .iter()
            .map(|t| {
                (
                    allowlist_entries::list_name.eq(name.as_str()),
                    allowlist_entries::entry.eq(t.as_str()),
                    allowlist_entries::added_at.eq(added_at.as_str()),
                )
            })
            .collect();
        for chunk in rows.chunks(300) {
            match c {
                DbConn::Pg(pg) => diesel::insert_into(allowlist_entries::table).values(chunk).execute(pg)?,
                DbConn::Sqlite(lite) => diesel::insert_into(allowlist_entries::table).values(chunk).execute(lite)?,
            };
        }
        bump_version(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: actor.map(|a| a.org_id.clone()),
                actor_token: actor.map(|a| a.token_id.clone()),
                action: "allowlist.import".into(),
                target: Some(name.clone()),
                detail: json!({"entries": texts.len()}),
                source: actor.and_then(|a| a.source.clone()),
            },
        )?;
        Ok(texts.len())
    })
}

/// Removes a list.
pub fn remove(
    conn: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    actor: Option<&Identity>,
    name: &str,
) -> AppResult<usize> {
    if actor.is_some_and(|a| !a.is_coordinator()) {
        return Err(AppError::forbidden("manage allowlists"));
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let n = diesel::delete(allowlist_entries::table.filter(allowlist_entries::list_name.eq(name))).execute(c)?;
        if n == 0 {
            return Err(AppError::not_found("allowlist"));
        }
        bump_version(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: actor.map(|a| a.org_id.clone()),
                actor_token: actor.map(|a| a.token_id.clone()),
                action: "allowlist.remove".into(),
                target: Some(name.to_string()),
                detail: json!({"entries": n}),
                source: actor.and_then(|a| a.source.clone()),
            },
        )?;
        Ok(n)
    })
}

/// The stored lists and their sizes (the built-in one is not stored).
pub fn lists(conn: &mut DbConn) -> AppResult<Vec<(String, i64)>> {
    Ok(allowlist_entries::table
        .group_by(allowlist_entries::list_name)
        .select((allowlist_entries::list_name, diesel::dsl::count_star()))
        .order(allowlist_entries::list_name.asc())
        .load(conn)?)
}
