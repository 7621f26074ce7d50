//! `mentorat` — serve (default), migrate, token, rotate-key, demo, openapi.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(mentorat::cli::main(
        std::env::args_os(),
        |name| std::env::var(name).ok(),
        &mut std::io::stderr(),
    ))
}
