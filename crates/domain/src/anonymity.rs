//! R13: reports never show a figure computed over fewer than k people (k ≥ 5).
//!
//! A group under k is suppressed — and so is enough of the rest that nobody can get it back
//! by subtraction: when groups are hidden, the hidden ones together must cover at least k
//! people and be at least two, so "total minus the visible groups" only ever gives the sum
//! of several hidden groups over k people or more. The total itself is hidden when the whole
//! population is under k.

/// The smallest k the service accepts.
pub const MIN_K: u32 = 5;

/// Which groups to hide, given each group's number of people and the total population.
/// Returns a flag per group (true: suppressed) and whether the total is suppressed. A group
/// of nobody is hidden too: a figure can still stand in it (a cancellation counted on a day
/// when none of the group's pairs is in the window any more), and it covers nobody.
pub fn suppress(people: &[u64], total: u64, k: u32) -> (Vec<bool>, bool) {
    cover(people, total, k, |_| true)
}

/// The same for one feedback dimension, given how many people of each group answered it: a
/// group where nobody answered shows no average at all — nothing to hide, and nothing that
/// could cover another group.
pub fn suppress_answers(answered: &[u64], total: u64, k: u32) -> (Vec<bool>, bool) {
    cover(answered, total, k, |n| n > 0)
}

fn cover(people: &[u64], total: u64, k: u32, counts: impl Fn(u64) -> bool) -> (Vec<bool>, bool) {
    let k = u64::from(k.max(MIN_K));
    let mut hidden: Vec<bool> = people.iter().map(|&n| counts(n) && n < k).collect();
    let total_hidden = total < k;
    if hidden.iter().any(|&h| h) {
        // Complementary suppression: add the smallest visible groups until the hidden ones
        // are at least two and cover at least k people together.
        let mut order: Vec<usize> = (0..people.len()).collect();
        order.sort_by_key(|&i| (people[i], i));
        loop {
            let count = hidden.iter().filter(|&&h| h).count();
            let covered: u64 = people
                .iter()
                .zip(&hidden)
                .filter(|(_, h)| **h)
                .map(|(n, _)| n)
                .sum();
            if (count >= 2 && covered >= k) || count == people.len() {
                break;
            }
            match order.iter().find(|&&i| !hidden[i] && counts(people[i])) {
                Some(&i) => hidden[i] = true,
                None => break,
            }
        }
    }
    (hidden, total_hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dimension_nobody_answered_in_a_group_hides_nothing() {
        // Feedback answered in one group only: the others have no average to protect.
        assert_eq!(
            suppress_answers(&[0, 0, 5], 5, 5),
            (vec![false, false, false], false)
        );
        // A small group is still covered by a real one, never by an empty one.
        assert_eq!(
            suppress_answers(&[0, 3, 6, 9], 18, 5),
            (vec![false, true, true, false], false)
        );
    }

    #[test]
    fn a_group_of_nobody_is_hidden_and_covers_nobody() {
        // Figures may stand in a group whose pairs all left the window: hidden, and a small
        // group beside it still needs a real cover.
        assert_eq!(
            suppress(&[0, 3, 6, 9], 18, 5),
            (vec![true, true, true, false], false)
        );
    }

    #[test]
    fn groups_of_five_or_more_are_shown() {
        assert_eq!(
            suppress(&[5, 9, 12], 26, 5),
            (vec![false, false, false], false)
        );
    }

    #[test]
    fn a_group_of_four_is_hidden_with_a_second_one_so_subtraction_reveals_nothing() {
        let (hidden, total) = suppress(&[4, 9, 12], 25, 5);
        assert_eq!(hidden, [true, true, false]);
        assert!(!total);
        // What is left visible cannot be subtracted from the total to get a group under k.
        let visible: u64 = [4u64, 9, 12]
            .iter()
            .zip(&hidden)
            .filter(|(_, h)| !**h)
            .map(|(n, _)| n)
            .sum();
        assert!(25 - visible >= 5);
    }

    #[test]
    fn two_small_groups_hide_a_third_when_together_they_are_under_k() {
        let (hidden, _) = suppress(&[1, 2, 30, 40], 73, 5);
        assert_eq!(hidden, [true, true, true, false]);
    }

    #[test]
    fn k_is_never_below_five_and_a_small_population_hides_everything() {
        assert_eq!(suppress(&[3, 3], 6, 2), (vec![true, true], false));
        assert_eq!(suppress(&[2, 2], 4, 5), (vec![true, true], true));
        assert_eq!(suppress(&[6, 6], 12, 10), (vec![true, true], false));
    }
}
