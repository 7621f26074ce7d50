//! Mentorat's HTTP surface. Thin: parse, authorize, call a use case, render.
//!
//! `app()` builds the actix `App` every worker serves; `openapi()` the document that
//! describes it. Both come from the same route registration, so they cannot drift apart.

pub mod audit;
pub mod auth;
pub mod body_timeout;
pub mod connection;
mod csv_export;
mod csv_import;
pub mod docs;
pub mod etag;
mod fallback;
pub mod idempotency;
pub mod inflight;
pub mod json;
pub mod jwks;
mod jwt_hygiene;
pub mod leavers;
pub mod links;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod rate_limit;
pub mod refusals;
pub mod reminders;
pub mod retention;
pub mod routes;
pub mod tagged;
pub mod telemetry;
pub mod trace_context;
pub mod unit;
pub mod vocabulary;

use mentorat_domain::ErrorCode;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::{
    App, Error, HttpResponse,
    body::MessageBody,
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    http::{Method, header},
    middleware::{Condition, from_fn},
    web,
};
use mentorat_persistence::Db;
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, UtoipaApp, scope, service_config::ServiceConfig};

pub use auth::{JwtVerifier, KeySet};
pub use telemetry::Metrics;

use crate::{fallback::RouteTable, problem::ApiError};

/// What the HTTP layer needs from the configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Origins allowed to call from a browser (`MENTORAT_CORS_ORIGINS`); empty: no CORS.
    pub cors_origins: Vec<String>,
    /// R13: the smallest group a report shows (`MENTORAT_K_ANONYMITY`, never below 5).
    pub k_anonymity: u32,
    /// How long an unanswered `Idempotency-Key` claim holds (0: the default).
    pub idempotency_lease_seconds: i64,
    /// How long a request body may go without a byte arriving (`MENTORAT_BODY_TIMEOUT`).
    pub body_timeout: std::time::Duration,
    /// Where webhooks may point besides the public Internet
    /// (`MENTORAT_WEBHOOK_ALLOWED_NETWORKS`).
    pub webhook_policy: mentorat_domain::network::TargetPolicy,
    /// The base of the absolute links the service hands out (`MENTORAT_PUBLIC_URL`).
    pub public_url: links::PublicUrl,
    /// Requests per caller (`MENTORAT_RATE_LIMIT`); `None`: not limited.
    pub rate_limit: Option<rate_limit::RateLimit>,
    /// Load balancers whose `X-Forwarded-For` names the client, for the rate limit only
    /// (`MENTORAT_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<mentorat_domain::network::Network>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            k_anonymity: mentorat_domain::anonymity::MIN_K,
            idempotency_lease_seconds: 0,
            body_timeout: body_timeout::DEFAULT_BODY_TIMEOUT,
            webhook_policy: mentorat_domain::network::TargetPolicy::public_only(),
            public_url: links::PublicUrl::from_bind(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                8080,
            ))),
            rate_limit: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Everything the workers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub verifier: Arc<JwtVerifier>,
    pub metrics: Metrics,
    pub settings: HttpSettings,
    /// The document and the documentation's files, prepared once.
    docs: docs::Docs,
    routes: Arc<RouteTable>,
    /// Requests in flight (a stop says whether it cut any).
    pub inflight: inflight::InFlight,
    /// The audit log's group-commit writer for reads (one per replica).
    pub audit_log: audit::AuditLog,
    /// This replica's set of deactivated people (R11), refreshed from the database.
    pub leavers: leavers::Leavers,
    /// Reports computed in the last minute (shared by this replica's workers).
    reports: web::Data<mentorat_service::report::ReportCache>,
    /// This replica's rate limiter (`MENTORAT_RATE_LIMIT`).
    pub limiter: rate_limit::Limiter,
}

impl AppState {
    pub fn new(
        db: Db,
        verifier: JwtVerifier,
        settings: HttpSettings,
        leavers: leavers::Leavers,
    ) -> Result<Self, prometheus::Error> {
        let openapi = openapi();
        let routes = RouteTable::from_openapi(&openapi);
        let audit_log = audit::AuditLog::start(db.clone());
        let limiter =
            rate_limit::Limiter::new(settings.rate_limit, settings.trusted_proxies.clone());
        Ok(Self {
            limiter,
            db,
            verifier: Arc::new(verifier),
            metrics: Metrics::new()?,
            settings,
            docs: docs::Docs::new(&openapi),
            routes: Arc::new(routes),
            audit_log,
            leavers,
            inflight: inflight::InFlight::default(),
            reports: web::Data::new(mentorat_service::report::ReportCache::new(
                std::time::Duration::from_secs(60),
            )),
        })
    }
}

fn operations(cfg: &mut ServiceConfig) {
    cfg.service(routes::ops::healthz)
        .service(routes::ops::readyz)
        .service(routes::ops::metrics);
}

fn api_v1(cfg: &mut ServiceConfig) {
    cfg.service(routes::people::upsert_person)
        .service(routes::people::import_people)
        .service(routes::people::list_people)
        .service(routes::people::get_person)
        .service(routes::people::erase_person)
        .service(routes::programs::create_program)
        .service(routes::programs::list_programs)
        .service(routes::programs::get_program)
        .service(routes::programs::update_program)
        .service(routes::enrollments::add_charter_version)
        .service(routes::enrollments::current_charter)
        .service(routes::enrollments::enroll)
        .service(routes::enrollments::list_enrollments)
        .service(routes::enrollments::get_enrollment)
        .service(routes::enrollments::update_enrollment)
        .service(routes::enrollments::withdraw_enrollment)
        .service(routes::enrollments::accept_charter)
        .service(routes::pairs::suggestions)
        .service(routes::matching::create_matching_run)
        .service(routes::matching::list_matching_runs)
        .service(routes::matching::get_matching_run)
        .service(routes::matching::apply_matching_run)
        .service(routes::requests::send_request)
        .service(routes::requests::list_requests)
        .service(routes::requests::get_request)
        .service(routes::requests::accept_request)
        .service(routes::requests::decline_request)
        .service(routes::requests::withdraw_request)
        .service(routes::pairs::propose_pair)
        .service(routes::pairs::list_pairs)
        .service(routes::pairs::get_pair)
        .service(routes::pairs::accept_pair)
        .service(routes::pairs::end_pair)
        .service(routes::objectives::list_objectives)
        .service(routes::objectives::propose_objective)
        .service(routes::objectives::get_objective)
        .service(routes::objectives::update_objective)
        .service(routes::objectives::agree_objective)
        .service(routes::objectives::list_revisions)
        .service(routes::meetings::list_meetings)
        .service(routes::meetings::schedule_meeting)
        .service(routes::meetings::get_meeting)
        .service(routes::meetings::update_meeting)
        .service(routes::meetings::cancel_meeting)
        .service(routes::meetings::meeting_held)
        .service(routes::meetings::meeting_missed)
        .service(routes::notes::list_notes)
        .service(routes::notes::write_note)
        .service(routes::notes::get_note)
        .service(routes::notes::update_note)
        .service(routes::notes::delete_note)
        .service(routes::concerns::raise_concern)
        .service(routes::concerns::list_concerns)
        .service(routes::concerns::get_concern)
        .service(routes::concerns::update_concern)
        .service(routes::concerns::list_own_concerns)
        .service(routes::audit::list_audit_events)
        .service(routes::feedback::give_feedback)
        .service(routes::feedback::list_feedback)
        .service(routes::pair_health::pair_health)
        .service(routes::reports::program_report)
        .service(routes::webhooks::create_webhook)
        .service(routes::webhooks::list_webhooks)
        .service(routes::webhooks::delete_webhook)
        .service(routes::webhooks::get_webhook)
        .service(routes::webhooks::update_webhook)
        .service(routes::webhooks::rotate_webhook_secret)
        .service(routes::webhooks::list_webhook_deliveries)
        .service(routes::webhooks::retry_webhook_delivery)
        .service(routes::me::read_me)
        .service(routes::me::export_me)
        .service(routes::me::list_notifications)
        .service(routes::me::read_notification)
        .service(routes::calendar::create_calendar_feed)
        .service(routes::calendar::revoke_calendar_feed)
        .service(routes::calendar::calendar_feed);
}

fn registered<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = Error, InitError = ()>,
{
    app.openapi(openapi::ApiDoc::openapi())
        .configure(operations)
        .service(scope("/api/v1").configure(api_v1))
        .service(scope("/scim/v2").configure(routes::scim::configure))
}

/// The OpenAPI document of the whole API, exactly as `GET /openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = registered(App::new().into_utoipa_app()).split_for_parts();
    openapi::finish(doc)
}

fn cors(settings: &HttpSettings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static(idempotency::HEADER),
            header::HeaderName::from_static(telemetry::REQUEST_ID_HEADER),
            // The W3C trace context every instrumented front end sends.
            header::HeaderName::from_static("traceparent"),
            header::HeaderName::from_static("tracestate"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::LINK,
            header::RETRY_AFTER,
            header::HeaderName::from_static(telemetry::REQUEST_ID_HEADER),
            header::HeaderName::from_static(idempotency::REPLAYED_HEADER),
            header::HeaderName::from_static(rate_limit::RATELIMIT),
            header::HeaderName::from_static(rate_limit::RATELIMIT_POLICY),
            header::HeaderName::from_static(trace_context::TRACEPARENT),
        ])
        .max_age(3600);
    for origin in &settings.cors_origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// The application every worker serves.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let base = App::new()
        .app_data(web::Data::new(state.db.clone()))
        .app_data(web::Data::new(state.verifier.clone()))
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(state.reports.clone())
        .app_data(web::Data::new(state.audit_log.clone()))
        .app_data(web::Data::new(state.inflight.clone()))
        .app_data(web::Data::new(state.leavers.clone()))
        .app_data(web::Data::new(state.limiter.clone()))
        .app_data(web::Data::new(routes::reports::Anonymity(
            state.settings.k_anonymity,
        )))
        .app_data(web::Data::from(state.routes.clone()))
        .app_data(web::Data::new(idempotency::Lease(
            state.settings.idempotency_lease_seconds,
        )))
        .app_data(web::Data::new(body_timeout::BodyTimeout(
            state.settings.body_timeout,
        )))
        .app_data(web::Data::new(state.settings.webhook_policy.clone()))
        .app_data(web::Data::new(state.settings.public_url.clone()))
        .app_data(web::JsonConfig::default().limit(json::BODY_LIMIT))
        .app_data(web::PayloadConfig::new(json::BODY_LIMIT))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            ApiError::BadRequest(
                ErrorCode::BadRequest,
                format!("a query parameter is malformed: {err}"),
            )
            .into()
        }))
        .app_data(web::PathConfig::default().error_handler(|_, req| {
            // `GET /people/import` reaches `GET /people/{id}` (actix matches the template);
            // the path is another resource's, written out in full: 405 with its methods.
            let exact = req
                .app_data::<web::Data<fallback::RouteTable>>()
                .and_then(|table| table.exact(req.path()));
            match exact {
                Some(allow) => ApiError::MethodNotAllowed {
                    method: req.method().to_string(),
                    allow,
                },
                None => {
                    ApiError::NotFound(format!("{} is not the address of any resource", req.path()))
                }
            }
            .into()
        }));
    let (app, _) = registered(base.into_utoipa_app()).split_for_parts();
    let cors_enabled = !state.settings.cors_origins.is_empty();
    app.app_data(web::Data::new(state.docs.clone()))
        .route("/openapi.json", web::get().to(docs::document))
        .route("/docs/{path:.*}", web::get().to(docs::ui))
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/docs/"))
                    .finish()
            }),
        )
        .default_service(web::to(fallback::not_routed))
        .wrap(from_fn(unit::middleware))
        .wrap(from_fn(body_timeout::middleware))
        // Before any work, after CORS (a refused browser call can read `Retry-After`) and
        // inside telemetry (a 429 is counted, logged and carries its request id).
        .wrap(from_fn(rate_limit::middleware))
        .wrap(Condition::new(cors_enabled, cors(&state.settings)))
        .wrap(from_fn(telemetry::middleware))
        .wrap(from_fn(inflight::middleware))
}
