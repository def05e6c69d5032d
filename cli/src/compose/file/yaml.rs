//! Steps 1 and 2 of [`load`](super::load): YAML text → `serde_json` values.
//!
//! yaml-rust2's own `Yaml` tree drops what Compose needs (scalar styles, the
//! `!reset` / `!override` tags, the marks that place a syntax error), so this
//! module builds its own tree from parser events, expanding aliases (bounded
//! against "billion laughs") and `<<` merge keys, then converts it with the
//! YAML 1.2 core schema, recording the merge tags for step 6. It is the only
//! module that knows yaml-rust2.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::merge::{MergeTag, Tags};
use super::{ComposeFileError, PropertyPath, invalid};

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

/// One YAML document of one file, converted.
pub(super) struct Layer {
    pub(super) value: Map<String, Value>,
    pub(super) tags: Tags,
}

/// Parses one file into its documents, each converted to a top-level mapping.
pub(super) fn parse_layers(text: &str, file: &str) -> Result<Vec<Layer>, ComposeFileError> {
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

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::super::testing::{load_one, service};
    use super::*;
    use crate::testutil::TempDir;
    use serde_json::json;

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
}
