//! `.dockerignore` parsing and matching with the exact semantics of the Docker
//! CLI (moby `patternmatcher` and its `ignorefile` reader).
//!
//! Why this exists: devc decides which files make up an image build context
//! itself, because it hashes that context to derive the image tag (see
//! [`super::context`]). Users already have `.dockerignore` files written for
//! `docker build`, so anything other than Docker's behaviour would silently
//! put different files into the image (or leave secrets in it), and would make
//! the digest react to files Docker never sends. Every rule here therefore
//! follows Docker, quirks included:
//!
//! * lines starting with `#` are comments (only when `#` is the very first
//!   character), surrounding whitespace is trimmed, blank lines are ignored, a
//!   UTF-8 byte order mark is dropped;
//! * a leading `!` makes the line an exception that re-includes paths;
//! * patterns are cleaned like Go's `filepath.Clean` (`./a/` is `a`,
//!   `a/../b` is `b`) and one leading `/` is stripped (patterns are always
//!   relative to the context root);
//! * the syntax is Go's `filepath.Match` (`*`, `?`, `[...]`, `[^...]`, `\`
//!   escapes) plus `**`, which matches any number of directories;
//! * a path is excluded when the last pattern that matches it, or one of its
//!   parent directories, is not an exception.
//!
//! Two deliberate deviations, both in patterns Docker itself mishandles:
//! moby turns patterns into Go regular expressions, so `\d` escapes or `*`
//! inside `[...]` take a regular-expression meaning there; here `\x` always
//! means the literal `x` and classes follow `filepath.Match` (the documented
//! syntax).

use std::fmt;

/// A `.dockerignore` pattern that Docker would reject as well.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A line consisting only of `!`.
    #[error("illegal exclusion pattern \"!\"")]
    IllegalExclusion,
    /// A malformed pattern (unclosed `[`, empty or reversed range, trailing `\`).
    #[error("syntax error in pattern `{pattern}`")]
    Syntax { pattern: String },
}

/// Reads the content of a `.dockerignore` file into pattern strings, exactly
/// like moby's `ignorefile.ReadAll`: comments and blank lines dropped, each
/// pattern trimmed and cleaned, one leading `/` removed, `!` kept in front.
pub fn read_patterns(content: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(content);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut patterns = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Comments are recognised before trimming, as Docker does: " # x" is
        // a pattern, not a comment.
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        if invert {
            cleaned.insert(0, '!');
        }
        patterns.push(cleaned);
    }
    patterns
}

/// Lexically cleans a slash-separated path like Go's `filepath.Clean` on Unix.
pub fn clean(path: &str) -> String {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return ".".to_owned();
    }
    let rooted = bytes[0] == b'/';
    let n = bytes.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let mut r = 0;
    let mut dotdot = 0;
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        let at_end = |i: usize| i == n || bytes[i] == b'/';
        if bytes[r] == b'/' || (bytes[r] == b'.' && at_end(r + 1)) {
            // Empty element or `.`.
            r += 1;
        } else if bytes[r] == b'.' && bytes[r + 1] == b'.' && at_end(r + 2) {
            r += 2;
            if out.len() > dotdot {
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && bytes[r] != b'/' {
                out.push(bytes[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".to_owned();
    }
    // Only ASCII bytes were inserted or cut at ASCII boundaries, so this is
    // always valid UTF-8 again.
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `filepath.Dir` for slash-separated paths.
fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".to_owned(),
    }
}

/// One compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: Kind,
}

/// moby sorts patterns into four kinds; the kind changes semantics slightly
/// (`**foo` is a plain suffix test, `foo**` a plain prefix test), so the same
/// classification is kept here.
#[derive(Debug, Clone)]
enum Kind {
    Exact,
    Prefix(String),
    Suffix(String),
    Glob(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any run of characters other than `/`.
    AnySeq,
    /// `**` followed by more pattern: nothing, or anything ending in `/`.
    AnyDirs,
    /// `**` at the very end: anything.
    AnyTail,
    /// `[...]`: one character (which may be `/`, as in Go).
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// A bare `^`, which moby's regular expression reads as a start anchor.
    Start,
}

impl Pattern {
    /// The cleaned pattern, without its `!`.
    pub fn as_str(&self) -> &str {
        &self.cleaned
    }

    /// Whether this is an exception (`!pattern`) that re-includes paths.
    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    /// Whether the pattern matches `path` itself (no parent directories).
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Kind::Glob(tokens) => {
                let mut nfa = Nfa::new(tokens);
                for c in path.chars() {
                    if !nfa.step(c) {
                        return false;
                    }
                }
                nfa.accepts()
            }
        }
    }

    /// Whether the pattern could match some path strictly below the directory
    /// `dir`. Used to decide if an excluded directory has to be walked because
    /// an exception may re-include something inside it.
    pub fn could_match_below(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        match &self.kind {
            Kind::Exact => self.cleaned.starts_with(&dir_slash),
            Kind::Prefix(prefix) => {
                prefix.starts_with(&dir_slash) || dir_slash.starts_with(prefix.as_str())
            }
            Kind::Suffix(_) => true,
            Kind::Glob(tokens) => {
                let mut nfa = Nfa::new(tokens);
                for c in dir_slash.chars() {
                    if !nfa.step(c) {
                        return false;
                    }
                }
                nfa.can_continue()
            }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exclusion {
            f.write_str("!")?;
        }
        f.write_str(&self.cleaned)
    }
}

/// Which patterns matched a directory; handed down to its children so they
/// inherit those matches (moby's `MatchInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// An ordered list of patterns, as read from one `.dockerignore` file.
#[derive(Debug, Clone, Default)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl PatternMatcher {
    /// Compiles patterns like moby's `patternmatcher.New`: each is trimmed,
    /// cleaned, split from its `!`, and checked for syntax errors.
    pub fn new<I, S>(patterns: I) -> Result<Self, PatternError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut matcher = PatternMatcher::default();
        for raw in patterns {
            let trimmed = raw.as_ref().trim();
            if trimmed.is_empty() {
                continue;
            }
            let mut cleaned = clean(trimmed);
            let mut exclusion = false;
            if let Some(rest) = cleaned.strip_prefix('!') {
                if rest.is_empty() {
                    return Err(PatternError::IllegalExclusion);
                }
                cleaned = rest.to_owned();
                exclusion = true;
                matcher.exclusions = true;
            }
            let kind = compile(&cleaned).ok_or_else(|| PatternError::Syntax {
                pattern: cleaned.clone(),
            })?;
            matcher.patterns.push(Pattern {
                cleaned,
                exclusion,
                kind,
            });
        }
        Ok(matcher)
    }

    /// Parses and compiles the content of a `.dockerignore` file.
    pub fn from_dockerignore(content: &[u8]) -> Result<Self, PatternError> {
        Self::new(read_patterns(content))
    }

    /// The compiled patterns, in file order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any pattern is an exception (`!pattern`).
    pub fn has_exclusions(&self) -> bool {
        self.exclusions
    }

    /// Whether there are no patterns at all (nothing is ever excluded).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the slash-separated relative `path` is excluded, checking the
    /// path and each of its parent directories against every pattern
    /// (moby's `MatchesOrParentMatches`). `path` should already be clean.
    pub fn matches(&self, path: &str) -> bool {
        let parent = dir(path);
        let parents: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matches(path);
            if !hit && parent != "." {
                hit = (1..=parents.len()).any(|i| pattern.matches(&parents[..i].join("/")));
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// Whether `path` is excluded, given the [`MatchInfo`] returned for its
    /// parent directory (`MatchInfo::default()` for entries at the context
    /// root, or when the parent is unknown). This is how Docker evaluates
    /// paths while walking the context (moby's `MatchesUsingParentResults`);
    /// the returned info is what the children of `path` need.
    pub fn matches_with_parent(&self, path: &str, parent: &MatchInfo) -> (bool, MatchInfo) {
        let inherited = &parent.parent_matched;
        let have_parent = !inherited.is_empty() && inherited.len() == self.patterns.len();
        let mut info = MatchInfo {
            parent_matched: vec![false; self.patterns.len()],
        };
        let mut matched = false;
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut hit = have_parent && inherited[i];
            if !hit {
                if pattern.exclusion != matched {
                    continue;
                }
                hit = pattern.matches(path);
                if !hit && !have_parent {
                    let parent_dir = dir(path);
                    if parent_dir != "." {
                        let parts: Vec<&str> = parent_dir.split('/').collect();
                        hit = (1..=parts.len()).any(|n| pattern.matches(&parts[..n].join("/")));
                    }
                }
            }
            info.parent_matched[i] = hit;
            if hit {
                matched = !pattern.exclusion;
            }
        }
        (matched, info)
    }

    /// Whether some exception pattern could re-include a path strictly below
    /// the excluded directory `dir`, in which case the directory must still
    /// be walked.
    pub fn exception_could_match_below(&self, dir: &str) -> bool {
        self.exclusions
            && self
                .patterns
                .iter()
                .any(|p| p.exclusion && p.could_match_below(dir))
    }
}

/// Classifies and compiles a cleaned pattern (without `!`) the way moby's
/// `Pattern.compile` does. `None` for a syntax error.
fn compile(pattern: &str) -> Option<Kind> {
    if !valid_match_syntax(pattern) {
        return None;
    }
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Glob,
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut detected = Detected::Exact;
    let mut pos = 0;
    let mut first = true;
    while pos < chars.len() {
        let ch = chars[pos];
        pos += 1;
        match ch {
            '*' if chars.get(pos) == Some(&'*') => {
                pos += 1;
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos == chars.len() {
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        tokens.push(Token::AnyTail);
                        detected = Detected::Glob;
                    }
                } else {
                    tokens.push(Token::AnyDirs);
                    detected = Detected::Glob;
                }
                if first {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                tokens.push(Token::AnySeq);
                detected = Detected::Glob;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                detected = Detected::Glob;
            }
            '\\' => {
                // Validation guarantees a character follows.
                let next = *chars.get(pos)?;
                pos += 1;
                tokens.push(Token::Literal(next));
                detected = Detected::Glob;
            }
            '[' => {
                let (token, next) = parse_class(&chars, pos)?;
                tokens.push(token);
                pos = next;
                detected = Detected::Glob;
            }
            ']' => {
                tokens.push(Token::Literal(']'));
                detected = Detected::Glob;
            }
            '^' => tokens.push(Token::Start),
            other => tokens.push(Token::Literal(other)),
        }
        first = false;
    }
    Some(match detected {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_owned()),
        Detected::Suffix => Kind::Suffix(pattern[2..].to_owned()),
        Detected::Glob => Kind::Glob(tokens),
    })
}

/// Parses a character class whose `[` was just consumed; returns the token and
/// the position after the closing `]`. Grammar of Go's `filepath.Match`:
/// optional `^`, then one or more `c` or `lo-hi` items, `\` escaping, where an
/// unescaped `-` or `]` cannot start an item.
fn parse_class(chars: &[char], mut pos: usize) -> Option<(Token, usize)> {
    let mut negated = false;
    if chars.get(pos) == Some(&'^') {
        negated = true;
        pos += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(pos) == Some(&']') && !ranges.is_empty() {
            return Some((Token::Class { negated, ranges }, pos + 1));
        }
        let (lo, next) = class_char(chars, pos)?;
        pos = next;
        let mut hi = lo;
        if chars.get(pos) == Some(&'-') {
            let (h, next) = class_char(chars, pos + 1)?;
            hi = h;
            pos = next;
        }
        // Go's filepath.Match accepts a reversed range, but moby's regular
        // expression does not compile, failing every build: reject it here.
        if hi < lo {
            return None;
        }
        ranges.push((lo, hi));
    }
}

fn class_char(chars: &[char], pos: usize) -> Option<(char, usize)> {
    match chars.get(pos)? {
        '-' | ']' => None,
        '\\' => chars.get(pos + 1).map(|&c| (c, pos + 2)),
        &c => Some((c, pos + 1)),
    }
}

/// Whether Go's `filepath.Match` accepts the pattern (what moby checks in
/// `New`): every `[` closes properly and no `\` is left dangling.
fn valid_match_syntax(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    while pos < chars.len() {
        match chars[pos] {
            '\\' => {
                if pos + 1 >= chars.len() {
                    return false;
                }
                pos += 2;
            }
            '[' => match parse_class(&chars, pos + 1) {
                Some((_, next)) => pos = next,
                None => return false,
            },
            _ => pos += 1,
        }
    }
    true
}

/// Thompson simulation of a compiled glob: linear in pattern × path length, no
/// backtracking blow-up on patterns like `*a*a*a*b`.
struct Nfa<'a> {
    tokens: &'a [Token],
    /// `at[i]`: ready to match token `i` (`at[len]` = whole pattern matched).
    at: Vec<bool>,
    /// `inner[i]`: inside the `.*` part of an `AnyDirs` token `i`.
    inner: Vec<bool>,
    /// Scratch buffers for the next step, swapped in to avoid allocating.
    next_at: Vec<bool>,
    next_inner: Vec<bool>,
}

impl<'a> Nfa<'a> {
    fn new(tokens: &'a [Token]) -> Self {
        let mut nfa = Nfa {
            tokens,
            at: vec![false; tokens.len() + 1],
            inner: vec![false; tokens.len()],
            next_at: vec![false; tokens.len() + 1],
            next_inner: vec![false; tokens.len()],
        };
        nfa.at[0] = true;
        nfa.close(true);
        nfa
    }

    /// Follows the empty transitions (optional tokens, start anchors).
    fn close(&mut self, at_start: bool) {
        for i in 0..self.tokens.len() {
            if !self.at[i] {
                continue;
            }
            match self.tokens[i] {
                Token::AnySeq | Token::AnyTail => self.at[i + 1] = true,
                Token::AnyDirs => {
                    self.at[i + 1] = true;
                    self.inner[i] = true;
                }
                Token::Start if at_start => self.at[i + 1] = true,
                _ => {}
            }
        }
    }

    /// Consumes one character; false when no state survives.
    fn step(&mut self, c: char) -> bool {
        let n = self.tokens.len();
        let mut at = std::mem::take(&mut self.next_at);
        let mut inner = std::mem::take(&mut self.next_inner);
        at.fill(false);
        inner.fill(false);
        let mut alive = false;
        for i in 0..n {
            if self.at[i] {
                let (advance, stay) = match &self.tokens[i] {
                    Token::Literal(x) => (*x == c, false),
                    Token::AnyChar => (c != '/', false),
                    Token::AnySeq => (false, c != '/'),
                    // Go's `.` does not match a newline.
                    Token::AnyTail => (false, c != '\n'),
                    Token::Class { negated, ranges } => {
                        let hit = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                        (hit != *negated, false)
                    }
                    Token::AnyDirs | Token::Start => (false, false),
                };
                if advance {
                    at[i + 1] = true;
                    alive = true;
                }
                if stay {
                    at[i] = true;
                    alive = true;
                }
            }
            if self.inner[i] {
                if c != '\n' {
                    inner[i] = true;
                    alive = true;
                }
                if c == '/' {
                    at[i + 1] = true;
                    alive = true;
                }
            }
        }
        self.next_at = std::mem::replace(&mut self.at, at);
        self.next_inner = std::mem::replace(&mut self.inner, inner);
        self.close(false);
        alive
    }

    fn accepts(&self) -> bool {
        self.at[self.tokens.len()]
    }

    /// Whether more input could still lead to a match.
    fn can_continue(&self) -> bool {
        self.inner.iter().any(|&b| b)
            || self
                .tokens
                .iter()
                .enumerate()
                .any(|(i, t)| self.at[i] && !matches!(t, Token::Start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(pattern: &str, path: &str) -> bool {
        let pm = PatternMatcher::new([pattern]).unwrap();
        pm.patterns()[0].matches(path)
    }

    fn excluded(patterns: &[&str], path: &str) -> bool {
        let pm = PatternMatcher::new(patterns).unwrap();
        let a = pm.matches(path);
        // The walk-time evaluation, fed parent by parent, must agree.
        let mut info = MatchInfo::default();
        let parent = dir(path);
        if parent != "." {
            let parts: Vec<&str> = parent.split('/').collect();
            for n in 1..=parts.len() {
                info = pm.matches_with_parent(&parts[..n].join("/"), &info).1;
            }
        }
        let b = pm.matches_with_parent(path, &info).0;
        assert_eq!(
            a, b,
            "walk and direct evaluation disagree for {patterns:?} on {path}"
        );
        a
    }

    #[test]
    fn clean_matches_go() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("./", "."),
            ("a/", "a"),
            ("./a", "a"),
            ("a//b", "a/b"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/b/..", "a"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("/", "/"),
            ("//a", "/a"),
            ("abc/def/../../..", ".."),
            ("!./x", "!./x"),
            ("**/", "**"),
        ] {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn read_patterns_like_ignorefile() {
        let content =
            b"\xEF\xBB\xBFtest1\n/test2\r\n/a/file/here\n\nlastfile\n# comment\n ! /inverted/abs/path\n!\n! \n #notcomment\n./dot/\n/\n";
        assert_eq!(
            read_patterns(content),
            vec![
                "test1",
                "test2",
                "a/file/here",
                "lastfile",
                "!inverted/abs/path",
                "!",
                "!",
                "#notcomment",
                "dot",
                "/",
            ]
        );
        assert_eq!(
            PatternMatcher::from_dockerignore(b"a\n!\n").unwrap_err(),
            PatternError::IllegalExclusion
        );
    }

    #[test]
    fn single_pattern_table() {
        // (pattern, path, matches the path itself, matches it or a parent)
        let table: &[(&str, &str, bool, bool)] = &[
            ("**", "file", true, true),
            ("**", "dir/file", true, true),
            ("**/", "file", true, true),
            ("**/**", "dir/file", true, true),
            ("dir/**", "dir/file", true, true),
            ("dir/**", "dir/dir2/file", true, true),
            ("**/dir", "dir", true, true),
            ("**/dir", "dir/file", false, true),
            ("**/dir2/*", "dir/dir2/file", true, true),
            ("**/dir2/**", "dir/dir2/dir3/file", true, true),
            ("**file", "file", true, true),
            ("**file", "dir/file", true, true),
            ("**file", "dir/myfile", true, true),
            ("**/file", "dir/dir/file", true, true),
            ("**/file*", "dir/dir/file.txt", true, true),
            ("**/file*.txt", "dir/dir/file.txt", true, true),
            ("**/**/*.txt", "dir/dir/file.txt", true, true),
            ("**/**/*.txt2", "dir/dir/file.txt", false, false),
            ("**/*.txt", "file.txt", true, true),
            ("a**/*.txt", "a/dir/dir/file.txt", true, true),
            ("a/*.txt", "a/dir/file.txt", false, false),
            ("a/*.txt", "a/file.txt", true, true),
            ("a/*.txt**", "a/file.txt", true, true),
            ("a[b-d]e", "ace", true, true),
            ("a[b-d]e", "aae", false, false),
            ("a[^b-d]e", "aze", true, true),
            (".*", ".foo", true, true),
            (".*", "foo", false, false),
            ("abc.def", "abcZdef", false, false),
            ("abc?def", "abcZdef", true, true),
            ("abc?def", "abcdef", false, false),
            ("abc/**", "abc", false, false),
            ("abc/**", "abc/def/ghi", true, true),
            ("**/.foo", "bar.foo", false, false),
            ("a(b)c/def", "a(b)c/def", true, true),
            ("a.|)$(}+{bc", "a.|)$(}+{bc", true, true),
            (
                "dist/*.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08-py3-none-any.whl",
                true,
                true,
            ),
            ("a\\\\", "a\\", true, true),
            ("a\\*b", "a*b", true, true),
            ("a\\*b", "axb", false, false),
            ("*", "abc", true, true),
            ("*", "dir/file", false, true),
            ("a*", "ab/c", false, true),
            ("a*/b", "a/c/b", false, false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true, true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true, true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false, false),
            ("a?b", "a☺b", true, true),
            ("a???b", "a☺b", false, false),
            ("[a-ζ]*", "α", true, true),
            ("a?b", "a/b", false, false),
            ("a*b", "a/b", false, false),
            ("[\\]a]", "]", true, true),
            ("[x\\-]", "-", true, true),
            ("[x\\-]", "z", false, false),
            ("*x", "xxx", true, true),
            ("a**b", "ab", true, true),
            ("a**b", "ax/b", true, true),
            // moby's regexp for `a**b` is ^a(.*/)?b$, so no match here.
            ("a**b", "axb", false, false),
            ("docs", "docs/README.md", false, true),
            ("./docs/", "docs/sub/x", false, true),
            ("docs/../src", "src/main.rs", false, true),
        ];
        for &(pattern, path, itself, with_parents) in table {
            assert_eq!(
                exact(pattern, path),
                itself,
                "pattern {pattern:?} on {path:?}"
            );
            assert_eq!(
                excluded(&[pattern], path),
                with_parents,
                "pattern {pattern:?} on {path:?} (parents)"
            );
        }
    }

    #[test]
    fn leading_slash_and_cleaning_in_files() {
        let pm =
            PatternMatcher::from_dockerignore(b"/node_modules\n./build/\n/a/./b/../c\n").unwrap();
        assert!(pm.matches("node_modules"));
        assert!(pm.matches("node_modules/x/y.js"));
        assert!(pm.matches("build/out.o"));
        assert!(pm.matches("a/c/file"));
        assert!(!pm.matches("a/b/file"));
        assert!(!pm.matches("src/node_modules"));
    }

    #[test]
    fn exceptions_last_match_wins() {
        let cases: &[(&[&str], &str, bool)] = &[
            (&["*.go", "!fileutils.go"], "fileutils.go", false),
            (&["!fileutils.go", "*.go"], "fileutils.go", true),
            (&["docs", "!docs/README.md"], "docs/README.md", false),
            (&["docs", "!docs/README.md"], "docs/other.md", true),
            (&["docs/", "!docs/README.md"], "docs/README.md", false),
            (&["docs/*", "!docs/README.md"], "docs/README.md", false),
            (&["**", "!util/docker/web"], "util/docker/web/foo", false),
            (
                &["**", "!util/docker/web", "util/docker/web/foo"],
                "util/docker/web/foo",
                true,
            ),
            (&["**", "!dist/*.whl"], "dist/a-1.whl", false),
            (&["*", "!keep", "keep/secret"], "keep/secret", true),
            (&["*", "!keep", "keep/secret"], "keep/public", false),
            (&["**/*.log", "!important.log"], "important.log", false),
            (&["**/*.log", "!important.log"], "sub/important.log", true),
            (
                &["**/*.log", "!**/important.log"],
                "sub/important.log",
                false,
            ),
            (
                &["*.md", "!README*.md", "README-secret.md"],
                "README-secret.md",
                true,
            ),
            (
                &["*.md", "!README*.md", "README-secret.md"],
                "README-public.md",
                false,
            ),
        ];
        for &(patterns, path, want) in cases {
            assert_eq!(excluded(patterns, path), want, "{patterns:?} on {path}");
        }
    }

    #[test]
    fn syntax_errors_are_rejected() {
        for bad in [
            "[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[z-a]",
        ] {
            assert!(
                matches!(PatternMatcher::new([bad]), Err(PatternError::Syntax { .. })),
                "{bad:?} should be rejected"
            );
        }
        assert_eq!(
            PatternMatcher::new(["!"]).unwrap_err(),
            PatternError::IllegalExclusion
        );
        // The regression case moby documents: a reversed range.
        assert!(PatternMatcher::new(["[Local-Only]/"]).is_err());
        assert!(
            PatternMatcher::new(["ok", "", "  "])
                .unwrap()
                .patterns()
                .len()
                == 1
        );
    }

    #[test]
    fn kinds_follow_moby() {
        let kind = |p: &str| match &PatternMatcher::new([p]).unwrap().patterns()[0].kind {
            Kind::Exact => "exact",
            Kind::Prefix(_) => "prefix",
            Kind::Suffix(_) => "suffix",
            Kind::Glob(_) => "glob",
        };
        assert_eq!(kind("abc.def"), "exact");
        assert_eq!(kind("dir/**"), "prefix");
        assert_eq!(kind("**"), "suffix");
        assert_eq!(kind("**/dir"), "suffix");
        assert_eq!(kind("**file"), "suffix");
        assert_eq!(kind("**/**"), "glob");
        assert_eq!(kind("**/dir2/*"), "glob");
        assert_eq!(kind("a[b-d]e"), "glob");
    }

    #[test]
    fn caret_is_an_anchor_like_moby() {
        // Exact patterns compare literally.
        assert!(exact("a^b", "a^b"));
        // In a regexp pattern moby's `^` only matches at the start.
        assert!(!exact("a^*", "a^b"));
        assert!(exact("*^foo", "foo"));
        assert!(!exact("*^foo", "x^foo"));
        // `**^foo` is a plain suffix test in moby, where `^` is literal.
        assert!(!exact("**^foo", "foo"));
        assert!(exact("**^foo", "a/x^foo"));
    }

    #[test]
    fn exceptions_below_excluded_dirs() {
        let pm = PatternMatcher::new(["docs", "!docs/README.md"]).unwrap();
        assert!(pm.exception_could_match_below("docs"));
        assert!(!pm.exception_could_match_below("other"));

        let pm = PatternMatcher::new(["node_modules", "!**/keep.txt"]).unwrap();
        assert!(pm.exception_could_match_below("node_modules"));

        let pm = PatternMatcher::new(["vendor", "!src/*/keep"]).unwrap();
        assert!(!pm.exception_could_match_below("vendor"));
        assert!(pm.exception_could_match_below("src"));
        assert!(pm.exception_could_match_below("src/a"));
        assert!(!pm.exception_could_match_below("src/a/keep"));

        let pm = PatternMatcher::new(["a", "!a/b/**"]).unwrap();
        assert!(pm.exception_could_match_below("a"));
        assert!(pm.exception_could_match_below("a/b/c"));
        assert!(!pm.exception_could_match_below("a/c"));

        let pm = PatternMatcher::new(["*"]).unwrap();
        assert!(!pm.exception_could_match_below("a"));
    }
}
