//! One unit of work per request. Every write (`POST`, `PUT`, `PATCH`, `DELETE`) runs in one
//! database transaction that this middleware opens before the handler and commits after it:
//! the use case's own transaction is a savepoint inside it, and in the same transaction go
//! the audit event and, for a `POST` with an `Idempotency-Key`, the stored answer. The answer
//! leaves only once that transaction has committed; if the commit fails the client gets a
//! `503` and nothing was written (or, when the connection broke during `COMMIT` itself, the
//! stored answer is there for the retry to replay).
//!
//! A refusal or a failure (4xx, 5xx) rolls the unit back: nothing of the work is kept, and
//! its audit event (and a keyed refusal's answer) is written in a transaction of its own.
//!
//! A write's body is read whole before its unit opens, so a slow upload holds no database
//! connection. One write runs outside a unit: the bulk import of people, which commits 500
//! rows a transaction (other requests get the connection between its chunks, a failure
//! loses one chunk), its audit event and idempotent answer written after it.
//!
//! Reads run without a unit. A read of a pair's words that the audit log must record (R5)
//! is answered only once its event is durable — written by the replica's group-commit
//! writer (`audit::AuditLog`) with the events of concurrent requests in one `INSERT`; if it
//! cannot be written the answer is `503`, never the words. The events of reads that carry
//! no words (a coordinator's action, a denial) are queued for the next batch and the answer
//! does not wait.

use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web,
};
use futures_util::future::{Ready, ready};
use mentorat_persistence::{Db, StoreError, TransactionTrait, audit::AuditEvent};

use crate::{
    audit,
    idempotency::{self, Prepared},
    problem::{ApiError, error_chain},
};

/// The request's unit of work, while its handler runs.
#[derive(Clone)]
struct Bound(Db);

/// The database a handler works with: the request's unit of work for a write, the pool for
/// a read. Handlers take this, never `web::Data<Db>`, so that a write cannot run outside
/// its unit.
pub struct RequestDb(Db);

impl std::ops::Deref for RequestDb {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.0
    }
}

impl FromRequest for RequestDb {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(bound) = req.extensions().get::<Bound>() {
            return ready(Ok(RequestDb(bound.0.clone())));
        }
        ready(
            req.app_data::<web::Data<Db>>()
                .map(|db| RequestDb(db.get_ref().clone()))
                .ok_or_else(|| ApiError::Internal("no database configured".into())),
        )
    }
}

/// Is the write's caller a person who has been erased (or is being erased by a transaction
/// that commits first)? A token that does not verify is left to the handler (`401`).
async fn erased_caller(req: &ServiceRequest, unit: &Db) -> Result<bool, ApiError> {
    let http = req.request();
    let known = http
        .extensions()
        .get::<crate::auth::Verified>()
        .map(|v| v.0.clone());
    let caller = match known {
        Some(caller) => Some(caller),
        None => match (
            crate::auth::bearer_token(http),
            http.app_data::<web::Data<std::sync::Arc<crate::auth::JwtVerifier>>>(),
        ) {
            (Some(token), Some(verifier)) => verifier.verify(token).await.ok(),
            _ => None,
        },
    };
    let Some(caller) = caller else {
        return Ok(false);
    };
    let erased =
        mentorat_persistence::erasure::is_erased(unit.conn(), caller.subject.as_str()).await?;
    http.extensions_mut()
        .insert(crate::auth::Verified(caller.clone()));
    if erased {
        tracing::info!(subject = %caller.subject, "an erased person's token refused (R14)");
    }
    Ok(erased)
}

/// Writes that commit in chunks of their own, outside a unit of work: a bulk import of
/// people (500 rows a transaction), so that other requests get a connection between its
/// chunks and a failure loses one chunk, not the import. Importing is an upsert by external
/// id: a retry of one cut short writes nothing twice.
fn commits_in_chunks(req: &ServiceRequest) -> bool {
    // By the route matched, not the raw path: `/people/%69mport` is the same route.
    idempotency::is_import(req)
}

fn writes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn answer(req: &HttpRequest, err: ApiError) -> ServiceResponse<BoxBody> {
    ServiceResponse::new(req.clone(), err.error_response())
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(db) = req.app_data::<web::Data<Db>>().map(|d| d.get_ref().clone()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if !writes(req.method()) {
        let res = next.call(req).await?.map_into_boxed_body();
        return Ok(audited_read(res).await);
    }
    let (req, claim) = match idempotency::prepare(req, &db).await {
        Prepared::Plain(mut req) => {
            // The body is read before a connection is taken: a slow upload holds none.
            match idempotency::read_body(&mut req).await {
                Ok(body) => req.set_payload(idempotency::payload_of(body)),
                Err(err) => return Ok(req.error_response(err)),
            }
            (req, None)
        }
        Prepared::Answered(res) => return Ok(res),
        Prepared::Claimed(req, claim) => (req, Some(claim)),
    };
    if commits_in_chunks(&req) {
        let res = match next.call(req).await {
            Ok(res) => res.map_into_boxed_body(),
            Err(err) => {
                if let Some(claim) = &claim {
                    idempotency::release(&db, claim).await;
                }
                return Err(err);
            }
        };
        let event = audit::event_of(&res);
        let request = res.request().clone();
        // Its chunks have committed, whatever its answer.
        committed(&request);
        return Ok(settle_apart(&db, &request, claim, event, res).await);
    }
    let asked = std::time::Instant::now();
    let opened = db.begin_unit().await;
    if let Some(metrics) = req.app_data::<web::Data<crate::telemetry::Metrics>>() {
        metrics.operations.pool_waited(asked.elapsed());
    }
    let (bound, unit) = match opened {
        Ok(opened) => opened,
        Err(err) => {
            if let Some(claim) = &claim {
                idempotency::release(&db, claim).await;
            }
            return Ok(req.error_response(ApiError::from(err)));
        }
    };
    // R14: before its work, a write takes a share lock on its caller's person row, so that an
    // erasure that began first is waited for (and the write refused), and one that begins
    // later waits for the write to commit, then destroys its words too: no word written by a
    // person survives their erasure, whichever replica served it. Here, before the handler,
    // so that its extractors' order is not changed by the wait.
    match erased_caller(&req, &bound).await {
        Ok(false) => {}
        Ok(true) => {
            drop((bound, unit));
            if let Some(claim) = &claim {
                idempotency::release(&db, claim).await;
            }
            return Ok(req.error_response(ApiError::Unauthorized(
                "the person this token names has been erased".to_owned(),
            )));
        }
        Err(err) => {
            drop((bound, unit));
            if let Some(claim) = &claim {
                idempotency::release(&db, claim).await;
            }
            return Ok(req.error_response(err));
        }
    }
    req.extensions_mut().insert(Bound(bound.clone()));
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(err) => {
            drop((bound, unit));
            if let Some(claim) = &claim {
                idempotency::release(&db, claim).await;
            }
            return Err(err);
        }
    };
    res.request().extensions_mut().remove::<Bound>();
    let status = res.status();
    let event = audit::event_of(&res);
    let request = res.request().clone();

    if !(status.is_success() || status.is_redirection()) {
        // A refusal or a failure: the work is rolled back, whatever it began.
        drop((bound, unit));
        return Ok(settle_apart(&db, &request, claim, event, res).await);
    }

    // Success: the answer, the audit event and the work commit together.
    let res = match &claim {
        None => res,
        Some(claim) => match idempotency::store(bound.conn(), &db, claim, res).await {
            Ok(Some(res)) => res,
            Ok(None) => {
                drop((bound, unit));
                tracing::warn!(
                    "an idempotent request outlived its lease and was taken over: its work is rolled back"
                );
                return Ok(answer(&request, idempotency::in_progress()));
            }
            Err(err) => {
                drop((bound, unit));
                idempotency::release(&db, claim).await;
                return Ok(answer(&request, err));
            }
        },
    };
    if let Err(err) = idempotency::forget_answers_about(bound.conn(), &request).await {
        drop((bound, unit));
        if let Some(claim) = &claim {
            idempotency::release(&db, claim).await;
        }
        return Ok(answer(&request, err));
    }
    if let Some(event) = event
        && let Err(err) = audit::append(bound.conn(), event).await
    {
        drop((bound, unit));
        if let Some(claim) = &claim {
            idempotency::release(&db, claim).await;
        }
        tracing::error!(error = %error_chain(&err), "could not write the audit event of a write: rolled back");
        return Ok(answer(&request, unavailable(err)));
    }
    drop(bound);
    match unit.commit().await {
        Ok(()) => {
            committed(&request);
            let scrub = request.extensions().get::<ScrubAfterCommit>().is_some();
            if scrub {
                self::scrub(&db).await;
            }
            Ok(res)
        }
        Err(err) => {
            // Rolled back, or — if the connection broke during COMMIT — perhaps committed:
            // then the stored answer stays (release frees unanswered claims only) and the
            // retry replays it.
            if let Some(claim) = &claim {
                idempotency::release(&db, claim).await;
            }
            tracing::warn!(error = %error_chain(&err), "a request's unit of work did not commit");
            Ok(answer(&request, ApiError::from(err)))
        }
    }
}

/// Set by a handler whose write destroys words (an erasure, R14): once its unit has
/// committed, and before the answer leaves, the database's files are rid of what it
/// destroyed ([`scrub`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScrubAfterCommit;

/// R14: what was destroyed leaves the database's files (SQLite's checkpoint, `Db::scrub`).
/// Never fails the caller: the destruction has committed; a checkpoint that could not
/// finish (another replica reading the same file) is finished by the next one.
pub(crate) async fn scrub(db: &Db) {
    match db.scrub().await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "the write-ahead log could not be checkpointed (a reader on an older snapshot): \
             destroyed pages stay in it until the next erasure or retention run"
        ),
        Err(err) => tracing::warn!(
            error = %error_chain(&err),
            "the write-ahead log could not be checkpointed after words were destroyed"
        ),
    }
}

/// What a committed write changed that this replica keeps in memory: the people it
/// deactivated or reactivated (R11), before the answer leaves.
fn committed(request: &HttpRequest) {
    if let Some(leavers) = request.app_data::<web::Data<crate::leavers::Leavers>>() {
        leavers.committed(request);
    }
}

/// A write refused or failed (its work rolled back), or one that committed in chunks of its
/// own: its audit event and (for a keyed request that did not fail on our side) its answer,
/// in a transaction of their own; the claim of a failure is freed so that a retry runs.
async fn settle_apart(
    db: &Db,
    request: &HttpRequest,
    claim: Option<mentorat_persistence::idempotency::Claim>,
    event: Option<AuditEvent>,
    res: ServiceResponse<BoxBody>,
) -> ServiceResponse<BoxBody> {
    let keep_answer = claim.is_some() && !res.status().is_server_error();
    if event.is_none() && !keep_answer {
        if let Some(claim) = &claim {
            idempotency::release(db, claim).await;
        }
        return res;
    }
    let audited = event.is_some();
    let outcome: Result<ServiceResponse<BoxBody>, ApiError> = async {
        let txn = db.conn().begin().await.map_err(StoreError::from)?;
        if let Some(event) = event {
            audit::append(&txn, event).await?;
        }
        let res = match (&claim, keep_answer) {
            (Some(claim), true) => idempotency::store(&txn, db, claim, res)
                .await?
                .ok_or_else(idempotency::in_progress)?,
            (Some(claim), false) => {
                mentorat_persistence::idempotency::release(&txn, claim).await?;
                res
            }
            (None, _) => res,
        };
        txn.commit().await.map_err(StoreError::from)?;
        Ok(res)
    }
    .await;
    match outcome {
        Ok(res) => res,
        Err(err) => {
            if let Some(claim) = &claim {
                idempotency::release(db, claim).await;
            }
            tracing::error!(error = %err, audited, "could not record a refused request");
            answer(request, if audited { ApiError::Unavailable } else { err })
        }
    }
}

/// A read's audit event: durable before the answer leaves when the read carries a pair's
/// words (R5), queued for the next group commit otherwise.
async fn audited_read(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let Some(event) = audit::event_of(&res) else {
        return res;
    };
    let Some(log) = res
        .request()
        .app_data::<web::Data<audit::AuditLog>>()
        .cloned()
    else {
        tracing::error!("no audit writer: not answered");
        let request = res.request().clone();
        return answer(&request, ApiError::Unavailable);
    };
    let carries_words = res
        .request()
        .extensions()
        .get::<audit::Audited>()
        .is_some_and(|a| a.operation.touches_content());
    if !carries_words {
        log.enqueue(event);
        return res;
    }
    match log.record(event).await {
        Ok(()) => res,
        Err(err) => {
            tracing::error!("could not write the audit event of a read of words: not answered");
            let request = res.request().clone();
            answer(&request, err.into())
        }
    }
}

/// An audit event that cannot be written: the database is busy or away (503 either way).
fn unavailable(err: StoreError) -> ApiError {
    match err {
        StoreError::Contention(_) => ApiError::Busy,
        _ => ApiError::Unavailable,
    }
}
