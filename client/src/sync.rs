//! The feed sync: pulls `changes` from the stored cursor, a page at a time, and applies
//! each page in one transaction together with the new cursor, so a sync killed at any
//! moment resumes with nothing lost or doubled. Every object's signature is verified
//! against the hub key pinned at `init`, or, for an item the hub received from a peer
//! hub, against its origin hub's key, pinned at first sight; one that fails is refused
//! (not stored) and reported, the rest of the page applies.

use std::collections::HashMap;

use crate::error::{Context as _, Result};
use crate::{bail, ensure};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use crate::hub_api::HubApi;
use crate::register::{self, ItemRow};
use crate::tables::items;

/// Pins the hub (its address, id and signing keys) in a new or existing register. A hub
/// that rotated its key lists every key it signed with, each announced by the one
/// before (`renkei_schema::rotation::check_history`): all are pinned, so what it signed
/// before the current key verifies too. A register pinned to a key that is not in the
/// hub's history follows another hub and is refused.
pub fn init(conn: &mut SqliteConnection, api: &HubApi, hub_url: &str, ca: Option<&str>) -> Result<String> {
    let (id, key) = api.hub_info()?;
    let history = match api.signing_keys()? {
        Some(published) => renkei_schema::rotation::check_history(&id, &key, &published).map_err(|e| {
            crate::error::Error::Invalid(format!(
                "the hub's key history does not check: {e}\nハブの鍵の履歴を検証できません: {}",
                e.message_ja()
            ))
        })?,
        None => vec![(0, key.clone())],
    };
    if let Some(pinned) = register::get(conn, register::HUB_KEY)? {
        if !history.iter().any(|(_, k)| *k == pinned) {
            bail!("this register follows another hub key; make a new register for hub {id}");
        }
    }
    conn.transaction(|c| -> Result<()> {
        register::set(c, register::HUB_URL, hub_url)?;
        register::set(c, register::HUB_ID, &id)?;
        register::pin_hub_keys(c, &history)?;
        if let Some(ca) = ca {
            register::set(c, register::CA_FILE, ca)?;
        }
        Ok(())
    })?;
    Ok(id)
}

pub struct SyncOptions {
    /// Items per page (the hub caps it).
    pub page_size: i64,
    /// Stop after this many pages (the rest is pulled by the next sync).
    pub max_pages: Option<usize>,
}

/// What a sync did.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    pub pages: usize,
    pub stored: usize,
    pub deleted: usize,
    /// Objects refused: (id, why).
    pub refused: Vec<(String, String)>,
    /// Sealed items stored: opened, and not opened (id, why; kept and tried again).
    pub opened: usize,
    pub unopened: Vec<(String, String)>,
    pub cursor: Option<String>,
    /// Whether the feed has more after the cursor.
    pub has_more: bool,
    /// Reassessment flags the pages raised or updated.
    pub flags: crate::flags::Recorded,
    /// Time spent waiting for the next verified page, and writing pages: which side
    /// (the hub and verification, or the register) holds a sync back.
    pub waited: std::time::Duration,
    pub writing: std::time::Duration,
}

/// The TLP 2.0 label as written on the wire (`TLP:AMBER+STRICT`) from the API's enum
/// (`AMBER_STRICT`).
fn tlp_label(api: &str) -> String {
    if api.starts_with("TLP:") {
        api.to_string()
    } else {
        format!("TLP:{}", api.replace("_STRICT", "+STRICT"))
    }
}

/// A page checked and ready to apply (pulled by `sync` or pushed to `follow`).
pub(crate) struct Prepared {
    rows: Vec<ItemRow>,
    /// Tombstones: (id, sequence number).
    deletes: Vec<(String, i64)>,
    refused: Vec<(String, String)>,
    /// Sealed items opened (their opened objects are in `rows`), and those that did not open.
    opened: Vec<crate::sealed::SealedRow>,
    unopened: Vec<crate::sealed::Unopened>,
    /// Origin hubs met for the first time in this page, with their keys: (hub, key).
    pins: Vec<(String, String)>,
    /// The hub's keys after a key announcement in this page (verified with the key
    /// pinned before it), to pin with the page.
    hub_keys: Option<Vec<(i64, String)>>,
    cursor: String,
    has_more: bool,
}

/// The keys objects are verified with: the hub's own (pinned by `init`) and, for items
/// the hub received from peer hubs and passes on with their origin's signature, each
/// origin hub's key, pinned at first sight.
pub(crate) struct SigningKeys {
    /// The hub's keys, oldest first, each from the sequence number on which it signs:
    /// what the hub published verifies with the key of its sequence number alone.
    hub_keys: Vec<(i64, String)>,
    hub_id: String,
    origin_keys: HashMap<String, String>,
    /// One verifier per key: each remembers the batch roots it has checked.
    verifiers: HashMap<String, renkei_schema::sign::Verifier>,
    /// This installation's keys, to open sealed items (none: they stay unopened).
    unsealer: Option<crate::sealed::Unsealer>,
}

impl SigningKeys {
    /// The register's keys: the hub's pinned at `init`, the origins' pinned so far.
    pub(crate) fn load(conn: &mut SqliteConnection) -> Result<SigningKeys> {
        let keys = register::hub_keys(conn)?;
        ensure!(!keys.is_empty(), "the register has no hub yet: run `renkei init`");
        let hub_id = register::get(conn, register::HUB_ID)?.unwrap_or_default();
        let mut keys = SigningKeys::with_history(&hub_id, keys, register::origin_keys(conn)?)?;
        keys.unsealer = crate::sealed::Unsealer::load(conn)?;
        Ok(keys)
    }

    #[cfg(test)]
    fn new(hub_id: &str, hub_key: &str, origin_keys: HashMap<String, String>) -> Result<SigningKeys> {
        SigningKeys::with_history(hub_id, vec![(0, hub_key.to_string())], origin_keys)
    }

    fn with_history(
        hub_id: &str,
        hub_keys: Vec<(i64, String)>,
        origin_keys: HashMap<String, String>,
    ) -> Result<SigningKeys> {
        let mut verifiers = HashMap::new();
        for (_, key) in &hub_keys {
            let verifier = renkei_schema::sign::Verifier::new(key).context("the pinned hub key")?;
            verifiers.insert(key.clone(), verifier);
        }
        Ok(SigningKeys { hub_keys, hub_id: hub_id.to_string(), origin_keys, verifiers, unsealer: None })
    }

    /// The hub's key for what it published at `seq`.
    fn hub_key_at(&self, seq: i64) -> &str {
        self.hub_keys.iter().rev().find(|(from, _)| *from <= seq).or(self.hub_keys.first()).map_or("", |(_, k)| k)
    }

    /// The key a change is verified with (`None` for the hub's own, at its sequence
    /// number), or why it is refused before any verification.
    fn origin_key_of(&self, change: &crate::hub_api::Change, seq: i64) -> std::result::Result<Option<String>, String> {
        let own = self.hub_key_at(seq);
        let Some(key) = change.signing_key.as_deref().filter(|k| *k != own) else { return Ok(None) };
        let Some(origin) = change.origin_hub.as_deref() else {
            return Err("a received object without its origin hub".into());
        };
        if origin == self.hub_id {
            return Err(
                "an object of the hub itself signed with another key than the hub's for its sequence number".into()
            );
        }
        match self.origin_keys.get(origin) {
            Some(pinned) if pinned != key => {
                Err(format!("origin hub {origin} signed with another key than the one first met ({pinned})"))
            }
            _ => Ok(Some(key.to_string())),
        }
    }

    /// Verifies `canonical` with an origin's key, or the hub's at `seq`.
    fn verify(
        &mut self,
        key: Option<&str>,
        seq: i64,
        canonical: &[u8],
        signature: &str,
    ) -> std::result::Result<(), String> {
        let key = match key {
            Some(k) => k.to_string(),
            None => self.hub_key_at(seq).to_string(),
        };
        let key = key.as_str();
        if !self.verifiers.contains_key(key) {
            let verifier = renkei_schema::sign::Verifier::new(key).map_err(|e| format!("signing key: {e}"))?;
            self.verifiers.insert(key.to_string(), verifier);
        }
        let verifier = self.verifiers.get_mut(key).ok_or("no verifier")?;
        verifier.verify(canonical, signature).map_err(|e| format!("signature: {e}"))
    }
}

/// Verifies every object of a page; refused ones are listed, not returned as rows.
pub(crate) fn prepare(keys: &mut SigningKeys, page: crate::hub_api::ChangePage) -> Result<Prepared> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut out = Prepared {
        rows: Vec::with_capacity(page.items.len()),
        deletes: Vec::new(),
        refused: Vec::new(),
        opened: Vec::new(),
        unopened: Vec::new(),
        pins: Vec::new(),
        hub_keys: None,
        cursor: page.cursor,
        has_more: page.has_more,
    };
    for item in page.items {
        if item.deleted {
            let seq = item.seq.parse().with_context(|| format!("sequence number {:?}", item.seq))?;
            out.deletes.push((item.id, seq));
            continue;
        }
        let seq: i64 = item.seq.parse().with_context(|| format!("sequence number {:?}", item.seq))?;
        let origin_key = match keys.origin_key_of(&item, seq) {
            Ok(key) => key,
            Err(why) => {
                out.refused.push((item.id, why));
                continue;
            }
        };
        let (Some(object), Some(signature)) = (item.object, item.signature) else {
            out.refused.push((item.id, "the hub sent no object or no signature".into()));
            continue;
        };
        // The hub sends the canonical text that was signed: verified as it came. Anything
        // else is brought to canonical form first (a proxy may re-indent JSON).
        let text = object.get();
        let canonical = match keys.verify(origin_key.as_deref(), seq, text.as_bytes(), &signature) {
            Ok(()) => text.to_string(),
            Err(_) => {
                let value: serde_json::Value = serde_json::from_str(text).context("an object in the page")?;
                let canonical = renkei_schema::stix::canonical_json(&value);
                if let Err(e) = keys.verify(origin_key.as_deref(), seq, canonical.as_bytes(), &signature) {
                    out.refused.push((item.id, e));
                    continue;
                }
                canonical
            }
        };
        // The hub's announcement of a new key, signed by the key pinned for its sequence
        // number (just verified): the new key is pinned for what follows. One that does
        // not check is refused like a bad object, and nothing changes.
        if item.kind == renkei_schema::rotation::FEED_KIND {
            if origin_key.is_some() {
                out.refused.push((item.id, "a key announcement of another hub".into()));
                continue;
            }
            let pinned = keys.hub_key_at(seq).to_string();
            match renkei_schema::rotation::follow(&keys.hub_id, &pinned, seq, &canonical, &signature) {
                Ok(a) => {
                    if !keys.hub_keys.iter().any(|(from, key)| *from == a.from_seq && *key == a.new_key) {
                        keys.hub_keys.retain(|(from, _)| *from < a.from_seq);
                        keys.hub_keys.push((a.from_seq, a.new_key));
                        out.hub_keys = Some(keys.hub_keys.clone());
                    }
                }
                Err(e) => {
                    out.refused.push((item.id, format!("key announcement: {e}")));
                    continue;
                }
            }
        }
        // An origin first met is pinned once one of its objects verified.
        if let (Some(key), Some(origin)) = (origin_key, item.origin_hub.as_ref()) {
            if !keys.origin_keys.contains_key(origin) {
                keys.origin_keys.insert(origin.clone(), key.clone());
                out.pins.push((origin.clone(), key));
            }
        }
        #[derive(serde::Deserialize)]
        struct IdOnly {
            id: String,
        }
        let signed_id = serde_json::from_str::<IdOnly>(&canonical).map(|o| o.id).unwrap_or_default();
        if signed_id != item.id {
            out.refused.push((item.id, "the signed object carries another id".into()));
            continue;
        }
        // A sealed item is held opened (its content checked, its sender's signature
        // verified); one that does not open is kept aside and reported, never dropped.
        let stix = if let Some(value) = crate::sealed::Unsealer::sealed_object(&canonical) {
            let opened = match keys.unsealer.as_mut() {
                Some(u) => u.open_value(&item.id, &item.kind, &value),
                None => Err("this installation has no encryption key (`renkei key new`) / \
                             この環境には暗号鍵がありません（`renkei key new`）"
                    .to_string()),
            };
            match opened {
                Ok(o) => {
                    out.opened.push(crate::sealed::SealedRow {
                        id: item.id.clone(),
                        seq,
                        sealed: canonical,
                        sender_org: o.sender.as_ref().map(|s| s.0.clone()),
                        sender_key: o.sender.map(|s| s.1),
                        opened_at: now.clone(),
                    });
                    o.stix
                }
                Err(reason) => {
                    out.unopened.push(crate::sealed::Unopened {
                        id: item.id,
                        kind: item.kind,
                        revision: item.version,
                        tlp: tlp_label(&item.tlp),
                        seq,
                        sealed: canonical,
                        signature,
                        reason,
                        received_at: now.clone(),
                    });
                    continue;
                }
            }
        } else {
            canonical
        };
        out.rows.push(ItemRow {
            id: item.id,
            kind: item.kind,
            revision: item.version,
            tlp: tlp_label(&item.tlp),
            seq,
            stix,
            signature,
            received_at: now.clone(),
        });
    }
    Ok(out)
}

/// Pulls the feed from the stored cursor; `progress` hears of every applied page.
///
/// A second thread fetches and verifies the next page while this one writes the current
/// one (a page's cursor is known as soon as it arrives); pages are applied in order,
/// each in one transaction with its cursor. If applying fails, the other thread stops
/// at its next hand-over.
pub fn sync(
    conn: &mut SqliteConnection,
    api: &HubApi,
    options: &SyncOptions,
    progress: &mut dyn FnMut(&SyncReport),
) -> Result<SyncReport> {
    let mut keys = SigningKeys::load(conn)?;
    let mut report = SyncReport { cursor: register::get(conn, register::CURSOR)?, ..Default::default() };
    let (pages, received) = std::sync::mpsc::sync_channel::<Result<Prepared>>(1);
    let start = report.cursor.clone();
    let mut writer = Writer::start(conn)?;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut cursor = start;
            let mut fetched = 0;
            loop {
                let page = api.changes(cursor.as_deref(), options.page_size).and_then(|p| prepare(&mut keys, p));
                let next = match &page {
                    Ok(p) if p.has_more => Some(p.cursor.clone()),
                    _ => None,
                };
                fetched += 1;
                let last = next.is_none() || options.max_pages.is_some_and(|m| fetched >= m);
                if pages.send(page).is_err() || last {
                    return;
                }
                cursor = next;
            }
        });
        let mut next = |wait: bool| if wait { received.recv().ok() } else { received.try_recv().ok() };
        writer.apply(conn, &mut next, options.max_pages, progress, &mut report)
    })?;
    writer.settle(conn, &report)?;
    if report.pages > 1 {
        register::checkpoint(conn)?;
    }
    Ok(report)
}

/// Whether the register is empty with no cursor, or a first sync into it was stopped:
/// then pulling (`sync`) fills it fastest, appending and indexing once at the end.
pub fn first_sync_pending(conn: &mut SqliteConnection) -> Result<bool> {
    Ok(register::get(conn, register::FIRST_SYNC)?.is_some()
        || (register::get(conn, register::CURSOR)?.is_none() && items::table.count().get_result::<i64>(conn)? == 0))
}

/// Applies verified pages to the register, whichever way they came (pulled by `sync`,
/// pushed to `follow`): each page whole with its cursor and the flags its items raise.
pub(crate) struct Writer {
    /// Built once: pages only add items, never change the register's links (`follow`
    /// reloads it when another process changed the register).
    index: crate::flags::MatchIndex,
    /// A first sync into an empty register builds the id index once at the end (see
    /// `register::start_first_sync`); a stopped one goes on the same way next time.
    first_sync: bool,
}

impl Writer {
    /// Loads the match index; starts a first sync if the register is empty.
    pub(crate) fn start(conn: &mut SqliteConnection) -> Result<Writer> {
        let index = crate::flags::MatchIndex::load(conn)?;
        let first_sync = match register::get(conn, register::FIRST_SYNC)? {
            Some(_) => true,
            None if first_sync_pending(conn)? => {
                register::start_first_sync(conn)?;
                true
            }
            None => false,
        };
        Ok(Writer { index, first_sync })
    }

    /// Builds the match index again (the register's links or context changed).
    pub(crate) fn reload_index(&mut self, conn: &mut SqliteConnection) -> Result<()> {
        self.index = crate::flags::MatchIndex::load(conn)?;
        Ok(())
    }

    /// Applies the pages `next` gives (see [`apply_pages`]) into `report`.
    pub(crate) fn apply(
        &self,
        conn: &mut SqliteConnection,
        next: &mut dyn FnMut(bool) -> Option<Result<Prepared>>,
        max_pages: Option<usize>,
        progress: &mut dyn FnMut(&SyncReport),
        report: &mut SyncReport,
    ) -> Result<()> {
        apply_pages(conn, next, &self.index, self.first_sync, max_pages, progress, report)
    }

    /// Ends a first sync once a page said the feed has no more.
    pub(crate) fn settle(&mut self, conn: &mut SqliteConnection, report: &SyncReport) -> Result<()> {
        if self.first_sync && report.pages > 0 && !report.has_more {
            register::finish_first_sync(conn)?;
            self.first_sync = false;
        }
        Ok(())
    }
}

/// Pages applied in one transaction at most, when more are already waiting (a sync
/// catching up). Each transaction commits whole pages with the cursor of the last one,
/// so a stop anywhere still resumes with nothing lost or doubled. Every commit rewrites
/// most leaves of the id index (ids are random); grouping five pages of 10,000 cut what
/// a 1,000,000-item sync writes from 3.7 to 2.1 GiB.
const PAGES_PER_TRANSACTION: usize = 5;

/// Applies one page (in the caller's transaction): tombstones, rows, the flags its items
/// raise, its cursor. During a first sync (no id index yet) rows are appended and
/// tombstones kept aside; `register::finish_first_sync` settles both.
fn apply_page(
    c: &mut SqliteConnection,
    page: &Prepared,
    index: &crate::flags::MatchIndex,
    first_sync: bool,
) -> Result<crate::flags::Recorded> {
    use crate::tables::pending_tombstones;
    for (id, seq) in &page.deletes {
        if first_sync {
            diesel::insert_into(pending_tombstones::table)
                .values((pending_tombstones::id.eq(id), pending_tombstones::seq.eq(seq)))
                .execute(c)?;
        } else {
            diesel::delete(items::table.find(id)).execute(c)?;
        }
        crate::flags::withdraw_source(c, id)?;
        crate::sealed::forget(c, id)?;
    }
    // Many rows a statement (8 parameters a row, well under SQLite's limit).
    for chunk in page.rows.chunks(500) {
        if first_sync {
            diesel::insert_into(items::table).values(chunk).execute(c)?;
        } else {
            diesel::replace_into(items::table).values(chunk).execute(c)?;
        }
    }
    crate::sealed::store(c, &page.opened, &page.unopened)?;
    let flagged = crate::flags::match_items(c, index, &page.rows)?;
    for (hub, key) in &page.pins {
        register::pin_origin_key(c, hub, key)?;
    }
    if let Some(keys) = &page.hub_keys {
        register::pin_hub_keys(c, keys)?;
    }
    register::set(c, register::CURSOR, &page.cursor)?;
    Ok(flagged)
}

/// Applies prepared pages in order, each whole with its cursor and the flags its items
/// raise; pages already waiting share a transaction (up to `PAGES_PER_TRANSACTION`), a
/// page that arrives alone commits at once. `next(true)` waits for the next page,
/// `next(false)` takes one only if it is already waiting; `None` is the end (for now).
/// Returns after a page that says the feed has no more, after `max_pages`, at the end,
/// or with the error of a page (those before it are committed).
fn apply_pages(
    conn: &mut SqliteConnection,
    next: &mut dyn FnMut(bool) -> Option<Result<Prepared>>,
    index: &crate::flags::MatchIndex,
    first_sync: bool,
    max_pages: Option<usize>,
    progress: &mut dyn FnMut(&SyncReport),
    report: &mut SyncReport,
) -> Result<()> {
    loop {
        let waiting = std::time::Instant::now();
        let Some(first) = next(true) else { return Ok(()) };
        report.waited += waiting.elapsed();
        let mut page_next = Some(first?);
        let mut failed = None;
        let mut done = false;
        let writing = std::time::Instant::now();
        conn.transaction(|c| -> Result<()> {
            let mut in_transaction = 0;
            while let Some(page) = page_next.take() {
                report.flags += apply_page(c, &page, index, first_sync)?;
                in_transaction += 1;
                report.pages += 1;
                report.stored += page.rows.len();
                report.deleted += page.deletes.len();
                report.refused.extend(page.refused);
                report.opened += page.opened.len();
                report.unopened.extend(page.unopened.into_iter().map(|u| (u.id, u.reason)));
                report.cursor = Some(page.cursor);
                report.has_more = page.has_more;
                progress(report);
                done = !page.has_more || max_pages.is_some_and(|m| report.pages >= m);
                if done || in_transaction >= PAGES_PER_TRANSACTION {
                    break;
                }
                match next(false) {
                    Some(Ok(page)) => page_next = Some(page),
                    // Committed first: the pages before a failed fetch are kept.
                    Some(Err(e)) => failed = Some(e),
                    None => {}
                }
            }
            Ok(())
        })?;
        report.writing += writing.elapsed();
        if let Some(e) = failed {
            return Err(e);
        }
        if done {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub_api::{Change, ChangePage};
    use renkei_schema::sign::SigningKey;

    fn change(n: usize, object: &str, signature: String, origin: Option<(&str, &SigningKey)>) -> Change {
        Change {
            seq: n.to_string(),
            id: format!("indicator--0000000{n}"),
            kind: "indicator".into(),
            version: 1,
            tlp: "GREEN".into(),
            deleted: false,
            object: Some(serde_json::value::RawValue::from_string(object.to_string()).expect("raw")),
            signature: Some(signature),
            origin_hub: origin.map(|(hub, _)| hub.to_string()),
            signing_key: origin.map(|(_, key)| key.public_key()),
        }
    }

    fn page(items: Vec<Change>) -> ChangePage {
        ChangePage { items, cursor: "9".into(), has_more: false }
    }

    /// Items a hub passes on from a peer verify with their origin's key, which is pinned
    /// at first sight: the same origin under another key, a key with no origin named, or
    /// an object altered on the way are refused; the hub's own items keep its key.
    #[test]
    fn received_items_verify_with_their_origins_key_pinned_at_first_sight() {
        let (hub, _) = SigningKey::generate().expect("key");
        let (origin, _) = SigningKey::generate().expect("key");
        let (impostor, _) = SigningKey::generate().expect("key");
        let object = |n: usize| format!(r#"{{"id":"indicator--0000000{n}","type":"indicator"}}"#);
        let sign = |key: &SigningKey, n: usize| key.sign_batch(&[object(n)]).remove(0);
        let mut keys = SigningKeys::new("hub-b", &hub.public_key(), HashMap::new()).expect("keys");

        let first = prepare(
            &mut keys,
            page(vec![
                change(1, &object(1), sign(&hub, 1), None),
                change(2, &object(2), sign(&origin, 2), Some(("hub-a", &origin))),
                // Signed by the origin, sent as the hub's own: the hub's key fails it.
                change(3, &object(3), sign(&origin, 3), None),
            ]),
        )
        .expect("page");
        let stored: Vec<&str> = first.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(stored, ["indicator--00000001", "indicator--00000002"]);
        assert_eq!(first.pins, [("hub-a".to_string(), origin.public_key())]);
        assert_eq!(first.refused.len(), 1, "{:?}", first.refused);

        let mut no_origin = change(5, &object(5), sign(&origin, 5), Some(("hub-a", &origin)));
        no_origin.origin_hub = None;
        let second = prepare(
            &mut keys,
            page(vec![
                change(4, &object(4), sign(&origin, 4), Some(("hub-a", &origin))),
                // hub-a is pinned to its first key: another one is refused.
                change(6, &object(6), sign(&impostor, 6), Some(("hub-a", &impostor))),
                no_origin,
                // Altered after the origin signed it.
                change(7, &object(70), sign(&origin, 7), Some(("hub-a", &origin))),
                // The hub's own id under another key.
                change(8, &object(8), sign(&impostor, 8), Some(("hub-b", &impostor))),
            ]),
        )
        .expect("page");
        let stored: Vec<&str> = second.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(stored, ["indicator--00000004"]);
        assert!(second.pins.is_empty(), "hub-a was pinned already");
        let refused: Vec<&str> = second.refused.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            refused,
            ["indicator--00000006", "indicator--00000005", "indicator--00000007", "indicator--00000008"]
        );
        assert!(second.refused[0].1.contains("another key"), "{:?}", second.refused);
    }
}
