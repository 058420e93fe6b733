//! Who is calling: tokens, roles, failed-authentication counting and lockout
//! (handbook 11.4.2.1), and per-token rate limits.

pub mod proxies;

use renkei_schema::errors::Code;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use renkei_schema::tlp::{Viewer, ViewerRole};

use crate::crypto::HubKeys;

/// What a token allows its holder to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Moderates, admits members, reads the audit log. Only for coordinator organisations.
    Coordinator,
    /// A member CSIRT analyst: shares and reads threat information.
    Analyst,
    /// A procurement officer: reads; shares supplier assessments (later issue).
    Procurement,
    /// Another hub over a federation link: reads only the federation feed
    /// (`peerChanges`), filtered by its link's agreement. Issued by `peer add`.
    Peer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Analyst => "analyst",
            Role::Procurement => "procurement",
            Role::Peer => "peer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Coordinator, Role::Analyst, Role::Procurement, Role::Peer]
            .into_iter()
            .find(|r| r.as_str() == s.to_ascii_lowercase())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Identity {
    pub org_id: String,
    pub org_name: String,
    pub role: Role,
    pub token_id: String,
    /// Where the request came from (for the audit log).
    pub source: Option<String>,
    /// Grants beyond the role (`indicators`).
    pub grants: Vec<String>,
}

impl Identity {
    /// Whether the caller may read indicators (and report sightings of them): every
    /// role but procurement, which reads supplier assessments unless granted more.
    pub fn may_read_indicators(&self) -> bool {
        self.role != Role::Procurement || self.grants.iter().any(|g| g == "indicators")
    }

    /// FORBIDDEN unless the caller may read indicators.
    pub fn require_indicators(&self) -> crate::error::AppResult<()> {
        if self.may_read_indicators() {
            Ok(())
        } else {
            Err(crate::error::AppError::new(
                Code::Forbidden,
                "procurement tokens read supplier assessments, not indicators (a coordinator can issue one granted `indicators`)",
                "調達担当のトークンではインディケーターを参照できません（indicatorsを付与したトークンが必要です）",
            ))
        }
    }

    /// The viewer this caller is for the TLP policy.
    pub fn viewer(&self) -> Viewer<'_> {
        let role = match self.role {
            Role::Coordinator => ViewerRole::Coordinator,
            Role::Analyst | Role::Procurement => ViewerRole::Member,
            // The federation feed builds the link's own viewer; anywhere else a peer
            // token reads no more than what any link carries.
            Role::Peer => ViewerRole::Peer(renkei_schema::tlp::PeerLink {
                max_tlp: renkei_schema::tlp::Tlp::Clear,
                community: false,
            }),
        };
        Viewer { org: &self.org_id, role }
    }

    pub fn is_coordinator(&self) -> bool {
        self.role == Role::Coordinator
    }

    pub fn may_share(&self) -> bool {
        matches!(self.role, Role::Coordinator | Role::Analyst)
    }
}

/// A token the database accepted, with what the token cache needs to accept the same
/// token again without the database.
#[derive(Debug, Clone)]
pub struct CheckedToken {
    pub identity: Identity,
    pub digest: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Tokens the database accepted in the last `ttl`, so a busy client costs one token
/// read per `ttl` rather than one per request. A hit still checks the presented
/// secret against the stored digest (constant time) and the expiry; only a
/// revocation made meanwhile goes unseen, for at most `ttl`. Refusals are never
/// cached: every failed attempt reaches the database, the counters and the audit log.
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, CheckedToken)>>,
}

/// Entries kept before the stale ones are swept.
const TOKEN_CACHE_SWEEP: usize = 10_000;

impl TokenCache {
    pub fn new(ttl: Duration) -> TokenCache {
        TokenCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The identity behind `token`, if the database accepted it within the TTL and the
    /// secret and expiry still hold.
    pub fn get(&self, keys: &HubKeys, token_id: &str, token: &str) -> Option<Identity> {
        if self.ttl.is_zero() {
            return None;
        }
        let checked = {
            let entries = self.entries.lock().ok()?;
            let (at, checked) = entries.get(token_id)?;
            if at.elapsed() >= self.ttl {
                return None;
            }
            checked.clone()
        };
        let expired = checked.expires_at.is_some_and(|t| t <= chrono::Utc::now());
        (!expired && keys.token_matches(token, &checked.digest)).then_some(checked.identity)
    }

    pub fn put(&self, checked: &CheckedToken) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= TOKEN_CACHE_SWEEP {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            entries.insert(checked.identity.token_id.clone(), (Instant::now(), checked.clone()));
        }
    }

    /// Drops a token at once (this process revoked it).
    pub fn forget(&self, token_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(token_id);
        }
    }
}
