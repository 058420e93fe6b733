//! The member client's binary (`renkei`) as the end-to-end tests run it: the one
//! `cargo test --workspace` builds beside the test binaries (build it with
//! `cargo build -p renkei-client` when running a test alone), or `RENKEI_BIN`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `RENKEI_BIN` when set, else `target/<profile>/renkei`, beside
/// `target/<profile>/deps/<the test>`.
pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("RENKEI_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test's path");
    let bin = exe.parent().and_then(Path::parent).expect("the target folder").join("renkei");
    assert!(bin.is_file(), "no renkei binary at {} (cargo build -p renkei-client)", bin.display());
    bin
}

/// Runs `renkei --db DB ARGS` with `RENKEI_TOKEN` set to `token` or unset.
pub fn run(db: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(binary());
    c.arg("--db").arg(db).args(args).env_remove("RENKEI_TOKEN").env_remove("RENKEI_DB");
    if let Some(t) = token {
        c.env("RENKEI_TOKEN", t);
    }
    c.output().expect("run renkei")
}
