//! R11 Departures: from the moment the HRIS deactivates a person, every request authenticated
//! as them is `401`, whatever token they still hold — without a database read per request.
//!
//! Each replica keeps the external ids of the deactivated people in memory: loaded before it
//! serves, refreshed from the database every [`DEFAULT_REFRESH`] (`MENTORAT_DEACTIVATION_REFRESH_MS`)
//! by a background task, and changed at once by the deactivations and reactivations this
//! replica writes itself:
//!
//! - on the replica that writes a deactivation, the person is locked out before its unit of
//!   work commits (a request of theirs that arrives while it commits is already refused),
//!   and again once it has committed, before the HRIS gets its answer;
//! - a reactivation gives access back on that replica once it has committed;
//! - every other replica learns either within one refresh period of the commit (plus the
//!   refresh's one statement).
//!
//! A refresh replaces the set with what the database holds, then applies again the local
//! changes made since the refresh began: its statement may have read the database before
//! they committed, and must not undo them. A deactivation whose unit then rolled back
//! keeps its person locked out until the next refresh (fail closed). A refresh that fails
//! keeps the last set and is retried at the next period — but once the last successful
//! refresh is older than [`stale_after`] the period (five periods, at least five seconds),
//! the set can no longer be trusted to name every leaver, and every authenticated request
//! is answered `503 database_unavailable` until a refresh succeeds (fail closed).

use std::{
    collections::HashSet,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use actix_web::{HttpMessage, HttpRequest};
use mentorat_domain::ExternalId;
use mentorat_persistence::{Db, StoreError, people};

/// How often a replica reads the set of deactivated people again: the longest another
/// replica's deactivation goes unseen here.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(1);

/// How old the last successful refresh may be before this replica stops serving
/// authenticated requests: five refresh periods, and at least five seconds.
pub fn stale_after(period: Duration) -> Duration {
    (period * 5).max(Duration::from_secs(5))
}

#[derive(Debug, Default)]
struct State {
    /// External ids of the people who may not be served.
    inactive: HashSet<String>,
    /// Changes made by this replica, numbered, kept until a refresh that began after them.
    recent: Vec<(u64, String, bool)>,
    /// The number of the last change.
    seq: u64,
    /// When the last successful refresh read the database.
    fresh_at: Option<Instant>,
    /// How old `fresh_at` may be (set by [`Leavers::keep_fresh`]; none: never stale).
    max_age: Option<Duration>,
}

impl State {
    fn stale_at(&self, now: Instant) -> bool {
        match (self.max_age, self.fresh_at) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(max), Some(at)) => now.saturating_duration_since(at) > max,
        }
    }

    fn set(&mut self, external_id: &str, active: bool) {
        if active {
            self.inactive.remove(external_id);
        } else {
            self.inactive.insert(external_id.to_owned());
        }
    }

    fn record(&mut self, external_id: &str, active: bool) {
        self.seq += 1;
        let seq = self.seq;
        self.recent.push((seq, external_id.to_owned(), active));
        self.set(external_id, active);
    }
}

/// This replica's set of deactivated people; cheap to clone, shared by every worker.
#[derive(Debug, Clone, Default)]
pub struct Leavers {
    state: Arc<RwLock<State>>,
}

/// Changes of a request's write, applied once its unit of work has committed
/// (`crate::unit`).
#[derive(Debug, Clone)]
pub(crate) struct Pending(Vec<(ExternalId, bool)>);

impl Leavers {
    /// The set as the database holds it now (before the server serves).
    pub async fn load(db: &Db) -> Result<Self, StoreError> {
        let leavers = Self::default();
        leavers.refresh(db).await?;
        Ok(leavers)
    }

    /// Is this person deactivated (R11)?
    ///
    /// An erased person (R14) is in the set under their pseudonym: a token naming their old
    /// external id is recognised by it.
    pub fn is_inactive(&self, external_id: &ExternalId) -> bool {
        let id = external_id.as_str();
        if self.read(|s| s.inactive.contains(id)) {
            return true;
        }
        let pseudonym = mentorat_persistence::erasure::pseudonym_of(id);
        self.read(|s| s.inactive.contains(&pseudonym))
    }

    /// Is the set too old to be trusted (refreshes have kept failing)? Authenticated requests
    /// are then refused with `503` (fail closed).
    pub fn is_stale(&self) -> bool {
        self.read(|s| s.stale_at(Instant::now()))
    }

    /// How many people are locked out (for the logs).
    pub fn len(&self) -> usize {
        self.read(|s| s.inactive.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        match self.state.read() {
            Ok(state) => f(&state),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.write() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Apply changes this replica has committed (or, for deactivations, is about to).
    pub fn apply(&self, changes: &[(ExternalId, bool)]) {
        if changes.is_empty() {
            return;
        }
        self.write(|s| {
            for (id, active) in changes {
                s.record(id.as_str(), *active);
            }
        });
    }

    /// A write's changes: deactivations lock out at once, before the commit (fail closed);
    /// everything is applied again once the request's unit of work has committed.
    pub fn written(&self, req: &HttpRequest, changes: Vec<(ExternalId, bool)>) {
        if changes.is_empty() {
            return;
        }
        let leaving: Vec<(ExternalId, bool)> =
            changes.iter().filter(|(_, a)| !a).cloned().collect();
        self.apply(&leaving);
        req.extensions_mut().insert(Pending(changes));
    }

    /// After the commit of a request's unit (or of its chunks): apply what it wrote.
    pub(crate) fn committed(&self, req: &HttpRequest) {
        let pending = req.extensions_mut().remove::<Pending>();
        if let Some(Pending(changes)) = pending {
            self.apply(&changes);
        }
    }

    /// Read the set from the database again.
    pub async fn refresh(&self, db: &Db) -> Result<(), StoreError> {
        let began = self.read(|s| s.seq);
        let read_at = Instant::now();
        let ids = people::inactive_external_ids(db.pool().conn()).await?;
        self.replace(began, ids);
        self.write(|s| s.fresh_at = Some(read_at));
        Ok(())
    }

    /// The set read by a refresh that began after change number `began`: the changes made
    /// since are applied again on top.
    fn replace(&self, began: u64, ids: Vec<String>) {
        self.write(|s| {
            s.inactive = ids.into_iter().collect();
            s.recent.retain(|(seq, _, _)| *seq > began);
            let again: Vec<(String, bool)> = s
                .recent
                .iter()
                .map(|(_, id, active)| (id.clone(), *active))
                .collect();
            for (id, active) in again {
                s.set(&id, active);
            }
        });
    }

    /// Refresh every `period`, for as long as the process runs; from now on the set is stale
    /// once its last successful refresh is older than [`stale_after`] `period`.
    pub fn keep_fresh(&self, db: Db, period: Duration) -> tokio::task::JoinHandle<()> {
        self.write(|s| s.max_age = Some(stale_after(period)));
        let leavers = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(err) = leavers.refresh(&db).await {
                    if leavers.is_stale() {
                        tracing::error!(error = %crate::problem::error_chain(&err), "could not refresh the deactivated people for too long: authenticated requests are refused (503) until a refresh succeeds");
                    } else {
                        tracing::warn!(error = %crate::problem::error_chain(&err), "could not refresh the deactivated people; the last set stands");
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn id(s: &str) -> ExternalId {
        ExternalId::parse(s).unwrap()
    }

    #[test]
    fn a_set_whose_refreshes_keep_failing_goes_stale() {
        let leavers = Leavers::default();
        let t0 = Instant::now();
        assert!(
            !leavers.read(|s| s.stale_at(t0)),
            "no refresher: never stale"
        );
        leavers.write(|s| s.max_age = Some(stale_after(Duration::from_millis(200))));
        assert!(leavers.read(|s| s.stale_at(t0)), "never refreshed");
        leavers.write(|s| s.fresh_at = Some(t0));
        assert!(!leavers.read(|s| s.stale_at(t0 + Duration::from_secs(5))));
        assert!(leavers.read(|s| s.stale_at(t0 + Duration::from_millis(5001))));
        assert_eq!(
            stale_after(Duration::from_secs(2)),
            Duration::from_secs(10),
            "five periods"
        );
    }

    #[test]
    fn a_local_change_survives_a_refresh_that_read_before_it() {
        let leavers = Leavers::default();
        let began = leavers.read(|s| s.seq);
        leavers.apply(&[(id("E2"), false)]);
        // The refresh's statement ran before the deactivation committed.
        leavers.replace(began, vec!["E9".into()]);
        assert!(leavers.is_inactive(&id("E2")));
        assert!(leavers.is_inactive(&id("E9")));
        // A later refresh is the database's word alone.
        let began = leavers.read(|s| s.seq);
        leavers.replace(began, vec!["E9".into()]);
        assert!(
            !leavers.is_inactive(&id("E2")),
            "a rolled-back deactivation is forgotten"
        );
        leavers.apply(&[(id("E9"), true)]);
        assert!(!leavers.is_inactive(&id("E9")));
        assert_eq!(leavers.len(), 0);
    }
}
