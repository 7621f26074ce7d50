//! Calendar feeds: a secret URL per person listing their meetings as iCalendar, for the
//! calendar app they already use. The secret is shown once and stored as its SHA-256; a new
//! one replaces the old, `DELETE` revokes it.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use mentorat_domain::{Caller, meeting::Meeting, person::Person};
use mentorat_persistence::{
    Db, calendar_feeds, meetings,
    pairs::{self, PairFilter},
    people,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ServiceError;

/// How many meetings a feed lists, newest first.
const FEED_LIMIT: u64 = 1_000;

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn me(db: &Db, caller: &Caller) -> Result<Person, ServiceError> {
    people::find_by_external_id(db.conn(), &caller.subject)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// A new secret for the caller's feed (the previous one stops working).
pub async fn create(db: &Db, caller: &Caller) -> Result<String, ServiceError> {
    let person = me(db, caller).await?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Internal(format!("no randomness for a feed secret: {e}")))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    calendar_feeds::put(db.conn(), person.id, &hash(&token), Utc::now()).await?;
    tracing::info!(person_id = %person.id, "calendar feed created");
    Ok(token)
}

/// Revoke the caller's feed; `NotFound` when there is none.
pub async fn revoke(db: &Db, caller: &Caller) -> Result<(), ServiceError> {
    let person = me(db, caller).await?;
    if calendar_feeds::delete(db.conn(), person.id).await? {
        tracing::info!(person_id = %person.id, "calendar feed revoked");
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// One meeting of a feed, with the other member.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub meeting: Meeting,
    pub with: Option<Person>,
}

/// The meetings behind a secret, or `NotFound` for an unknown or revoked one.
pub async fn feed(db: &Db, token: &str) -> Result<Vec<FeedEntry>, ServiceError> {
    let owner = calendar_feeds::owner(db.conn(), &hash(token))
        .await?
        .ok_or(ServiceError::NotFound)?;
    let filter = PairFilter {
        member: Some(owner),
        ..Default::default()
    };
    let mut mine = Vec::new();
    let mut after = None;
    loop {
        let page = pairs::list(db.conn(), &filter, after, 200).await?;
        mine.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let other: HashMap<Uuid, Uuid> = mine
        .iter()
        .map(|p| {
            let o = if p.mentor_person_id == owner {
                p.mentee_person_id
            } else {
                p.mentor_person_id
            };
            (p.id, o)
        })
        .collect();
    let pair_ids: Vec<Uuid> = mine.iter().map(|p| p.id).collect();
    let found = meetings::of_pairs(db.conn(), db.keys(), &pair_ids, FEED_LIMIT).await?;
    let others: Vec<Uuid> = other.values().copied().collect();
    let people: HashMap<Uuid, Person> = people::find_many(db.conn(), &others)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(found
        .into_iter()
        .map(|meeting| {
            let with = other
                .get(&meeting.pair_id)
                .and_then(|o| people.get(o))
                .cloned();
            FeedEntry { meeting, with }
        })
        .collect())
}
