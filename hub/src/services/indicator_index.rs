//! The in-memory index behind `lookup`: every shared indicator's normalised value →
//! the indicators carrying it, with the access attributes the schema policy needs.
//!
//! Why in memory: a lookup of 100 values is 100–300 exact probes. In PostgreSQL that
//! was a millisecond of database CPU per request, and an index on random values made
//! every shared indicator several B-tree page writes; here a probe is a hash lookup.
//!
//! It is a cache of the database, never a second source of truth:
//! - loaded from `objects` at start (the hub is not ready until it is),
//! - updated by this process right after each of its own commits (read-your-writes),
//! - caught up from `object_versions` by sequence number every `refresh` interval, so
//!   versions written by another replica appear within that interval. Sequence order is
//!   commit order (the write lock), so catching up from a watermark skips nothing.
//!
//! Visibility is still decided by `renkei_schema::tlp::visibility`, on the attributes of
//! the current version. An indicator's value never changes across its versions (a
//! changed value is a new indicator), so an object stays under one key.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use diesel::prelude::*;

use renkei_schema::model::indicator::IndicatorType;
use renkei_schema::tlp::{visibility, ItemAccess, Status, Tlp, Viewer, Visibility};

use crate::error::{AppError, AppResult};
use crate::store::models::ObjectRow;
use crate::store::schema::{object_versions, objects};
use crate::store::DbConn;
use renkei_schema::errors::Code;

/// What the index keeps of one indicator (its current version): 48 bytes, since every
/// indicator a hub holds has one (memory per indicator is what a receiving hub grows by).
#[derive(Debug, Clone)]
struct Entry {
    /// The UUID of the STIX id `indicator--<uuid>` (as bytes: a u128 would align the
    /// entry, and every slot, to 16).
    uuid: [u8; 16],
    last_seq: i64,
    revision: i64,
    /// Index into `IndexState::orgs`.
    submitter: u32,
    /// Index into `IndexState::recipient_lists` (0: none, every label but RED).
    recipients: u32,
    indicator_type: IndicatorType,
    tlp: Tlp,
    status: Status,
    anonymous: bool,
}

// Keep it so: a field that grows the entry grows every hub's memory per indicator.
const _: () = assert!(std::mem::size_of::<Entry>() <= 48);

/// Most values are carried by one indicator; keep that one inline.
#[derive(Debug)]
enum Slot {
    One(Entry),
    Many(Vec<Entry>),
}

impl Slot {
    fn entries(&self) -> &[Entry] {
        match self {
            Slot::One(e) => std::slice::from_ref(e),
            Slot::Many(v) => v,
        }
    }
}

/// The value → indicators map is split in this many tables, chosen by a hash of the
/// value: a table grows by doubling, and while it does both the old and the new one are
/// held, so one table of a million indicators briefly needed ~300 MiB more; a shard
/// doubles at a 64th of that.
const SHARDS: usize = 64;

type ValueMap = HashMap<Box<str>, Slot, foldhash::fast::RandomState>;

struct IndexState {
    /// foldhash rather than SipHash: a lookup hashes up to 3,000 values.
    by_value: Vec<ValueMap>,
    /// Picks a value's shard (its own seed: the tables' hashes stay independent of it).
    shard_of: foldhash::fast::RandomState,
    /// Organisation ids, interned: entries refer to them by position.
    orgs: Vec<String>,
    org_positions: HashMap<String, u32>,
    /// RED recipient lists, interned (the first is the empty one).
    recipient_lists: Vec<Arc<[String]>>,
    recipient_positions: HashMap<String, u32>,
    /// Every version up to here is in the index.
    watermark: i64,
    /// Sequence ranges (first → last) this process applied itself above the watermark.
    applied_locally: BTreeMap<i64, i64>,
    /// Indicators held.
    count: usize,
    /// Bytes of the values (the map's keys), and entries kept beyond the first of a
    /// value: what `heap_bytes` adds to the map's own table.
    key_bytes: usize,
    spilled: usize,
}

impl Default for IndexState {
    fn default() -> IndexState {
        IndexState {
            by_value: (0..SHARDS).map(|_| ValueMap::default()).collect(),
            shard_of: Default::default(),
            orgs: Vec::new(),
            org_positions: HashMap::new(),
            recipient_lists: vec![Arc::from(Vec::new())],
            recipient_positions: HashMap::from([("[]".to_string(), 0)]),
            watermark: 0,
            applied_locally: BTreeMap::new(),
            count: 0,
            key_bytes: 0,
            spilled: 0,
        }
    }
}

impl IndexState {
    fn shard(&self, value: &str) -> usize {
        use std::hash::BuildHasher;
        (self.shard_of.hash_one(value) % SHARDS as u64) as usize
    }

    fn org(&mut self, id: &str) -> u32 {
        if let Some(&pos) = self.org_positions.get(id) {
            return pos;
        }
        let pos = self.orgs.len() as u32;
        self.orgs.push(id.to_string());
        self.org_positions.insert(id.to_string(), pos);
        pos
    }

    fn recipients(&mut self, json_text: &str) -> u32 {
        if let Some(&pos) = self.recipient_positions.get(json_text) {
            return pos;
        }
        let pos = self.recipient_lists.len() as u32;
        self.recipient_lists.push(Arc::from(serde_json::from_str::<Vec<String>>(json_text).unwrap_or_default()));
        self.recipient_positions.insert(json_text.to_string(), pos);
        pos
    }

    /// Puts the current version of an indicator in, unless a later one is there.
    fn apply(&mut self, row: IndexRow) -> AppResult<()> {
        let IndexRow { id, last_seq, revision, indicator_type, value, tlp, recipients, status, submitter, anonymous } =
            row;
        let (Some(indicator_type), Some(value)) = (indicator_type, value) else {
            return Ok(());
        };
        let uuid = id
            .strip_prefix("indicator--")
            .and_then(|u| uuid::Uuid::parse_str(u).ok())
            .ok_or_else(|| AppError::internal(format!("indicator id {id} is not indicator--<uuid>")))?
            .into_bytes();
        let entry = Entry {
            uuid,
            last_seq,
            revision,
            indicator_type: IndicatorType::parse(&indicator_type)
                .ok_or_else(|| AppError::internal(format!("indicator type {indicator_type}")))?,
            tlp: tlp.parse().map_err(AppError::internal)?,
            status: Status::parse(&status).ok_or_else(|| AppError::internal(format!("status {status}")))?,
            anonymous,
            submitter: self.org(&submitter),
            recipients: self.recipients(&recipients),
        };
        let shard = self.shard(&value);
        match self.by_value[shard].get_mut(value.as_str()) {
            None => {
                self.key_bytes += value.len();
                self.by_value[shard].insert(value.into_boxed_str(), Slot::One(entry));
                self.count += 1;
            }
            Some(slot) => {
                let same = |e: &Entry| e.uuid == entry.uuid;
                match slot {
                    Slot::One(e) if same(e) => {
                        if e.last_seq < entry.last_seq {
                            *e = entry;
                        }
                    }
                    Slot::One(e) => {
                        *slot = Slot::Many(vec![e.clone(), entry]);
                        self.count += 1;
                        self.spilled += 2;
                    }
                    Slot::Many(v) => match v.iter_mut().find(|e| same(e)) {
                        Some(e) if e.last_seq < entry.last_seq => *e = entry,
                        Some(_) => {}
                        None => {
                            v.push(entry);
                            self.count += 1;
                            self.spilled += 1;
                        }
                    },
                }
            }
        }
        Ok(())
    }
}

/// The columns of `objects` the index reads.
#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = objects)]
struct IndexRow {
    id: String,
    last_seq: i64,
    revision: i64,
    indicator_type: Option<String>,
    #[diesel(column_name = indicator_value)]
    value: Option<String>,
    tlp: String,
    recipients: String,
    status: String,
    #[diesel(column_name = submitter_org)]
    submitter: String,
    anonymous: bool,
}

impl IndexRow {
    fn of_object(row: &ObjectRow) -> IndexRow {
        IndexRow {
            id: row.id.clone(),
            last_seq: row.last_seq,
            revision: row.revision,
            indicator_type: row.indicator_type.clone(),
            value: row.indicator_value.clone(),
            tlp: row.tlp.clone(),
            recipients: row.recipients.clone(),
            status: row.status.clone(),
            submitter: row.submitter_org.clone(),
            anonymous: row.anonymous,
        }
    }
}

/// One indicator a lookup found and the viewer may read.
#[derive(Debug, Clone)]
pub struct IndexedIndicator {
    pub id: String,
    pub revision: i64,
    pub indicator_type: IndicatorType,
    pub value: String,
    pub tlp: Tlp,
    pub status: Status,
}

/// Rows read per query while loading or catching up.
const LOAD_PAGE: i64 = 20_000;

#[derive(Default)]
pub struct IndicatorIndex {
    state: RwLock<IndexState>,
    ready: AtomicBool,
    ready_signal: tokio::sync::Notify,
}

impl IndicatorIndex {
    pub fn new() -> IndicatorIndex {
        IndicatorIndex::default()
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Waits until the index is loaded (at most `timeout`).
    pub async fn wait_ready(&self, timeout: std::time::Duration) -> AppResult<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.ready_signal.notified();
            if self.is_ready() {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(AppError::new(
                    Code::NotReady,
                    "the hub is still loading its indicator index; try again shortly",
                    "指標索引を読み込み中です。しばらくしてから再試行してください",
                ));
            }
        }
    }

    fn write(&self) -> AppResult<std::sync::RwLockWriteGuard<'_, IndexState>> {
        self.state.write().map_err(|_| AppError::internal("indicator index lock poisoned"))
    }

    /// Loads every indicator from the database and marks the index ready.
    pub fn load(&self, conn: &mut DbConn) -> AppResult<usize> {
        // Versions up to the watermark are covered by the rows read below; anything
        // later is caught up by `refresh`, which applies only what is newer.
        let watermark = max_seq(conn)?;
        let mut after = 0i64;
        let mut count = 0usize;
        loop {
            let rows: Vec<(i64, IndexRow)> = objects::table
                .filter(objects::kind.eq("indicator"))
                .filter(objects::first_seq.gt(after))
                .order(objects::first_seq.asc())
                .limit(LOAD_PAGE)
                .select((objects::first_seq, IndexRow::as_select()))
                .load(conn)?;
            let done = (rows.len() as i64) < LOAD_PAGE;
            let mut state = self.write()?;
            for (first_seq, row) in rows {
                after = first_seq;
                state.apply(row)?;
                count += 1;
            }
            if done {
                state.watermark = state.watermark.max(watermark);
                break;
            }
        }
        self.ready.store(true, Ordering::Release);
        self.ready_signal.notify_waiters();
        Ok(count)
    }

    /// Applies this process's own just-committed versions (`first..=last` are their
    /// sequence numbers; `rows` the objects as they now are).
    pub fn apply_committed(&self, first: i64, last: i64, rows: &[&ObjectRow]) -> AppResult<()> {
        let mut state = self.write()?;
        for row in rows {
            if row.kind == "indicator" {
                state.apply(IndexRow::of_object(row))?;
            }
        }
        if last > state.watermark {
            state.applied_locally.insert(first, last);
        }
        Ok(())
    }

    /// Catches up with versions committed by anyone since the watermark.
    pub fn refresh(&self, conn: &mut DbConn) -> AppResult<usize> {
        let newest = max_seq(conn)?;
        // Mostly nothing is new: say so under the read lock, never stalling lookups.
        if self.state.read().is_ok_and(|s| s.watermark >= newest && s.applied_locally.is_empty()) {
            return Ok(0);
        }
        let mut applied = 0;
        loop {
            // Skip over what this process applied itself, then read the next gap.
            let (from, upto) = {
                let mut guard = self.write()?;
                let state = &mut *guard;
                let watermark = state.watermark;
                state.applied_locally.retain(|_, last| *last > watermark);
                while let Some(entry) = state.applied_locally.first_entry() {
                    if *entry.key() > state.watermark + 1 {
                        break;
                    }
                    let last = entry.remove();
                    state.watermark = state.watermark.max(last);
                }
                if state.watermark >= newest {
                    return Ok(applied);
                }
                let next_local = state.applied_locally.keys().next().map_or(newest, |first| first - 1);
                (state.watermark, next_local.min(newest))
            };
            let mut after = from;
            while after < upto {
                let rows: Vec<(i64, IndexRow)> = object_versions::table
                    .inner_join(objects::table.on(objects::id.eq(object_versions::object_id)))
                    .filter(object_versions::seq.gt(after))
                    .filter(object_versions::seq.le(upto))
                    .filter(object_versions::kind.eq("indicator"))
                    .order(object_versions::seq.asc())
                    .limit(LOAD_PAGE)
                    .select((object_versions::seq, IndexRow::as_select()))
                    .load(conn)?;
                let page_full = rows.len() as i64 == LOAD_PAGE;
                let mut state = self.write()?;
                for (seq, row) in rows {
                    after = seq;
                    state.apply(row)?;
                    applied += 1;
                }
                if !page_full {
                    after = upto;
                }
            }
            let mut state = self.write()?;
            state.watermark = state.watermark.max(upto);
        }
    }

    /// The indicators the viewer may read (published, not revoked) carrying each of
    /// the candidate (type, value) pairs; one list per input, in input order.
    pub fn lookup(
        &self,
        viewer: &Viewer<'_>,
        candidates: &[Vec<(IndicatorType, String)>],
    ) -> AppResult<Vec<Vec<IndexedIndicator>>> {
        let state = self.state.read().map_err(|_| AppError::internal("indicator index lock poisoned"))?;
        let mut out = Vec::with_capacity(candidates.len());
        for cands in candidates {
            let mut found = Vec::new();
            // A value valid under several types mostly normalises to the same text
            // (an IPv4 address is also a file name): probe each text once.
            let mut probed: Vec<(&str, Option<&Slot>)> = Vec::with_capacity(cands.len());
            for (indicator_type, value) in cands {
                let slot = match probed.iter().find(|(v, _)| *v == value.as_str()) {
                    Some((_, slot)) => *slot,
                    None => {
                        let slot = state.by_value[state.shard(value)].get(value.as_str());
                        probed.push((value.as_str(), slot));
                        slot
                    }
                };
                let Some(slot) = slot else {
                    continue;
                };
                for e in slot.entries().iter().filter(|e| e.indicator_type == *indicator_type) {
                    let item = ItemAccess {
                        tlp: e.tlp,
                        recipients: &state.recipient_lists[e.recipients as usize],
                        status: e.status,
                        submitter: &state.orgs[e.submitter as usize],
                        anonymous: e.anonymous,
                        // Lookups are for members; peers read only the federation feed.
                        path: &[],
                    };
                    if e.status != Status::Revoked && visibility(viewer, &item) == Visibility::Full {
                        let mut id = String::with_capacity(47);
                        id.push_str("indicator--");
                        id.push_str(
                            uuid::Uuid::from_bytes(e.uuid).hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()),
                        );
                        found.push(IndexedIndicator {
                            id,
                            revision: e.revision,
                            indicator_type: e.indicator_type,
                            value: value.clone(),
                            tlp: e.tlp,
                            status: e.status,
                        });
                    }
                }
            }
            out.push(found);
        }
        Ok(out)
    }

    /// How many indicators the index holds (for metrics).
    pub fn len(&self) -> usize {
        self.state.read().map(|s| s.count).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An estimate of the heap the index holds (for metrics, and for telling its growth
    /// from the rest of the process's): the hash table's buckets (7/8 of them usable, a
    /// power of two), each value's bytes plus the allocator's rounding (about 8 on
    /// average), and entries beyond a value's first.
    pub fn heap_bytes(&self) -> usize {
        let Ok(s) = self.state.read() else { return 0 };
        let buckets: usize = s
            .by_value
            .iter()
            .map(|m| if m.capacity() == 0 { 0 } else { (m.capacity() * 8 / 7).next_power_of_two() })
            .sum();
        let bucket = std::mem::size_of::<(Box<str>, Slot)>() + 1;
        buckets * bucket
            + s.key_bytes
            + s.count * 8
            + s.spilled * std::mem::size_of::<Entry>()
            + s.orgs.iter().map(|o| o.len() * 2 + 64).sum::<usize>()
            + s.recipient_positions.keys().map(|k| k.len() * 3 + 96).sum::<usize>()
    }
}

fn max_seq(conn: &mut DbConn) -> QueryResult<i64> {
    let max: Option<i64> = object_versions::table.select(diesel::dsl::max(object_versions::seq)).first(conn)?;
    Ok(max.unwrap_or(0))
}
