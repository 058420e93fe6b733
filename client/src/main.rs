//! `renkei`: the member client. `init` pins a hub in a local register, `sync` pulls what
//! the member may hold from the hub's change feed (see client/README.md).

// A sync allocates a small tree per object; glibc malloc was a third of its time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

fn main() {
    match cli::run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("renkei: {e:#}");
            std::process::exit(1);
        }
    }
}
