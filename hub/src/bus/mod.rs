//! Counters shared by hub replicas: failed authentications, lockouts and rate limits.
//! In Redis when `RENKEI_REDIS_URL` is set, in process otherwise.
//!
//! Redis is a help, not a dependency: while it does not answer, the counters are kept
//! in process (so lockouts and rate limits still hold, per process, rather than fail
//! open), and no request waits for it. Each command has `RESPONSE_TIMEOUT`; the first
//! that fails drops the connection, and from then on requests skip Redis at once while
//! a background task (`supervise`) reconnects every `RETRY_EVERY` (longer, up to
//! `MAX_BACKOFF`, when fresh connections keep failing), each attempt bounded by
//! `CONNECT_TIMEOUT`. While connected it PINGs every `PING_EVERY`, so an idle hub also
//! notices an outage (`/readyz` reports it). Counts and lockouts made in process while
//! Redis was away keep holding until their window ends after it returns: `incr` adds
//! this process's live count to Redis's, and flags are also kept in process.

pub mod notices;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

/// How long a command may take before Redis counts as unavailable.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one attempt to connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the supervisor looks at the connection (and reconnects when due).
const TICK: Duration = Duration::from_millis(250);
/// The wait before reconnecting after a failure, doubled (up to `MAX_BACKOFF`) when a
/// new connection fails again within `STABLE`.
const RETRY_EVERY: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
const STABLE: Duration = Duration::from_secs(30);
/// A connected but otherwise idle hub checks Redis this often.
const PING_EVERY: Duration = Duration::from_secs(1);

/// Lockout and rate counters; see the module comment.
pub struct Counters {
    local: Local,
    redis: Option<Arc<RedisLink>>,
}

#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct BusError(#[from] redis::RedisError);

/// What `/readyz` says about Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisState {
    /// Configured and answering.
    Up,
    /// Configured but not answering: the counters are kept in process meanwhile.
    Unavailable,
}

impl RedisState {
    pub fn as_str(self) -> &'static str {
        match self {
            RedisState::Up => "up",
            RedisState::Unavailable => "unavailable",
        }
    }
}

impl Counters {
    pub fn local() -> Counters {
        Counters { local: Local::default(), redis: None }
    }

    /// Counters in the Redis at `url`, under `renkei:{prefix}:`. Fails only on a URL
    /// that is not a Redis URL: a Redis that does not answer yet is connected to in the
    /// background (meanwhile the counters are kept in process). Must be called within
    /// a Tokio runtime, which runs the reconnecting task.
    pub async fn redis(url: &str, prefix: &str) -> Result<Counters, BusError> {
        let client = redis::Client::open(url)?;
        let link = Arc::new(RedisLink {
            client,
            prefix: format!("renkei:{prefix}:"),
            conn: Mutex::new(None),
            state: Mutex::new(LinkState {
                generation: 0,
                retry_at: Instant::now(),
                backoff: RETRY_EVERY,
                connected_at: None,
                down_since: None,
                pinged_at: Instant::now(),
            }),
        });
        if let Err(e) = link.connect().await {
            link.state().down_since = Some(Instant::now());
            tracing::warn!(
                error = %e,
                "Redis does not answer: lockout and rate counters are kept in process until it does"
            );
        }
        tokio::spawn(supervise(Arc::downgrade(&link)));
        Ok(Counters { local: Local::default(), redis: Some(link) })
    }

    /// Adds one to a counter that expires `window` after its first increment; returns
    /// the new value.
    pub async fn incr(&self, key: &str, window: Duration) -> Result<u64, BusError> {
        if let Some(link) = &self.redis {
            let full = link.key(key);
            // SET … NX then INCR (which keeps the expiry), in one MULTI/EXEC: works on
            // every Redis (`EXPIRE … NX` needs Redis 7).
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("SET")
                .arg(&full)
                .arg(0)
                .arg("EX")
                .arg(window.as_secs().max(1))
                .arg("NX")
                .ignore()
                .incr(&full, 1u64);
            if let Some((value,)) = link.query::<(u64,)>(Request::Pipe(&pipe)).await {
                // What this process counted while Redis was away still counts.
                return Ok(value + self.local.live(key));
            }
        }
        Ok(self.local.incr(key, window))
    }

    /// Sets a flag that clears itself after `ttl`.
    pub async fn set_flag(&self, key: &str, ttl: Duration) -> Result<(), BusError> {
        // Kept in process too, so this process's lockouts hold through a Redis outage.
        self.local.set_flag(key, ttl);
        if let Some(link) = &self.redis {
            let mut cmd = redis::cmd("SET");
            cmd.arg(link.key(key)).arg(1).arg("EX").arg(ttl.as_secs().max(1));
            let _: Option<()> = link.query(Request::Cmd(&cmd)).await;
        }
        Ok(())
    }

    pub async fn has_flag(&self, key: &str) -> Result<bool, BusError> {
        if self.local.has_flag(key) {
            return Ok(true);
        }
        if let Some(link) = &self.redis {
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg(link.key(key));
            if let Some(n) = link.query::<u64>(Request::Cmd(&cmd)).await {
                return Ok(n > 0);
            }
        }
        Ok(false)
    }

    /// Claims `key` for `ttl` if nobody holds it (`SET … NX EX`): true when this caller
    /// got it. In process while Redis is away.
    pub async fn claim(&self, key: &str, value: &str, ttl: Duration) -> bool {
        if let Some(link) = &self.redis {
            let mut cmd = redis::cmd("SET");
            cmd.arg(link.key(key)).arg(value).arg("NX").arg("EX").arg(ttl.as_secs().max(1));
            if let Some(answer) = link.query::<Option<String>>(Request::Cmd(&cmd)).await {
                return answer.is_some();
            }
        }
        self.local.claim(key, value, ttl)
    }

    /// Sets `key` to `value` for `ttl` (replacing a claim).
    pub async fn put(&self, key: &str, value: &str, ttl: Duration) {
        if let Some(link) = &self.redis {
            let mut cmd = redis::cmd("SET");
            cmd.arg(link.key(key)).arg(value).arg("EX").arg(ttl.as_secs().max(1));
            if link.query::<()>(Request::Cmd(&cmd)).await.is_some() {
                return;
            }
        }
        self.local.put(key, value, ttl);
    }

    /// The value of `key`, if set and not expired.
    pub async fn value(&self, key: &str) -> Option<String> {
        if let Some(link) = &self.redis {
            let mut cmd = redis::cmd("GET");
            cmd.arg(link.key(key));
            if let Some(answer) = link.query::<Option<String>>(Request::Cmd(&cmd)).await {
                return answer.or_else(|| self.local.value(key));
            }
        }
        self.local.value(key)
    }

    /// Forgets `key`.
    pub async fn forget(&self, key: &str) {
        self.local.forget(key);
        if let Some(link) = &self.redis {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(link.key(key));
            let _: Option<u64> = link.query(Request::Cmd(&cmd)).await;
        }
    }

    /// Publishes `message` on the pub/sub `channel` (a change notice to the other
    /// replicas); nothing while Redis is away (they poll the database meanwhile).
    pub async fn publish(&self, channel: &str, message: &str) {
        if let Some(link) = &self.redis {
            let mut cmd = redis::cmd("PUBLISH");
            cmd.arg(channel).arg(message);
            let _: Option<u64> = link.query(Request::Cmd(&cmd)).await;
        }
    }

    /// Where the counters are meant to live: "redis" when configured (even while it is
    /// away and they are kept in process), else "in-process".
    pub fn backend_name(&self) -> &'static str {
        match self.redis {
            None => "in-process",
            Some(_) => "redis",
        }
    }

    /// Whether the configured Redis answers; `None` without Redis.
    pub fn redis_state(&self) -> Option<RedisState> {
        self.redis.as_ref().map(|link| if link.current().is_some() { RedisState::Up } else { RedisState::Unavailable })
    }
}

/// The in-process counters and flags: each key's value and when it expires; and the
/// values kept while Redis is away (idempotency keys).
#[derive(Default)]
struct Local(Mutex<HashMap<String, (u64, Instant)>>, Mutex<HashMap<String, (String, Instant)>>);

impl Local {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Instant)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn incr(&self, key: &str, window: Duration) -> u64 {
        let mut map = self.map();
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, (_, until)| *until > now);
        }
        let entry = map.entry(key.to_string()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        entry.0
    }

    /// The key's count if its window has not ended, else 0.
    fn live(&self, key: &str) -> u64 {
        let map = self.map();
        match map.get(key) {
            Some((n, until)) if *until > Instant::now() => *n,
            _ => 0,
        }
    }

    fn set_flag(&self, key: &str, ttl: Duration) {
        let mut map = self.map();
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, (_, until)| *until > now);
        }
        map.insert(key.to_string(), (1, now + ttl));
    }

    fn has_flag(&self, key: &str) -> bool {
        self.map().get(key).is_some_and(|(_, until)| *until > Instant::now())
    }

    fn values(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        let mut map = self.1.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            let now = Instant::now();
            map.retain(|_, (_, until)| *until > now);
        }
        map
    }

    fn claim(&self, key: &str, value: &str, ttl: Duration) -> bool {
        let mut map = self.values();
        let now = Instant::now();
        if map.get(key).is_some_and(|(_, until)| *until > now) {
            return false;
        }
        map.insert(key.to_string(), (value.to_string(), now + ttl));
        true
    }

    fn put(&self, key: &str, value: &str, ttl: Duration) {
        self.values().insert(key.to_string(), (value.to_string(), Instant::now() + ttl));
    }

    fn value(&self, key: &str) -> Option<String> {
        self.values().get(key).filter(|(_, until)| *until > Instant::now()).map(|(v, _)| v.clone())
    }

    fn forget(&self, key: &str) {
        self.values().remove(key);
    }
}

/// The connection to Redis, `None` while it is away.
struct RedisLink {
    client: redis::Client,
    prefix: String,
    /// The connection and its generation (a failure drops only the connection it
    /// happened on, not a newer one).
    conn: Mutex<Option<(u64, MultiplexedConnection)>>,
    state: Mutex<LinkState>,
}

struct LinkState {
    generation: u64,
    /// No reconnecting before this.
    retry_at: Instant,
    backoff: Duration,
    connected_at: Option<Instant>,
    down_since: Option<Instant>,
    pinged_at: Instant,
}

enum Request<'a> {
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl RedisLink {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn current(&self) -> Option<(u64, MultiplexedConnection)> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs one request; `None` (at once) while Redis is away, or when the request fails
    /// (the connection is then dropped and the supervisor reconnects).
    async fn query<T: redis::FromRedisValue>(&self, request: Request<'_>) -> Option<T> {
        let (generation, mut conn) = self.current()?;
        // The connection's response timeout bounds each request; this one also covers
        // anything before the request reaches the socket.
        let result = tokio::time::timeout(RESPONSE_TIMEOUT + Duration::from_millis(100), async {
            match request {
                Request::Cmd(cmd) => cmd.query_async(&mut conn).await,
                Request::Pipe(pipe) => pipe.query_async(&mut conn).await,
            }
        })
        .await;
        match result {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.failed(generation, &e.to_string());
                None
            }
            Err(_) => {
                self.failed(generation, "no answer within the response timeout");
                None
            }
        }
    }

    /// Drops the connection `generation` after a failure on it.
    fn failed(&self, generation: u64, error: &str) {
        {
            let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            if conn.as_ref().is_none_or(|(g, _)| *g != generation) {
                return;
            }
            *conn = None;
        }
        let now = Instant::now();
        let mut state = self.state();
        let short_lived = state.connected_at.is_some_and(|t| now.duration_since(t) < STABLE);
        state.backoff = if short_lived { (state.backoff * 2).min(MAX_BACKOFF) } else { RETRY_EVERY };
        state.retry_at = now + state.backoff;
        state.connected_at = None;
        state.down_since = Some(now);
        tracing::warn!(
            %error,
            "Redis unavailable: lockout and rate counters are kept in process until it answers again"
        );
    }

    /// One attempt to connect (and PING), bounded by `CONNECT_TIMEOUT` and
    /// `RESPONSE_TIMEOUT`; installs the connection when it answers.
    async fn connect(&self) -> Result<(), String> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT);
        let attempt = async {
            let mut conn = self.client.get_multiplexed_async_connection_with_config(&config).await?;
            let _: String = redis::cmd("PING").query_async(&mut conn).await?;
            Ok::<_, redis::RedisError>(conn)
        };
        let now = Instant::now();
        let result = match tokio::time::timeout(CONNECT_TIMEOUT + RESPONSE_TIMEOUT, attempt).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within the connection timeout".to_string()),
        };
        let mut state = self.state();
        match result {
            Ok(conn) => {
                state.generation += 1;
                state.connected_at = Some(now);
                state.pinged_at = now;
                if let Some(since) = state.down_since.take() {
                    tracing::info!(
                        seconds = now.duration_since(since).as_secs_f64(),
                        "Redis answers: lockout and rate counters are in Redis again"
                    );
                }
                *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some((state.generation, conn));
                Ok(())
            }
            Err(e) => {
                state.retry_at = Instant::now() + state.backoff;
                tracing::debug!(error = %e, "Redis: reconnecting failed");
                Err(e)
            }
        }
    }
}

/// Reconnects when the connection was dropped, and PINGs an idle one; ends with the
/// counters.
async fn supervise(link: Weak<RedisLink>) {
    loop {
        tokio::time::sleep(TICK).await;
        let Some(link) = link.upgrade() else { return };
        let now = Instant::now();
        match link.current() {
            None => {
                if now >= link.state().retry_at {
                    let _ = link.connect().await;
                }
            }
            Some(_) => {
                let due = {
                    let mut state = link.state();
                    let due = now.duration_since(state.pinged_at) >= PING_EVERY;
                    if due {
                        state.pinged_at = now;
                    }
                    due
                };
                if due {
                    let _: Option<String> = link.query(Request::Cmd(&redis::cmd("PING"))).await;
                }
            }
        }
    }
}
