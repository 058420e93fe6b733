//! renkei-hub: the sector hub. `main.rs` is the command line; everything it wires
//! lives here so the end-to-end tests can start real hubs in-process.

pub mod actions;
pub mod auth;
pub mod bus;
pub mod config;
pub mod console;
pub mod crypto;
pub mod error;
pub mod export;
pub mod federation;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod keystore;
pub mod live;
pub mod misp_feed;
pub mod services;
pub mod state;
pub mod stix_export;
pub mod store;
pub mod taxii;
