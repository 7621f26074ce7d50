//! Building and running the server.

use std::{net::TcpListener, time::Duration};

use actix_web::dev::Server;
use anyhow::Context;
use mentorat_api::{AppState, HttpSettings, JwtVerifier, KeySet, jwks::RemoteKeys};
use mentorat_persistence::{
    Db,
    key_check::{self, KeyCheck, KeyCheckError},
};

use crate::{
    config::{Config, ConfigError},
    secrets::{self, ContentKeys, KeySource},
};

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    inflight: mentorat_api::inflight::InFlight,
    audit_log: mentorat_api::audit::AuditLog,
}

/// How a server's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Requests still running when the grace period ran out, dropped unanswered.
    pub cut: usize,
}

/// Stops a server the way SIGTERM does: no new connection, in-flight requests get the grace
/// period (`MENTORAT_SHUTDOWN_GRACE`), then the rest are cut.
#[derive(Clone)]
pub struct Stopper {
    handle: actix_web::dev::ServerHandle,
    inflight: mentorat_api::inflight::InFlight,
}

impl Stopper {
    pub async fn stop(&self) {
        self.inflight.stopping();
        self.handle.stop(true).await;
    }
}

/// The JWT verifier the configuration describes. An identity provider's JWKS is fetched now;
/// when it cannot be, the server starts anyway (an identity provider's outage must not keep
/// every replica down, nor stop the HS256 and file keys from working) and says so: tokens
/// signed by the provider are then `401` until a later fetch — made on the first token with
/// an unknown `kid`, at most once per `MENTORAT_JWT_JWKS_REFETCH_MS` — succeeds.
pub async fn verifier(config: &Config) -> anyhow::Result<JwtVerifier> {
    let secret = secrets::jwt_secret(config)?;
    let keys = match &config.jwt_keys {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("MENTORAT_JWT_KEYS: cannot read {}", path.display()))?;
            KeySet::parse(&text).with_context(|| {
                format!("MENTORAT_JWT_KEYS: {} holds no usable key", path.display())
            })?
        }
        None => KeySet::default(),
    };
    let verifier = JwtVerifier::new(
        secret.as_ref(),
        keys,
        config.jwt_issuer.clone(),
        config.jwt_audience.clone(),
        config.jwt_subject_claim.clone(),
    );
    let (remote, source) = match &config.jwt_jwks_url {
        Some(url) => (
            RemoteKeys::new(url.clone(), config.jwt_jwks_refetch)
                .context("MENTORAT_JWT_JWKS_URL: cannot build an HTTP client")?,
            "MENTORAT_JWT_JWKS_URL",
        ),
        None if config.jwt_oidc_discovery => (
            RemoteKeys::discover(&config.jwt_issuer, config.jwt_jwks_refetch)
                .map_err(|why| anyhow::anyhow!("MENTORAT_JWT_OIDC_DISCOVERY: {why}"))?,
            "MENTORAT_JWT_OIDC_DISCOVERY",
        ),
        None => return Ok(verifier),
    };
    if let Err(e) = remote.fetch_now().await {
        tracing::error!(
            error = %e,
            source,
            "the identity provider's keys could not be fetched at start; its tokens are \
             refused (401) until a later fetch succeeds"
        );
    }
    let remote = std::sync::Arc::new(remote);
    remote.spawn_refresh(config.jwt_jwks_refresh);
    Ok(verifier.with_remote_keys(remote))
}

/// Connect, migrate, and check the content keys against the database (issue 11): a key that
/// does not open what the database holds sealed is a configuration error (exit 2), and so is
/// a lost key file in embedded mode — a new key is made only for a database that holds
/// nothing sealed.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let keys = secrets::keyring(config)?;
    if let Some(file) = config.sqlite_file() {
        secrets::create_database_file(&file)?;
    }
    let db = Db::connect(&config.database_url, keys.keyring().clone())
        .await
        .context("MENTORAT_DATABASE_URL: cannot connect to the database")?;
    db.migrate().await.context("cannot apply the migrations")?;
    if let ContentKeys::New { path, text, .. } = &keys {
        let holds = key_check::holds_sealed_data(db.conn())
            .await
            .context("cannot check the encryption key")?;
        if holds {
            return Err(ConfigError {
                variable: "MENTORAT_ENCRYPTION_KEY",
                reason: format!(
                    "the key file {} is missing, and this database holds data sealed under it; \
                     restore it from the database's backups, or set MENTORAT_ENCRYPTION_KEY \
                     (a new key would not open the data)",
                    path.display()
                ),
            }
            .into());
        }
        secrets::write_key_file(path, text)?;
    }
    match key_check::verify(db.conn(), db.keys()).await {
        Ok(KeyCheck::Opened) => {}
        Ok(KeyCheck::Created) => tracing::info!("key check sealed under the current key"),
        Ok(KeyCheck::CreatedFromContent) => {
            tracing::info!(
                "the keys open the sealed content; key check sealed under the current key"
            )
        }
        Err(KeyCheckError::WrongKey) => {
            let file = match &keys {
                ContentKeys::Configured {
                    source: KeySource::File(path),
                    ..
                } => format!("; it was read from the key file {}", path.display()),
                _ => String::new(),
            };
            return Err(ConfigError {
                variable: "MENTORAT_ENCRYPTION_KEY",
                reason: format!(
                    "cannot open the data sealed in this database (wrong or lost key{file})"
                ),
            }
            .into());
        }
        Err(KeyCheckError::Store(e)) => {
            return Err(e).context("cannot check the encryption key");
        }
    }
    Ok(db)
}

impl Application {
    /// Connect, migrate, check the keys, bind. `config.bind` with port 0 picks a free port (tests).
    pub async fn build(config: &Config, workers: Option<usize>) -> anyhow::Result<Self> {
        let verifier = verifier(config).await?;
        let db = open_database(config).await?;
        // `serve` opens only the current sealed format: values an older version wrote are
        // re-sealed by `mentorat migrate` first, rather than answered 500 one by one.
        let old = mentorat_persistence::rotation::old_formats(db.conn())
            .await
            .context("cannot check the sealed formats")?;
        if !old.is_empty() {
            anyhow::bail!(
                "the database holds values sealed by an older version ({}): stop every replica, \
                 run `mentorat migrate`, then start this version",
                old.join(", ")
            );
        }
        // R11: who may no longer be served, known before the first request.
        let leavers = mentorat_api::leavers::Leavers::load(&db)
            .await
            .context("cannot read the deactivated people")?;
        leavers.keep_fresh(db.clone(), config.deactivation_refresh);
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("MENTORAT_BIND: cannot listen on {}", config.bind))?;
        let bound = listener.local_addr()?;
        let port = bound.port();
        let state = AppState::new(
            db.clone(),
            verifier,
            HttpSettings {
                cors_origins: config.cors_origins.clone(),
                k_anonymity: config.k_anonymity,
                idempotency_lease_seconds: config.idempotency_lease_seconds,
                body_timeout: config.body_timeout,
                webhook_policy: config.webhook_policy.clone(),
                public_url: config
                    .public_url
                    .clone()
                    .unwrap_or_else(|| mentorat_api::links::PublicUrl::from_bind(bound)),
                rate_limit: config.rate_limit,
                trusted_proxies: config.trusted_proxies.clone(),
            },
            leavers,
        )?;
        let inflight = state.inflight.clone();
        // R14: every replica runs the retention task (its batches skip what another holds).
        mentorat_api::retention::keep_running(
            db.clone(),
            config.retention_days,
            config.retention_every,
            state.metrics.clone(),
        );
        // Meeting reminders: every replica runs the task (its batches skip what another holds).
        mentorat_api::reminders::keep_running(
            db.clone(),
            config.reminder_every,
            state.metrics.clone(),
        );
        let audit_log = state.audit_log.clone();
        // Signals are ours (see `run_until_stopped`): the stop must be known to have begun
        // before a request dropped by it can be counted as cut.
        let server = serve(listener, bound, state, config, workers)?;
        tokio::spawn(purge_idempotency_keys(db.clone()));
        tokio::spawn(deliver_webhooks(
            db.clone(),
            config.webhook_policy.clone(),
            config.webhook_windows,
        ));
        Ok(Self {
            port,
            server,
            db,
            inflight,
            audit_log,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> Db {
        self.db.clone()
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn stopper(&self) -> Stopper {
        Stopper {
            handle: self.server.handle(),
            inflight: self.inflight.clone(),
        }
    }

    /// Serve until SIGTERM / SIGINT (or a [`Stopper`]); in-flight requests get the grace
    /// period to finish. Says how many were cut when it ran out.
    pub async fn run_until_stopped(self) -> std::io::Result<Stopped> {
        let stopper = self.stopper();
        let signals = tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stop asked: no new connection, in-flight requests are finishing");
            stopper.stop().await;
        });
        let served = self.server.await;
        signals.abort();
        // What the last requests queued for the audit log is written before the process ends.
        if tokio::time::timeout(Duration::from_secs(5), self.audit_log.flush())
            .await
            .is_err()
        {
            tracing::error!("the audit log could not be flushed at shutdown");
        }
        served?;
        // Workers drop what they cut as they end: give them a moment to count it.
        for _ in 0..50 {
            if self.inflight.active() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Stopped {
            cut: self.inflight.cut() + self.inflight.active(),
        })
    }
}

/// The HTTP server: what `actix_web::HttpServer` builds (same timeouts, graceful stop of
/// idle keep-alive connections), with each connection wrapped so that the answers actix-http
/// writes by itself (`400`, `408`, `431`) leave as problem documents (see
/// `mentorat_api::connection`).
fn serve(
    listener: TcpListener,
    bound: std::net::SocketAddr,
    state: AppState,
    config: &Config,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};

    let mut builder = actix_server::Server::build()
        .disable_signals()
        .shutdown_timeout(config.shutdown_grace.as_secs());
    if let Some(n) = workers {
        builder = builder.workers(n);
    }
    let graceful = builder.graceful_shutdown_signal();
    let builder = builder.listen("mentorat", listener, move || {
        let shutdown = graceful.clone();
        let app = mentorat_api::app(state.clone())
            .into_factory()
            .map_err(|err: actix_web::Error| err.as_response_error().error_response());
        let h1 = actix_http::HttpService::build()
            .graceful_shutdown_signal(move || {
                let signal = shutdown.clone();
                async move { signal.notified().await }
            })
            .keep_alive(actix_http::KeepAlive::default())
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            .h1_allow_half_closed(true)
            .local_addr(bound)
            .h1(map_config(app, |_| actix_web::dev::AppConfig::default()));
        fn_service(|io: actix_rt::net::TcpStream| async move {
            let peer = io.peer_addr().ok();
            Ok::<_, actix_http::error::DispatchError>((
                mentorat_api::connection::ProblemStream::new(io),
                peer,
            ))
        })
        .and_then(h1)
    })?;
    Ok(builder.run())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Forget stored idempotent answers past their retention, once an hour. Every replica does
/// it; the delete is idempotent.
async fn purge_idempotency_keys(db: Db) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let before = chrono::Utc::now()
            - chrono::Duration::hours(mentorat_api::idempotency::RETENTION_HOURS);
        match mentorat_persistence::idempotency::purge(db.conn(), before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = %e, "could not purge idempotency keys"),
        }
    }
}

/// Deliver the outbox to the registered webhooks, every two seconds. Every replica does it;
/// deliveries are claimed one by one, so none is sent by two replicas at once.
async fn deliver_webhooks(
    db: Db,
    policy: mentorat_domain::network::TargetPolicy,
    windows: mentorat_domain::webhook::Windows,
) {
    let client = match mentorat_service::webhooks::client(policy) {
        Ok(c) => c.with_windows(windows),
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery is off: no HTTP client");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match mentorat_service::webhooks::deliver_once(&db, &client).await {
            Ok(round) if round.delivered + round.failed > 0 => tracing::info!(
                delivered = round.delivered,
                failed = round.failed,
                "webhook deliveries"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook delivery round failed"),
        }
    }
}
