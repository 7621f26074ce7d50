//! Feedback of a pair's members (DOMAIN.md "Feedback dimensions"): a `check_in` after a held
//! meeting (`usefulness`, `atmosphere`), one per member per meeting; a `final` evaluation once
//! per member when the pair has ended, on the eight benefits the program promises. Scores
//! 1–5; the comment is content (its author only, R5).

use std::collections::BTreeMap;

use crate::{
    content::Content,
    error::{DomainError, FieldError},
    meeting::MeetingStatus,
    pair::PairStatus,
};

pub const CHECK_IN_DIMENSIONS: [&str; 2] = ["usefulness", "atmosphere"];
pub const FINAL_DIMENSIONS: [&str; 8] = [
    "valued",
    "regular_space",
    "autonomy",
    "communication",
    "management_insight",
    "solidarity",
    "collective_intelligence",
    "open_environment",
];
pub const COMMENT_MAX_CHARS: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedbackKind {
    CheckIn,
    Final,
}

impl FeedbackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackKind::CheckIn => "check_in",
            FeedbackKind::Final => "final",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [FeedbackKind::CheckIn, FeedbackKind::Final]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }

    pub fn dimensions(self) -> &'static [&'static str] {
        match self {
            FeedbackKind::CheckIn => &CHECK_IN_DIMENSIONS,
            FeedbackKind::Final => &FINAL_DIMENSIONS,
        }
    }
}

/// Every dimension a report averages, check-in's first, then the final evaluation's.
pub const ALL_DIMENSIONS: [&str; 10] = [
    CHECK_IN_DIMENSIONS[0],
    CHECK_IN_DIMENSIONS[1],
    FINAL_DIMENSIONS[0],
    FINAL_DIMENSIONS[1],
    FINAL_DIMENSIONS[2],
    FINAL_DIMENSIONS[3],
    FINAL_DIMENSIONS[4],
    FINAL_DIMENSIONS[5],
    FINAL_DIMENSIONS[6],
    FINAL_DIMENSIONS[7],
];

/// Scores as a JSON body carries them: a whole number may be written `4` or `4.0`; anything
/// else (a fraction, a number too large to be a score) is refused at `/scores/{dimension}`.
/// Whether each is 1 to 5 and of the kind is [`FeedbackDraft::validate`]'s.
pub fn whole_scores(
    raw: BTreeMap<String, serde_json::Number>,
) -> Result<BTreeMap<String, i64>, DomainError> {
    let mut scores = BTreeMap::new();
    let mut errors = Vec::new();
    for (dim, n) in raw {
        let whole = n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e6)
                .map(|f| f as i64)
        });
        match whole {
            Some(v) => {
                scores.insert(dim, v);
            }
            None => errors.push(FieldError::new(
                format!("/scores/{dim}"),
                format!("a score is a whole number 1 to 5, got {n}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(scores)
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// Feedback as a member sends it (no `Debug`: the comment is theirs).
#[derive(Clone)]
pub struct FeedbackDraft {
    pub kind: FeedbackKind,
    pub meeting_id: Option<uuid::Uuid>,
    pub scores: BTreeMap<String, i64>,
    pub comment: Option<String>,
}

/// Feedback that keeps the rules of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub kind: FeedbackKind,
    pub meeting_id: Option<uuid::Uuid>,
    /// Every dimension of the kind, in the kind's order, 1 to 5.
    pub scores: Vec<(&'static str, i32)>,
    pub comment: Option<Content>,
}

impl FeedbackDraft {
    pub fn validate(self) -> Result<Feedback, DomainError> {
        let mut errors = Vec::new();
        let dims = self.kind.dimensions();
        for name in self.scores.keys() {
            if !dims.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    format!("/scores/{name}"),
                    format!(
                        "not a dimension of a {} (they are: {})",
                        self.kind.as_str(),
                        dims.join(", ")
                    ),
                ));
            }
        }
        let mut scores = Vec::new();
        for dim in dims {
            match self.scores.get(*dim) {
                Some(s) if (1..=5).contains(s) => scores.push((*dim, *s as i32)),
                Some(s) => errors.push(FieldError::new(
                    format!("/scores/{dim}"),
                    format!("a score is 1 to 5, got {s}"),
                )),
                None => errors.push(FieldError::new(
                    format!("/scores/{dim}"),
                    "every dimension is scored, 1 to 5",
                )),
            }
        }
        match (self.kind, self.meeting_id) {
            (FeedbackKind::CheckIn, None) => errors.push(FieldError::new(
                "/meeting_id",
                "a check-in is about a held meeting: name it",
            )),
            (FeedbackKind::Final, Some(_)) => errors.push(FieldError::new(
                "/meeting_id",
                "a final evaluation is about the whole pair, not a meeting",
            )),
            _ => {}
        }
        let comment = self
            .comment
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if let Some(c) = &comment
            && c.chars().count() > COMMENT_MAX_CHARS
        {
            errors.push(FieldError::new(
                "/comment",
                format!("at most {COMMENT_MAX_CHARS} characters"),
            ));
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        Ok(Feedback {
            kind: self.kind,
            meeting_id: self.meeting_id,
            scores,
            comment: comment.map(Content::new),
        })
    }
}

/// A check-in follows a meeting that was held.
pub fn check_check_in(meeting: MeetingStatus) -> Result<(), DomainError> {
    if meeting == MeetingStatus::Held {
        Ok(())
    } else {
        Err(DomainError::MeetingNotHeld { status: meeting })
    }
}

/// The final evaluation comes once the pair has ended or completed.
pub fn check_final(pair: PairStatus) -> Result<(), DomainError> {
    if matches!(pair, PairStatus::Ended | PairStatus::Completed) {
        Ok(())
    } else {
        Err(DomainError::PairNotFinished { status: pair })
    }
}

/// Feedback as stored, for its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFeedback {
    pub id: uuid::Uuid,
    pub pair_id: uuid::Uuid,
    pub author_id: uuid::Uuid,
    pub feedback: Feedback,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: FeedbackKind, scores: &[(&str, i64)]) -> FeedbackDraft {
        FeedbackDraft {
            kind,
            meeting_id: (kind == FeedbackKind::CheckIn).then(uuid::Uuid::nil),
            scores: scores.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            comment: Some("  merci  ".into()),
        }
    }

    #[test]
    fn a_check_in_scores_usefulness_and_atmosphere() {
        let f = draft(
            FeedbackKind::CheckIn,
            &[("usefulness", 4), ("atmosphere", 5)],
        )
        .validate()
        .unwrap();
        assert_eq!(f.scores, [("usefulness", 4), ("atmosphere", 5)]);
        assert_eq!(f.comment.unwrap().expose(), "merci");
    }

    #[test]
    fn every_dimension_once_between_1_and_5() {
        let err = draft(FeedbackKind::CheckIn, &[("usefulness", 6), ("valued", 3)])
            .validate()
            .unwrap_err();
        let DomainError::Invalid(e) = err else {
            panic!()
        };
        let pointers: Vec<_> = e.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/scores/valued", "/scores/usefulness", "/scores/atmosphere"]
        );
        let all: Vec<(&str, i64)> = FINAL_DIMENSIONS.iter().map(|d| (*d, 3)).collect();
        assert!(draft(FeedbackKind::Final, &all).validate().is_ok());
    }

    #[test]
    fn a_final_evaluation_names_no_meeting_and_a_check_in_names_one() {
        let all: Vec<(&str, i64)> = FINAL_DIMENSIONS.iter().map(|d| (*d, 3)).collect();
        let mut f = draft(FeedbackKind::Final, &all);
        f.meeting_id = Some(uuid::Uuid::nil());
        assert!(f.validate().is_err());
        let mut c = draft(
            FeedbackKind::CheckIn,
            &[("usefulness", 4), ("atmosphere", 5)],
        );
        c.meeting_id = None;
        assert!(c.validate().is_err());
    }

    #[test]
    fn when_feedback_may_be_given() {
        assert!(check_check_in(MeetingStatus::Held).is_ok());
        assert!(check_check_in(MeetingStatus::Scheduled).is_err());
        assert!(check_final(PairStatus::Ended).is_ok());
        assert!(check_final(PairStatus::Completed).is_ok());
        assert!(check_final(PairStatus::Active).is_err());
    }

    #[test]
    fn a_score_written_as_a_whole_float_is_whole_and_a_fraction_is_refused() {
        let raw = |v: serde_json::Value| -> BTreeMap<String, serde_json::Number> {
            serde_json::from_value(v).unwrap()
        };
        let ok = whole_scores(raw(serde_json::json!({"usefulness": 4, "atmosphere": 5.0})));
        assert_eq!(
            ok.unwrap(),
            BTreeMap::from([("atmosphere".into(), 5), ("usefulness".into(), 4)])
        );
        match whole_scores(raw(
            serde_json::json!({"usefulness": 4.5, "atmosphere": 1e9}),
        )) {
            Err(DomainError::Invalid(fields)) => {
                let pointers: Vec<&str> = fields.iter().map(|f| f.pointer.as_str()).collect();
                assert_eq!(pointers, ["/scores/atmosphere", "/scores/usefulness"]);
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_report_averages_every_dimension_of_both_kinds_once() {
        let both: Vec<&str> = CHECK_IN_DIMENSIONS
            .iter()
            .chain(FINAL_DIMENSIONS.iter())
            .copied()
            .collect();
        assert_eq!(both, ALL_DIMENSIONS);
    }
}
