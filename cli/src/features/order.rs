//! The order features are installed in.
//!
//! Pure: the caller fetches features and their metadata and builds a
//! [`Graph`]; [`install_order`] sorts it as the spec's "Dependency
//! installation order algorithm" (feature-dependencies.md) describes:
//!
//! 1. Nodes are features *with their options*: two references to the same
//!    feature with different options are two nodes that both install
//!    (spec, "Feature Equality"). [`Graph::insert`] merges equal ones.
//! 2. Edges are `dependsOn` (hard: to the node that satisfies it) and
//!    `installsAfter` (soft: to every node that is the named feature, with
//!    any options; dropped when no such node is queued).
//! 3. `overrideFeatureInstallOrder` gives the n entries round priorities
//!    n, n-1, …, 1.
//! 4. Rounds: every node whose edges are all satisfied by earlier rounds is
//!    a candidate; only the candidates with the highest priority are
//!    committed, sorted by the spec's "Round Stable Sort"; the rest wait.
//!    A round without candidates means a cycle, reported with its members.
//!
//! Where the spec leaves room, this follows the reference CLI
//! (`containerFeaturesOrder.ts`), whose published test cases are ported
//! below: equal local features (same folder, same options) are merged
//! rather than installed twice, features with fewer user-set options sort
//! first, and string comparisons imitate JavaScript's `localeCompare`
//! ([`locale_compare`]). One deliberate difference: OCI tags sort
//! numerically (`1.9` before `1.10`), which is the spec's "oldest to
//! newest" where `localeCompare` is not.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::reference::{FeatureRef, RefError, resolve_local};

/// What a node is, for equality and sorting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Source {
    Oci {
        /// `registry/namespace/id`, lowercase.
        resource: String,
        /// `None` for a reference by digest.
        tag: Option<String>,
        /// The manifest digest the reference resolved to.
        digest: String,
    },
    Tarball {
        url: String,
    },
    /// The resolved folder.
    Local {
        path: PathBuf,
    },
}

/// A feature to install: one node of the graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feature {
    pub source: Source,
    /// The key as written in `features` or in a `dependsOn`; names the
    /// node in messages and orders features of different kinds.
    pub user_id: String,
    /// The options the user (or the depending feature) set, as returned by
    /// [`super::options::user_options`]; defaults are not included.
    pub options: Map<String, Value>,
    /// The metadata's `id` followed by its `legacyIds`; a soft dependency
    /// or override naming any of them (in the same namespace) matches.
    pub aliases: Vec<String>,
}

/// A feature named without version or options: an `installsAfter` entry
/// or an `overrideFeatureInstallOrder` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SoftRef {
    Oci {
        resource: String,
        /// The named feature's `id` and `legacyIds`, when the caller
        /// fetched its metadata; empty otherwise.
        aliases: Vec<String>,
    },
    Tarball {
        url: String,
    },
    Local {
        path: PathBuf,
    },
}

impl SoftRef {
    /// The soft reference for a parsed key; local paths resolve against
    /// `config_dir` like `features` keys do.
    pub fn from_reference(reference: &FeatureRef, config_dir: &Path) -> Result<Self, RefError> {
        Ok(match reference {
            FeatureRef::Local { path } => Self::Local {
                path: resolve_local(config_dir, path)?,
            },
            FeatureRef::Oci { .. } => Self::Oci {
                resource: reference.resource(),
                aliases: Vec::new(),
            },
            FeatureRef::Tarball { url } => Self::Tarball { url: url.clone() },
        })
    }
}

/// A node's handle, valid for the graph that returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NodeId(usize);

/// What [`Graph::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new node: the caller resolves its `dependsOn` next.
    New(NodeId),
    /// An equal feature was already there; nothing more to resolve.
    Existing(NodeId),
}

impl Inserted {
    pub fn id(self) -> NodeId {
        match self {
            Self::New(id) | Self::Existing(id) => id,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    feature: Feature,
    depends_on: Vec<NodeId>,
    installs_after: Vec<SoftRef>,
}

/// The features to install and their dependencies.
///
/// Insert user features first, in configuration order, then dependencies
/// breadth-first as they are discovered: that order breaks the remaining
/// ties, as the reference CLI's worklist does.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: Vec<Node>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `feature` unless an equal one (same content, same options) is
    /// already in the graph.
    pub fn insert(&mut self, feature: Feature) -> Inserted {
        if let Some(at) = self
            .nodes
            .iter()
            .position(|n| same_feature(&n.feature, &feature))
        {
            return Inserted::Existing(NodeId(at));
        }
        self.nodes.push(Node {
            feature,
            depends_on: Vec::new(),
            installs_after: Vec::new(),
        });
        Inserted::New(NodeId(self.nodes.len() - 1))
    }

    /// `dependent` must install after `dependency`.
    pub fn add_depends_on(&mut self, dependent: NodeId, dependency: NodeId) {
        let edges = &mut self.nodes[dependent.0].depends_on;
        if !edges.contains(&dependency) {
            edges.push(dependency);
        }
    }

    /// `node` installs after `soft` when such a feature is queued.
    pub fn add_installs_after(&mut self, node: NodeId, soft: SoftRef) {
        self.nodes[node.0].installs_after.push(soft);
    }

    pub fn feature(&self, id: NodeId) -> &Feature {
        &self.nodes[id.0].feature
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node, in insertion order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.nodes.len()).map(NodeId)
    }
}

/// Why no installation order exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error(
        "features depend on each other in a cycle: {}; a dependsOn or installsAfter in one of them has to go",
        cycle.join(" → ")
    )]
    Cycle {
        /// The members, the first repeated at the end.
        cycle: Vec<String>,
    },
}

/// The spec's "Feature Equality": same kind, same content (manifest
/// digest, URL or folder) and the same options.
fn same_feature(a: &Feature, b: &Feature) -> bool {
    let same_source = match (&a.source, &b.source) {
        (Source::Oci { digest: x, .. }, Source::Oci { digest: y, .. }) => x == y,
        (Source::Tarball { url: x }, Source::Tarball { url: y }) => x == y,
        (Source::Local { path: x }, Source::Local { path: y }) => x == y,
        _ => false,
    };
    same_source && a.options == b.options
}

/// `registry/namespace` and `id` of an OCI resource.
fn split_resource(resource: &str) -> (&str, &str) {
    resource.rsplit_once('/').unwrap_or(("", resource))
}

/// The names a feature answers to: its id from the reference, plus its
/// metadata id and legacy ids.
fn names<'a>(id: &'a str, aliases: &'a [String]) -> impl Iterator<Item = String> + 'a {
    std::iter::once(id)
        .chain(aliases.iter().map(String::as_str))
        .map(str::to_ascii_lowercase)
}

/// Whether the queued `feature` is the one `soft` names. OCI features
/// match within the same registry and namespace by any shared name, so a
/// renamed feature (spec, "legacyIds") satisfies references to its old id.
fn satisfies(feature: &Feature, soft: &SoftRef) -> bool {
    match (&feature.source, soft) {
        (
            Source::Oci { resource, .. },
            SoftRef::Oci {
                resource: wanted,
                aliases,
            },
        ) => {
            let (prefix, id) = split_resource(resource);
            let (wanted_prefix, wanted_id) = split_resource(wanted);
            prefix == wanted_prefix
                && names(id, &feature.aliases).any(|n| names(wanted_id, aliases).any(|w| w == n))
        }
        (Source::Tarball { url }, SoftRef::Tarball { url: wanted }) => url == wanted,
        (Source::Local { path }, SoftRef::Local { path: wanted }) => path == wanted,
        _ => false,
    }
}

/// The graph with soft edges resolved to the nodes that satisfy them.
struct Prepared {
    hard: Vec<Vec<usize>>,
    /// Per node, groups of alternatives: each group needs one installed.
    soft: Vec<Vec<Vec<usize>>>,
    priority: Vec<usize>,
}

fn prepare(graph: &Graph, overrides: &[SoftRef]) -> Prepared {
    let nodes = &graph.nodes;
    let matching = |soft: &SoftRef, except: usize| -> Vec<usize> {
        (0..nodes.len())
            .filter(|&i| i != except && satisfies(&nodes[i].feature, soft))
            .collect()
    };
    let soft = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            node.installs_after
                .iter()
                .map(|s| matching(s, i))
                .filter(|group| !group.is_empty())
                .collect()
        })
        .collect();
    let priority = nodes
        .iter()
        .map(|node| {
            overrides
                .iter()
                .enumerate()
                .filter(|(_, o)| satisfies(&node.feature, o))
                .map(|(idx, _)| overrides.len() - idx)
                .max()
                .unwrap_or(0)
        })
        .collect();
    Prepared {
        hard: nodes
            .iter()
            .map(|n| n.depends_on.iter().map(|d| d.0).collect())
            .collect(),
        soft,
        priority,
    }
}

/// The entries of `overrideFeatureInstallOrder` that match no queued
/// feature (the spec allows failing; the reference CLI ignores them, so
/// callers warn).
pub fn unmatched_overrides<'a>(graph: &Graph, overrides: &'a [SoftRef]) -> Vec<&'a SoftRef> {
    overrides
        .iter()
        .filter(|o| !graph.nodes.iter().any(|n| satisfies(&n.feature, o)))
        .collect()
}

/// Sorts the graph into installation order; see the module docs.
pub fn install_order(graph: &Graph, overrides: &[SoftRef]) -> Result<Vec<NodeId>, OrderError> {
    let prepared = prepare(graph, overrides);
    let mut installed = vec![false; graph.nodes.len()];
    let mut worklist: Vec<usize> = (0..graph.nodes.len()).collect();
    let mut order = Vec::with_capacity(worklist.len());
    while !worklist.is_empty() {
        let ready = |i: &usize| {
            prepared.hard[*i].iter().all(|d| installed[*d])
                && prepared.soft[*i]
                    .iter()
                    .all(|g| g.iter().any(|d| installed[*d]))
        };
        let mut round: Vec<usize> = worklist.iter().copied().filter(ready).collect();
        let Some(top) = round.iter().map(|i| prepared.priority[*i]).max() else {
            return Err(cycle_error(graph, &prepared, &installed, worklist[0]));
        };
        round.retain(|i| prepared.priority[*i] == top);
        round.sort_by(|a, b| compare(&graph.nodes[*a].feature, &graph.nodes[*b].feature));
        worklist.retain(|i| !round.contains(i));
        for i in round {
            installed[i] = true;
            order.push(NodeId(i));
        }
    }
    Ok(order)
}

/// Follows unsatisfied edges from `start` until a node repeats. Every node
/// left has one (it would be a candidate otherwise), so a cycle is found.
fn cycle_error(graph: &Graph, prepared: &Prepared, installed: &[bool], start: usize) -> OrderError {
    let blocker = |i: usize| -> usize {
        let hard = prepared.hard[i].iter().find(|d| !installed[**d]);
        let soft = || {
            prepared.soft[i]
                .iter()
                .find(|g| g.iter().all(|d| !installed[*d]))
                .map(|g| &g[0])
        };
        *hard
            .or_else(soft)
            .expect("a blocked node has an unsatisfied edge")
    };
    let mut path = vec![start];
    let mut next = blocker(start);
    while !path.contains(&next) {
        path.push(next);
        next = blocker(next);
    }
    let first = path.iter().position(|i| *i == next).unwrap_or(0);
    let mut cycle: Vec<String> = path[first..].iter().map(|i| describe(graph, *i)).collect();
    cycle.push(describe(graph, next));
    OrderError::Cycle { cycle }
}

/// The node's key as written, with its options when another node has the
/// same key.
fn describe(graph: &Graph, i: usize) -> String {
    let feature = &graph.nodes[i].feature;
    let twins = graph
        .nodes
        .iter()
        .filter(|n| n.feature.user_id == feature.user_id)
        .count();
    if twins > 1 {
        format!(
            "{} {}",
            feature.user_id,
            Value::Object(feature.options.clone())
        )
    } else {
        feature.user_id.clone()
    }
}

/// The spec's "Round Stable Sort", as the reference CLI implements it.
fn compare(a: &Feature, b: &Feature) -> Ordering {
    match (&a.source, &b.source) {
        (
            Source::Oci {
                resource: ra,
                tag: ta,
                digest: da,
            },
            Source::Oci {
                resource: rb,
                tag: tb,
                digest: db,
            },
        ) => {
            if da == db && compare_options(&a.options, &b.options).is_eq() {
                return Ordering::Equal;
            }
            compare_resources(ra, &a.aliases, rb, &b.aliases)
                .then_with(|| match (ta, tb) {
                    (Some(x), Some(y)) => compare_tags(x, y),
                    _ => Ordering::Equal,
                })
                .then_with(|| compare_options(&a.options, &b.options))
                .then_with(|| locale_compare(da, db))
        }
        (Source::Tarball { url: x }, Source::Tarball { url: y }) => {
            locale_compare(x, y).then_with(|| compare_options(&a.options, &b.options))
        }
        (Source::Local { path: x }, Source::Local { path: y }) => {
            locale_compare(&x.to_string_lossy(), &y.to_string_lossy())
                .then_with(|| compare_options(&a.options, &b.options))
        }
        _ => locale_compare(&a.user_id, &b.user_id),
    }
}

/// Registry and namespace first; then the id, where two features that
/// share a name (id or legacy id) are the same resource.
fn compare_resources(ra: &str, aliases_a: &[String], rb: &str, aliases_b: &[String]) -> Ordering {
    let (prefix_a, id_a) = split_resource(ra);
    let (prefix_b, id_b) = split_resource(rb);
    if prefix_a != prefix_b {
        return locale_compare(prefix_a, prefix_b);
    }
    let known = |id: &str, aliases: &[String]| -> Vec<String> {
        if aliases.is_empty() {
            vec![id.to_string()]
        } else {
            aliases.iter().map(|a| a.to_ascii_lowercase()).collect()
        }
    };
    let (names_a, names_b) = (known(id_a, aliases_a), known(id_b, aliases_b));
    if names_a.iter().any(|n| names_b.contains(n)) {
        Ordering::Equal
    } else {
        locale_compare(id_a, id_b)
    }
}

/// Oldest to newest: numeric parts compare as numbers, `latest` is newest.
fn compare_tags(a: &str, b: &str) -> Ordering {
    match (a == "latest", b == "latest") {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let numeric = |t: &str| -> Option<Vec<u64>> { t.split('.').map(|p| p.parse().ok()).collect() };
    match (numeric(a), numeric(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => locale_compare(a, b),
    }
}

/// The reference CLI's `optionsCompareTo`: fewer options first, then keys
/// in order, then values.
fn compare_options(a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    let mut keys_a: Vec<&String> = a.keys().collect();
    let mut keys_b: Vec<&String> = b.keys().collect();
    keys_a.sort();
    keys_b.sort();
    for (ka, kb) in keys_a.into_iter().zip(keys_b) {
        if ka != kb {
            return locale_compare(ka, kb);
        }
        let order = compare_values(&a[ka], &b[kb]);
        if order.is_ne() {
            return order;
        }
    }
    Ordering::Equal
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    let rank = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    };
    match (a, b) {
        (Value::String(x), Value::String(y)) => locale_compare(x, y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => rank(a)
            .cmp(&rank(b))
            .then_with(|| a.to_string().cmp(&b.to_string())),
    }
}

/// ASCII punctuation and symbols in the order of the Unicode root
/// collation, which JavaScript's `localeCompare` uses: all of them sort
/// before digits, and digits before letters.
const PUNCTUATION_ORDER: &str = "\t\n\u{b}\u{c}\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

/// Primary weight of a character: punctuation, then digits, then letters
/// without regard to case, then everything else by code point. ASCII
/// control characters are ignorable, as in the root collation.
fn primary(c: char) -> Option<u32> {
    if let Some(at) = PUNCTUATION_ORDER.find(c) {
        return Some(at as u32);
    }
    if c.is_ascii_control() {
        return None;
    }
    let base = PUNCTUATION_ORDER.len() as u32;
    match c {
        '0'..='9' => Some(base + (c as u32 - '0' as u32)),
        'a'..='z' | 'A'..='Z' => Some(base + 10 + (c.to_ascii_lowercase() as u32 - 'a' as u32)),
        _ => Some(base + 36 + c.to_lowercase().next().map_or(c as u32, |l| l as u32)),
    }
}

/// An approximation of JavaScript's `a.localeCompare(b)` in the root
/// locale, for ASCII text: punctuation < digits < letters, case ignored
/// unless everything else is equal, where lowercase comes first. Strings
/// that are still equal are ordered by their bytes, so the order is total.
pub fn locale_compare(a: &str, b: &str) -> Ordering {
    let weights = |s: &str| s.chars().filter_map(primary).collect::<Vec<_>>();
    let case = |s: &str| {
        s.chars()
            .filter(|c| primary(*c).is_some())
            .map(|c| c.is_uppercase())
            .collect::<Vec<_>>()
    };
    weights(a)
        .cmp(&weights(b))
        .then_with(|| case(a).cmp(&case(b)))
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    // ---- a tiny "caller": breadth-first resolution over fixture metadata ----

    /// Fixture metadata: `dependsOn` (key, options) and `installsAfter` keys.
    #[derive(Default, Clone)]
    struct Def {
        depends_on: Vec<(&'static str, Value)>,
        installs_after: Vec<&'static str>,
        legacy_ids: Vec<&'static str>,
    }

    struct Fixture {
        config_dir: PathBuf,
        defs: HashMap<String, Def>,
    }

    /// A stand-in manifest digest: one per resource, like a registry's.
    fn digest_of(resource: &str) -> String {
        format!("sha256:{resource}")
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                config_dir: PathBuf::from("/ws/.devcontainer"),
                defs: HashMap::new(),
            }
        }

        fn def(mut self, key: &str, def: Def) -> Self {
            let reference = FeatureRef::parse(key).unwrap();
            self.defs.insert(reference.resource(), def);
            self
        }

        fn source(&self, reference: &FeatureRef) -> Source {
            match reference {
                FeatureRef::Local { path } => Source::Local {
                    path: resolve_local(&self.config_dir, path).unwrap(),
                },
                FeatureRef::Oci { .. } => {
                    let resource = reference.resource();
                    let digest = digest_of(&resource);
                    Source::Oci {
                        resource,
                        tag: reference.tag().map(str::to_string),
                        digest,
                    }
                }
                FeatureRef::Tarball { url } => Source::Tarball { url: url.clone() },
            }
        }

        fn feature(&self, key: &str, options: &Value) -> (Feature, Def) {
            let reference = FeatureRef::parse(key).unwrap();
            let def = self
                .defs
                .get(&reference.resource())
                .cloned()
                .unwrap_or_default();
            let mut aliases = vec![reference.id().to_ascii_lowercase()];
            aliases.extend(def.legacy_ids.iter().map(|s| s.to_string()));
            let feature = Feature {
                source: self.source(&reference),
                user_id: key.to_string(),
                options: super::super::options::user_options(key, options).unwrap(),
                aliases,
            };
            (feature, def)
        }

        fn soft(&self, key: &str) -> SoftRef {
            SoftRef::from_reference(&FeatureRef::parse(key).unwrap(), &self.config_dir).unwrap()
        }

        /// The reference CLI's worklist: user features, then dependencies
        /// breadth-first.
        fn graph(&self, user: &[(&str, Value)]) -> Graph {
            let mut graph = Graph::new();
            let mut queue: std::collections::VecDeque<(String, Value, Option<NodeId>)> = user
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone(), None))
                .collect();
            while let Some((key, options, parent)) = queue.pop_front() {
                let (feature, def) = self.feature(&key, &options);
                let inserted = graph.insert(feature);
                if let Some(parent) = parent {
                    graph.add_depends_on(parent, inserted.id());
                }
                let Inserted::New(id) = inserted else {
                    continue;
                };
                for (dep, dep_options) in &def.depends_on {
                    queue.push_back((dep.to_string(), dep_options.clone(), Some(id)));
                }
                for soft in &def.installs_after {
                    graph.add_installs_after(id, self.soft(soft));
                }
            }
            graph
        }

        fn order(
            &self,
            user: &[(&str, Value)],
            overrides: &[&str],
        ) -> Result<Vec<(String, Value)>, OrderError> {
            let graph = self.graph(user);
            let overrides: Vec<SoftRef> = overrides.iter().map(|o| self.soft(o)).collect();
            let order = install_order(&graph, &overrides)?;
            Ok(order
                .into_iter()
                .map(|id| {
                    let f = graph.feature(id);
                    (f.user_id.clone(), Value::Object(f.options.clone()))
                })
                .collect())
        }
    }

    fn deps(list: &[(&'static str, Value)]) -> Def {
        Def {
            depends_on: list.to_vec(),
            ..Def::default()
        }
    }

    fn after(list: &[&'static str]) -> Def {
        Def {
            installs_after: list.to_vec(),
            ..Def::default()
        }
    }

    fn ids(order: &[(String, Value)]) -> Vec<&str> {
        order.iter().map(|(id, _)| id.as_str()).collect()
    }

    fn magic(n: &str) -> Value {
        json!({ "magicNumber": n })
    }

    // ---- the reference CLI's cases (containerFeaturesOrder.test.ts) ----

    #[test]
    fn installs_after_with_local_features() {
        let fx = Fixture::new().def("./a", after(&["./b", "./c"]));
        let order = fx
            .order(&[("./a", json!({})), ("./c", magic("321"))], &[])
            .unwrap();
        assert_eq!(
            order,
            [("./c".into(), magic("321")), ("./a".into(), json!({}))]
        );
    }

    #[test]
    fn installs_after_cycle_is_an_error_listing_it() {
        let fx = Fixture::new()
            .def("./a", after(&["./b"]))
            .def("./b", after(&["./c"]))
            .def("./c", after(&["./a"]));
        let err = fx
            .order(
                &[("./a", json!({})), ("./b", json!({})), ("./c", json!({}))],
                &[],
            )
            .unwrap_err();
        assert_eq!(
            err,
            OrderError::Cycle {
                cycle: vec!["./a".into(), "./b".into(), "./c".into(), "./a".into()]
            }
        );
        assert!(err.to_string().contains("./a → ./b → ./c → ./a"), "{err}");
    }

    #[test]
    fn depends_on_with_local_features() {
        let fx = Fixture::new().def("./a", deps(&[("./b", magic("50"))]));
        let order = fx.order(&[("./a", json!({}))], &[]).unwrap();
        assert_eq!(
            order,
            [("./b".into(), magic("50")), ("./a".into(), json!({}))]
        );
    }

    #[test]
    fn depends_on_rounds_sort_by_options() {
        let fx = Fixture::new()
            .def(
                "./a",
                deps(&[
                    ("./b", json!({ "optA": "a", "optB": "a" })),
                    ("./c", json!({})),
                ]),
            )
            .def(
                "./c",
                deps(&[
                    ("./b", json!({ "optA": "b", "optB": "a" })),
                    ("./d", json!({})),
                    ("./e", json!({})),
                ]),
            )
            .def("./d", deps(&[("./b", json!({ "optA": "b", "optB": "b" }))]))
            .def("./e", deps(&[("./b", json!({}))]));
        let user = [
            ("./a", json!({ "optA": "a", "optB": "b" })),
            ("./b", json!({ "optA": "a", "optB": "b" })),
        ];
        let order = fx.order(&user, &[]).unwrap();
        let expected: Vec<(String, Value)> = [
            ("./b", json!({})),
            ("./b", json!({ "optA": "a", "optB": "a" })),
            ("./b", json!({ "optA": "a", "optB": "b" })),
            ("./b", json!({ "optA": "b", "optB": "a" })),
            ("./b", json!({ "optA": "b", "optB": "b" })),
            ("./d", json!({})),
            ("./e", json!({})),
            ("./c", json!({})),
            ("./a", json!({ "optA": "a", "optB": "b" })),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(order, expected);
    }

    /// `ghcr.io/codspace/dependson/*` as published (metadata of a, b, c).
    fn codspace() -> Fixture {
        Fixture::new()
            .def(
                "ghcr.io/codspace/dependson/a",
                deps(&[("ghcr.io/codspace/dependson/E", magic("50"))]),
            )
            .def(
                "ghcr.io/codspace/dependson/b",
                deps(&[
                    ("ghcr.io/codspace/dependson/C", magic("20")),
                    ("ghcr.io/codspace/dependson/D", magic("30")),
                ]),
            )
            .def(
                "ghcr.io/codspace/dependson/c",
                deps(&[
                    ("ghcr.io/codspace/dependson/A", magic("40")),
                    ("ghcr.io/codspace/dependson/E", magic("50")),
                ]),
            )
    }

    #[test]
    fn depends_on_with_oci_features() {
        let fx = codspace();
        let user = [
            ("ghcr.io/codspace/dependson/b", magic("400")),
            ("ghcr.io/codspace/dependson/a", magic("10")),
        ];
        let order = fx.order(&user, &[]).unwrap();
        assert_eq!(
            order,
            [
                ("ghcr.io/codspace/dependson/D".into(), magic("30")),
                ("ghcr.io/codspace/dependson/E".into(), magic("50")),
                ("ghcr.io/codspace/dependson/a".into(), magic("10")),
                ("ghcr.io/codspace/dependson/A".into(), magic("40")),
                ("ghcr.io/codspace/dependson/C".into(), magic("20")),
                ("ghcr.io/codspace/dependson/b".into(), magic("400")),
            ]
        );
    }

    #[test]
    fn depends_on_with_tarball_and_oci_features() {
        const TGZ_A: &str = "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-A.tgz";
        const TGZ_B: &str = "https://github.com/codspace/tgz-features-with-dependson/releases/download/0.0.2/devcontainer-feature-B.tgz";
        let fx = codspace()
            .def(
                TGZ_A,
                deps(&[("ghcr.io/codspace/dependson/E", magic("50"))]),
            )
            .def(
                TGZ_B,
                deps(&[
                    ("ghcr.io/codspace/dependson/C", magic("20")),
                    ("ghcr.io/codspace/dependson/D", magic("30")),
                ]),
            );
        let order = fx
            .order(&[(TGZ_B, magic("400")), (TGZ_A, magic("10"))], &[])
            .unwrap();
        assert_eq!(
            order,
            [
                ("ghcr.io/codspace/dependson/D".into(), magic("30")),
                ("ghcr.io/codspace/dependson/E".into(), magic("50")),
                ("ghcr.io/codspace/dependson/A".into(), magic("40")),
                (TGZ_A.into(), magic("10")),
                ("ghcr.io/codspace/dependson/C".into(), magic("20")),
                (TGZ_B.into(), magic("400")),
            ]
        );
    }

    #[test]
    fn depends_on_cycle_is_an_error_listing_it() {
        let fx = Fixture::new()
            .def("./a", deps(&[("./b", json!({}))]))
            .def("./b", deps(&[("./c", magic("50"))]))
            .def("./c", deps(&[("./a", magic("50"))]));
        let err = fx.order(&[("./a", json!({}))], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "features depend on each other in a cycle: ./b → ./c → ./a {\"magicNumber\":\"50\"} → ./b; a dependsOn or installsAfter in one of them has to go"
        );
    }

    #[test]
    fn depends_on_and_installs_after_with_local_features() {
        let fx = Fixture::new().def(
            "./a",
            Def {
                installs_after: vec!["./b"],
                depends_on: vec![("./c", magic("321"))],
                ..Def::default()
            },
        );
        let order = fx.order(&[("./a", json!({}))], &[]).unwrap();
        assert_eq!(
            order,
            [("./c".into(), magic("321")), ("./a".into(), json!({}))]
        );
    }

    #[test]
    fn override_one_with_local_features() {
        let fx = Fixture::new().def(
            "./a",
            deps(&[("./b", json!({})), ("./c", json!({})), ("./d", json!({}))]),
        );
        let order = fx.order(&[("./a", json!({}))], &["./c"]).unwrap();
        assert_eq!(ids(&order), ["./c", "./b", "./d", "./a"]);
    }

    #[test]
    fn override_two_with_local_features() {
        let fx = Fixture::new()
            .def(
                "./a",
                Def {
                    depends_on: vec![("./b", json!({})), ("./d", json!({}))],
                    installs_after: vec!["./c"],
                    ..Def::default()
                },
            )
            .def("./b", deps(&[("./c", json!({}))]));
        let order = fx.order(&[("./a", json!({}))], &["./c", "./d"]).unwrap();
        assert_eq!(ids(&order), ["./c", "./d", "./b", "./a"]);
    }

    #[test]
    fn override_round_priority_beats_an_independent_feature() {
        let fx = Fixture::new().def("./b", deps(&[("./a", json!({}))]));
        let order = fx
            .order(
                &[("./b", json!({})), ("./c", json!({}))],
                &["./a", "./b", "./c"],
            )
            .unwrap();
        assert_eq!(ids(&order), ["./a", "./b", "./c"]);
    }

    #[test]
    fn override_with_mixed_feature_kinds() {
        let fx = codspace().def(
            "./a",
            deps(&[
                ("./b", json!({})),
                ("./c", json!({})),
                ("./d", json!({})),
                ("ghcr.io/codspace/dependson/b", magic("400")),
            ]),
        );
        let order = fx
            .order(
                &[("./a", json!({}))],
                &["ghcr.io/codspace/dependson/a", "./d"],
            )
            .unwrap();
        assert_eq!(
            ids(&order),
            [
                "./d",
                "./b",
                "./c",
                "ghcr.io/codspace/dependson/D",
                "ghcr.io/codspace/dependson/E",
                "ghcr.io/codspace/dependson/A",
                "ghcr.io/codspace/dependson/C",
                "ghcr.io/codspace/dependson/b",
                "./a",
            ]
        );
    }

    #[test]
    fn override_with_mixed_v2_feature_kinds() {
        const PY_DIGEST: &str =
            "sha256:675f3c93e52fa4b205827e3aae744905ae67951f70e3ec2611f766304b31f4a2";
        const DIND: &str = "https://github.com/codspace/features/releases/download/tarball02/devcontainer-feature-docker-in-docker.tgz";
        let py = format!("ghcr.io/devcontainers/features/python@{PY_DIGEST}");
        let py = py.as_str();
        let fx = Fixture::new();
        let user = [
            (py, json!({ "version": "none" })),
            (
                "ghcr.io/codspace/features/python:1",
                json!({ "version": "none" }),
            ),
            ("./localFeatureA", json!({ "greeting": "buongiorno" })),
            ("./localFeatureB", json!({ "greeting": "buongiorno" })),
            (DIND, json!({ "version": "latest" })),
        ];
        let order = fx
            .order(
                &user,
                &[
                    "./localFeatureA",
                    DIND,
                    "ghcr.io/devcontainers/features/python",
                ],
            )
            .unwrap();
        assert_eq!(
            ids(&order),
            [
                "./localFeatureA",
                DIND,
                py,
                "./localFeatureB",
                "ghcr.io/codspace/features/python:1"
            ]
        );
    }

    // ---- the spec's examples and rules ----

    #[test]
    fn spec_round_priorities_follow_the_override_array() {
        let fx = Fixture::new();
        let user = [
            ("./baz", json!({})),
            ("./bar", json!({})),
            ("./foo", json!({})),
        ];
        let graph = fx.graph(&user);
        let overrides: Vec<SoftRef> = ["./foo", "./bar", "./baz"]
            .iter()
            .map(|o| fx.soft(o))
            .collect();
        let prepared = prepare(&graph, &overrides);
        // baz, bar, foo were inserted in that order: priorities 1, 2, 3.
        assert_eq!(prepared.priority, [1, 2, 3]);
        assert_eq!(
            ids(&fx.order(&user, &["./foo", "./bar", "./baz"]).unwrap()),
            ["./foo", "./bar", "./baz"]
        );
        assert_eq!(
            ids(&fx.order(&user, &[]).unwrap()),
            ["./bar", "./baz", "./foo"]
        );
    }

    #[test]
    fn spec_depends_on_example() {
        const FIFTH: &str = "features.azurecr.io/x/fifth@sha256:a4cdc44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let fx = Fixture::new().def(
            "ghcr.io/x/myfeature",
            deps(&[
                ("ghcr.io/x/second:1", json!({ "flag": true })),
                ("features.azurecr.io/x/third:1", json!({})),
                ("features.azurecr.io/x/fourth:1.2.3", json!({})),
                (FIFTH, json!({})),
            ]),
        );
        let order = fx
            .order(&[("ghcr.io/x/myfeature", json!({}))], &[])
            .unwrap();
        assert_eq!(
            ids(&order),
            [
                FIFTH,
                "features.azurecr.io/x/fourth:1.2.3",
                "features.azurecr.io/x/third:1",
                "ghcr.io/x/second:1",
                "ghcr.io/x/myfeature"
            ]
        );
    }

    #[test]
    fn override_cannot_pull_a_feature_before_its_dependencies() {
        let fx = Fixture::new().def("./late", deps(&[("./early", json!({}))]));
        let order = fx.order(&[("./late", json!({}))], &["./late"]).unwrap();
        assert_eq!(ids(&order), ["./early", "./late"]);
    }

    #[test]
    fn installs_after_is_not_recursive_and_ignores_absent_features() {
        let fx = Fixture::new().def("./a", after(&["./missing"]));
        let graph = fx.graph(&[("./a", json!({}))]);
        assert_eq!(graph.len(), 1);
        assert_eq!(ids(&fx.order(&[("./a", json!({}))], &[]).unwrap()), ["./a"]);
    }

    #[test]
    fn installs_after_matches_any_tag_and_options() {
        let fx = Fixture::new().def("ghcr.io/x/f/app", after(&["ghcr.io/x/f/base"]));
        let user = [
            ("ghcr.io/x/f/app:2", json!({})),
            ("ghcr.io/x/f/base:1.2", json!({ "v": "1" })),
        ];
        assert_eq!(
            ids(&fx.order(&user, &[]).unwrap()),
            ["ghcr.io/x/f/base:1.2", "ghcr.io/x/f/app:2"]
        );
    }

    #[test]
    fn installs_after_honours_legacy_ids() {
        // `new` was renamed from `old`; `app` still says installsAfter old.
        let fx = Fixture::new()
            .def("ghcr.io/x/f/zapp", after(&["ghcr.io/x/f/old"]))
            .def(
                "ghcr.io/x/f/new",
                Def {
                    legacy_ids: vec!["old"],
                    ..Def::default()
                },
            );
        let user = [
            ("ghcr.io/x/f/zapp", json!({})),
            ("ghcr.io/x/f/new", json!({})),
        ];
        let graph = fx.graph(&user);
        let order = install_order(&graph, &[]).unwrap();
        assert_eq!(order.len(), 2);
        assert_eq!(graph.feature(order[0]).user_id, "ghcr.io/x/f/new");
        // Without the alias the two would sort by name: new before zapp
        // anyway, so check the edge directly.
        let prepared = prepare(&graph, &[]);
        assert_eq!(prepared.soft[0], [vec![1]]);
        // A different namespace does not match.
        let other = SoftRef::Oci {
            resource: "ghcr.io/y/f/old".into(),
            aliases: vec![],
        };
        assert!(!satisfies(graph.feature(order[0]), &other));
    }

    #[test]
    fn equal_features_are_merged_and_different_options_are_not() {
        let fx = Fixture::new()
            .def(
                "./a",
                deps(&[("./shared", json!({})), ("./shared", json!({}))]),
            )
            .def(
                "./b",
                deps(&[("./shared", json!({})), ("./shared", json!("2"))]),
            );
        let graph = fx.graph(&[("./a", json!({})), ("./b", json!({}))]);
        let shared: Vec<&Feature> = graph
            .ids()
            .map(|id| graph.feature(id))
            .filter(|f| f.user_id == "./shared")
            .collect();
        assert_eq!(shared.len(), 2);
        assert_eq!(
            shared[1].options,
            *json!({ "version": "2" }).as_object().unwrap()
        );
    }

    #[test]
    fn oci_equality_is_by_digest_and_options() {
        let mut graph = Graph::new();
        let feature = |user_id: &str, digest: &str| Feature {
            source: Source::Oci {
                resource: "ghcr.io/x/f/a".into(),
                tag: Some("1".into()),
                digest: digest.into(),
            },
            user_id: user_id.into(),
            options: Map::new(),
            aliases: vec![],
        };
        let first = graph.insert(feature("ghcr.io/x/f/a:1", "sha256:1"));
        assert!(matches!(first, Inserted::New(_)));
        let same = graph.insert(feature("ghcr.io/x/f/a:1.0", "sha256:1"));
        assert_eq!(same, Inserted::Existing(first.id()));
        assert!(matches!(
            graph.insert(feature("ghcr.io/x/f/a:2", "sha256:2")),
            Inserted::New(_)
        ));
    }

    #[test]
    fn tags_sort_oldest_first_with_latest_last() {
        // Same resource, different tags and digests: the tag decides.
        let mut graph = Graph::new();
        for tag in ["latest", "1.10", "1.9", "2"] {
            graph.insert(Feature {
                source: Source::Oci {
                    resource: "ghcr.io/x/f/t".into(),
                    tag: Some(tag.into()),
                    digest: digest_of(tag),
                },
                user_id: format!("ghcr.io/x/f/t:{tag}"),
                options: Map::new(),
                aliases: vec![],
            });
        }
        let order = install_order(&graph, &[]).unwrap();
        let tags: Vec<&str> = order
            .iter()
            .map(|id| graph.feature(*id).user_id.as_str())
            .collect();
        assert_eq!(
            tags,
            [
                "ghcr.io/x/f/t:1.9",
                "ghcr.io/x/f/t:1.10",
                "ghcr.io/x/f/t:2",
                "ghcr.io/x/f/t:latest"
            ]
        );
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        let fx = Fixture::new().def("./a", deps(&[("./a", json!({}))]));
        let err = fx.order(&[("./a", json!({}))], &[]).unwrap_err();
        assert_eq!(
            err,
            OrderError::Cycle {
                cycle: vec!["./a".into(), "./a".into()]
            }
        );
    }

    #[test]
    fn unmatched_overrides_are_reported() {
        let fx = Fixture::new();
        let graph = fx.graph(&[("./a", json!({}))]);
        let overrides = [fx.soft("./a"), fx.soft("ghcr.io/x/f/nope")];
        let unmatched = unmatched_overrides(&graph, &overrides);
        assert_eq!(unmatched, [&overrides[1]]);
    }

    #[test]
    fn locale_compare_imitates_javascript() {
        use Ordering::*;
        // Punctuation before digits before letters; case only breaks ties.
        assert_eq!(locale_compare("./b", "ghcr.io/a"), Less);
        assert_eq!(locale_compare("a", "B"), Less);
        assert_eq!(locale_compare("a", "A"), Less);
        assert_eq!(locale_compare("A", "b"), Less);
        assert_eq!(locale_compare("1", "a"), Less);
        assert_eq!(locale_compare("git-lfs@x", "git:1"), Less);
        assert_eq!(locale_compare("git:1.1.5", "github-cli"), Less);
        assert_eq!(locale_compare("x/E", "x/E:1"), Less);
        assert_eq!(locale_compare("a_b", "a-b"), Less);
        assert_eq!(locale_compare("same", "same"), Equal);
        let mut keys = vec![
            "https://github.com/x/devcontainer-feature-A.tgz",
            "ghcr.io/codspace/dependson/E:1",
            "ghcr.io/codspace/dependson/E",
            "ghcr.io/codspace/dependson/A:2",
        ];
        keys.sort_by(|a, b| locale_compare(a, b));
        assert_eq!(
            keys,
            [
                "ghcr.io/codspace/dependson/A:2",
                "ghcr.io/codspace/dependson/E",
                "ghcr.io/codspace/dependson/E:1",
                "https://github.com/x/devcontainer-feature-A.tgz",
            ]
        );
    }
}
