//! The command line: serve (default), migrate, token, rotate-key, demo, openapi. The binary's
//! `main` calls [`main`] with the process's arguments and environment, so that tests run the
//! very commands an operator does.

use std::io::Write;

use crate::{
    Application, Config, config::ConfigError, secrets, startup::open_database, telemetry, token,
};
use chrono::Duration;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mentorat",
    version,
    about = "The back end of workplace mentoring programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the API (the default).
    Serve,
    /// Apply pending migrations, re-seal values sealed before they were bound to their row
    /// (as rotate-key does), and exit.
    Migrate,
    /// Mint a development token signed with the configured HS256 secret.
    Token {
        /// The person's external id.
        #[arg(long)]
        sub: String,
        /// A role: coordinator, admin, hris, analyst. Repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
    /// Re-seal every content value under the current key — the first of
    /// MENTORAT_ENCRYPTION_KEY — while the service runs; keep the old keys after it in the
    /// list until this has finished.
    RotateKey,
    /// Load a small demo hospital program into a new database (people, a program, pairs).
    Demo,
    /// Print the OpenAPI document (or write it to --output).
    Openapi {
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
}

/// Run the command line `args` (the program name first) with the configuration `vars`
/// looks up; failures are one line on `stderr`. Returns the process's exit code: 0, 1 for a
/// failure, 2 for a configuration error (a missing or malformed variable, or a key that does
/// not open this database's content), 3 for a stop that cut requests still running after the
/// grace period.
pub fn main(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
    vars: impl Fn(&str) -> Option<String>,
    stderr: &mut dyn Write,
) -> u8 {
    let cli = Cli::try_parse_from(args).unwrap_or_else(|e| e.exit());
    let config = match Config::from_lookup(vars) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(stderr, "mentorat: configuration error: {e}");
            return 2;
        }
    };
    match run(cli.command.unwrap_or(Command::Serve), config) {
        Ok(()) => 0,
        Err(e) if e.downcast_ref::<RequestsCut>().is_some() => {
            let _ = writeln!(stderr, "mentorat: {e}");
            3
        }
        Err(e) => match e.chain().find_map(|c| c.downcast_ref::<ConfigError>()) {
            Some(config_error) => {
                let _ = writeln!(stderr, "mentorat: configuration error: {config_error}");
                2
            }
            None => {
                let _ = writeln!(stderr, "mentorat: {e:#}");
                1
            }
        },
    }
}

/// A stop that had to cut requests still running after the grace period (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("stopped after the grace period with {0} request(s) still running: they were cut")]
struct RequestsCut(usize);

fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let telemetry = telemetry::init(&config);
            let served = actix_web::rt::System::new().block_on(async {
                let app = Application::build(&config, None).await?;
                tracing::info!(bind = %config.bind, port = app.port(), "mentorat is serving; docs at /docs/");
                let stopped = app.run_until_stopped().await?;
                if stopped.cut > 0 {
                    tracing::warn!(cut = stopped.cut, "mentorat stopped: requests still running after the grace period were cut");
                    return Err(anyhow::Error::new(RequestsCut(stopped.cut)));
                }
                tracing::info!("mentorat stopped");
                Ok(())
            });
            // The last spans leave before the process does.
            telemetry.shutdown();
            served
        }
        Command::Migrate => {
            telemetry::init(&config);
            actix_web::rt::System::new().block_on(async {
                let db = open_database(&config).await?;
                tracing::info!("migrations applied");
                // Values sealed before they were bound to their row and column (issue 12)
                // are re-sealed bound, as `rotate-key` does: a schema migration cannot,
                // it does not hold the key.
                let report = mentorat_persistence::rotation::rotate(db.conn(), db.keys()).await?;
                let total: u64 = report.iter().map(|(_, n)| n).sum();
                if total > 0 {
                    tracing::info!(resealed = total, key = %db.keys().current_id(), "content re-sealed bound to its rows");
                }
                Ok(())
            })
        }
        Command::Demo => {
            telemetry::init(&config);
            actix_web::rt::System::new().block_on(async {
                let db = open_database(&config).await?;
                println!("{}", crate::demo::load(&db).await?);
                Ok(())
            })
        }
        Command::RotateKey => {
            telemetry::init(&config);
            actix_web::rt::System::new().block_on(async {
                let db = open_database(&config).await?;
                let current = db.keys().current_id().to_owned();
                let report = mentorat_persistence::rotation::rotate(db.conn(), db.keys()).await?;
                for (table, n) in &report {
                    tracing::info!(table, resealed = n, key = %current, "content re-sealed");
                }
                let total: u64 = report.iter().map(|(_, n)| n).sum();
                println!("{total} value(s) re-sealed under key {current}");
                Ok(())
            })
        }
        Command::Token { sub, roles, ttl } => {
            for role in &roles {
                if !["coordinator", "admin", "hris", "analyst"].contains(&role.as_str()) {
                    anyhow::bail!("--role {role}: must be coordinator, admin, hris or analyst");
                }
            }
            let secret = secrets::jwt_secret(&config)?.ok_or_else(|| {
                anyhow::anyhow!("MENTORAT_JWT_SECRET: `mentorat token` signs with the HS256 secret; none is configured")
            })?;
            let jwt = token::mint(
                &secret,
                &config.jwt_issuer,
                &config.jwt_audience,
                &config.jwt_subject_claim,
                &token::TokenRequest {
                    subject: sub,
                    roles,
                    ttl: Duration::seconds(ttl),
                },
            )?;
            println!("{jwt}");
            Ok(())
        }
        Command::Openapi { output } => {
            let text = serde_json::to_string_pretty(&mentorat_api::openapi())? + "\n";
            match output {
                Some(path) => std::fs::write(&path, text)?,
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}
