//! The renkei member client: the local register (`register`), the hub's API as the
//! client uses it (`hub_api`), the feed sync (`sync`) and its live form over the hub's
//! pushes (`follow`), the risk register built on it
//! (`assets`, `services`, `matrix`, `risks`, `catalogs`, `profiles`, `plans`, `trees`; risk
//! appetite against the member's incidents, `appetite`, and contingency readiness,
//! `readiness`), the reassessment flags that tie incoming threat information to risks
//! (`flags`, with `context` from the hub),
//! the CSIRT's exports (`csirt`) and the reports per stakeholder (`report`, drawing
//! with `charts` and typesetting PDFs with `pdf`). The binary
//! `renkei` is a thin command line over these.

pub mod appetite;
pub mod assets;
pub mod catalogs;
pub mod charts;
pub mod context;
pub mod csf;
pub mod csirt;
pub mod error;
pub mod flags;
pub mod follow;
pub mod hub_api;
pub mod matrix;
pub mod pdf;
pub mod plans;
pub mod profiles;
pub mod progress;
pub mod readiness;
pub mod register;
pub mod report;
pub mod risks;
pub mod sealed;
pub mod services;
pub mod share;
pub mod sync;
pub mod tables;
pub mod trees;
