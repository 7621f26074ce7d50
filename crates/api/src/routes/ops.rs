//! Operational endpoints, without authentication: liveness, readiness, metrics.

use std::time::Duration;

use actix_web::{HttpResponse, get, http::header, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    problem::{ApiError, error_chain},
    telemetry::Metrics,
    unit::RequestDb,
};

/// How long `/readyz` waits for the database to answer a ping. A silent network can hold a
/// ping for minutes; a load balancer's probe gives up after a second or two, and a replica
/// that cannot reach its database within a second is not ready.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers within a second.
///
/// A load balancer takes a replica out while this is 503.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "The database is unreachable", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(db: RequestDb) -> Result<HttpResponse, ApiError> {
    match tokio::time::timeout(READINESS_TIMEOUT, db.ping()).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(Health { status: "ok" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %error_chain(&e), "readiness check failed");
            Err(ApiError::Unavailable)
        }
        Err(_) => {
            tracing::warn!(
                after_ms = READINESS_TIMEOUT.as_millis(),
                "readiness check failed: the database did not answer in time"
            );
            Err(ApiError::Unavailable)
        }
    }
}

/// Prometheus metrics: requests by method, route and status, their latency and statements;
/// the process (CPU, memory, file descriptors), the database pool, the outbox and webhook
/// deliveries, the audit writer's queue, the rate limiter and the build.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    db: RequestDb,
    audit: web::Data<crate::audit::AuditLog>,
    limiter: web::Data<crate::rate_limit::Limiter>,
) -> Result<HttpResponse, ApiError> {
    metrics.operations.refresh(&db, &audit, &limiter).await;
    let text = metrics
        .render()
        .map_err(|e| ApiError::Internal(format!("metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(text))
}
