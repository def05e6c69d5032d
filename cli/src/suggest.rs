//! "Did you mean …?": the closest known name to a misspelt one, for
//! devcontainer.json properties and other names users type (issue 11).

/// The candidate closest to `input` by edit distance (ignoring case), when
/// it is close enough to be a likely typo: at most one edit for short
/// names, about a third of the name for longer ones.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = input.to_lowercase();
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// `" (did you mean \"x\"?)"`, or nothing.
pub fn hint(input: &str, candidates: impl IntoIterator<Item = &'static str>) -> String {
    closest(input, candidates)
        .map(|c| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name_and_strangers_find_none() {
        let names = ["image", "forwardPorts", "postCreateCommand", "remoteUser"];
        assert_eq!(closest("imagee", names), Some("image"));
        assert_eq!(closest("forwardports", names), Some("forwardPorts"));
        assert_eq!(
            closest("postCreateComand", names),
            Some("postCreateCommand")
        );
        assert_eq!(closest("remoteuser", names), Some("remoteUser"));
        assert_eq!(closest("x-my-tool", names), None);
        assert_eq!(closest("name", names), None);
    }
}
