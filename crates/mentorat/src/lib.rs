//! The Mentorat service: configuration, telemetry, wiring and the CLI's subcommands. The
//! binary's `main` is a thin shell around this library so that tests start the real server.

pub mod cli;
pub mod config;
pub mod demo;
pub mod secrets;
pub mod startup;
pub mod telemetry;
pub mod token;

pub use config::Config;
pub use startup::Application;
