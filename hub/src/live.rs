//! Live updates: the change feed pushed to followers as it grows.
//!
//! Each replica runs one **tail**: woken by its own commits (`Hub::db` notices the write
//! lock was taken), by the other replicas' notices through Redis (`bus::notices`), or,
//! failing both, by a poll, it reads each new stretch of the feed from the database
//! once and hands it to every follower on this replica (a bounded broadcast). Each
//! **follower** (a GraphQL subscription, a Server-Sent Events stream, a peer's wake-up
//! stream) decides per entry and per viewer with the same code as the feed page,
//! `feed::entries` (the schema policy), and keeps its own cursor:
//! - it first catches up from the database, a page at a time (`feed::changes`);
//! - then takes stretches from the tail, skipping what is at or below its cursor;
//! - a stretch that starts after its cursor (it missed one) or a broadcast it fell too
//!   far behind on (`Lagged`) sends it back to the database from its cursor, and the
//!   next push says so (`behind`).
//!
//! So every follower gets each entry it may see exactly once, in sequence order, across
//! replicas, reconnects (resume from the last cursor) and Redis outages (the database
//! is the truth; notices only make it fast). The tail also keeps this replica's caches
//! following the feed: the lookup index refreshes on each stretch.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::sync::broadcast;

use renkei_schema::tlp::{Viewer, ViewerRole};

use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::services::feed::{self, FeedItem};
use crate::services::tail::Stretch;
use crate::state::Hub;

/// Rows of each feed table a stretch holds at most (a bulk load is several stretches).
const STRETCH_ROWS: i64 = 256;
/// How often the tail looks at the database without a notice: while notices arrive
/// (or one process runs alone) only as a safety net; while Redis is configured but
/// away, often, since other replicas' writes are known no other way.
const POLL_NOTIFIED: Duration = Duration::from_millis(1_000);
const POLL_DEGRADED: Duration = Duration::from_millis(200);
/// At most this much content in one push while catching up (more follows at once).
const PUSH_BYTES: usize = 4 * 1024 * 1024;
/// Live streams one token (or one peer link) may hold open on a replica at once: each
/// is a follower with its own catch-up reads, so one caller may not open thousands.
pub const MAX_STREAMS_PER_CALLER: usize = 16;

/// Starts the replica's tail (see the module comment).
pub fn start(hub: &Arc<Hub>) {
    tokio::spawn(run_tail(Arc::downgrade(hub)));
}

async fn run_tail(weak: Weak<Hub>) {
    let mut wakes = match weak.upgrade() {
        Some(hub) => hub.notices.wakes(),
        None => return,
    };
    loop {
        let Some(hub) = weak.upgrade() else { return };
        if let Err(e) = read_new(&hub).await {
            if !e.is_unavailable() {
                tracing::warn!(?e, "live tail: could not read the feed");
            }
        }
        let poll = if hub.notices.configured() && !hub.notices.listening() { POLL_DEGRADED } else { POLL_NOTIFIED };
        drop(hub);
        tokio::select! {
            changed = wakes.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Reads everything after the tail's head, stretch by stretch; announces the new head
/// to the other replicas when it is news to them.
async fn read_new(hub: &Arc<Hub>) -> AppResult<()> {
    let tail = &hub.tail;
    if tail.head() < 0 {
        // Followers catch up from the database: the tail starts at the feed's end.
        let head = hub.db(|_, c| feed::head(c)).await?;
        tail.moved_to(head);
    }
    let start = tail.head();
    loop {
        let after = tail.head();
        let raw = hub.db(move |_, c| feed::load_after(c, after, STRETCH_ROWS, true)).await?;
        let exhausted = raw.exhausted;
        if raw.upto > after {
            let upto = raw.upto;
            // No follower on this replica is not an error.
            tail.hand_out(Stretch { after, raw });
            tail.moved_to(upto);
        }
        if exhausted {
            break;
        }
    }
    let head = tail.head();
    if head > start && head > hub.notices.announced() && hub.notices.configured() {
        hub.counters.publish(hub.notices.channel(), &crate::bus::notices::Notices::message(head)).await;
    }
    Ok(())
}

/// Who follows, and how the policy sees them.
#[derive(Clone)]
pub enum Audience {
    /// A member's token (checked again every `limits.stream_recheck_seconds`: a revoked
    /// token ends the stream).
    Member { identity: Identity, token: String },
    /// A peer hub's link, for its puller's wake-ups (`peer_hub` is the peer's hub id;
    /// the link is authorised again as often).
    Peer {
        org_id: String,
        peer_hub: String,
        presented: Option<String>,
        link: renkei_schema::tlp::PeerLink,
        kinds: Vec<String>,
    },
}

impl Audience {
    fn viewer(&self) -> Viewer<'_> {
        match self {
            Audience::Member { identity, .. } => identity.viewer(),
            Audience::Peer { peer_hub, link, .. } => Viewer { org: peer_hub, role: ViewerRole::Peer(*link) },
        }
    }

    fn indicators(&self) -> bool {
        match self {
            Audience::Member { identity, .. } => identity.may_read_indicators(),
            Audience::Peer { kinds, .. } => kinds.iter().any(|k| k == renkei_schema::model::Kind::Indicator.as_str()),
        }
    }

    /// Whose live streams these are, for `MAX_STREAMS_PER_CALLER`.
    fn caller(&self) -> String {
        match self {
            Audience::Member { identity, .. } => format!("token:{}", identity.token_id),
            Audience::Peer { org_id, peer_hub, .. } => format!("peer:{org_id}:{peer_hub}"),
        }
    }

    fn keeps(&self, item: &FeedItem) -> bool {
        match self {
            Audience::Member { .. } => true,
            Audience::Peer { kinds, .. } => kinds.contains(&item.kind),
        }
    }

    /// Checks the token or link again; the refreshed audience, or why it ends.
    async fn recheck(&self, hub: &Arc<Hub>) -> AppResult<Audience> {
        match self {
            Audience::Member { identity, token } => {
                let presented = token.clone();
                let cached = hub.tokens.get(&hub.keys, &identity.token_id, token);
                let fresh = match cached {
                    Some(fresh) => Some(fresh),
                    None => {
                        let _turn = hub.tail.turn_to_read().await;
                        hub.db(move |hub, c| {
                            Ok(crate::services::directory::check_token(c, &hub.keys, &presented)?.ok().map(|checked| {
                                hub.tokens.put(&checked);
                                checked.identity
                            }))
                        })
                        .await?
                    }
                };
                let Some(mut fresh) = fresh else {
                    return Err(AppError::new(
                        renkei_schema::errors::Code::Unauthenticated,
                        "the token is invalid, revoked or expired: the stream ends",
                        "トークンが無効、失効済み、または期限切れです。ストリームを終了します",
                    ));
                };
                fresh.source = identity.source.clone();
                Ok(Audience::Member { identity: fresh, token: token.clone() })
            }
            Audience::Peer { org_id, peer_hub, presented, kinds, .. } => {
                let (org, peer, shown) = (org_id.clone(), peer_hub.clone(), presented.clone());
                let _turn = hub.tail.turn_to_read().await;
                let link =
                    hub.db(move |_, c| crate::federation::feed::authorize(c, &org, shown.as_deref(), &peer)).await?;
                Ok(Audience::Peer {
                    org_id: org_id.clone(),
                    peer_hub: peer_hub.clone(),
                    presented: presented.clone(),
                    link: link.link()?,
                    kinds: if link.kinds().is_empty() { kinds.clone() } else { link.kinds() },
                })
            }
        }
    }
}

/// One push to a follower: what it may see after its last cursor.
#[derive(Debug)]
pub struct Push {
    pub items: Vec<FeedItem>,
    /// Resume from here.
    pub cursor: i64,
    /// More follows at once (the follower is catching up).
    pub has_more: bool,
    /// The follower fell behind the live stream and was caught up from the database.
    pub behind: bool,
}

enum Mode {
    CatchUp,
    Live,
}

struct Follower {
    /// How often the token (or a peer's link) is checked again
    /// (`limits.stream_recheck_seconds`).
    recheck_every: Duration,
    /// Held for as long as the stream lives.
    _slot: crate::services::tail::StreamSlot,
    hub: Arc<Hub>,
    audience: Audience,
    cursor: i64,
    page: usize,
    stretches: broadcast::Receiver<Arc<Stretch>>,
    mode: Mode,
    behind: bool,
    checked_at: Instant,
    ended: bool,
}

/// The follower's pushes after `after`: see the module comment. The stream ends after
/// an error (a revoked token, a removed link), which it yields first.
pub fn follow(
    hub: Arc<Hub>,
    audience: Audience,
    after: i64,
    page: usize,
) -> AppResult<impl Stream<Item = AppResult<Push>>> {
    let Some(slot) = hub.tail.open_stream(&audience.caller(), MAX_STREAMS_PER_CALLER) else {
        return Err(AppError::new(
            renkei_schema::errors::Code::RateLimited,
            format!("at most {MAX_STREAMS_PER_CALLER} live streams at once per token: close one first"),
            format!("ライブストリームは1トークンにつき同時に{MAX_STREAMS_PER_CALLER}本までです。先に1本閉じてください"),
        ));
    };
    // Subscribed before catching up, so no stretch committed meanwhile is missed.
    let stretches = hub.tail.subscribe();
    let recheck_every = Duration::from_secs(hub.config.limits.stream_recheck_seconds.max(1));
    let follower = Follower {
        recheck_every,
        _slot: slot,
        hub,
        audience,
        cursor: after,
        page: page.max(1),
        stretches,
        mode: Mode::CatchUp,
        behind: false,
        checked_at: Instant::now(),
        ended: false,
    };
    Ok(futures::stream::unfold(follower, |mut f| async move {
        if f.ended {
            return None;
        }
        let next = f.next().await;
        match next {
            Some(Err(e)) => {
                f.ended = true;
                Some((Err(e), f))
            }
            Some(ok) => Some((ok, f)),
            None => None,
        }
    }))
}

impl Follower {
    async fn next(&mut self) -> Option<AppResult<Push>> {
        loop {
            if self.checked_at.elapsed() >= self.recheck_every {
                match self.audience.recheck(&self.hub).await {
                    Ok(fresh) => self.audience = fresh,
                    // The database is away: the stream waits for it rather than ends.
                    Err(e) if e.is_unavailable() => {}
                    Err(e) => return Some(Err(e)),
                }
                self.checked_at = Instant::now();
            }
            match self.mode {
                Mode::CatchUp => {
                    let page = match self.catch_up().await {
                        Ok(page) => page,
                        Err(e) if e.is_unavailable() => {
                            tokio::time::sleep(POLL_DEGRADED).await;
                            continue;
                        }
                        Err(e) => return Some(Err(e)),
                    };
                    self.cursor = page.cursor;
                    if !page.has_more {
                        self.mode = Mode::Live;
                    }
                    let items: Vec<FeedItem> = page.items.into_iter().filter(|i| self.audience.keeps(i)).collect();
                    if !items.is_empty() || self.behind {
                        let behind = std::mem::take(&mut self.behind);
                        return Some(Ok(Push { items, cursor: self.cursor, has_more: page.has_more, behind }));
                    }
                }
                Mode::Live => {
                    let stretch = match self.wait_for_stretch().await {
                        Ok(Some(stretch)) => stretch,
                        Ok(None) => continue,
                        Err(()) => return None,
                    };
                    if stretch.raw.upto <= self.cursor {
                        continue;
                    }
                    if stretch.after > self.cursor {
                        // A stretch was missed (this follower started between two): the
                        // database has it.
                        self.mode = Mode::CatchUp;
                        continue;
                    }
                    let items = match self.decide(&stretch).await {
                        Ok(items) => items,
                        Err(e) if e.is_unavailable() => {
                            self.mode = Mode::CatchUp;
                            continue;
                        }
                        Err(e) => return Some(Err(e)),
                    };
                    self.cursor = stretch.raw.upto;
                    if !items.is_empty() {
                        return Some(Ok(Push { items, cursor: self.cursor, has_more: false, behind: false }));
                    }
                }
            }
        }
    }

    /// The next stretch; `Ok(None)` when the follower should look again (it fell behind
    /// and goes back to the database, or its token is due for a check); `Err` when the
    /// tail is gone (the hub is stopping).
    async fn wait_for_stretch(&mut self) -> Result<Option<Arc<Stretch>>, ()> {
        let due = self.recheck_every.saturating_sub(self.checked_at.elapsed());
        match tokio::time::timeout(due, self.stretches.recv()).await {
            Err(_) => Ok(None),
            Ok(Ok(stretch)) => Ok(Some(stretch)),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                self.behind = true;
                self.mode = Mode::CatchUp;
                Ok(None)
            }
            Ok(Err(broadcast::error::RecvError::Closed)) => Err(()),
        }
    }

    /// One page from the database after the cursor.
    async fn catch_up(&self) -> AppResult<feed::FeedPage> {
        let (audience, after, limit) = (self.audience.clone(), self.cursor, self.page);
        let _turn = self.hub.tail.turn_to_read().await;
        self.hub
            .db(move |_, c| {
                let scan_cap = limit.saturating_mul(20).max(10_000);
                feed::changes(c, &audience.viewer(), audience.indicators(), after, limit, scan_cap, PUSH_BYTES)
            })
            .await
    }

    /// What this follower gets of a stretch after its cursor: the policy's decision per
    /// entry (`feed::entries`), as for a page.
    async fn decide(&self, stretch: &Arc<Stretch>) -> AppResult<Vec<FeedItem>> {
        let audiences: HashMap<String, i64> = if stretch.raw.has_events() {
            let audience = self.audience.clone();
            let _turn = self.hub.tail.turn_to_read().await;
            self.hub.db(move |_, c| feed::audiences_of(c, &audience.viewer())).await?
        } else {
            HashMap::new()
        };
        let entries =
            feed::entries(&self.audience.viewer(), self.audience.indicators(), &audiences, &stretch.raw, self.cursor)?;
        Ok(entries.into_iter().filter_map(|(_, item)| item).filter(|i| self.audience.keeps(i)).collect())
    }
}

/// The hub a feed entry comes from and the key that verifies its signature: this hub
/// and its key for what it published, the origin and the key this hub pinned for a
/// received version, neither for a tombstone.
pub fn origin_and_key(hub: &Hub, item: &FeedItem) -> (Option<String>, Option<String>) {
    match (&item.origin, item.deleted) {
        (_, true) => (None, None),
        (Some(o), false) => (Some(o.hub.clone()), Some(o.key.clone())),
        // The hub's key at the entry's sequence number (`feed::entries` sets it).
        (None, false) => (Some(hub.hub_id.clone()), item.signing_key.clone()),
    }
}

/// A member's token as presented, kept with a live connection so the stream can check
/// it again (`Audience::Member`).
#[derive(Clone)]
pub struct PresentedToken(pub String);
