//! Structured logs with tracing: JSON when not on a terminal (or `MENTORAT_LOG_FORMAT=json`),
//! human-readable otherwise. A JSON line is flat — the event's fields at the top level, and
//! the `request_id` and `trace_id` of the request it was written in — with the fields of the
//! spans it is in under `span`. Traces go over OTLP/HTTP when the standard `OTEL_*`
//! variables ask for it (see `config::Otlp`); otherwise no exporter is built.

use std::{fmt::Write as _, io::IsTerminal};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use serde_json::{Map, Value};
use tracing::{Event, Level, Subscriber, field::Field};
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::filter_fn,
    fmt::{
        self, FmtContext, FormatEvent, FormatFields, FormattedFields, format::JsonFields,
        format::Writer,
    },
    prelude::*,
    registry::LookupSpan,
};

use crate::config::{Config, LogFormat};

/// What the telemetry set up holds on to: the trace exporter, flushed at the end.
#[derive(Default)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether traces are exported.
    pub fn exports_traces(&self) -> bool {
        self.traces.is_some()
    }

    /// Send the spans that ended and are still queued (blocks until sent or timed out).
    pub fn flush(&self) {
        if let Some(provider) = &self.traces
            && let Err(e) = provider.force_flush()
        {
            tracing::warn!(error = %e, "could not flush the traces");
        }
    }

    /// Flush and stop the exporter (at exit).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "could not flush the traces at exit");
        }
    }
}

pub fn init(config: &Config) -> Telemetry {
    init_with_writer(config, std::io::stdout)
}

/// As [`init`], writing to `writer` (tests capture the log this way).
pub fn init_with_writer<W>(config: &Config, writer: W) -> Telemetry
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
    let logs = match format {
        LogFormat::Json => fmt::layer()
            .with_writer(writer)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => fmt::layer()
            .with_writer(writer)
            .with_target(false)
            .with_filter(filter)
            .boxed(),
    };
    let (traces, provider) = match &config.otlp {
        None => (None, None),
        Some(otlp) => match tracer_provider(otlp) {
            Ok(provider) => {
                let tracer = provider.tracer("mentorat");
                opentelemetry::global::set_tracer_provider(provider.clone());
                // Our spans (and the events in them) only, whatever `MENTORAT_LOG` says: the
                // exporter's own HTTP client is never traced into itself.
                let layer = tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(filter_fn(|meta| {
                        meta.target().starts_with("mentorat") && *meta.level() <= Level::INFO
                    }));
                (Some(layer), Some(provider))
            }
            Err(e) => {
                // Logged once the subscriber is up.
                eprintln!("mentorat: OTLP trace export is off: {e}");
                (None, None)
            }
        },
    };
    let result = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init();
    if result.is_ok()
        && let Some(otlp) = &config.otlp
        && provider.is_some()
    {
        tracing::info!(endpoint = %otlp.traces_endpoint, "traces exported over OTLP/HTTP");
    }
    // A subscriber already set (tests spawning several apps) is fine.
    Telemetry { traces: provider }
}

fn tracer_provider(otlp: &crate::config::Otlp) -> Result<SdkTracerProvider, String> {
    // Headers, timeout, compression, sampler and batch sizes: the SDK reads the other
    // standard `OTEL_*` variables itself.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(otlp.traces_endpoint.as_str())
        .build()
        .map_err(|e| e.to_string())?;
    let mut resource = Resource::builder();
    if !otlp.service_name_set {
        resource = resource.with_service_name("mentorat");
    }
    let resource = resource
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// One JSON object per line: `timestamp`, `level`, `target`, the event's fields (`message`
/// included), `request_id` and `trace_id` when written while serving a request, and `span`:
/// the fields of every span the event is in, outermost first (an inner span's field wins).
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("target".into(), Value::String(meta.target().to_owned()));
        let mut spans = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields)
                {
                    spans.extend(fields);
                }
            }
        }
        for key in ["request_id", "trace_id"] {
            if let Some(value) = spans.get(key) {
                line.insert(key.into(), value.clone());
            }
        }
        event.record(&mut Fields(&mut line));
        if !spans.is_empty() {
            line.insert("span".into(), Value::Object(spans));
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// An event's fields into a JSON object.
struct Fields<'a>(&'a mut Map<String, Value>);

impl tracing::field::Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.0.insert(field.name().into(), value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.to_owned()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.0.insert(field.name().into(), Value::String(text));
    }
}
