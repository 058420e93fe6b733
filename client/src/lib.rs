//! The renkei member client: the local register (`register`), the hub's API as the
//! client uses it (`hub_api`) and the feed sync (`sync`). The binary `renkei` is a thin
//! command line over these.

pub mod assets;
pub mod csirt;
pub mod hub_api;
pub mod register;
pub mod sync;
