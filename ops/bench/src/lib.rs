//! Shared parts of renkei's benchmarks (`renkei-bench`, `supplier-bench`).

pub mod harness;
