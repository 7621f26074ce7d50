//! `mentorat` — serve (default), migrate, token, rotate-key, demo, openapi.

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: glibc keeps an arena per thread that allocated (one
/// per actix worker and tokio thread) and gives little of it back once a load has passed —
/// the idle RSS grew by 6–7 MiB after a load and stayed there (BENCHMARKS.md, issue 11).
/// mimalloc returns freed pages to the system shortly after they are free. Opt-in until
/// measured: `cargo build --release -p mentorat --features mimalloc`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(mentorat::cli::main(
        std::env::args_os(),
        |name| std::env::var(name).ok(),
        &mut std::io::stderr(),
    ))
}
