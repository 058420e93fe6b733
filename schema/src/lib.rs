//! renkei-schema: the contract shared by the hub and the client.
//!
//! Nothing here touches a database, a socket or an async runtime: the TLP policy
//! ([`tlp`]), the shared object kinds ([`model`]), the STIX 2.1 mapping and canonical
//! JSON ([`stix`]), Ed25519 signatures ([`sign`]), the ATT&CK catalog reader
//! ([`attack`]), spreadsheet-safe CSV cells ([`csv`]), detection exports (plain lists, CSV, Suricata rules: [`detect`]) and the expiry parser
//! ([`duration`]) are pure functions over plain data, so both sides decide the same way.

pub mod allowlist;
pub mod attack;
pub mod csv;
pub mod detect;
pub mod duration;
pub mod errors;
pub mod import;
pub mod md5;
pub mod misp;
pub mod model;
pub mod moderation;
pub mod rotation;
pub mod score;
pub mod seal;
pub mod second_factor;
pub mod sign;
pub mod stix;
pub mod supply;
pub mod tlp;
