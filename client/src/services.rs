//! Business services (handbook 4 and 5.1): what the member delivers, how long it may
//! be down, and the criteria that size a business damage. The anchor of the
//! business-damage-based analysis: such a risk names the services it would hurt.

use crate::bail;
use crate::error::Result;
use crate::tables::services;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};

pub const MISSIONS: [&str; 3] = ["minimal", "support", "essential"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    /// How essential the service is to the member's mission.
    pub mission: String,
    /// The longest outage the service tolerates, in hours.
    pub tolerable_outage_hours: f64,
    /// What each damage size means for this service, e.g. `outage over 4 h = 4`,
    /// `customers affected over 10,000 = 5`: the guide a rater reads.
    pub impact_criteria: Vec<String>,
}

/// Adds or replaces a service.
pub fn put(conn: &mut SqliteConnection, service: Service) -> Result<()> {
    let name = service.name.trim();
    if name.is_empty() {
        bail!("the service name is empty / サービス名が空です");
    }
    if !MISSIONS.contains(&service.mission.as_str()) {
        bail!(
            "mission {:?}: expected one of {} / 重要度「{}」は使えません",
            service.mission,
            MISSIONS.join(", "),
            service.mission
        );
    }
    if !(service.tolerable_outage_hours.is_finite() && service.tolerable_outage_hours >= 0.0) {
        bail!("the tolerable outage must be zero or more hours / 許容停止時間は0時間以上です");
    }
    let now = crate::register::stamp(chrono::Utc::now());
    let body = serde_json::to_string(&Service { name: name.to_string(), ..service })?;
    diesel::replace_into(services::table)
        .values((services::name.eq(name), services::body.eq(body), services::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn list(conn: &mut SqliteConnection) -> Result<Vec<Service>> {
    let bodies: Vec<String> = services::table.order(services::name.asc()).select(services::body).load(conn)?;
    Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
}

/// The names among `names` that are not services of the register.
pub fn unknown(conn: &mut SqliteConnection, names: &[String]) -> Result<Vec<String>> {
    let known: Vec<String> = services::table.filter(services::name.eq_any(names)).select(services::name).load(conn)?;
    Ok(names.iter().filter(|n| !known.contains(n)).cloned().collect())
}
