//! Change notices between a hub's replicas: "the feed reached sequence N", published on
//! a Redis pub/sub channel by the replica that committed it and heard by every other.
//!
//! A notice is only a wake-up: each replica's tail (`crate::live`) reads what is new
//! from the database, which stays the truth. So a lost notice costs latency, never
//! data: while the subscription to Redis is down (Redis away, or not configured with
//! several replicas) the tail polls the database instead, faster, and when the
//! subscription comes back it reads everything after its head once.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;

use super::{CONNECT_TIMEOUT, RESPONSE_TIMEOUT};

/// The wait before resubscribing after the subscription failed, doubled up to
/// `MAX_BACKOFF` while it keeps failing.
const RETRY_EVERY: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The oldest Redis this hub supports (pub/sub, `SET … EX … NX` in MULTI): 5.0. Checked
/// at start; an older one is refused with a clear message rather than failing later.
pub const MIN_REDIS_MAJOR: u32 = 5;

/// Notices heard and sent; see the module comment.
pub struct Notices {
    /// The channel (`renkei:{hub id}:feed`).
    channel: String,
    /// Counts wake-ups: every notice heard, every resubscription. The tail waits on it.
    wakes: watch::Sender<u64>,
    /// The highest sequence number another replica announced.
    announced: AtomicI64,
    /// Whether the subscription to Redis is up (false without Redis).
    listening: AtomicBool,
    configured: bool,
}

impl Notices {
    /// Notices without Redis: one process, whose own writes wake its tail.
    pub fn local() -> Arc<Notices> {
        Arc::new(Notices {
            channel: String::new(),
            wakes: watch::channel(0).0,
            announced: AtomicI64::new(0),
            listening: AtomicBool::new(false),
            configured: false,
        })
    }

    /// Notices on the Redis at `url` for hub `hub_id`: subscribes in the background
    /// (and again whenever the subscription drops). Must be called within a Tokio
    /// runtime.
    pub fn redis(url: &str, hub_id: &str) -> Result<Arc<Notices>, super::BusError> {
        let client = redis::Client::open(url)?;
        let notices = Arc::new(Notices {
            channel: format!("renkei:{hub_id}:feed"),
            wakes: watch::channel(0).0,
            announced: AtomicI64::new(0),
            listening: AtomicBool::new(false),
            configured: true,
        });
        tokio::spawn(listen(client, Arc::downgrade(&notices)));
        Ok(notices)
    }

    /// The channel notices travel on (empty without Redis).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// A receiver that changes at every wake-up.
    pub fn wakes(&self) -> watch::Receiver<u64> {
        self.wakes.subscribe()
    }

    /// Wakes this process's waiters (a write committed here).
    pub fn wake(&self) {
        self.wakes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Whether notices from the other replicas arrive: false while Redis is away or
    /// not configured (the tail then polls the database faster).
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Whether Redis is configured for notices at all.
    pub fn configured(&self) -> bool {
        self.configured
    }

    /// The highest sequence number another replica announced.
    pub fn announced(&self) -> i64 {
        self.announced.load(Ordering::Acquire)
    }

    /// The message announcing that the feed reached `seq`.
    pub fn message(seq: i64) -> String {
        format!("feed {seq}")
    }

    fn heard(&self, payload: &str) {
        if let Some(seq) = payload.strip_prefix("feed ").and_then(|s| s.trim().parse::<i64>().ok()) {
            self.announced.fetch_max(seq, Ordering::AcqRel);
        }
        self.wake();
    }
}

/// Keeps a subscription to the channel, resubscribing with a backoff; each message (and
/// each new subscription, after which missed notices are read from the database) wakes
/// the tail. Ends with the notices.
async fn listen(client: redis::Client, notices: Weak<Notices>) {
    let mut backoff = RETRY_EVERY;
    let mut said_down = false;
    loop {
        let channel = match notices.upgrade() {
            Some(n) => n.channel.clone(),
            None => return,
        };
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT + RESPONSE_TIMEOUT, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match attempt {
            Ok(Ok(pubsub)) => {
                backoff = RETRY_EVERY;
                {
                    let Some(n) = notices.upgrade() else { return };
                    n.listening.store(true, Ordering::Release);
                    // Notices sent while unsubscribed were lost: the tail reads after its
                    // head now.
                    n.wake();
                    if said_down {
                        tracing::info!("Redis answers: change notices between replicas resumed");
                        said_down = false;
                    }
                }
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let Some(n) = notices.upgrade() else { return };
                    let payload: String = message.get_payload().unwrap_or_default();
                    n.heard(&payload);
                }
                // The stream ends when the connection does.
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "Redis: subscribing to change notices failed"),
            Err(_) => tracing::debug!("Redis: subscribing to change notices timed out"),
        }
        {
            let Some(n) = notices.upgrade() else { return };
            if n.listening.swap(false, Ordering::AcqRel) || !said_down {
                tracing::warn!(
                    "Redis unavailable: change notices between replicas stopped; each replica polls the database \
                     until it answers again"
                );
                said_down = true;
            }
            n.wake();
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The major version of the Redis at `url` (from `INFO server`), to refuse an
/// unsupported one at start. `None` when it does not answer (checked again later is
/// not needed: the commands used are checked against `MIN_REDIS_MAJOR`).
pub async fn redis_major_version(url: &str) -> Result<Option<u32>, super::BusError> {
    let client = redis::Client::open(url)?;
    let attempt = tokio::time::timeout(CONNECT_TIMEOUT + RESPONSE_TIMEOUT, async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        let info: String = redis::cmd("INFO").arg("server").query_async(&mut conn).await?;
        Ok::<_, redis::RedisError>(info)
    })
    .await;
    let Ok(Ok(info)) = attempt else { return Ok(None) };
    Ok(parse_major(&info))
}

/// `redis_version:7.0.15` → 7.
fn parse_major(info: &str) -> Option<u32> {
    info.lines()
        .find_map(|l| l.trim().strip_prefix("redis_version:"))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_version_is_read_from_info() {
        assert_eq!(parse_major("# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0\r\n"), Some(7));
        assert_eq!(parse_major("redis_version:4.0.9"), Some(4));
        assert_eq!(parse_major("no version here"), None);
    }

    #[test]
    fn a_notice_raises_the_announced_head_and_wakes() {
        let notices = Notices::local();
        let mut wakes = notices.wakes();
        notices.heard(&Notices::message(42));
        notices.heard("feed 7");
        notices.heard("nonsense");
        assert_eq!(notices.announced(), 42);
        assert!(wakes.has_changed().expect("sender alive"));
        assert_eq!(*wakes.borrow_and_update(), 3);
    }
}
