//! Page sizes of every list (API.md: `?limit=`, default 50, at most 200).

use crate::error::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u16);

impl PageLimit {
    pub const DEFAULT: u16 = 50;
    pub const MAX: u16 = 200;

    /// `None` is the default page; anything outside 1..=200 is refused rather than clamped,
    /// so a client learns its request was not what it got.
    pub fn parse(raw: Option<i64>) -> Result<Self, FieldError> {
        match raw {
            None => Ok(Self(Self::DEFAULT)),
            Some(n) if (1..=i64::from(Self::MAX)).contains(&n) => Ok(Self(n as u16)),
            Some(n) => Err(FieldError::new(
                "/limit",
                format!("limit must be between 1 and {}, got {n}", Self::MAX),
            )),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_fifty() {
        assert_eq!(PageLimit::parse(None).map(PageLimit::get), Ok(50));
    }

    #[test]
    fn bounds_are_inclusive() {
        assert_eq!(PageLimit::parse(Some(1)).map(PageLimit::get), Ok(1));
        assert_eq!(PageLimit::parse(Some(200)).map(PageLimit::get), Ok(200));
    }

    #[test]
    fn out_of_range_is_refused_not_clamped() {
        for n in [0, -1, 201, i64::MAX] {
            let err = PageLimit::parse(Some(n)).unwrap_err();
            assert_eq!(err.pointer, "/limit");
        }
    }
}
