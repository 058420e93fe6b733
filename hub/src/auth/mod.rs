//! Who is calling: tokens, roles, failed-authentication counting and lockout
//! (handbook 11.4.2.1), and per-token rate limits.

use renkei_schema::tlp::{Viewer, ViewerRole};

/// What a token allows its holder to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Moderates, admits members, reads the audit log. Only for coordinator organisations.
    Coordinator,
    /// A member CSIRT analyst: shares and reads threat information.
    Analyst,
    /// A procurement officer: reads; shares supplier assessments (later issue).
    Procurement,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Analyst => "analyst",
            Role::Procurement => "procurement",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Coordinator, Role::Analyst, Role::Procurement].into_iter().find(|r| r.as_str() == s.to_ascii_lowercase())
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
}

impl Identity {
    /// The viewer this caller is for the TLP policy.
    pub fn viewer(&self) -> Viewer<'_> {
        let role = if self.role == Role::Coordinator { ViewerRole::Coordinator } else { ViewerRole::Member };
        Viewer { org: &self.org_id, role }
    }

    pub fn is_coordinator(&self) -> bool {
        self.role == Role::Coordinator
    }

    pub fn may_share(&self) -> bool {
        matches!(self.role, Role::Coordinator | Role::Analyst)
    }
}
