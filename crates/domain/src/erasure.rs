//! R14 storage limitation and erasure: what of a pair's words is destroyed, and whose.
//!
//! [`WORDS`] is the one registry of every column that holds what a pair's members wrote.
//! Erasing a person destroys, in every column of it, the values that [`Whose`] attributes
//! to them; the retention task destroys every value of a pair, whoever wrote it. The
//! persistence layer runs one eraser per entry and a test there fails when a sealed column
//! has no entry here (a future column of words cannot be forgotten).
//!
//! Identity is not words: the person's row is blanked to a stable [`pseudonym`] so that
//! pairs, counts and report tallies keep pointing at the same person.

use std::collections::BTreeMap;

/// What a destroyed value was, as the erasure's answer counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Notes,
    Objectives,
    ObjectiveRevisions,
    Meetings,
    EndReasons,
    Concerns,
    Feedback,
    EnrollmentGoals,
    /// Issue 17: the messages of a mentee's requests.
    RequestMessages,
    /// Stored answers of `Idempotency-Key` requests (the replay store).
    StoredAnswers,
    Notifications,
    CalendarFeeds,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Notes,
        Kind::Objectives,
        Kind::ObjectiveRevisions,
        Kind::Meetings,
        Kind::EndReasons,
        Kind::Concerns,
        Kind::Feedback,
        Kind::EnrollmentGoals,
        Kind::RequestMessages,
        Kind::StoredAnswers,
        Kind::Notifications,
        Kind::CalendarFeeds,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Notes => "notes",
            Kind::Objectives => "objectives",
            Kind::ObjectiveRevisions => "objective_revisions",
            Kind::Meetings => "meetings",
            Kind::EndReasons => "end_reasons",
            Kind::Concerns => "concerns",
            Kind::Feedback => "feedback_comments",
            Kind::EnrollmentGoals => "enrollment_goals",
            Kind::RequestMessages => "request_messages",
            Kind::StoredAnswers => "stored_answers",
            Kind::Notifications => "notifications",
            Kind::CalendarFeeds => "calendar_feeds",
        }
    }
}

/// Whose words a value is, for the erasure of one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The row names its author in this column (`notes.author_id`, …).
    Author(&'static str),
    /// An objective's words (its texts, its revisions' before/after values), once the person
    /// proposed it or rewrote it: its current text may be theirs. The column names the
    /// objective (`id` for `objectives`, `objective_id` for its revisions).
    ObjectiveTouchedBy(&'static str),
    /// The pair's joint record, with no author recorded (a meeting's place, agenda and
    /// summary, the pair's end reason): destroyed when either member is erased. The column
    /// names the pair.
    Joint(&'static str),
}

/// How a row of the column reaches its pair (for retention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairOf {
    /// The row's column names the pair.
    Column(&'static str),
    /// The row's column names an objective, whose `pair_id` names the pair.
    Objective(&'static str),
    /// The row's column names a program, not a pair (an enrollment's goals): retention takes
    /// them a retention period after the program closed, whatever became of its pairs.
    Program(&'static str),
}

/// How a destroyed value is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blank {
    /// A sealed column: the erased marker, which reads as an empty text.
    Sealed,
    /// A plain nullable column: `NULL`.
    Null,
}

/// One column of words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    pub table: &'static str,
    pub column: &'static str,
    pub kind: Kind,
    pub whose: Whose,
    pub pair: PairOf,
    pub blank: Blank,
}

const fn w(
    table: &'static str,
    column: &'static str,
    kind: Kind,
    whose: Whose,
    pair: PairOf,
) -> Words {
    Words {
        table,
        column,
        kind,
        whose,
        pair,
        blank: Blank::Sealed,
    }
}

/// Every column that holds a member's words. Stored answers, notifications and calendar
/// feeds are not columns of words of a pair: they are deleted or withheld whole (see the
/// persistence's erasure).
pub const WORDS: &[Words] = &[
    w(
        "notes",
        "body",
        Kind::Notes,
        Whose::Author("author_id"),
        PairOf::Column("pair_id"),
    ),
    w(
        "objectives",
        "title",
        Kind::Objectives,
        Whose::ObjectiveTouchedBy("id"),
        PairOf::Column("pair_id"),
    ),
    w(
        "objectives",
        "description",
        Kind::Objectives,
        Whose::ObjectiveTouchedBy("id"),
        PairOf::Column("pair_id"),
    ),
    w(
        "objectives",
        "success_criteria",
        Kind::Objectives,
        Whose::ObjectiveTouchedBy("id"),
        PairOf::Column("pair_id"),
    ),
    w(
        "objective_revisions",
        "changes",
        Kind::ObjectiveRevisions,
        Whose::ObjectiveTouchedBy("objective_id"),
        PairOf::Objective("objective_id"),
    ),
    w(
        "objective_revisions",
        "comment",
        Kind::ObjectiveRevisions,
        Whose::Author("changed_by"),
        PairOf::Objective("objective_id"),
    ),
    w(
        "meetings",
        "location_label",
        Kind::Meetings,
        Whose::Joint("pair_id"),
        PairOf::Column("pair_id"),
    ),
    w(
        "meetings",
        "agenda",
        Kind::Meetings,
        Whose::Joint("pair_id"),
        PairOf::Column("pair_id"),
    ),
    w(
        "meetings",
        "summary",
        Kind::Meetings,
        Whose::Joint("pair_id"),
        PairOf::Column("pair_id"),
    ),
    w(
        "meetings",
        "cancel_reason",
        Kind::Meetings,
        Whose::Author("cancelled_by"),
        PairOf::Column("pair_id"),
    ),
    w(
        "pairs",
        "end_reason_text",
        Kind::EndReasons,
        Whose::Joint("id"),
        PairOf::Column("id"),
    ),
    w(
        "concerns",
        "text",
        Kind::Concerns,
        Whose::Author("author_id"),
        PairOf::Column("pair_id"),
    ),
    // The coordinators' response to a concern is written *to* its author, about the author's
    // own words: it is part of the author's concern and goes with it when the author is
    // erased (and with the pair's words at retention). Erasing the coordinator who wrote it
    // does not destroy it: a coordinator is no member of the pair, the response is the
    // program's answer to the author, and it names no one but through ids.
    w(
        "concerns",
        "response",
        Kind::Concerns,
        Whose::Author("author_id"),
        PairOf::Column("pair_id"),
    ),
    w(
        "feedback",
        "comment",
        Kind::Feedback,
        Whose::Author("author_id"),
        PairOf::Column("pair_id"),
    ),
    Words {
        table: "enrollments",
        column: "goals",
        kind: Kind::EnrollmentGoals,
        whose: Whose::Author("person_id"),
        pair: PairOf::Program("program_id"),
        blank: Blank::Null,
    },
    // Issue 17: a request's message is its mentee's words (to one mentor). It names no pair:
    // retention takes it with the program, like an enrollment's goals.
    w(
        "mentee_requests",
        "message",
        Kind::RequestMessages,
        Whose::Author("mentee_person_id"),
        PairOf::Program("program_id"),
    ),
];

/// Sealed columns that hold no member's words: a webhook's signing secret, the key check,
/// and the stored answers (deleted or withheld whole by the erasure, not blanked).
pub const NOT_WORDS: &[(&str, &str)] = &[
    ("webhooks", "secret"),
    ("webhooks", "previous_secret"),
    ("key_check", "sealed"),
    ("idempotency_keys", "response_body"),
];

/// The registry's entry of a column, if it holds words.
pub fn words_of(table: &str, column: &str) -> Option<&'static Words> {
    WORDS
        .iter()
        .find(|w| w.table == table && w.column == column)
}

/// The stable pseudonym that replaces an erased person's external id: `erased-` and 16 hex
/// digits of `digest` (the caller passes a digest of the external id — SHA-256 — so that a
/// token naming the old id can still be recognised and refused, and nothing else of it
/// remains). Pseudonymous, not anonymous: whoever knows the old id can recompute it.
pub fn pseudonym(digest: &[u8]) -> String {
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{PSEUDONYM_PREFIX}{hex}")
}

pub const PSEUDONYM_PREFIX: &str = "erased-";

/// What an erasure (or a retention run) destroyed, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destroyed(BTreeMap<Kind, u64>);

impl Destroyed {
    pub fn add(&mut self, kind: Kind, n: u64) {
        *self.0.entry(kind).or_default() += n;
    }

    pub fn get(&self, kind: Kind) -> u64 {
        self.0.get(&kind).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn merge(&mut self, other: &Destroyed) {
        for (k, n) in &other.0 {
            self.add(*k, *n);
        }
    }

    /// Every kind, zero included, in [`Kind::ALL`]'s order.
    pub fn by_kind(&self) -> impl Iterator<Item = (Kind, u64)> + '_ {
        Kind::ALL.into_iter().map(|k| (k, self.get(k)))
    }
}

/// The identity an erased person keeps: blank names, no email, department, title, site or
/// manager; the pseudonym as their external id; inactive (their tokens are refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasedIdentity {
    pub external_id: String,
    pub given_name: &'static str,
    pub family_name: &'static str,
    pub email: &'static str,
}

pub fn erased_identity(pseudonym: String) -> ErasedIdentity {
    ErasedIdentity {
        external_id: pseudonym,
        given_name: "",
        family_name: "",
        email: "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_name() {
        let names: std::collections::HashSet<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), Kind::ALL.len());
    }

    #[test]
    fn a_column_is_listed_once() {
        for (i, a) in WORDS.iter().enumerate() {
            for b in &WORDS[i + 1..] {
                assert!(
                    (a.table, a.column) != (b.table, b.column),
                    "{}.{}",
                    a.table,
                    a.column
                );
            }
            assert!(
                !NOT_WORDS.contains(&(a.table, a.column)),
                "{}.{} is both",
                a.table,
                a.column
            );
        }
    }

    #[test]
    fn the_pseudonym_is_stable_and_a_valid_external_id() {
        let p = pseudonym(&[0xab; 32]);
        assert_eq!(p, "erased-abababababababab");
        assert_eq!(p, pseudonym(&[0xab; 32]));
        assert!(crate::ExternalId::parse(&p).is_ok());
        assert_ne!(p, pseudonym(&[0xac; 32]));
    }

    #[test]
    fn counts_add_up_by_kind() {
        let mut d = Destroyed::default();
        d.add(Kind::Notes, 2);
        d.add(Kind::Notes, 3);
        d.add(Kind::Concerns, 1);
        assert_eq!(d.get(Kind::Notes), 5);
        assert_eq!(d.total(), 6);
        assert_eq!(d.by_kind().count(), Kind::ALL.len());
    }
}
