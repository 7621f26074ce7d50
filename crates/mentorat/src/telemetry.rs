//! Structured logs with tracing: JSON when not on a terminal (or `MENTORAT_LOG_FORMAT=json`),
//! human-readable otherwise. Every line inside a request carries its `request_id`.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{Config, LogFormat};

pub fn init(config: &Config) {
    init_with_writer(config, std::io::stdout);
}

/// As [`init`], writing to `writer` (tests capture the log this way).
pub fn init_with_writer<W>(config: &Config, writer: W)
where
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let format = config
        .log_format
        .unwrap_or(if std::io::stdout().is_terminal() {
            LogFormat::Pretty
        } else {
            LogFormat::Json
        });
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .with_writer(writer)
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(writer).with_target(false))
            .try_init(),
    };
    // A subscriber already set (tests spawning several apps) is fine.
    let _ = result;
}
