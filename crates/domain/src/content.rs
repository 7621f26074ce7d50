//! What a pair says (R5) is carried in [`Content`]: its `Debug` prints a length, never the
//! words, and it has no `Display` — so no log line, panic message or `{:?}` can leak it. The
//! words come out only by asking for them: [`Content::expose`].

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct Content(String);

impl Content {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The words, for the two members' eyes (a response) or the cipher.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Content(<{} characters>)", self.chars())
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_words() {
        let c = Content::new("je voudrais changer de service");
        let printed = format!("{c:?} {:?}", Some(&c));
        assert!(!printed.contains("service"), "{printed}");
        assert!(printed.contains("30 characters"));
        assert_eq!(c.expose(), "je voudrais changer de service");
    }
}
