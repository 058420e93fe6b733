//! `renkei`: the member client. Sync, the local risk register and reassessment flags
//! arrive with their own issue; until then this binary only says so.
fn main() {
    eprintln!("renkei client: not yet implemented (see client/README.md)");
    std::process::exit(2);
}
