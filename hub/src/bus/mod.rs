//! Counters shared by hub replicas: failed authentications, lockouts and rate limits.
//! In Redis when `RENKEI_REDIS_URL` is set, in process otherwise.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub enum Counters {
    Local(Mutex<HashMap<String, (u64, Instant)>>),
    Redis { conn: redis::aio::ConnectionManager, prefix: String },
}

#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct BusError(#[from] redis::RedisError);

impl Counters {
    pub fn local() -> Counters {
        Counters::Local(Mutex::new(HashMap::new()))
    }

    pub async fn redis(url: &str, prefix: &str) -> Result<Counters, BusError> {
        let client = redis::Client::open(url)?;
        let conn = redis::aio::ConnectionManager::new(client).await?;
        Ok(Counters::Redis { conn, prefix: format!("renkei:{prefix}:") })
    }

    /// Adds one to a counter that expires `window` after its first increment; returns
    /// the new value.
    pub async fn incr(&self, key: &str, window: Duration) -> Result<u64, BusError> {
        match self {
            Counters::Local(map) => {
                let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if map.len() > 100_000 {
                    map.retain(|_, (_, until)| *until > now);
                }
                let entry = map.entry(key.to_string()).or_insert((0, now + window));
                if entry.1 <= now {
                    *entry = (0, now + window);
                }
                entry.0 += 1;
                Ok(entry.0)
            }
            Counters::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let key = format!("{prefix}{key}");
                let (value,): (u64,) = redis::pipe()
                    .atomic()
                    .incr(&key, 1u64)
                    .cmd("EXPIRE")
                    .arg(&key)
                    .arg(window.as_secs().max(1))
                    .arg("NX")
                    .ignore()
                    .query_async(&mut conn)
                    .await?;
                Ok(value)
            }
        }
    }

    /// Sets a flag that clears itself after `ttl`.
    pub async fn set_flag(&self, key: &str, ttl: Duration) -> Result<(), BusError> {
        match self {
            Counters::Local(map) => {
                let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
                map.insert(key.to_string(), (1, Instant::now() + ttl));
                Ok(())
            }
            Counters::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let _: () = redis::cmd("SET")
                    .arg(format!("{prefix}{key}"))
                    .arg(1)
                    .arg("EX")
                    .arg(ttl.as_secs().max(1))
                    .query_async(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }

    pub async fn has_flag(&self, key: &str) -> Result<bool, BusError> {
        match self {
            Counters::Local(map) => {
                let map = map.lock().unwrap_or_else(|p| p.into_inner());
                Ok(map.get(key).is_some_and(|(_, until)| *until > Instant::now()))
            }
            Counters::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let n: u64 = redis::cmd("EXISTS").arg(format!("{prefix}{key}")).query_async(&mut conn).await?;
                Ok(n > 0)
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Counters::Local(_) => "in-process",
            Counters::Redis { .. } => "redis",
        }
    }
}
