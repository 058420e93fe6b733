//! The moderation policy: which submissions are published at once and which wait for a
//! coordinator. Pure data and one pure function ([`Policy::route`]), read from the hub's
//! configuration or stored by coordinators; the hub's `services::moderation` applies it.

use serde::{Deserialize, Serialize};

use crate::model::Kind;
use crate::tlp::{Status, Tlp};

/// How far the hub trusts an organisation's submissions; the policy routes by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// Newly admitted: typically every submission is reviewed.
    New,
    Standard,
    Trusted,
}

impl Trust {
    pub const ALL: [Trust; 3] = [Trust::New, Trust::Standard, Trust::Trusted];

    pub fn as_str(self) -> &'static str {
        match self {
            Trust::New => "new",
            Trust::Standard => "standard",
            Trust::Trusted => "trusted",
        }
    }

    pub fn parse(s: &str) -> Option<Trust> {
        Trust::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What a rule does with a submission it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Publish,
    Queue,
}

/// One rule of the moderation policy; an empty list matches anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub trust: Vec<Trust>,
    #[serde(default)]
    pub kinds: Vec<Kind>,
    #[serde(default)]
    pub tlp: Vec<Tlp>,
    /// Only submissions of coordinator organisations (true) or of members (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator_org: Option<bool>,
    pub action: Action,
}

/// The moderation policy: the first matching rule decides, else `default`.
/// Set in the configuration (`[moderation]`); coordinators can replace it at run time
/// (`setModerationPolicy`), which is stored in the database and wins over the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub default: Action,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl Default for Policy {
    /// Newly admitted organisations are reviewed; everyone else publishes at once.
    fn default() -> Self {
        Policy {
            default: Action::Publish,
            rules: vec![Rule {
                trust: vec![Trust::New],
                kinds: vec![],
                tlp: vec![],
                coordinator_org: None,
                action: Action::Queue,
            }],
        }
    }
}

/// Where a submission goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Publish,
    /// Queued as pending, with the reason recorded for the coordinators.
    Queue(String),
}

impl Route {
    pub fn status(&self) -> Status {
        match self {
            Route::Publish => Status::Published,
            Route::Queue(_) => Status::Pending,
        }
    }
}

/// What the policy looks at for one submission.
#[derive(Debug, Clone, Copy)]
pub struct Submission {
    pub trust: Trust,
    pub coordinator_org: bool,
    pub kind: Kind,
    pub tlp: Tlp,
}

impl Policy {
    pub fn route(&self, s: &Submission) -> Route {
        if crate::tlp::never_queued(s.tlp) {
            return Route::Publish;
        }
        let matched = self.rules.iter().enumerate().find(|(_, r)| {
            (r.trust.is_empty() || r.trust.contains(&s.trust))
                && (r.kinds.is_empty() || r.kinds.contains(&s.kind))
                && (r.tlp.is_empty() || r.tlp.contains(&s.tlp))
                && r.coordinator_org.is_none_or(|c| c == s.coordinator_org)
        });
        let (action, why) = match matched {
            Some((i, r)) => (r.action, format!("moderation rule {} ({})", i + 1, describe(r))),
            None => (self.default, "the moderation policy's default".to_string()),
        };
        match action {
            Action::Publish => Route::Publish,
            Action::Queue => Route::Queue(why),
        }
    }
}

fn describe(rule: &Rule) -> String {
    let mut parts = Vec::new();
    if !rule.trust.is_empty() {
        parts.push(format!("trust {}", rule.trust.iter().map(|t| t.as_str()).collect::<Vec<_>>().join("|")));
    }
    if !rule.kinds.is_empty() {
        parts.push(format!("kind {}", rule.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("|")));
    }
    if !rule.tlp.is_empty() {
        parts.push(format!("label {}", rule.tlp.iter().map(|t| t.as_str()).collect::<Vec<_>>().join("|")));
    }
    match rule.coordinator_org {
        Some(true) => parts.push("coordinator organisations".into()),
        Some(false) => parts.push("member organisations".into()),
        None => {}
    }
    if parts.is_empty() {
        "every submission".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(trust: Trust, kind: Kind, tlp: Tlp) -> Submission {
        Submission { trust, coordinator_org: false, kind, tlp }
    }

    #[test]
    fn the_first_matching_rule_decides_and_red_is_never_queued() {
        let policy = Policy {
            default: Action::Publish,
            rules: vec![
                Rule {
                    trust: vec![Trust::Trusted],
                    kinds: vec![],
                    tlp: vec![],
                    coordinator_org: None,
                    action: Action::Publish,
                },
                Rule {
                    trust: vec![],
                    kinds: vec![Kind::Incident],
                    tlp: vec![],
                    coordinator_org: None,
                    action: Action::Queue,
                },
                Rule {
                    trust: vec![],
                    kinds: vec![],
                    tlp: vec![Tlp::Amber],
                    coordinator_org: None,
                    action: Action::Queue,
                },
            ],
        };
        assert_eq!(policy.route(&submission(Trust::Trusted, Kind::Incident, Tlp::Amber)), Route::Publish);
        assert!(matches!(policy.route(&submission(Trust::Standard, Kind::Incident, Tlp::Green)),
            Route::Queue(why) if why.starts_with("moderation rule 2")));
        assert!(matches!(policy.route(&submission(Trust::New, Kind::Indicator, Tlp::Amber)),
            Route::Queue(why) if why.contains("label TLP:AMBER")));
        assert_eq!(policy.route(&submission(Trust::New, Kind::Indicator, Tlp::Green)), Route::Publish);
        let everything = Policy { default: Action::Queue, rules: vec![] };
        for trust in Trust::ALL {
            for kind in Kind::ALL {
                assert_eq!(everything.route(&submission(trust, kind, Tlp::Red)), Route::Publish, "RED is never queued");
                assert!(matches!(everything.route(&submission(trust, kind, Tlp::Clear)), Route::Queue(_)));
            }
        }
    }

    #[test]
    fn the_default_policy_reviews_new_organisations_only() {
        let policy = Policy::default();
        assert!(matches!(policy.route(&submission(Trust::New, Kind::Indicator, Tlp::Green)), Route::Queue(_)));
        assert_eq!(policy.route(&submission(Trust::Standard, Kind::Indicator, Tlp::Green)), Route::Publish);
    }

    #[test]
    fn policies_read_from_toml_and_refuse_unknown_values() {
        let policy: Policy = toml::from_str(
            "default = \"queue\"\n[[rules]]\ntrust = [\"trusted\"]\ntlp = [\"TLP:CLEAR\", \"TLP:GREEN\"]\naction = \"publish\"\n",
        )
        .expect("policy");
        assert_eq!(policy.rules[0].tlp, vec![Tlp::Clear, Tlp::Green]);
        assert!(toml::from_str::<Policy>("default = \"maybe\"").is_err());
        assert!(toml::from_str::<Policy>("default = \"queue\"\n[[rules]]\nkinds = [\"rumour\"]\naction = \"queue\"\n")
            .is_err());
    }
}
