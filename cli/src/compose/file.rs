//! Docker Compose files → one merged project model, without an engine.
//!
//! [`load`] reads the files a dev container names in `dockerComposeFile` and
//! runs, per file, the steps the Compose specification describes:
//!
//! 1. parse the YAML (`yaml-rust2`), resolving anchors, aliases and `<<`
//!    merge keys (explicit keys win over merged ones, and among several merged
//!    mappings the first one wins, as the YAML merge-key type says);
//! 2. convert it to a [`serde_json::Value`] (non-string keys become their
//!    text, so `80: x` is the key `"80"`);
//! 3. interpolate `${VAR}` and friends in every string value (not in keys),
//!    with the process environment first and `<working_dir>/.env` second, as
//!    the spec's "Interpolation" section says;
//! 4. normalise the shapes callers rely on: a service's `environment`,
//!    `labels`, `build.args` and `build.labels` become mappings, `depends_on`
//!    becomes `{name: {condition: service_started}}`, `networks` becomes
//!    `{name: null}`;
//! 5. resolve `extends` in each service (the spec's "Extends" section): the
//!    base service comes from the same document (`extends: NAME`) or from
//!    another file (`extends: {file, service}`, the path relative to the
//!    folder of the file that names it), read through steps 1–4 with the same
//!    variables; only that service is taken from it, with its relative paths
//!    made absolute against its own folder. The extending service is merged
//!    over its base with the rules of step 6 (its `!reset` / `!override` tags
//!    included); chains work, and a cycle is an error naming it;
//! 6. merge it over the files before it with the spec's "Merge" rules (the
//!    table is `rule_for`), honouring the `!reset` and `!override` tags.
//!
//! Like `docker compose` (compose-go's `ApplyExtends`), step 5 runs per file
//! and per YAML document, before the files are merged: a service can only
//! extend one defined beside it or in the file `extends.file` names.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::{Map, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::config::workspace::absolute;

/// A loaded, interpolated and merged Compose project model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComposeDocument {
    /// The merged document (top-level mapping: services, volumes, networks, name, ...), with
    /// variables interpolated, `<<` merge keys applied and `extends` resolved (and removed).
    pub value: Value,
    /// The files, in order, as given.
    pub files: Vec<PathBuf>,
    /// Directory of the first file: relative paths (build contexts, bind-mount sources,
    /// env_file) resolve against it.
    pub working_dir: PathBuf,
    /// Variables read from `<working_dir>/.env` (see [`parse_dotenv`]).
    pub dotenv: BTreeMap<String, String>,
}

/// Why a set of Compose files cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ComposeFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// YAML syntax error: names file, 1-based line and column, and the message.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Anything else wrong with the content; `property` is a dotted path like
    /// `services.app.ports[0]`.
    #[error("{path}: {property}: {message}")]
    Invalid {
        path: String,
        property: String,
        message: String,
    },
    /// `${VAR:?message}` / `${VAR?message}` with VAR unset (or empty for `:?`).
    /// `message` ends with the property that needed the variable.
    #[error("{path}: required variable {name} is missing: {message}")]
    MissingVariable {
        path: String,
        name: String,
        message: String,
    },
}

/// A `${VAR:?message}` whose variable is missing, or a malformed `${...}`
/// (then `name` is the whole expression).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct InterpolateError {
    pub name: String,
    pub message: String,
}

/// Loads `files` in order into one project model; `env` is the process
/// environment, which wins over the `.env` file beside the first file.
///
/// An empty file, or one whose top level is not a mapping, is an error naming
/// the file; `services` missing everywhere gives an empty mapping.
pub fn load(
    files: &[PathBuf],
    env: &HashMap<String, String>,
) -> Result<ComposeDocument, ComposeFileError> {
    let Some(first) = files.first() else {
        return Err(ComposeFileError::Invalid {
            path: "(none)".to_owned(),
            property: "files".to_owned(),
            message: "no Compose file was given".to_owned(),
        });
    };
    let working_dir = working_dir_of(first);
    let dotenv = read_dotenv(&working_dir.join(".env"))?;
    let lookup = |name: &str| env.get(name).or_else(|| dotenv.get(name)).cloned();

    let mut extends = Extends {
        lookup: &lookup,
        files: HashMap::new(),
        chain: Vec::new(),
    };
    let mut merged = Map::new();
    for file in files {
        let display = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| ComposeFileError::Read {
            path: display.clone(),
            source,
        })?;
        for mut layer in read_layers(&text, &display, &lookup)? {
            extends.apply(&mut layer, file, &display)?;
            let Layer { value, tags } = layer;
            merge_mapping(&mut merged, value, &mut Vec::new(), &tags);
        }
    }
    if !merged.contains_key("services") {
        merged.insert("services".to_owned(), Value::Object(Map::new()));
    }
    check_volumes_declared(&merged, &first.display().to_string())?;
    Ok(ComposeDocument {
        value: Value::Object(merged),
        files: files.to_vec(),
        working_dir,
        dotenv,
    })
}

/// A service's named volume must be declared under the top-level
/// `volumes:`, as `docker compose` requires; otherwise a volume nobody
/// declared would be made and outlive `down --volumes` (reliability #13).
fn check_volumes_declared(merged: &Map<String, Value>, path: &str) -> Result<(), ComposeFileError> {
    let declared = merged.get("volumes").and_then(Value::as_object);
    let services = merged.get("services").and_then(Value::as_object);
    for (service, definition) in services.into_iter().flatten() {
        let Some(volumes) = definition.get("volumes").and_then(Value::as_array) else {
            continue;
        };
        for (index, volume) in volumes.iter().enumerate() {
            let source = match volume {
                Value::String(short) => short.split_once(':').map(|(source, _)| source.to_owned()),
                Value::Object(long)
                    if long.get("type").and_then(Value::as_str).unwrap_or("volume") == "volume" =>
                {
                    long.get("source")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }
                _ => None,
            };
            let Some(source) =
                source.filter(|s| !s.is_empty() && !s.starts_with(['.', '/', '~', '$']))
            else {
                continue;
            };
            if !declared.is_some_and(|d| d.contains_key(&source)) {
                return Err(ComposeFileError::Invalid {
                    path: path.to_owned(),
                    property: format!("services.{service}.volumes[{index}]"),
                    message: format!(
                        "service \"{service}\" uses the named volume \"{source}\", which is not declared in the top-level `volumes:`; add `{source}:` there (or use a path for a bind mount)"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Steps 1–4 for the text of one file: its documents, parsed, interpolated
/// and normalised.
fn read_layers(
    text: &str,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Layer>, ComposeFileError> {
    let mut layers = parse_layers(text, file)?;
    for layer in &mut layers {
        interpolate_tree(&mut layer.value, &mut PropertyPath::default(), file, lookup)?;
        normalize_services(&mut layer.value, file)?;
    }
    Ok(layers)
}

/// The folder of `file`, made absolute against the current directory when
/// that is known (no symbolic links are resolved: no I/O).
fn working_dir_of(file: &Path) -> PathBuf {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The variables of an optional `.env` file: absent means none.
fn read_dotenv(path: &Path) -> Result<BTreeMap<String, String>, ComposeFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_dotenv(&text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(ComposeFileError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Compose's project-name normalisation: lower-case, keep only `[a-z0-9_-]`,
/// and (like Compose, whose names must start with a letter or digit) drop
/// leading `_` and `-`.
pub fn normalize_project_name(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_owned()
}

// ---------------------------------------------------------------------------
// YAML → a tree that keeps what serde_json cannot: scalar style, tags, marks.

/// One parsed YAML node. Aliases are already expanded into copies.
#[derive(Debug, Clone)]
enum Node {
    Scalar {
        text: String,
        style: TScalarStyle,
        tag: Option<Tag>,
        mark: Marker,
    },
    Sequence {
        items: Vec<Node>,
        tag: Option<Tag>,
    },
    Mapping {
        entries: Vec<(Node, Node)>,
        tag: Option<Tag>,
    },
}

impl Node {
    fn tag(&self) -> Option<&Tag> {
        match self {
            Node::Scalar { tag, .. } | Node::Sequence { tag, .. } | Node::Mapping { tag, .. } => {
                tag.as_ref()
            }
        }
    }

    /// Nodes in this tree: what expanding an alias to it costs.
    fn size(&self) -> usize {
        match self {
            Node::Scalar { .. } => 1,
            Node::Sequence { items, .. } => 1 + items.iter().map(Node::size).sum::<usize>(),
            Node::Mapping { entries, .. } => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
        }
    }

    /// An empty document parses as one plain empty scalar.
    fn is_null(&self) -> bool {
        matches!(self, Node::Scalar { text, style: TScalarStyle::Plain, tag: None, .. }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }
}

/// Alias expansion copies trees; this bounds a "billion laughs" file.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// A container being filled while its events arrive.
struct Frame {
    mapping: bool,
    anchor: usize,
    tag: Option<Tag>,
    children: Vec<Node>,
}

/// Builds [`Node`] trees from parser events, one per YAML document.
#[derive(Default)]
struct TreeBuilder {
    frames: Vec<Frame>,
    root: Option<Node>,
    documents: Vec<Node>,
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    error: Option<(Marker, String)>,
}

impl TreeBuilder {
    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let size = node.size();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.frames.last_mut() {
            Some(frame) => frame.children.push(node),
            None => self.root = Some(node),
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart => self.anchors.clear(),
            Event::DocumentEnd => {
                if let Some(root) = self.root.take() {
                    self.documents.push(root);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node::Scalar {
                    text,
                    style,
                    tag,
                    mark,
                };
                self.finish(node, anchor);
            }
            Event::SequenceStart(anchor, tag) => self.frames.push(Frame {
                mapping: false,
                anchor,
                tag,
                children: Vec::new(),
            }),
            Event::MappingStart(anchor, tag) => self.frames.push(Frame {
                mapping: true,
                anchor,
                tag,
                children: Vec::new(),
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.frames.pop() else {
                    return;
                };
                let node = if frame.mapping {
                    let mut children = frame.children.into_iter();
                    let mut entries = Vec::new();
                    while let (Some(key), Some(value)) = (children.next(), children.next()) {
                        entries.push((key, value));
                    }
                    Node::Mapping {
                        entries,
                        tag: frame.tag,
                    }
                } else {
                    Node::Sequence {
                        items: frame.children,
                        tag: frame.tag,
                    }
                };
                self.finish(node, frame.anchor);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((node, size)) => {
                    self.alias_nodes += size;
                    if self.alias_nodes > MAX_ALIAS_NODES {
                        self.error = Some((mark, "aliases expand to too many nodes".to_owned()));
                    } else {
                        let node = node.clone();
                        self.finish(node, 0);
                    }
                }
                None => {
                    self.error = Some((mark, "the alias refers to an unknown anchor".to_owned()))
                }
            },
        }
    }
}

/// A syntax error at `mark` (yaml-rust2 lines are 1-based, columns 0-based).
fn syntax_error(file: &str, mark: &Marker, message: String) -> ComposeFileError {
    ComposeFileError::Syntax {
        path: file.to_owned(),
        line: mark.line(),
        column: mark.col() + 1,
        message,
    }
}

/// The non-empty YAML documents of `text`.
fn parse_yaml(text: &str, file: &str) -> Result<Vec<Node>, ComposeFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut builder = TreeBuilder::default();
    Parser::new_from_str(text)
        .load(&mut builder, true)
        .map_err(|error| syntax_error(file, error.marker(), error.info().to_owned()))?;
    if let Some((mark, message)) = builder.error {
        return Err(syntax_error(file, &mark, message));
    }
    Ok(builder
        .documents
        .into_iter()
        .filter(|node| !node.is_null())
        .collect())
}

// ---------------------------------------------------------------------------
// Tree → serde_json::Value, with merge keys applied and merge tags recorded.

/// The Compose tags that change how a value merges over earlier files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MergeTag {
    /// `!reset`: drop the earlier value (and this one).
    Reset,
    /// `!override`: replace the earlier value instead of merging with it.
    Override,
}

/// Mapping-key paths (`["services", "app", "ports"]`) carrying a merge tag.
type Tags = HashMap<Vec<String>, MergeTag>;

/// One YAML document of one file, converted.
struct Layer {
    value: Map<String, Value>,
    tags: Tags,
}

/// One step of a [`PropertyPath`].
#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in a document, shown as `services.app.ports[0]`.
#[derive(Debug, Clone, Default)]
struct PropertyPath(Vec<Segment>);

impl PropertyPath {
    fn key(&mut self, key: &str) -> &mut Self {
        self.0.push(Segment::Key(key.to_owned()));
        self
    }

    fn index(&mut self, index: usize) -> &mut Self {
        self.0.push(Segment::Index(index));
        self
    }

    fn pop(&mut self) {
        self.0.pop();
    }

    /// The keys, when no sequence index is on the way (merge tags live there).
    fn keys(&self) -> Option<Vec<String>> {
        self.0
            .iter()
            .map(|segment| match segment {
                Segment::Key(key) => Some(key.clone()),
                Segment::Index(_) => None,
            })
            .collect()
    }
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn invalid(file: &str, path: &PropertyPath, message: impl Into<String>) -> ComposeFileError {
    ComposeFileError::Invalid {
        path: file.to_owned(),
        property: path.to_string(),
        message: message.into(),
    }
}

/// Parses one file into its documents, each converted to a top-level mapping.
fn parse_layers(text: &str, file: &str) -> Result<Vec<Layer>, ComposeFileError> {
    let documents = parse_yaml(text, file)?;
    if documents.is_empty() {
        return Err(invalid(
            file,
            &PropertyPath::default(),
            "the file is empty; a Compose file is a mapping with keys such as `services`",
        ));
    }
    documents
        .iter()
        .map(|document| {
            if !matches!(document, Node::Mapping { .. }) {
                return Err(not_a_mapping(file));
            }
            let mut converter = Converter {
                file,
                tags: Tags::new(),
            };
            match converter.value(document, &mut PropertyPath::default())? {
                Value::Object(value) => Ok(Layer {
                    value,
                    tags: converter.tags,
                }),
                _ => Err(not_a_mapping(file)),
            }
        })
        .collect()
}

fn not_a_mapping(file: &str) -> ComposeFileError {
    let message = "a Compose file must be a mapping with keys such as `services`, \
                   not a list or a single value";
    invalid(file, &PropertyPath::default(), message)
}

struct Converter<'a> {
    file: &'a str,
    tags: Tags,
}

impl Converter<'_> {
    fn value(&mut self, node: &Node, path: &mut PropertyPath) -> Result<Value, ComposeFileError> {
        match node {
            Node::Scalar {
                text, style, tag, ..
            } => self.scalar(text, *style, tag.as_ref(), path),
            Node::Sequence { items, .. } => {
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    values.push(self.value(item, path.index(i))?);
                    path.pop();
                }
                Ok(Value::Array(values))
            }
            Node::Mapping { entries, .. } => {
                let mut map = Map::new();
                for (key, value) in self.entries(entries, path)? {
                    path.key(&key);
                    if let Some(tag) = value.tag().and_then(merge_tag)
                        && let Some(keys) = path.keys()
                    {
                        self.tags.insert(keys, tag);
                    }
                    let converted = self.value(value, path)?;
                    path.pop();
                    map.insert(key, converted);
                }
                Ok(Value::Object(map))
            }
        }
    }

    /// Resolves a scalar with the YAML 1.2 core schema, as yaml-rust2 does.
    fn scalar(
        &self,
        text: &str,
        style: TScalarStyle,
        tag: Option<&Tag>,
        path: &PropertyPath,
    ) -> Result<Value, ComposeFileError> {
        let core = tag
            .filter(|tag| tag.handle == "tag:yaml.org,2002:")
            .map(|tag| tag.suffix.as_str());
        let resolved = match core {
            Some("str") => return Ok(Value::String(text.to_owned())),
            Some(suffix @ ("int" | "float" | "bool" | "null")) => {
                let resolved = Yaml::from_str(text);
                let fits = matches!(
                    (suffix, &resolved),
                    ("int", Yaml::Integer(_))
                        | ("float", Yaml::Real(_) | Yaml::Integer(_))
                        | ("bool", Yaml::Boolean(_))
                        | ("null", Yaml::Null)
                );
                if !fits {
                    return Err(invalid(
                        self.file,
                        path,
                        format!("`{text}` is not a valid !!{suffix}"),
                    ));
                }
                resolved
            }
            _ if style != TScalarStyle::Plain => return Ok(Value::String(text.to_owned())),
            _ => Yaml::from_str(text),
        };
        Ok(match resolved {
            Yaml::Integer(i) => Value::from(i),
            Yaml::Real(real) => real
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(real.clone()), Value::Number),
            Yaml::Boolean(b) => Value::Bool(b),
            Yaml::Null => Value::Null,
            _ => Value::String(text.to_owned()),
        })
    }

    /// The entries of a mapping in order, with `<<` merge keys expanded:
    /// explicit keys win, then the first merged mapping that has a key.
    fn entries<'n>(
        &self,
        entries: &'n [(Node, Node)],
        path: &PropertyPath,
    ) -> Result<Vec<(String, &'n Node)>, ComposeFileError> {
        let mut explicit = HashSet::new();
        for (key, _) in entries {
            if is_merge_key(key) {
                continue;
            }
            let text = self.key_text(key, path)?;
            if !explicit.insert(text.clone()) {
                let message = format!("the key `{text}` appears twice in the same mapping");
                return Err(match key {
                    Node::Scalar { mark, .. } => syntax_error(self.file, mark, message),
                    _ => invalid(self.file, path, message),
                });
            }
        }
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if !is_merge_key(key) {
                let text = self.key_text(key, path)?;
                seen.insert(text.clone());
                out.push((text, value));
                continue;
            }
            let sources: Vec<&[(Node, Node)]> = match value {
                Node::Mapping { entries, .. } => vec![entries],
                Node::Sequence { items, .. } => items
                    .iter()
                    .map(|item| match item {
                        Node::Mapping { entries, .. } => Ok(entries.as_slice()),
                        _ => Err(self.bad_merge(path)),
                    })
                    .collect::<Result<_, _>>()?,
                Node::Scalar { .. } => return Err(self.bad_merge(path)),
            };
            for source in sources {
                for (text, value) in self.entries(source, path)? {
                    if !explicit.contains(&text) && seen.insert(text.clone()) {
                        out.push((text, value));
                    }
                }
            }
        }
        Ok(out)
    }

    fn key_text(&self, key: &Node, path: &PropertyPath) -> Result<String, ComposeFileError> {
        match key {
            Node::Scalar { text, .. } => Ok(text.clone()),
            _ => Err(invalid(
                self.file,
                path,
                "mapping keys must be single values, not lists or mappings",
            )),
        }
    }

    fn bad_merge(&self, path: &PropertyPath) -> ComposeFileError {
        invalid(
            self.file,
            path,
            "the merge key `<<` takes a mapping or a list of mappings, such as `<<: *defaults`",
        )
    }
}

/// `<<` written plainly is a merge key; quoted, it is an ordinary key.
fn is_merge_key(node: &Node) -> bool {
    matches!(node, Node::Scalar { text, style: TScalarStyle::Plain, .. } if text == "<<")
}

fn merge_tag(tag: &Tag) -> Option<MergeTag> {
    match (tag.handle.as_str(), tag.suffix.as_str()) {
        ("!", "reset") => Some(MergeTag::Reset),
        ("!", "override") => Some(MergeTag::Override),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Interpolation (Compose spec, "Interpolation").

/// Interpolates one string: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
/// empty → default), `${VAR-default}` (unset → default), `${VAR:?err}`,
/// `${VAR?err}`, `${VAR:+alt}` / `${VAR+alt}`, and `$$` → `$`.
///
/// Defaults and alternatives may contain `${...}` themselves; they are only
/// evaluated when used. An unset variable without a default becomes "". A `$`
/// not followed by a name, `{` or `$` stays as written. `lookup` returns a
/// variable's value, or `None` when it is unset. A malformed `${...}` is an
/// error whose `name` is the whole expression.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    substitute(text, lookup).map_err(|failure| match failure {
        Failure::Missing { name, message } => InterpolateError { name, message },
        Failure::Syntax {
            expression,
            message,
        } => InterpolateError {
            name: expression,
            message,
        },
    })
}

/// Why [`substitute`] failed; [`load`] reports the two differently.
enum Failure {
    Missing { name: String, message: String },
    Syntax { expression: String, message: String },
}

fn substitute(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Failure> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = closing_brace(body) else {
                return Err(Failure::Syntax {
                    expression: format!("${{{body}"),
                    message: "the `${` has no closing `}`".to_owned(),
                });
            };
            out.push_str(&expand_braced(&body[..end], lookup)?);
            rest = &body[end + 1..];
        } else {
            let len = name_len(after);
            if len > 0 {
                out.push_str(&lookup(&after[..len]).unwrap_or_default());
            } else {
                out.push('$');
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The byte length of the variable name `text` starts with
/// (`[A-Za-z_][A-Za-z0-9_]*`), 0 when it starts with none.
fn name_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => bytes
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .unwrap_or(bytes.len()),
        _ => 0,
    }
}

/// The index of the `}` closing a `${`, skipping nested `${...}` and `$$`.
fn closing_brace(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if matches!(bytes.get(i + 1), Some(b'$')) => i += 1,
            b'$' if matches!(bytes.get(i + 1), Some(b'{')) => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Expands the inside of one `${...}`.
fn expand_braced(body: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Failure> {
    let len = name_len(body);
    let syntax = |message: &str| Failure::Syntax {
        expression: format!("${{{body}}}"),
        message: message.to_owned(),
    };
    if len == 0 {
        return Err(syntax("a variable name must start with a letter or `_`"));
    }
    let name = &body[..len];
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let missing = |message: &str, default: &str| Failure::Missing {
        name: name.to_owned(),
        message: if message.is_empty() { default } else { message }.to_owned(),
    };
    let operator = &body[len..];
    let (op, argument) = ["}", ":-", "-", ":?", "?", ":+", "+"]
        .into_iter()
        .find_map(|op| operator.strip_prefix(op).map(|argument| (op, argument)))
        .unwrap_or(("", operator));
    match op {
        _ if operator.is_empty() => Ok(value.unwrap_or_default()),
        ":-" if non_empty => Ok(value.unwrap_or_default()),
        "-" if set => Ok(value.unwrap_or_default()),
        ":-" | "-" => substitute(argument, lookup),
        ":?" if non_empty => Ok(value.unwrap_or_default()),
        "?" if set => Ok(value.unwrap_or_default()),
        ":?" => Err(missing(argument, "it is unset or empty")),
        "?" => Err(missing(argument, "it is unset")),
        ":+" if non_empty => substitute(argument, lookup),
        "+" if set => substitute(argument, lookup),
        ":+" | "+" => Ok(String::new()),
        _ => Err(syntax(
            "expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+` after the variable name",
        )),
    }
}

/// Interpolates every string value below `value` (keys stay as written).
fn interpolate_tree(
    value: &mut Map<String, Value>,
    path: &mut PropertyPath,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ComposeFileError> {
    for (key, item) in value.iter_mut() {
        interpolate_value(item, path.key(key), file, lookup)?;
        path.pop();
    }
    Ok(())
}

fn interpolate_value(
    value: &mut Value,
    path: &mut PropertyPath,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ComposeFileError> {
    match value {
        Value::String(text) if text.contains('$') => {
            *text = substitute(text, lookup).map_err(|failure| match failure {
                Failure::Missing { name, message } => ComposeFileError::MissingVariable {
                    path: file.to_owned(),
                    name,
                    message: format!("{message} (needed by {path})"),
                },
                Failure::Syntax {
                    expression,
                    message,
                } => invalid(
                    file,
                    path,
                    format!("invalid interpolation `{expression}`: {message}"),
                ),
            })?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, path.index(i), file, lookup)?;
                path.pop();
            }
        }
        Value::Object(map) => interpolate_tree(map, path, file, lookup)?,
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Per-file normalisation: the shapes callers (and the merge) rely on.

/// Checks `services` and rewrites list forms to mapping forms in each service.
fn normalize_services(
    document: &mut Map<String, Value>,
    file: &str,
) -> Result<(), ComposeFileError> {
    let mut path = PropertyPath::default();
    path.key("services");
    let services = match document.get_mut("services") {
        None => return Ok(()),
        Some(Value::Object(services)) => services,
        Some(services @ Value::Null) => {
            *services = Value::Object(Map::new());
            return Ok(());
        }
        Some(_) => {
            return Err(invalid(
                file,
                &path,
                "must be a mapping of service names to services",
            ));
        }
    };
    for (name, service) in services.iter_mut() {
        path.key(name);
        let Value::Object(service) = service else {
            return Err(invalid(file, &path, "a service must be a mapping"));
        };
        for key in ["environment", "labels"] {
            if let Some(value) = service.get_mut(key) {
                *value = key_value_mapping(value, path.key(key), file)?;
                path.pop();
            }
        }
        if let Some(Value::Object(build)) = service.get_mut("build") {
            path.key("build");
            for key in ["args", "labels"] {
                if let Some(value) = build.get_mut(key) {
                    *value = key_value_mapping(value, path.key(key), file)?;
                    path.pop();
                }
            }
            path.pop();
        }
        if let Some(value) = service.get_mut("depends_on") {
            let started = || serde_json::json!({ "condition": "service_started" });
            *value = names_mapping(value, path.key("depends_on"), file, started)?;
            path.pop();
        }
        if let Some(value) = service.get_mut("networks") {
            *value = names_mapping(value, path.key("networks"), file, || Value::Null)?;
            path.pop();
        }
        if let Some(value) = service.get("volumes") {
            check_volumes(value, path.key("volumes"), file)?;
            path.pop();
        }
        path.pop();
    }
    Ok(())
}

/// `["KEY=VAL", "KEY"]` or `{KEY: VAL}` → `{KEY: "VAL" | null}`.
fn key_value_mapping(
    value: &Value,
    path: &mut PropertyPath,
    file: &str,
) -> Result<Value, ComposeFileError> {
    let mut map = Map::new();
    match value {
        Value::Null => {}
        Value::Object(entries) => {
            for (key, value) in entries {
                // Numbers and booleans stay as written: readers take them
                // as text, and Compose 1.29's config hash covers the YAML
                // type (see `hash`).
                let value = match value {
                    Value::Null | Value::String(_) | Value::Bool(_) | Value::Number(_) => {
                        value.clone()
                    }
                    Value::Array(_) | Value::Object(_) => {
                        let message = "must be a string, a number, a boolean or null";
                        return Err(invalid(file, path.key(key), message));
                    }
                };
                map.insert(key.clone(), value);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let text = match item {
                    Value::String(text) => text.clone(),
                    Value::Bool(_) | Value::Number(_) => item.to_string(),
                    _ => return Err(invalid(file, path.index(i), "must be a `KEY=VALUE` string")),
                };
                let (key, value) = match text.split_once('=') {
                    Some((key, value)) => (key.to_owned(), Value::String(value.to_owned())),
                    None => (text, Value::Null),
                };
                if key.is_empty() {
                    return Err(invalid(file, path.index(i), "has no name before `=`"));
                }
                map.insert(key, value);
            }
        }
        _ => {
            return Err(invalid(
                file,
                path,
                "must be a list of `KEY=VALUE` strings or a mapping",
            ));
        }
    }
    Ok(Value::Object(map))
}

/// `[a, b]` or `{a: ..., b: ...}` → a mapping, list items getting `item()`.
fn names_mapping(
    value: &Value,
    path: &mut PropertyPath,
    file: &str,
    item: impl Fn() -> Value,
) -> Result<Value, ComposeFileError> {
    match value {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(value.clone()),
        Value::Array(names) => {
            let mut map = Map::new();
            for (i, name) in names.iter().enumerate() {
                let Value::String(name) = name else {
                    return Err(invalid(file, path.index(i), "must be a name"));
                };
                map.insert(name.clone(), item());
            }
            Ok(Value::Object(map))
        }
        _ => Err(invalid(file, path, "must be a list of names or a mapping")),
    }
}

/// Every service volume must name its container target (the merge key).
fn check_volumes(
    value: &Value,
    path: &mut PropertyPath,
    file: &str,
) -> Result<(), ComposeFileError> {
    let items = match value {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        _ => return Err(invalid(file, path, "must be a list of volumes")),
    };
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(_) => {}
            Value::Object(volume) if matches!(volume.get("target"), Some(Value::String(_))) => {}
            Value::Object(_) => {
                return Err(invalid(
                    file,
                    path.index(i),
                    "a volume in long syntax needs a `target` path",
                ));
            }
            _ => {
                return Err(invalid(
                    file,
                    path.index(i),
                    "must be `source:target[:mode]`, a path, or a mapping with `target`",
                ));
            }
        }
    }
    Ok(())
}

/// The container path of a short-syntax volume `source:target[:mode]` or
/// `target`; a Windows drive letter (`C:\src:/dst`) stays with its path.
fn short_volume_target(spec: &str) -> &str {
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for segment in spec.split(':') {
        let segment_end = offset + segment.len();
        let is_drive = segment_end - start == 1 && segment.chars().all(|c| c.is_ascii_alphabetic());
        let next_is_path =
            spec[segment_end..].starts_with(":\\") || spec[segment_end..].starts_with(":/");
        if !(is_drive && next_is_path) {
            parts.push(&spec[start..segment_end]);
            start = segment_end + 1;
        }
        offset = segment_end + 1;
    }
    match parts.as_slice() {
        [only] => only,
        [_, target, ..] => target,
        [] => spec,
    }
}

// ---------------------------------------------------------------------------
// `extends` (Compose spec, "Extends"; compose-go `loader/extends.go`).

/// Where `extends` looks services up: one document of a file given to
/// [`load`], or the whole of a file named by `extends.file`.
struct Scope {
    /// The file, absolute: it identifies services in a chain, and
    /// `extends.file` is relative to its folder.
    file: PathBuf,
    /// How errors name the file.
    display: String,
    services: Map<String, Value>,
    tags: Tags,
}

/// One service whose `extends` is being resolved.
struct Link {
    file: PathBuf,
    display: String,
    service: String,
}

/// The base service an `extends` names.
struct Target {
    file: Option<String>,
    service: String,
}

/// Resolves `extends` for one [`load`].
struct Extends<'a> {
    /// The variables files named by `extends.file` are interpolated with.
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Files named by `extends.file`, read once each, by absolute path.
    files: HashMap<PathBuf, Rc<Scope>>,
    /// The services being resolved, the outermost first: a cycle shows here.
    chain: Vec<Link>,
}

impl Extends<'_> {
    /// Replaces every service of `layer` that has `extends` by the merge of
    /// its base and itself.
    fn apply(
        &mut self,
        layer: &mut Layer,
        file: &Path,
        display: &str,
    ) -> Result<(), ComposeFileError> {
        let Some(Value::Object(services)) = layer.value.get_mut("services") else {
            return Ok(());
        };
        if !services
            .values()
            .any(|service| service.get("extends").is_some())
        {
            return Ok(());
        }
        let scope = Scope {
            file: absolute(file),
            display: display.to_owned(),
            services: std::mem::take(services),
            tags: std::mem::take(&mut layer.tags),
        };
        // Each service resolves from the services as written, so the order
        // in which they are replaced does not matter.
        let mut resolved = Vec::new();
        for (name, service) in &scope.services {
            if service.get("extends").is_some() {
                resolved.push((name.clone(), self.resolve(&scope, name)?));
            }
        }
        let Scope {
            mut services, tags, ..
        } = scope;
        for (name, service) in resolved {
            services.insert(name, Value::Object(service));
        }
        layer
            .value
            .insert("services".to_owned(), Value::Object(services));
        layer.tags = tags;
        Ok(())
    }

    /// The service `name` of `scope` with its `extends` chain applied and the
    /// `extends` key removed.
    fn resolve(
        &mut self,
        scope: &Scope,
        name: &str,
    ) -> Result<Map<String, Value>, ComposeFileError> {
        let mut path = PropertyPath::default();
        path.key("services").key(name);
        let mut service = match scope.services.get(name) {
            Some(Value::Object(service)) => service.clone(),
            _ => {
                return Err(invalid(
                    &scope.display,
                    &path,
                    "a service must be a mapping",
                ));
            }
        };
        let Some(extends) = service.shift_remove("extends") else {
            return Ok(service);
        };
        path.key("extends");
        let target = extends_target(&extends, &scope.display, &mut path)?;
        if let Some(start) = self
            .chain
            .iter()
            .position(|link| link.file == scope.file && link.service == name)
        {
            return Err(self.cycle(start));
        }
        self.chain.push(Link {
            file: scope.file.clone(),
            display: scope.display.clone(),
            service: name.to_owned(),
        });
        let base = self.base(scope, &target, &path);
        self.chain.pop();
        let mut base = base?;
        // The extending service's `!reset` and `!override` apply to what it
        // inherits; its tagged values stay so that the merge over earlier
        // files applies the tags again.
        remove_tagged(&mut base, &scope.tags, name, |_| true);
        let mut at = vec!["services".to_owned(), name.to_owned()];
        merge_mapping(&mut base, service, &mut at, &Tags::new());
        Ok(base)
    }

    /// The resolved base service `target` names, from `scope` or another file.
    fn base(
        &mut self,
        scope: &Scope,
        target: &Target,
        path: &PropertyPath,
    ) -> Result<Map<String, Value>, ComposeFileError> {
        let Some(file) = &target.file else {
            if !scope.services.contains_key(&target.service) {
                let message = format!("service `{}` is not defined in this file", target.service);
                return Err(invalid(&scope.display, path, message));
            }
            let mut base = self.resolve(scope, &target.service)?;
            remove_tagged(&mut base, &scope.tags, &target.service, |tag| {
                tag == MergeTag::Reset
            });
            return Ok(base);
        };
        let folder = scope.file.parent().unwrap_or(Path::new(""));
        let other = self.read(&absolute(&folder.join(file)), &scope.display, path)?;
        if !other.services.contains_key(&target.service) {
            let message = format!(
                "service `{}` is not defined in {}",
                target.service, other.display
            );
            return Err(invalid(&scope.display, path, message));
        }
        let mut base = self.resolve(&other, &target.service)?;
        remove_tagged(&mut base, &other.tags, &target.service, |tag| {
            tag == MergeTag::Reset
        });
        rebase_paths(&mut base, other.file.parent().unwrap_or(Path::new("")));
        Ok(base)
    }

    /// The file `file` (absolute) as a scope: its documents read like a file
    /// given to [`load`] and merged, `extends` left for [`Self::resolve`].
    /// A file that cannot be read is an error at the `extends` naming it.
    fn read(
        &mut self,
        file: &Path,
        from: &str,
        path: &PropertyPath,
    ) -> Result<Rc<Scope>, ComposeFileError> {
        if let Some(scope) = self.files.get(file) {
            return Ok(Rc::clone(scope));
        }
        let display = file.display().to_string();
        let text = std::fs::read_to_string(file)
            .map_err(|error| invalid(from, path, format!("cannot read {display}: {error}")))?;
        let mut merged = Map::new();
        let mut tags = Tags::new();
        for Layer { value, tags: layer } in read_layers(&text, &display, self.lookup)? {
            merge_mapping(&mut merged, value, &mut Vec::new(), &layer);
            tags.extend(layer);
        }
        let services = match merged.shift_remove("services") {
            Some(Value::Object(services)) => services,
            _ => Map::new(),
        };
        let scope = Rc::new(Scope {
            file: file.to_path_buf(),
            display,
            services,
            tags,
        });
        self.files.insert(file.to_path_buf(), Rc::clone(&scope));
        Ok(scope)
    }

    /// The error for a chain that comes back to `self.chain[start]`.
    fn cycle(&self, start: usize) -> ComposeFileError {
        let first = &self.chain[start];
        let name = |link: &Link| {
            if link.file == first.file {
                link.service.clone()
            } else {
                format!("{} (in {})", link.service, link.display)
            }
        };
        let mut names: Vec<String> = self.chain[start..].iter().map(name).collect();
        names.push(first.service.clone());
        let mut path = PropertyPath::default();
        path.key("services").key(&first.service).key("extends");
        let message = format!("`extends` forms a cycle: {}", names.join(" -> "));
        invalid(&first.display, &path, message)
    }
}

/// `extends: NAME` or `extends: {service: NAME, file: PATH}`.
fn extends_target(
    extends: &Value,
    file: &str,
    path: &mut PropertyPath,
) -> Result<Target, ComposeFileError> {
    let entries = match extends {
        Value::String(service) => {
            return Ok(Target {
                file: None,
                service: service.clone(),
            });
        }
        Value::Object(entries) => entries,
        _ => {
            let message = "must be a service name or a mapping with `service` and optional `file`";
            return Err(invalid(file, path, message));
        }
    };
    if let Some(key) = entries
        .keys()
        .find(|key| !matches!(key.as_str(), "service" | "file"))
    {
        let message = format!("unknown key `{key}`; `extends` takes `service` and `file`");
        return Err(invalid(file, path, message));
    }
    let service = match entries.get("service") {
        Some(Value::String(service)) => service.clone(),
        _ => {
            return Err(invalid(
                file,
                path.key("service"),
                "must be the name of the service to extend",
            ));
        }
    };
    let file = match entries.get("file") {
        None | Some(Value::Null) => None,
        Some(Value::String(other)) => Some(other.clone()),
        Some(_) => return Err(invalid(file, path.key("file"), "must be a file path")),
    };
    Ok(Target { file, service })
}

/// Removes from the base of service `name` the attributes that `name` tags
/// in `tags` with a tag `selected` accepts (a tag on the service itself is
/// left to the merge over earlier files).
fn remove_tagged(
    base: &mut Map<String, Value>,
    tags: &Tags,
    name: &str,
    selected: impl Fn(MergeTag) -> bool,
) {
    for (path, tag) in tags {
        let [services, owner, keys @ ..] = path.as_slice() else {
            continue;
        };
        if services != "services" || owner != name || !selected(*tag) {
            continue;
        }
        remove_at(base, keys);
    }
}

/// Removes the value at the mapping-key path `keys`, when there is one.
fn remove_at(map: &mut Map<String, Value>, keys: &[String]) {
    match keys {
        [] => {}
        [last] => {
            map.shift_remove(last);
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(inner)) = map.get_mut(first) {
                remove_at(inner, rest);
            }
        }
    }
}

/// Makes the relative paths of a service taken from another file absolute
/// against that file's folder `dir`, so they keep naming what they named
/// there (compose-go's `paths.ResolveRelativePaths`, for one service): build
/// contexts (a missing one is `.`), `env_file`, `label_file`, and bind-mount
/// sources. Absolute paths, `~` paths, remote contexts and named volumes
/// stay as written.
fn rebase_paths(service: &mut Map<String, Value>, dir: &Path) {
    let rebase = |path: &mut String| {
        if !path.is_empty() && !path.starts_with('~') && !Path::new(path.as_str()).is_absolute() {
            *path = absolute(&dir.join(path.as_str()))
                .to_string_lossy()
                .into_owned();
        }
    };
    let rebase_context = |context: &mut String| {
        let remote = context.contains("://")
            || context.starts_with("service:")
            || ["github.com/", "git@"]
                .iter()
                .any(|prefix| context.starts_with(prefix));
        if !remote {
            rebase(context);
        }
    };
    match service.get_mut("build") {
        Some(Value::String(context)) => rebase_context(context),
        Some(Value::Object(build)) => {
            match build.get_mut("context") {
                Some(Value::String(context)) => rebase_context(context),
                None | Some(Value::Null) => {
                    let context = dir.to_string_lossy().into_owned();
                    build.insert("context".to_owned(), Value::String(context));
                }
                Some(_) => {}
            }
            match build.get_mut("additional_contexts") {
                Some(Value::Object(contexts)) => {
                    for context in contexts.values_mut() {
                        if let Value::String(context) = context {
                            rebase_context(context);
                        }
                    }
                }
                Some(Value::Array(contexts)) => {
                    for context in contexts {
                        let Value::String(entry) = context else {
                            continue;
                        };
                        if let Some((key, value)) = entry.split_once('=') {
                            let mut value = value.to_owned();
                            rebase_context(&mut value);
                            *entry = format!("{key}={value}");
                        }
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
    for key in ["env_file", "label_file"] {
        match service.get_mut(key) {
            Some(Value::String(file)) => rebase(file),
            Some(Value::Array(files)) => {
                for file in files {
                    match file {
                        Value::String(file) => rebase(file),
                        Value::Object(entry) => {
                            if let Some(Value::String(file)) = entry.get_mut("path") {
                                rebase(file);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let Some(Value::Array(volumes)) = service.get_mut("volumes") else {
        return;
    };
    for volume in volumes {
        match volume {
            // In short syntax a source is a path when it starts with `.`,
            // `/` or `~`; anything else names a volume.
            Value::String(spec) if spec.starts_with('.') => {
                if let Some((source, rest)) = spec.split_once(':') {
                    let mut source = source.to_owned();
                    rebase(&mut source);
                    *spec = format!("{source}:{rest}");
                }
            }
            Value::Object(volume) if volume.get("type").and_then(Value::as_str) == Some("bind") => {
                if let Some(Value::String(source)) = volume.get_mut("source") {
                    rebase(source);
                }
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Merging files (Compose spec, "Merge").

/// How one attribute merges with the same attribute of an earlier file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Mappings merge recursively, sequences append, other values replace.
    Generic,
    /// The later value replaces the earlier one (shell commands).
    Replace,
    /// Concatenated, then identical entries removed.
    Concat,
    /// Mappings (normalised already) whose later keys win, even with `null`.
    KeyValue,
    /// Unique by container target; a later volume replaces an earlier one.
    Volumes,
    /// `build: ctx` is `build: {context: ctx}`.
    Build,
}

/// The rule for the attribute at `path` (mapping keys from the top).
fn rule_for(path: &[String]) -> Rule {
    match path {
        [services, _, attribute] if services == "services" => match attribute.as_str() {
            "command" | "entrypoint" => Rule::Replace,
            "ports" | "expose" | "external_links" | "dns" | "dns_search" | "tmpfs" | "cap_add"
            | "cap_drop" | "security_opt" | "env_file" | "devices" | "extra_hosts" => Rule::Concat,
            "environment" | "labels" => Rule::KeyValue,
            "volumes" => Rule::Volumes,
            "build" => Rule::Build,
            _ => Rule::Generic,
        },
        [services, _, healthcheck, test]
            if services == "services" && healthcheck == "healthcheck" && test == "test" =>
        {
            Rule::Replace
        }
        [services, _, build, key]
            if services == "services" && build == "build" && (key == "args" || key == "labels") =>
        {
            Rule::KeyValue
        }
        _ => Rule::Generic,
    }
}

/// Merges the mapping `overlay` (from a later file) into `base`; `path` is
/// where they sit, `tags` the later file's `!reset` / `!override` tags.
fn merge_mapping(
    base: &mut Map<String, Value>,
    overlay: Map<String, Value>,
    path: &mut Vec<String>,
    tags: &Tags,
) {
    for (key, value) in overlay {
        path.push(key.clone());
        match tags.get(path.as_slice()) {
            Some(MergeTag::Reset) => {
                base.shift_remove(&key);
            }
            Some(MergeTag::Override) => {
                base.insert(key, value);
            }
            None => {
                let earlier = base.get_mut(&key).map(Value::take);
                let merged = merge_value(earlier, value, path, tags);
                base.insert(key, merged);
            }
        }
        path.pop();
    }
}

/// Merges one attribute of a later file over the same attribute of the
/// earlier ones (`None` when they do not have it), following [`rule_for`].
fn merge_value(base: Option<Value>, overlay: Value, path: &mut Vec<String>, tags: &Tags) -> Value {
    let rule = rule_for(path);
    let base = match base {
        Some(base) => base,
        // Nothing to merge with, but the tags nested in a mapping still apply
        // (a list attribute keeps the shape it was written in).
        None if overlay.is_object() && rule != Rule::Concat => Value::Object(Map::new()),
        None => return overlay,
    };
    match (rule, base, overlay) {
        (Rule::Replace, _, overlay) => overlay,
        (_, base, Value::Null) => base,
        (Rule::Concat, base, overlay) => {
            let mut merged = Vec::new();
            for item in into_list(base).into_iter().chain(into_list(overlay)) {
                if !merged.contains(&item) {
                    merged.push(item);
                }
            }
            Value::Array(merged)
        }
        (Rule::KeyValue, Value::Object(mut base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                path.push(key.clone());
                if tags.get(path.as_slice()) == Some(&MergeTag::Reset) {
                    base.shift_remove(&key);
                } else {
                    base.insert(key, value);
                }
                path.pop();
            }
            Value::Object(base)
        }
        (Rule::Volumes, Value::Array(mut base), Value::Array(overlay)) => {
            for volume in overlay {
                let target = volume_key(&volume);
                match base
                    .iter()
                    .position(|earlier| volume_key(earlier) == target)
                {
                    Some(i) => base[i] = volume,
                    None => base.push(volume),
                }
            }
            Value::Array(base)
        }
        (Rule::Build, Value::String(context), overlay @ Value::Object(_)) => {
            let base = serde_json::json!({ "context": context });
            merge_value(Some(base), overlay, path, tags)
        }
        (Rule::Build, base @ Value::Object(_), Value::String(context)) => {
            let overlay = serde_json::json!({ "context": context });
            merge_value(Some(base), overlay, path, tags)
        }
        (_, Value::Object(mut base), Value::Object(overlay)) => {
            merge_mapping(&mut base, overlay, path, tags);
            Value::Object(base)
        }
        (_, Value::Array(mut base), Value::Array(overlay)) => {
            base.extend(overlay);
            Value::Array(base)
        }
        (_, _, overlay) => overlay,
    }
}

/// A list attribute as a list: one string is a list of one; a mapping
/// (`extra_hosts: {host: ip}`) becomes `host=ip` entries.
fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        Value::Object(map) => map
            .into_iter()
            .flat_map(|(key, value)| match value {
                Value::Null => vec![Value::String(key)],
                Value::Array(values) => values
                    .iter()
                    .map(|value| Value::String(format!("{key}={}", plain_text(value))))
                    .collect(),
                value => vec![Value::String(format!("{key}={}", plain_text(&value)))],
            })
            .collect(),
        value => vec![value],
    }
}

/// A scalar's text without JSON quotes.
fn plain_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        value => value.to_string(),
    }
}

/// What makes two service volumes the same: the container target.
fn volume_key(volume: &Value) -> String {
    match volume {
        Value::String(spec) => short_volume_target(spec).to_owned(),
        Value::Object(map) => match map.get("target") {
            Some(Value::String(target)) => target.clone(),
            _ => volume.to_string(),
        },
        _ => volume.to_string(),
    }
}

// ---------------------------------------------------------------------------
// `.env` files.

/// Parses a `.env` file's text: `KEY=VALUE` lines; blank lines and `#`
/// comments are skipped; an `export ` prefix is allowed; single-quoted values
/// are literal, double-quoted ones understand `\n`, `\r`, `\t`, `\\` and `\"`;
/// both may span lines. An unquoted value ends at ` #` (a comment) and is
/// trimmed. Lines without `=` are ignored.
pub fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vars = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        let raw = raw.trim_start();
        let value = if let Some(quoted) = raw.strip_prefix('"') {
            quoted_value(quoted, '"', &mut lines)
        } else if let Some(quoted) = raw.strip_prefix('\'') {
            quoted_value(quoted, '\'', &mut lines)
        } else {
            unquoted_value(raw)
        };
        vars.insert(key.to_owned(), value);
    }
    vars
}

/// The value after an opening `quote`, continuing on the next lines until
/// the closing one (or the end of the file); text after it is ignored.
fn quoted_value<'a>(
    first: &'a str,
    quote: char,
    lines: &mut impl Iterator<Item = &'a str>,
) -> String {
    let mut value = String::new();
    let mut line = first;
    loop {
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                c if c == quote => return value,
                '\\' if quote == '"' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some('t') => value.push('\t'),
                    Some(c @ ('\\' | '"')) => value.push(c),
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => value.push('\\'),
                },
                c => value.push(c),
            }
        }
        match lines.next() {
            Some(next) => {
                value.push('\n');
                line = next;
            }
            None => return value,
        }
    }
}

fn unquoted_value(raw: &str) -> String {
    let end = raw
        .char_indices()
        .find(|&(i, c)| c == '#' && raw[..i].ends_with(char::is_whitespace))
        .map_or(raw.len(), |(i, _)| i);
    raw[..end].trim().to_owned()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_service_volume_must_be_declared_at_the_top_level() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docker-compose.yml");
        let service = "services:\n  app:\n    image: x\n    volumes:\n      - undeclared:/data\n      - ./src:/src\n      - /abs:/abs\n      - /anon\n";
        std::fs::write(&file, service).unwrap();
        let err = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("services.app.volumes[0]"), "{text}");
        assert!(
            text.contains("\"undeclared\", which is not declared"),
            "{text}"
        );
        std::fs::write(&file, format!("{service}volumes:\n  undeclared:\n")).unwrap();
        assert!(load(std::slice::from_ref(&file), &HashMap::new()).is_ok());
        let long = "services:\n  app:\n    image: x\n    volumes:\n      - type: volume\n        source: data\n        target: /d\n";
        std::fs::write(&file, long).unwrap();
        let err = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        assert!(err.to_string().contains("\"data\""), "{err}");
    }
    use super::*;
    use crate::testutil::TempDir;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn interp(text: &str, pairs: &[(&str, &str)]) -> Result<String, InterpolateError> {
        let env = vars(pairs);
        interpolate(text, &|name| env.get(name).cloned())
    }

    /// Loads one file named `compose.yaml` with `contents`.
    fn load_one(contents: &str, env: &[(&str, &str)]) -> Result<ComposeDocument, ComposeFileError> {
        let dir = TempDir::new();
        let file = dir.write("compose.yaml", contents);
        load(&[file], &vars(env))
    }

    fn service(document: &ComposeDocument, name: &str) -> Value {
        document.value["services"][name].clone()
    }

    // --- interpolation ---------------------------------------------------

    #[test]
    fn interpolates_plain_and_braced_variables() {
        let env = [("A", "1"), ("B_2", "two")];
        assert_eq!(interp("$A-${B_2}-$A$B_2", &env).unwrap(), "1-two-1two");
        assert_eq!(interp("x${A}y", &env).unwrap(), "x1y");
        assert_eq!(interp("$MISSING|${MISSING}", &env).unwrap(), "|");
    }

    #[test]
    fn name_ends_at_first_non_name_character() {
        assert_eq!(interp("$A.b $A-b", &[("A", "x")]).unwrap(), "x.b x-b");
        assert_eq!(interp("$AB", &[("A", "x")]).unwrap(), "");
    }

    #[test]
    fn double_dollar_is_a_literal_dollar() {
        assert_eq!(
            interp("$$A $${A} $$$A", &[("A", "x")]).unwrap(),
            "$A ${A} $x"
        );
    }

    #[test]
    fn lone_dollar_stays_literal() {
        assert_eq!(
            interp("cost: 5$ or $1 or $-", &[]).unwrap(),
            "cost: 5$ or $1 or $-"
        );
    }

    #[test]
    fn colon_dash_default_applies_to_unset_and_empty() {
        let env = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(interp("${SET:-d}", &env).unwrap(), "v");
        assert_eq!(interp("${EMPTY:-d}", &env).unwrap(), "d");
        assert_eq!(interp("${UNSET:-d}", &env).unwrap(), "d");
        assert_eq!(interp("${UNSET:-}", &env).unwrap(), "");
    }

    #[test]
    fn dash_default_applies_to_unset_only() {
        let env = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(interp("${SET-d}", &env).unwrap(), "v");
        assert_eq!(interp("${EMPTY-d}", &env).unwrap(), "");
        assert_eq!(interp("${UNSET-d}", &env).unwrap(), "d");
    }

    #[test]
    fn defaults_may_nest() {
        let env = [("B", "b")];
        assert_eq!(interp("${A:-${B}}", &env).unwrap(), "b");
        assert_eq!(interp("${A:-${C:-${B}-x}}", &env).unwrap(), "b-x");
        assert_eq!(interp("${A:-pre $B post}", &env).unwrap(), "pre b post");
        assert_eq!(interp("${A:-$$B}", &env).unwrap(), "$B");
    }

    #[test]
    fn unused_default_is_not_evaluated() {
        assert_eq!(interp("${A:-${B:?never}}", &[("A", "a")]).unwrap(), "a");
    }

    #[test]
    fn colon_question_fails_on_unset_or_empty() {
        let env = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(interp("${SET:?need it}", &env).unwrap(), "v");
        let error = interp("${EMPTY:?need it}", &env).unwrap_err();
        assert_eq!(
            error,
            InterpolateError {
                name: "EMPTY".into(),
                message: "need it".into()
            }
        );
        assert_eq!(interp("${UNSET:?need it}", &env).unwrap_err().name, "UNSET");
        assert_eq!(
            interp("${UNSET:?}", &env).unwrap_err().message,
            "it is unset or empty"
        );
    }

    #[test]
    fn question_fails_on_unset_only() {
        let env = [("EMPTY", "")];
        assert_eq!(interp("${EMPTY?need it}", &env).unwrap(), "");
        let error = interp("${UNSET?need it}", &env).unwrap_err();
        assert_eq!(
            (error.name.as_str(), error.message.as_str()),
            ("UNSET", "need it")
        );
    }

    #[test]
    fn plus_gives_alternative_when_set() {
        let env = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(interp("${SET:+alt}", &env).unwrap(), "alt");
        assert_eq!(interp("${EMPTY:+alt}", &env).unwrap(), "");
        assert_eq!(interp("${UNSET:+alt}", &env).unwrap(), "");
        assert_eq!(interp("${SET+alt}", &env).unwrap(), "alt");
        assert_eq!(interp("${EMPTY+alt}", &env).unwrap(), "alt");
        assert_eq!(interp("${UNSET+alt}", &env).unwrap(), "");
        assert_eq!(interp("${SET:+[$SET]}", &env).unwrap(), "[v]");
    }

    #[test]
    fn malformed_braces_are_errors() {
        assert_eq!(interp("${A", &[]).unwrap_err().name, "${A");
        assert_eq!(interp("${1A}", &[]).unwrap_err().name, "${1A}");
        assert_eq!(interp("${}", &[]).unwrap_err().name, "${}");
        assert_eq!(interp("${A*b}", &[]).unwrap_err().name, "${A*b}");
    }

    #[test]
    fn non_ascii_text_passes_through() {
        assert_eq!(
            interp("héllo ${A:-wörld} €$", &[]).unwrap(),
            "héllo wörld €$"
        );
    }

    // --- .env ------------------------------------------------------------

    #[test]
    fn dotenv_parses_comments_export_and_quotes() {
        let text = "\
# a comment
   
PLAIN=value
SPACED = padded value  
export EXPORTED=yes
INLINE=kept # dropped
HASH=a#b
SINGLE='single $x \\n # kept'
DOUBLE=\"line1\\nline2 \\\"q\\\" # kept\"
EMPTY=
NOVALUE
EQUALS=a=b
";
        let vars = parse_dotenv(text);
        let expected: BTreeMap<String, String> = [
            ("PLAIN", "value"),
            ("SPACED", "padded value"),
            ("EXPORTED", "yes"),
            ("INLINE", "kept"),
            ("HASH", "a#b"),
            ("SINGLE", "single $x \\n # kept"),
            ("DOUBLE", "line1\nline2 \"q\" # kept"),
            ("EMPTY", ""),
            ("EQUALS", "a=b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(vars, expected);
    }

    #[test]
    fn dotenv_quoted_values_may_span_lines() {
        let vars = parse_dotenv("KEY=\"first\nsecond\"\nNEXT='a\nb' trailing\nLAST=1\n");
        assert_eq!(vars["KEY"], "first\nsecond");
        assert_eq!(vars["NEXT"], "a\nb");
        assert_eq!(vars["LAST"], "1");
    }

    #[test]
    fn dotenv_fills_in_what_the_process_environment_lacks() {
        let dir = TempDir::new();
        dir.write(".env", "IMAGE=from-dotenv\nTAG=dotenv-tag\n");
        let file = dir.write(
            "compose.yaml",
            "services:\n  app:\n    image: ${IMAGE}:${TAG}\n",
        );
        let document = load(&[file], &vars(&[("TAG", "env-tag")])).unwrap();
        assert_eq!(service(&document, "app")["image"], "from-dotenv:env-tag");
        assert_eq!(document.dotenv["IMAGE"], "from-dotenv");
        assert_eq!(document.working_dir, dir.path());
    }

    // --- YAML conversion -------------------------------------------------

    #[test]
    fn scalars_keep_their_yaml_types() {
        let yaml = "\
services:
  app:
    x-int: 8080
    x-float: 1.5
    x-bool: true
    x-null: ~
    x-quoted: \"8080\"
    x-str: !!str 42
    x-inf: .inf
    x-yes: yes
    x-hex: 0x10
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        assert_eq!(app["x-int"], json!(8080));
        assert_eq!(app["x-float"], json!(1.5));
        assert_eq!(app["x-bool"], json!(true));
        assert_eq!(app["x-null"], Value::Null);
        assert_eq!(app["x-quoted"], json!("8080"));
        assert_eq!(app["x-str"], json!("42"));
        assert_eq!(app["x-inf"], json!(".inf"));
        assert_eq!(app["x-yes"], json!("yes"));
        assert_eq!(app["x-hex"], json!(16));
    }

    #[test]
    fn non_string_keys_become_their_text() {
        let document = load_one("x-map:\n  80: http\n  true: yes\n  1.5: x\n", &[]).unwrap();
        assert_eq!(
            document.value["x-map"],
            json!({"80": "http", "true": "yes", "1.5": "x"})
        );
    }

    #[test]
    fn keys_are_not_interpolated_but_values_are() {
        let document = load_one(
            "x-${A}:\n  k: ${A}\n  list: [$A, \"${A}\"]\n",
            &[("A", "v")],
        )
        .unwrap();
        assert_eq!(
            document.value["x-${A}"],
            json!({"k": "v", "list": ["v", "v"]})
        );
    }

    #[test]
    fn merge_keys_apply_anchors_and_explicit_keys_win() {
        let yaml = "\
x-base: &base
  image: base
  restart: always
  environment:
    FROM_BASE: '1'
x-extra: &extra
  restart: never
  user: extra
services:
  app:
    <<: [*base, *extra]
    image: mine
  db:
    <<: *base
    user: db
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        assert_eq!(app["image"], "mine");
        assert_eq!(app["restart"], "always", "the first merged mapping wins");
        assert_eq!(app["user"], "extra");
        assert_eq!(app["environment"], json!({"FROM_BASE": "1"}));
        assert!(app.get("<<").is_none());
        let db = service(&document, "db");
        assert_eq!(
            (db["image"].as_str(), db["user"].as_str()),
            (Some("base"), Some("db"))
        );
    }

    #[test]
    fn nested_merge_keys_and_quoted_merge_key() {
        let yaml = "\
x-a: &a {one: 1}
x-b: &b {<<: *a, two: 2}
x-c:
  <<: *b
  '<<': literal
";
        let document = load_one(yaml, &[]).unwrap();
        assert_eq!(
            document.value["x-c"],
            json!({"one": 1, "two": 2, "<<": "literal"})
        );
    }

    #[test]
    fn merge_key_with_a_scalar_is_invalid() {
        let error = load_one("services:\n  app:\n    <<: 3\n", &[]).unwrap_err();
        match error {
            ComposeFileError::Invalid {
                property, message, ..
            } => {
                assert_eq!(property, "services.app");
                assert!(message.contains("<<"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn aliases_copy_sequences_and_scalars() {
        let document = load_one(
            "x-a: &ports ['80:80']\nx-b: *ports\nx-c: &v hi\nx-d: *v\n",
            &[],
        )
        .unwrap();
        assert_eq!(document.value["x-b"], json!(["80:80"]));
        assert_eq!(document.value["x-d"], json!("hi"));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            let items = vec![format!("*a{p}"); 10].join(", ");
            yaml.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let error = load_one(&yaml, &[]).unwrap_err();
        assert!(
            matches!(error, ComposeFileError::Syntax { .. }),
            "{error:?}"
        );
    }

    // --- errors ----------------------------------------------------------

    #[test]
    fn syntax_error_names_file_and_one_based_position() {
        let dir = TempDir::new();
        let file = dir.write("compose.yaml", "services:\n  app:\n    image: [unclosed\n");
        let error = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        let ComposeFileError::Syntax {
            path,
            line,
            column,
            message,
        } = &error
        else {
            panic!("unexpected {error:?}");
        };
        assert_eq!(path, &file.display().to_string());
        assert!(*line >= 3, "line {line}");
        assert!(*column >= 1);
        assert!(!message.is_empty());
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}:{line}:{column}: ", file.display()))
        );
    }

    #[test]
    fn syntax_error_position_is_exact() {
        // A mapping entry among list items is rejected at its key `b`.
        let error = load_one("x:\n  - a\n  b: 2\n", &[]).unwrap_err();
        let ComposeFileError::Syntax { line, column, .. } = error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!((line, column), (3, 3));
        // `key: value: x` is rejected at the second `:`.
        let error = load_one("name: a: b\n", &[]).unwrap_err();
        let ComposeFileError::Syntax { line, column, .. } = error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!((line, column), (1, 8));
    }

    #[test]
    fn duplicate_keys_are_syntax_errors_at_the_second_key() {
        let error = load_one("services:\n  app:\n    image: a\n    image: b\n", &[]).unwrap_err();
        let ComposeFileError::Syntax {
            line,
            column,
            message,
            ..
        } = error
        else {
            panic!("unexpected {error:?}");
        };
        assert_eq!((line, column), (4, 5));
        assert!(message.contains("`image`"), "{message}");
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        for text in ["- a\n- b\n", "just text\n"] {
            let error = load_one(text, &[]).unwrap_err();
            let ComposeFileError::Invalid { path, property, .. } = &error else {
                panic!("unexpected {error:?}");
            };
            assert!(path.ends_with("compose.yaml"), "{path}");
            assert_eq!(property, "(top level)");
        }
    }

    #[test]
    fn empty_file_is_invalid() {
        for text in ["", "# only a comment\n", "---\n"] {
            let error = load_one(text, &[]).unwrap_err();
            assert!(
                matches!(&error, ComposeFileError::Invalid { path, message, .. }
                    if path.ends_with("compose.yaml") && message.contains("empty")),
                "{error:?}"
            );
        }
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let dir = TempDir::new();
        let error = load(&[dir.path().join("absent.yaml")], &HashMap::new()).unwrap_err();
        assert!(
            matches!(&error, ComposeFileError::Read { path, .. } if path.ends_with("absent.yaml"))
        );
    }

    #[test]
    fn required_variable_error_names_file_variable_and_property() {
        let error =
            load_one("services:\n  app:\n    image: ${IMAGE:?set IMAGE}\n", &[]).unwrap_err();
        let ComposeFileError::MissingVariable {
            path,
            name,
            message,
        } = &error
        else {
            panic!("unexpected {error:?}");
        };
        assert!(path.ends_with("compose.yaml"));
        assert_eq!(name, "IMAGE");
        assert_eq!(message, "set IMAGE (needed by services.app.image)");
    }

    #[test]
    fn malformed_interpolation_is_invalid_at_its_property() {
        let error = load_one("services:\n  app:\n    ports: ['${PORT']\n", &[]).unwrap_err();
        let ComposeFileError::Invalid { property, .. } = &error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!(property, "services.app.ports[0]");
    }

    #[test]
    fn wrong_shapes_are_invalid_with_their_property() {
        let cases = [
            ("services: [a]\n", "services"),
            ("services:\n  app: text\n", "services.app"),
            (
                "services:\n  app:\n    environment: text\n",
                "services.app.environment",
            ),
            (
                "services:\n  app:\n    environment: [{A: 1}]\n",
                "services.app.environment[0]",
            ),
            (
                "services:\n  app:\n    labels: {a: [1]}\n",
                "services.app.labels.a",
            ),
            (
                "services:\n  app:\n    depends_on: [1]\n",
                "services.app.depends_on[0]",
            ),
            (
                "services:\n  app:\n    networks: net\n",
                "services.app.networks",
            ),
            (
                "services:\n  app:\n    volumes: [{source: x}]\n",
                "services.app.volumes[0]",
            ),
        ];
        for (text, expected) in cases {
            let error = load_one(text, &[]).unwrap_err();
            let ComposeFileError::Invalid { property, .. } = &error else {
                panic!("{text}: unexpected {error:?}");
            };
            assert_eq!(property, expected, "{text}");
        }
    }

    #[test]
    fn no_files_is_invalid() {
        assert!(matches!(
            load(&[], &HashMap::new()),
            Err(ComposeFileError::Invalid { .. })
        ));
    }

    // --- normalisation ---------------------------------------------------

    #[test]
    fn services_default_to_an_empty_mapping() {
        let document = load_one("name: demo\nvolumes:\n  data: {}\n", &[]).unwrap();
        assert_eq!(document.value["services"], json!({}));
        assert_eq!(document.value["name"], "demo");
    }

    #[test]
    fn environment_and_labels_become_mappings() {
        let yaml = "\
services:
  app:
    environment:
      - A=1
      - B=
      - C
      - D=x=y
    labels:
      n: 1
      b: true
      s: text
      z: null
    build:
      context: .
      args: [V=1]
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        assert_eq!(
            app["environment"],
            json!({"A": "1", "B": "", "C": null, "D": "x=y"})
        );
        assert_eq!(
            app["labels"],
            json!({"n": 1, "b": true, "s": "text", "z": null})
        );
        assert_eq!(app["build"]["args"], json!({"V": "1"}));
    }

    #[test]
    fn depends_on_and_networks_become_mappings() {
        let yaml = "\
services:
  app:
    depends_on: [db, cache]
    networks: [front, back]
  worker:
    depends_on:
      db: {condition: service_healthy}
    networks:
      front: {aliases: [w]}
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        let started = json!({"condition": "service_started"});
        assert_eq!(app["depends_on"], json!({"db": started, "cache": started}));
        assert_eq!(app["networks"], json!({"front": null, "back": null}));
        let worker = service(&document, "worker");
        assert_eq!(
            worker["depends_on"],
            json!({"db": {"condition": "service_healthy"}})
        );
        assert_eq!(worker["networks"], json!({"front": {"aliases": ["w"]}}));
    }

    #[test]
    fn normalize_project_name_keeps_compose_characters() {
        assert_eq!(normalize_project_name("My Proj_1-x"), "myproj_1-x");
        assert_eq!(normalize_project_name("__Dév.Container"), "dvcontainer");
        assert_eq!(normalize_project_name("-_-"), "");
    }

    #[test]
    fn short_volume_targets() {
        assert_eq!(short_volume_target("/data"), "/data");
        assert_eq!(short_volume_target("./src:/app"), "/app");
        assert_eq!(short_volume_target("cache:/cache:ro"), "/cache");
        assert_eq!(short_volume_target("C:\\src:/app:rw"), "/app");
        assert_eq!(short_volume_target("c:/src:/app"), "/app");
    }

    // --- merging ---------------------------------------------------------

    /// Writes the files to one folder and loads them in order.
    fn load_many(contents: &[&str]) -> ComposeDocument {
        let dir = TempDir::new();
        let files: Vec<PathBuf> = contents
            .iter()
            .enumerate()
            .map(|(i, text)| dir.write(&format!("compose{i}.yaml"), text))
            .collect();
        let document = load(&files, &HashMap::new()).unwrap();
        assert_eq!(document.files, files);
        assert_eq!(document.working_dir, dir.path());
        document
    }

    #[test]
    fn merges_two_files_by_compose_rules() {
        let base = "\
name: first
services:
  app:
    image: app:1
    command: [run, --old]
    ports: ['8080:80', '9000:9000']
    environment: [A=1, B=2]
    volumes:
      - ./src:/app
      - data:/data
      - type: volume
        source: cache
        target: /cache
    healthcheck:
      test: [CMD, old]
      interval: 5s
volumes:
  data: {}
";
        let overlay = "\
name: second
services:
  app:
    image: app:2
    command: [serve]
    ports: ['8080:80', '3000:3000']
    environment:
      B: '3'
      C: '4'
    volumes:
      - ./other:/app:ro
      - /logs
      - type: bind
        source: ./cache
        target: /cache
    healthcheck:
      test: [CMD, new]
  db:
    image: postgres
volumes:
  logs: {}
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        assert_eq!(document.value["name"], "second");
        assert_eq!(app["image"], "app:2");
        assert_eq!(app["command"], json!(["serve"]));
        assert_eq!(app["ports"], json!(["8080:80", "9000:9000", "3000:3000"]));
        assert_eq!(app["environment"], json!({"A": "1", "B": "3", "C": "4"}));
        assert_eq!(
            app["volumes"],
            json!([
                "./other:/app:ro",
                "data:/data",
                {"type": "bind", "source": "./cache", "target": "/cache"},
                "/logs"
            ])
        );
        assert_eq!(
            app["healthcheck"],
            json!({"test": ["CMD", "new"], "interval": "5s"})
        );
        assert_eq!(service(&document, "db")["image"], "postgres");
        assert_eq!(document.value["volumes"], json!({"data": {}, "logs": {}}));
    }

    #[test]
    fn command_and_entrypoint_are_replaced_even_by_strings() {
        let document = load_many(&[
            "services:\n  app:\n    command: [a, b]\n    entrypoint: [x]\n",
            "services:\n  app:\n    command: c\n    entrypoint: []\n",
        ]);
        let app = service(&document, "app");
        assert_eq!(app["command"], "c");
        assert_eq!(app["entrypoint"], json!([]));
    }

    #[test]
    fn list_attributes_concatenate_and_dedupe() {
        let base = "\
services:
  app:
    dns: 8.8.8.8
    cap_add: [SYS_PTRACE]
    extra_hosts: ['a=1.1.1.1']
    env_file: [.env.base]
";
        let overlay = "\
services:
  app:
    dns: [8.8.8.8, 1.1.1.1]
    cap_add: [SYS_PTRACE, NET_ADMIN]
    extra_hosts: {b: 2.2.2.2}
    env_file: .env.local
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        assert_eq!(app["dns"], json!(["8.8.8.8", "1.1.1.1"]));
        assert_eq!(app["cap_add"], json!(["SYS_PTRACE", "NET_ADMIN"]));
        assert_eq!(app["extra_hosts"], json!(["a=1.1.1.1", "b=2.2.2.2"]));
        assert_eq!(app["env_file"], json!([".env.base", ".env.local"]));
    }

    #[test]
    fn other_sequences_append_and_mappings_merge() {
        let base = "\
services:
  app:
    profiles: [dev]
    deploy: {resources: {limits: {cpus: '1'}}}
";
        let overlay = "\
services:
  app:
    profiles: [test]
    deploy: {resources: {limits: {memory: 1g}}}
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        assert_eq!(app["profiles"], json!(["dev", "test"]));
        assert_eq!(
            app["deploy"],
            json!({"resources": {"limits": {"cpus": "1", "memory": "1g"}}})
        );
    }

    #[test]
    fn depends_on_labels_and_networks_merge_as_mappings() {
        let base = "\
services:
  app:
    depends_on: [db]
    networks: [front]
    labels: [a=1, b=2]
";
        let overlay = "\
services:
  app:
    depends_on:
      cache: {condition: service_healthy}
    networks:
      back: {}
    labels: [b=3]
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        let started = json!({"condition": "service_started"});
        let healthy = json!({"condition": "service_healthy"});
        assert_eq!(app["depends_on"], json!({"db": started, "cache": healthy}));
        assert_eq!(app["networks"], json!({"front": null, "back": {}}));
        assert_eq!(app["labels"], json!({"a": "1", "b": "3"}));
    }

    #[test]
    fn environment_key_without_value_wins_over_earlier_value() {
        let document = load_many(&[
            "services:\n  app:\n    environment: {A: '1'}\n",
            "services:\n  app:\n    environment: [A]\n",
        ]);
        assert_eq!(service(&document, "app")["environment"], json!({"A": null}));
    }

    #[test]
    fn null_in_a_later_file_keeps_the_earlier_value() {
        let document = load_many(&[
            "services:\n  app:\n    image: a\n",
            "services:\n  app:\n    image:\n",
        ]);
        assert_eq!(service(&document, "app")["image"], "a");
    }

    #[test]
    fn build_string_merges_with_build_mapping() {
        let document = load_many(&[
            "services:\n  app:\n    build: ./dir\n",
            "services:\n  app:\n    build:\n      dockerfile: Dev.Dockerfile\n      args: {A: 1}\n",
        ]);
        assert_eq!(
            service(&document, "app")["build"],
            json!({"context": "./dir", "dockerfile": "Dev.Dockerfile", "args": {"A": 1}})
        );
    }

    #[test]
    fn reset_and_override_tags_apply_when_merging() {
        let base = "\
services:
  app:
    image: a
    ports: ['80:80']
    environment: {A: '1', B: '2'}
    deploy: {resources: {limits: {cpus: '1'}}}
";
        let overlay = "\
services:
  app:
    ports: !reset []
    environment:
      A: !reset
    deploy: !override {replicas: 2}
";
        let document = load_many(&[base, overlay]);
        let app = service(&document, "app");
        assert!(app.get("ports").is_none(), "{app}");
        assert_eq!(app["environment"], json!({"B": "2"}));
        assert_eq!(app["deploy"], json!({"replicas": 2}));
        assert_eq!(app["image"], "a");
    }

    #[test]
    fn tags_apply_in_the_first_file_too() {
        let document = load_one(
            "services:\n  app:\n    environment:\n      A: !reset x\n      B: y\n",
            &[],
        )
        .unwrap();
        assert_eq!(service(&document, "app")["environment"], json!({"B": "y"}));
    }

    #[test]
    fn several_documents_in_one_file_merge_in_order() {
        let yaml = "\
services:
  app:
    image: a
    ports: ['1:1']
---
services:
  app:
    ports: ['2:2']
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        assert_eq!(app["image"], "a");
        assert_eq!(app["ports"], json!(["1:1", "2:2"]));
    }

    #[test]
    fn each_file_is_interpolated_before_merging() {
        let dir = TempDir::new();
        dir.write(".env", "TAG=dot\n");
        let first = dir.write("a.yaml", "services:\n  app:\n    image: img:${TAG}\n");
        let second = dir.write(
            "b.yaml",
            "services:\n  app:\n    environment:\n      - TAG=$TAG\n      - OTHER=${OTHER:-x}\n",
        );
        let document = load(&[first, second], &vars(&[("OTHER", "env")])).unwrap();
        let app = service(&document, "app");
        assert_eq!(app["image"], "img:dot");
        assert_eq!(app["environment"], json!({"TAG": "dot", "OTHER": "env"}));
    }

    // --- extends ---------------------------------------------------------

    /// The file, property and message of an [`ComposeFileError::Invalid`].
    fn invalid_parts(error: ComposeFileError) -> (String, String, String) {
        match error {
            ComposeFileError::Invalid {
                path,
                property,
                message,
            } => (path, property, message),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn extends_a_service_of_the_same_file_by_name() {
        let yaml = "\
services:
  base:
    image: base:1
    environment: [A=1, B=2]
    ports: ['80:80']
    command: [run, --base]
    depends_on: [db]
  app:
    extends: base
    environment:
      B: '3'
      C: '4'
    ports: ['81:81', '80:80']
    command: serve
  db:
    image: postgres
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        assert_eq!(
            app,
            json!({
                "image": "base:1",
                "environment": {"A": "1", "B": "3", "C": "4"},
                "ports": ["80:80", "81:81"],
                "command": "serve",
                "depends_on": {"db": {"condition": "service_started"}},
            })
        );
        let base = service(&document, "base");
        assert_eq!(base["environment"], json!({"A": "1", "B": "2"}));
        assert_eq!(base["command"], json!(["run", "--base"]));
    }

    #[test]
    fn extends_mapping_form_merges_volumes_and_build() {
        let yaml = "\
services:
  base:
    build: ./app
    volumes: ['./src:/src', 'data:/data']
    labels: {a: '1'}
  app:
    extends:
      service: base
    build:
      dockerfile: Dev.Dockerfile
    volumes: ['./other:/src:ro', '/logs']
    labels: [b=2]
volumes:
  data:
";
        let document = load_one(yaml, &[]).unwrap();
        let app = service(&document, "app");
        assert!(app.get("extends").is_none(), "{app}");
        assert_eq!(
            app["build"],
            json!({"context": "./app", "dockerfile": "Dev.Dockerfile"})
        );
        assert_eq!(
            app["volumes"],
            json!(["./other:/src:ro", "data:/data", "/logs"])
        );
        assert_eq!(app["labels"], json!({"a": "1", "b": "2"}));
    }

    #[test]
    fn extends_another_file_takes_one_service_and_rebases_its_paths() {
        let dir = TempDir::new();
        let root = dir.path();
        dir.write(".devcontainer/.env", "TAG=from-dotenv\n");
        dir.write(
            "common/services.yaml",
            "\
services:
  web:
    image: web:${TAG}
    build: ./web
    env_file: .env.web
    environment: [FROM=base]
    volumes:
      - ./src:/app
      - ../shared:/shared:ro
      - data:/data
      - /abs:/abs
      - type: bind
        source: ./config
        target: /config
      - type: volume
        source: cache
        target: /cache
  unrelated:
    image: unrelated
volumes:
  data: {name: from-the-other-file}
",
        );
        let file = dir.write(
            ".devcontainer/compose.yaml",
            "\
services:
  app:
    extends:
      file: ../common/services.yaml
      service: web
    environment: [OWN=1]
    volumes: ['./local:/local', './mine:/app']
volumes:
  data: {}
  cache: {}
",
        );
        let document = load(&[file], &HashMap::new()).unwrap();
        let common = root.join("common");
        let at = |path: &str| common.join(path).display().to_string();
        let app = service(&document, "app");
        assert_eq!(app["image"], "web:from-dotenv");
        assert_eq!(app["build"], json!(at("web")));
        assert_eq!(app["env_file"], json!(at(".env.web")));
        assert_eq!(app["environment"], json!({"FROM": "base", "OWN": "1"}));
        assert_eq!(
            app["volumes"],
            json!([
                "./mine:/app",
                format!("{}:/shared:ro", root.join("shared").display()),
                "data:/data",
                "/abs:/abs",
                {"type": "bind", "source": at("config"), "target": "/config"},
                {"type": "volume", "source": "cache", "target": "/cache"},
                "./local:/local",
            ])
        );
        let services = document.value["services"].as_object().unwrap();
        assert_eq!(services.keys().collect::<Vec<_>>(), ["app"]);
        // Only the service comes from the other file, not its volumes.
        assert_eq!(
            document.value["volumes"],
            json!({"data": {}, "cache": {}}),
            "{}",
            document.value
        );
        assert_eq!(document.working_dir, root.join(".devcontainer"));
    }

    #[test]
    fn rebasing_covers_every_path_form_and_keeps_the_rest() {
        let rebased = |service: Value| {
            let mut service = service;
            rebase_paths(service.as_object_mut().unwrap(), Path::new("/base/dir"));
            service
        };
        let service = rebased(json!({
            "build": {
                "dockerfile": "Dockerfile",
                "additional_contexts": {"a": "../a", "b": "docker-image://alpine"},
            },
            "env_file": ["one.env", {"path": "./two.env"}, "/abs.env", "~/home.env"],
            "label_file": "./labels",
        }));
        assert_eq!(
            service["build"],
            json!({
                "dockerfile": "Dockerfile",
                "additional_contexts": {"a": "/base/a", "b": "docker-image://alpine"},
                "context": "/base/dir",
            }),
            "a missing context is the base file's folder"
        );
        assert_eq!(
            service["env_file"],
            json!([
                "/base/dir/one.env",
                {"path": "/base/dir/two.env"},
                "/abs.env",
                "~/home.env"
            ])
        );
        assert_eq!(service["label_file"], "/base/dir/labels");

        let volumes = json!([
            "./x:/x",
            "..:/up:ro",
            ".:/here",
            "~/h:/h",
            "vol:/v",
            "/anon",
            {"type": "bind", "source": "rel", "target": "/r"},
            {"type": "volume", "source": "named", "target": "/n"},
        ]);
        assert_eq!(
            rebased(json!({ "volumes": volumes }))["volumes"],
            json!([
                "/base/dir/x:/x",
                "/base:/up:ro",
                "/base/dir:/here",
                "~/h:/h",
                "vol:/v",
                "/anon",
                {"type": "bind", "source": "/base/dir/rel", "target": "/r"},
                {"type": "volume", "source": "named", "target": "/n"},
            ])
        );

        for remote in [
            "https://github.com/a/b.git",
            "git@github.com:a/b",
            "github.com/a/b",
            "/abs",
        ] {
            assert_eq!(rebased(json!({ "build": remote }))["build"], remote);
        }
        let service = rebased(json!({"build": {
            "context": "../ctx",
            "additional_contexts": ["a=./a", "b=https://x/y", "c=service:c"],
        }}));
        assert_eq!(
            service["build"],
            json!({
                "context": "/base/ctx",
                "additional_contexts": ["a=/base/dir/a", "b=https://x/y", "c=service:c"],
            })
        );
    }

    #[test]
    fn extends_chains_of_three_in_one_file() {
        let yaml = "\
services:
  a:
    extends: b
    environment: {A: a}
  b:
    extends: {service: c}
    environment: {A: b, B: b}
    ports: ['2:2']
  c:
    image: c
    environment: {A: c, B: c, C: c}
    ports: ['3:3']
";
        let document = load_one(yaml, &[]).unwrap();
        let a = service(&document, "a");
        assert_eq!(a["image"], "c");
        assert_eq!(a["environment"], json!({"A": "a", "B": "b", "C": "c"}));
        assert_eq!(a["ports"], json!(["3:3", "2:2"]));
        let b = service(&document, "b");
        assert_eq!(b["environment"], json!({"A": "b", "B": "b", "C": "c"}));
        assert!(b.get("extends").is_none());
    }

    #[test]
    fn extends_chains_across_files_relative_to_each_file() {
        let dir = TempDir::new();
        dir.write(
            "lib/two/two.yaml",
            "services:\n  two:\n    build: .\n    environment: {LEVEL: two, TWO: '2'}\n",
        );
        dir.write(
            "lib/one.yaml",
            "\
services:
  one:
    extends: {file: two/two.yaml, service: two}
    environment: {LEVEL: one}
    env_file: one.env
",
        );
        let file = dir.write(
            "compose.yaml",
            "services:\n  app:\n    extends: {file: lib/one.yaml, service: one}\n",
        );
        let document = load(&[file], &HashMap::new()).unwrap();
        let app = service(&document, "app");
        let lib = dir.path().join("lib");
        assert_eq!(app["build"], json!(lib.join("two").display().to_string()));
        assert_eq!(
            app["env_file"],
            json!(lib.join("one.env").display().to_string())
        );
        assert_eq!(app["environment"], json!({"LEVEL": "one", "TWO": "2"}));
    }

    #[test]
    fn extends_cycles_are_errors_naming_the_chain() {
        let cases = [
            (
                "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
                "services.a.extends",
                "a -> b -> a",
            ),
            (
                "services:\n  a:\n    extends: a\n",
                "services.a.extends",
                "a -> a",
            ),
            (
                "services:\n  c: {extends: a}\n  a: {extends: b}\n  b: {extends: {service: a}}\n",
                "services.a.extends",
                "a -> b -> a",
            ),
        ];
        for (yaml, expected_property, chain) in cases {
            let (path, property, message) = invalid_parts(load_one(yaml, &[]).unwrap_err());
            assert!(path.ends_with("compose.yaml"), "{path}");
            assert_eq!(property, expected_property, "{yaml}");
            assert!(message.ends_with(&format!("cycle: {chain}")), "{message}");
        }
    }

    #[test]
    fn extends_cycles_across_files_name_the_other_file() {
        let dir = TempDir::new();
        let other = dir.write(
            "other.yaml",
            "services:\n  y:\n    extends: {file: compose.yaml, service: x}\n",
        );
        let file = dir.write(
            "compose.yaml",
            "services:\n  x:\n    extends: {file: other.yaml, service: y}\n",
        );
        let error = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        let (path, property, message) = invalid_parts(error);
        assert_eq!(path, file.display().to_string());
        assert_eq!(property, "services.x.extends");
        assert!(
            message.ends_with(&format!("x -> y (in {}) -> x", other.display())),
            "{message}"
        );
    }

    #[test]
    fn extends_of_a_missing_service_or_file_is_an_error_at_the_property() {
        let (path, property, message) =
            invalid_parts(load_one("services:\n  app:\n    extends: nope\n", &[]).unwrap_err());
        assert!(path.ends_with("compose.yaml"), "{path}");
        assert_eq!(property, "services.app.extends");
        assert!(message.contains("`nope` is not defined"), "{message}");

        let dir = TempDir::new();
        let base = dir.write("base.yaml", "services:\n  web:\n    image: web\n");
        let file = dir.write(
            "compose.yaml",
            "\
services:
  app:
    extends: {file: base.yaml, service: nope}
  tool:
    extends: {file: absent.yaml, service: web}
",
        );
        let error = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        let (path, property, message) = invalid_parts(error);
        assert_eq!(path, file.display().to_string());
        assert_eq!(property, "services.app.extends");
        assert!(
            message.contains(&format!("`nope` is not defined in {}", base.display())),
            "{message}"
        );

        dir.write(
            "compose.yaml",
            "services:\n  tool:\n    extends: {file: absent.yaml, service: web}\n",
        );
        let error = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        let (path, property, message) = invalid_parts(error);
        assert_eq!(path, file.display().to_string());
        assert_eq!(property, "services.tool.extends");
        let absent = dir.path().join("absent.yaml");
        assert!(
            message.starts_with(&format!("cannot read {}: ", absent.display())),
            "{message}"
        );
    }

    #[test]
    fn errors_inside_an_extended_file_name_that_file() {
        let dir = TempDir::new();
        let base = dir.write(
            "base.yaml",
            "services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n",
        );
        let file = dir.write(
            "compose.yaml",
            "services:\n  app:\n    extends: {file: base.yaml, service: web}\n",
        );
        let error = load(std::slice::from_ref(&file), &HashMap::new()).unwrap_err();
        assert!(
            matches!(&error, ComposeFileError::MissingVariable { path, name, .. }
                if *path == base.display().to_string() && name == "IMAGE"),
            "{error:?}"
        );
    }

    #[test]
    fn malformed_extends_is_invalid_at_its_property() {
        let cases = [
            ("extends: 3", "services.app.extends"),
            ("extends: [base]", "services.app.extends"),
            (
                "extends: {file: other.yaml}",
                "services.app.extends.service",
            ),
            (
                "extends: {service: base, file: 1}",
                "services.app.extends.file",
            ),
            ("extends: {service: base, other: x}", "services.app.extends"),
        ];
        for (extends, expected) in cases {
            let yaml = format!("services:\n  base:\n    image: b\n  app:\n    {extends}\n");
            let (_, property, _) = invalid_parts(load_one(&yaml, &[]).unwrap_err());
            assert_eq!(property, expected, "{extends}");
        }
    }

    #[test]
    fn extends_resolves_per_file_before_files_merge() {
        let document = load_many(&[
            "services:\n  base:\n    image: one\n  app:\n    extends: base\n",
            "services:\n  base:\n    image: two\n",
        ]);
        assert_eq!(service(&document, "app")["image"], "one");
        assert_eq!(service(&document, "base")["image"], "two");

        let dir = TempDir::new();
        let first = dir.write("a.yaml", "services:\n  base:\n    image: one\n");
        let second = dir.write("b.yaml", "services:\n  app:\n    extends: base\n");
        let (path, property, _) =
            invalid_parts(load(&[first, second.clone()], &HashMap::new()).unwrap_err());
        assert_eq!(path, second.display().to_string());
        assert_eq!(property, "services.app.extends");
    }

    #[test]
    fn extends_result_merges_over_earlier_files() {
        let document = load_many(&[
            "services:\n  app:\n    environment: {EARLY: '1', A: early}\n    ports: ['1:1']\n",
            "\
services:
  base:
    environment: {A: base, B: base}
    ports: ['2:2']
  app:
    extends: base
    ports: ['3:3']
",
        ]);
        let app = service(&document, "app");
        assert_eq!(
            app["environment"],
            json!({"EARLY": "1", "A": "base", "B": "base"})
        );
        assert_eq!(app["ports"], json!(["1:1", "2:2", "3:3"]));
    }

    #[test]
    fn reset_and_override_tags_apply_to_what_extends_inherits() {
        let base =
            "services:\n  app:\n    ports: ['1:1']\n    image: early\n    labels: {x: '1'}\n";
        let overlay = "\
services:
  root:
    image: root
    ports: ['2:2']
    environment: {A: '1', B: '2'}
    deploy: {replicas: 1, resources: {limits: {cpus: '1'}}}
    labels: {y: '2'}
  middle:
    extends: root
    ports: !reset ['9:9']
    environment:
      A: !reset
  app:
    extends: middle
    deploy: !override {replicas: 3}
    image: !reset
";
        let document = load_many(&[base, overlay]);
        let middle = service(&document, "middle");
        assert!(middle.get("ports").is_none(), "{middle}");
        assert_eq!(middle["environment"], json!({"B": "2"}));
        let app = service(&document, "app");
        assert_eq!(
            app["ports"],
            json!(["1:1"]),
            "nothing inherited from middle, file 1's kept"
        );
        assert!(
            app.get("image").is_none(),
            "neither inherited nor early: {app}"
        );
        assert_eq!(app["environment"], json!({"B": "2"}));
        assert_eq!(app["deploy"], json!({"replicas": 3}));
        assert_eq!(app["labels"], json!({"x": "1", "y": "2"}));
    }
}
