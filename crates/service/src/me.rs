//! `/me` and `/me/export`: what the service holds about the caller (GDPR right of access).

use mentorat_domain::{
    Caller, enrollment::Enrollment, meeting::Meeting, note::Note, objective::Objective, pair::Pair,
    person::Person,
};
use mentorat_persistence::{
    Db, Page,
    audit::{self, AuditEvent, AuditFilter},
    concerns::{self, Concern},
    enrollments,
    feedback::{self, StoredFeedback},
    meetings, notes,
    notifications::{self, Notification},
    objectives,
    pairs::{self, PairFilter},
};
use uuid::Uuid;

use crate::{
    error::ServiceError,
    pairs::{PairContext, context_of_rows},
};

/// The caller's person, enrollments (with their program's current charter version) and
/// pairs.
pub struct Overview {
    pub person: Option<Person>,
    pub enrollments: Vec<(Enrollment, Option<i32>)>,
    pub pairs: Vec<Pair>,
    pub context: PairContext,
}

/// Every page of a keyset-paginated read.
async fn all<T, F, Fut>(mut page: F) -> Result<Vec<T>, ServiceError>
where
    F: FnMut(Option<Uuid>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, mentorat_persistence::StoreError>>,
{
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let p = page(after).await?;
        out.extend(p.items);
        match p.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// In two statements: the person with their enrollments and each program's current
/// charter version, their pairs with the members' names and facts (a page of 200 at a time;
/// the facts are on the pair rows).
pub async fn overview(db: &Db, caller: &Caller) -> Result<Overview, ServiceError> {
    let now = chrono::Utc::now();
    let Some((person, with_charter)) =
        enrollments::of_external_id_with_charter(db.conn(), caller.subject.as_str()).await?
    else {
        return Ok(Overview {
            person: None,
            enrollments: Vec::new(),
            pairs: Vec::new(),
            context: context_of_rows(db, &[], now)?.1,
        });
    };
    let filter = PairFilter {
        member: Some(person.id),
        ..Default::default()
    };
    let subject = caller.subject.as_str();
    let rows = all(|after| pairs::list_rows(db.conn(), &filter, subject, after, 200, now)).await?;
    let (mine, context) = context_of_rows(db, &rows, now)?;
    Ok(Overview {
        person: Some(person),
        enrollments: with_charter,
        pairs: mine,
        context,
    })
}

/// Everything about the caller: their overview, the objectives and meetings of their pairs,
/// the notes they wrote, the feedback they gave, the concerns they raised, their
/// notifications, and what the audit log recorded of their own actions.
pub struct Export {
    pub overview: Overview,
    pub objectives: Vec<Objective>,
    pub meetings: Vec<Meeting>,
    pub notes: Vec<Note>,
    pub feedback: Vec<StoredFeedback>,
    pub concerns: Vec<Concern>,
    /// The requests the caller sent as a mentee, with their messages (issue 17).
    pub requests: Vec<mentorat_domain::request::MenteeRequest>,
    pub notifications: Vec<Notification>,
    pub audit_events: Vec<AuditEvent>,
}

pub async fn export(db: &Db, caller: &Caller) -> Result<Export, ServiceError> {
    let overview = overview(db, caller).await?;
    let mut export = Export {
        objectives: Vec::new(),
        meetings: Vec::new(),
        notes: Vec::new(),
        feedback: Vec::new(),
        concerns: Vec::new(),
        requests: Vec::new(),
        notifications: Vec::new(),
        audit_events: Vec::new(),
        overview,
    };
    let audit_filter = AuditFilter {
        actor: Some(caller.subject.as_str().to_owned()),
        ..Default::default()
    };
    export.audit_events = all(|before| audit::list(db.conn(), &audit_filter, before, 500)).await?;
    let Some(me) = export.overview.person.clone() else {
        return Ok(export);
    };
    for pair in &export.overview.pairs {
        let id = pair.id;
        export
            .objectives
            .extend(all(|after| objectives::list(db.conn(), db.keys(), id, after, 500)).await?);
        export
            .meetings
            .extend(all(|after| meetings::list(db.conn(), db.keys(), id, after, 500)).await?);
        export
            .feedback
            .extend(feedback::of_author(db.conn(), db.keys(), id, me.id).await?);
    }
    export.notes = notes::of_author(db.conn(), db.keys(), me.id).await?;
    export.concerns = concerns::of_author(db.conn(), db.keys(), me.id).await?;
    export.requests =
        mentorat_persistence::mentee_requests::of_mentee_person(db.conn(), db.keys(), me.id)
            .await?;
    let recipients = [me.id];
    export.notifications =
        all(|before| notifications::list(db.conn(), &recipients, before, 500)).await?;
    tracing::info!(person_id = %me.id, "personal data exported");
    Ok(export)
}
