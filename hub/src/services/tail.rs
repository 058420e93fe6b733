//! A replica's view of the feed's end, which `crate::live` keeps moving: the last
//! sequence number read, and the stretches read, handed to every follower on this
//! replica through a bounded broadcast (see `crate::live` for who reads and writes it).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use super::feed::RawBatch;

/// Stretches the broadcast keeps for followers that are slow to take them; a follower
/// further behind reads from the database instead (and is told it was behind).
const STRETCHES_KEPT: usize = 256;
/// Followers reading the database at once on a replica (catching up, deciding rating
/// events, checking a token again). The rest wait here, as tasks, not on blocking
/// threads: 1,000 subscribers connecting at once made 40–70 threads per replica wait
/// for a pooled connection, each leaving its allocator pages behind (195 KiB of memory
/// per idle subscriber in live-bench instead of about 45).
const FOLLOWERS_READING: usize = 4;

/// A stretch of the feed after `after`, complete up to `raw.upto`.
pub struct Stretch {
    pub after: i64,
    pub raw: RawBatch,
}

/// The replica's tail; see the module comment.
pub struct Tail {
    /// See `FOLLOWERS_READING`.
    reading: tokio::sync::Semaphore,
    /// Live streams open on this replica per caller (token or peer link): each is a
    /// follower, so their number per caller is capped (`Tail::open_stream`).
    streams: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    stretches: broadcast::Sender<Arc<Stretch>>,
    head: AtomicI64,
    /// The head after each stretch (the lookup index follows it).
    advanced: watch::Sender<i64>,
}

impl Default for Tail {
    fn default() -> Self {
        Tail::new()
    }
}

impl Tail {
    pub fn new() -> Tail {
        Tail {
            reading: tokio::sync::Semaphore::new(FOLLOWERS_READING),
            streams: Default::default(),
            stretches: broadcast::channel(STRETCHES_KEPT).0,
            head: AtomicI64::new(-1),
            advanced: watch::channel(0).0,
        }
    }

    /// The last sequence number the tail has read (-1 before it started).
    pub fn head(&self) -> i64 {
        self.head.load(Ordering::Acquire)
    }

    /// Changes each time the tail reads a new stretch.
    pub fn advanced(&self) -> watch::Receiver<i64> {
        self.advanced.subscribe()
    }

    /// Takes one of `caller`'s `max` live streams; `None` when all are taken. The slot
    /// is given back when dropped.
    pub fn open_stream(&self, caller: &str, max: usize) -> Option<StreamSlot> {
        let mut open = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(caller.to_string()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(StreamSlot { streams: Arc::clone(&self.streams), caller: caller.to_string() })
    }

    /// Waits for a turn to read the database for a follower (held while reading).
    pub async fn turn_to_read(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.reading.acquire().await.ok()
    }

    /// A receiver of every stretch handed out from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Stretch>> {
        self.stretches.subscribe()
    }

    /// Hands a stretch to every follower on this replica (none is not an error).
    pub fn hand_out(&self, stretch: Stretch) {
        let _ = self.stretches.send(Arc::new(stretch));
    }

    /// The tail has read up to `head`.
    pub fn moved_to(&self, head: i64) {
        self.head.store(head, Ordering::Release);
        self.advanced.send_replace(head);
    }

    /// How many followers take stretches on this replica now.
    pub fn followers(&self) -> usize {
        self.stretches.receiver_count()
    }
}

/// One open live stream of a caller (see `Tail::open_stream`).
pub struct StreamSlot {
    streams: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    caller: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.caller) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.caller);
            }
        }
    }
}
