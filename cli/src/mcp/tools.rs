//! The tools `devc mcp` offers: one table per tool gives both the JSON
//! Schema a client reads (`tools/list`) and the checks its arguments pass
//! (`tools/call`), so the two cannot disagree.
//!
//! Invalid arguments are the caller's mistake, not the tool's: the MCP
//! specification (2025-06-18, "Tools", error handling) makes them protocol
//! errors, JSON-RPC -32602, carrying devc's one-sentence message and hint.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value, json};

/// `exec`'s time limit: default and bounds, in seconds.
pub const TIMEOUT_SECONDS: Bounds = Bounds {
    default: 600,
    min: 1,
    max: 3600,
};

/// The cap on each of `exec`'s output streams (and on `logs`), in bytes.
pub const MAX_OUTPUT_BYTES: Bounds = Bounds {
    default: 64 * 1024,
    min: 256,
    max: 1024 * 1024,
};

/// `logs`' line count: all lines (within the byte cap) unless given.
const TAIL: Bounds = Bounds {
    default: 0,
    min: 1,
    max: 100_000,
};

/// An integer argument's default and accepted range.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub default: u64,
    pub min: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An absolute path on the machine devc runs on.
    Folder,
    /// true or false, with its default.
    Flag(bool),
    /// A non-empty string (a branch name, a git ref).
    Text,
    Count(Bounds),
    /// A program and its arguments, as a non-empty array of strings.
    Command,
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
    description: &'static str,
}

/// One tool: its name, what it does and its arguments.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub description: &'static str,
    fields: &'static [Field],
    /// Reads only (MCP's `readOnlyHint`).
    pub read_only: bool,
    /// May remove something that cannot be restored (`destructiveHint`).
    pub destructive: bool,
}

const FOLDER: Field = Field {
    name: "workspaceFolder",
    kind: Kind::Folder,
    required: true,
    description: "Absolute path of the project folder (devcontainer.json is looked up from here).",
};

const REPOSITORY: Field = Field {
    name: "repositoryFolder",
    kind: Kind::Folder,
    required: true,
    description: "Absolute path of a folder in the git repository (any of its worktrees); the worktree's workspace is the same place in the new worktree.",
};

const BRANCH: Field = Field {
    name: "branch",
    kind: Kind::Text,
    required: true,
    description: "The git branch, e.g. \"feature/login\".",
};

pub const TOOLS: &[Spec] = &[
    Spec {
        name: "up",
        description: "Create or start the workspace's dev container (building its image and running its lifecycle hooks as `devc up` does). Returns devc's up result (containerId, remoteUser, remoteWorkspaceFolder) and the progress lines.",
        fields: &[
            FOLDER,
            Field {
                name: "removeExistingContainer",
                kind: Kind::Flag(false),
                required: false,
                description: "Replace an existing container with a new one.",
            },
            Field {
                name: "buildNoCache",
                kind: Kind::Flag(false),
                required: false,
                description: "Build the image without the engine's layer cache.",
            },
        ],
        read_only: false,
        destructive: false,
    },
    Spec {
        name: "exec",
        description: "Run a command in the workspace's running dev container as the remote user, in the workspace folder, without a terminal or stdin. Returns stdout, stderr (each capped at maxOutputBytes: its first and last halves), truncated, exitCode and timedOut; a command still running after timeoutSeconds is killed in the container.",
        fields: &[
            FOLDER,
            Field {
                name: "command",
                kind: Kind::Command,
                required: true,
                description: "The program and its arguments, e.g. [\"sh\", \"-c\", \"make test\"].",
            },
            Field {
                name: "timeoutSeconds",
                kind: Kind::Count(TIMEOUT_SECONDS),
                required: false,
                description: "Kill the command after this many seconds (default 600, at most 3600).",
            },
            Field {
                name: "maxOutputBytes",
                kind: Kind::Count(MAX_OUTPUT_BYTES),
                required: false,
                description: "Keep at most this many bytes of stdout and of stderr (default 65536, 256 to 1048576).",
            },
        ],
        read_only: false,
        destructive: false,
    },
    Spec {
        name: "logs",
        description: "The dev container's own output (its main process), running or stopped, capped at maxOutputBytes (its last bytes are kept).",
        fields: &[
            FOLDER,
            Field {
                name: "tail",
                kind: Kind::Count(TAIL),
                required: false,
                description: "Only the last N lines.",
            },
            Field {
                name: "maxOutputBytes",
                kind: Kind::Count(MAX_OUTPUT_BYTES),
                required: false,
                description: "Keep at most this many bytes (default 65536, 256 to 1048576).",
            },
        ],
        read_only: true,
        destructive: false,
    },
    Spec {
        name: "list",
        description: "Every dev container the engine knows, as `devc list --json` prints them.",
        fields: &[],
        read_only: true,
        destructive: false,
    },
    Spec {
        name: "stop",
        description: "Stop the workspace's dev container (it keeps its state; `up` starts it again).",
        fields: &[FOLDER],
        read_only: false,
        destructive: false,
    },
    Spec {
        name: "down",
        description: "Remove the workspace's dev container; named volumes survive unless volumes is true.",
        fields: &[
            FOLDER,
            Field {
                name: "volumes",
                kind: Kind::Flag(false),
                required: false,
                description: "Also remove the container's anonymous volumes and the named volumes its configuration mounts.",
            },
        ],
        read_only: false,
        destructive: true,
    },
    Spec {
        name: "worktree_add",
        description: "Make a git worktree for a branch (checked out if it exists, else created from `from`) and, unless up is false, bring its own dev container up as the `up` tool does. Returns worktree (its path) and branch, and with up the up result (containerId, remoteUser, remoteWorkspaceFolder, ports with any host port moved off a taken one) and the progress lines.",
        fields: &[
            REPOSITORY,
            BRANCH,
            Field {
                name: "from",
                kind: Kind::Text,
                required: false,
                description: "Where a new branch starts: a commit, branch or tag (default HEAD).",
            },
            Field {
                name: "path",
                kind: Kind::Folder,
                required: false,
                description: "Absolute path of the worktree's folder (default: <repository>.<branch> beside the repository).",
            },
            Field {
                name: "up",
                kind: Kind::Flag(true),
                required: false,
                description: "Bring the worktree's dev container up (default true).",
            },
        ],
        read_only: false,
        destructive: false,
    },
    Spec {
        name: "worktree_list",
        description: "Each worktree of the repository with its branch, path, dev container state (`none` without one, `no-config` without a devcontainer.json), containerId, composeProjectName, published host ports (requestedHostPort when a taken one was moved) and ageSeconds, as `devc worktree list --json` prints them.",
        fields: &[REPOSITORY],
        read_only: true,
        destructive: false,
    },
    Spec {
        name: "worktree_rm",
        description: "Take a branch's worktree environment down (container, Compose project, networks and volumes) and remove the worktree. A worktree with uncommitted changes is left alone (an error) unless force is true.",
        fields: &[
            REPOSITORY,
            BRANCH,
            Field {
                name: "force",
                kind: Kind::Flag(false),
                required: false,
                description: "Remove it even with uncommitted changes (they are lost).",
            },
        ],
        read_only: false,
        destructive: true,
    },
];

impl Spec {
    /// The JSON Schema of the tool's arguments.
    pub fn input_schema(&self) -> Map<String, Value> {
        let mut properties = Map::new();
        for field in self.fields {
            let mut schema = match field.kind {
                Kind::Folder => json!({"type": "string", "minLength": 1}),
                Kind::Flag(default) => json!({"type": "boolean", "default": default}),
                Kind::Text => json!({"type": "string", "minLength": 1}),
                Kind::Count(bounds) => {
                    let mut schema =
                        json!({"type": "integer", "minimum": bounds.min, "maximum": bounds.max});
                    if bounds.default != 0 {
                        schema["default"] = json!(bounds.default);
                    }
                    schema
                }
                Kind::Command => json!({
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                }),
            };
            schema["description"] = json!(field.description);
            properties.insert(field.name.to_string(), schema);
        }
        let required: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        match schema {
            Value::Object(map) => map,
            _ => unreachable!("built as an object"),
        }
    }

    fn names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }
}

/// The tool named `name`.
pub fn spec(name: &str) -> Option<&'static Spec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// Arguments that do not fit the tool: devc's message and hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    pub hint: String,
}

/// A checked tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Up {
        folder: PathBuf,
        remove_existing_container: bool,
        build_no_cache: bool,
    },
    Exec(ExecCall),
    Logs {
        folder: PathBuf,
        tail: Option<u64>,
        max_output_bytes: usize,
    },
    List,
    Stop {
        folder: PathBuf,
    },
    Down {
        folder: PathBuf,
        volumes: bool,
    },
    WorktreeAdd {
        repository: PathBuf,
        branch: String,
        from: Option<String>,
        path: Option<PathBuf>,
        up: bool,
    },
    WorktreeList {
        repository: PathBuf,
    },
    WorktreeRm {
        repository: PathBuf,
        branch: String,
        force: bool,
    },
}

impl Call {
    /// The name of the call's folder argument (hints name it).
    pub fn folder_argument(&self) -> &'static str {
        match self {
            Call::WorktreeAdd { .. } | Call::WorktreeList { .. } | Call::WorktreeRm { .. } => {
                REPOSITORY.name
            }
            _ => FOLDER.name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCall {
    pub folder: PathBuf,
    pub command: Vec<String>,
    pub timeout: Duration,
    pub max_output_bytes: usize,
}

/// Checks a `tools/call`'s name and arguments against [`TOOLS`].
pub fn parse(name: &str, arguments: Option<&Map<String, Value>>) -> Result<Call, Invalid> {
    let Some(spec) = spec(name) else {
        let names = TOOLS.iter().map(|t| t.name);
        return Err(Invalid {
            message: format!(
                "devc has no tool \"{name}\"{}",
                crate::suggest::hint(name, names)
            ),
            hint: format!(
                "`tools/list` shows them: {}",
                list(TOOLS.iter().map(|t| t.name))
            ),
        });
    };
    let empty = Map::new();
    let args = Checked {
        spec,
        values: arguments.unwrap_or(&empty),
    };
    args.no_strangers()?;
    Ok(match spec.name {
        "up" => Call::Up {
            folder: args.folder()?,
            remove_existing_container: args.flag("removeExistingContainer")?,
            build_no_cache: args.flag("buildNoCache")?,
        },
        "exec" => Call::Exec(ExecCall {
            folder: args.folder()?,
            command: args.command("command")?,
            timeout: Duration::from_secs(
                args.count("timeoutSeconds")?
                    .unwrap_or(TIMEOUT_SECONDS.default),
            ),
            max_output_bytes: bytes(args.count("maxOutputBytes")?),
        }),
        "logs" => Call::Logs {
            folder: args.folder()?,
            tail: args.count("tail")?,
            max_output_bytes: bytes(args.count("maxOutputBytes")?),
        },
        "list" => Call::List,
        "stop" => Call::Stop {
            folder: args.folder()?,
        },
        "down" => Call::Down {
            folder: args.folder()?,
            volumes: args.flag("volumes")?,
        },
        "worktree_add" => Call::WorktreeAdd {
            repository: args.required_path(REPOSITORY.name)?,
            branch: args.required_text(BRANCH.name)?,
            from: args.text("from")?,
            path: args.path("path")?,
            up: args.flag("up")?,
        },
        "worktree_list" => Call::WorktreeList {
            repository: args.required_path(REPOSITORY.name)?,
        },
        "worktree_rm" => Call::WorktreeRm {
            repository: args.required_path(REPOSITORY.name)?,
            branch: args.required_text(BRANCH.name)?,
            force: args.flag("force")?,
        },
        other => unreachable!("every tool in TOOLS is parsed: {other}"),
    })
}

fn bytes(count: Option<u64>) -> usize {
    usize::try_from(count.unwrap_or(MAX_OUTPUT_BYTES.default)).unwrap_or(usize::MAX)
}

fn list(names: impl Iterator<Item = &'static str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// A tool's arguments, checked field by field.
struct Checked<'a> {
    spec: &'static Spec,
    values: &'a Map<String, Value>,
}

impl Checked<'_> {
    fn no_strangers(&self) -> Result<(), Invalid> {
        for key in self.values.keys() {
            if self.spec.fields.iter().all(|f| f.name != key) {
                let known = self.spec.names();
                let hint = if known.is_empty() {
                    "it takes no arguments: pass {}".to_string()
                } else {
                    format!("its arguments are {}", list(known.iter().copied()))
                };
                return Err(Invalid {
                    message: format!(
                        "the \"{}\" tool has no argument \"{key}\"{}",
                        self.spec.name,
                        crate::suggest::hint(key, known)
                    ),
                    hint,
                });
            }
        }
        Ok(())
    }

    fn field(&self, name: &str) -> &'static Field {
        self.spec
            .fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{} has no field {name}", self.spec.name))
    }

    /// The value, or an error when a required one is missing.
    fn get(&self, name: &str) -> Result<Option<&Value>, Invalid> {
        let field = self.field(name);
        match self.values.get(name) {
            // JSON null is "not given", as most clients send it for optionals.
            None | Some(Value::Null) if field.required => Err(Invalid {
                message: format!("the \"{}\" tool needs \"{name}\"", self.spec.name),
                hint: example(field),
            }),
            None | Some(Value::Null) => Ok(None),
            Some(value) => Ok(Some(value)),
        }
    }

    fn wrong(&self, name: &str, value: &Value, expected: &str) -> Invalid {
        Invalid {
            message: format!(
                "\"{name}\" of the \"{}\" tool must be {expected}, not {}",
                self.spec.name,
                shown(value)
            ),
            hint: example(self.field(name)),
        }
    }

    fn folder(&self) -> Result<PathBuf, Invalid> {
        self.required_path(FOLDER.name)
    }

    fn required_path(&self, name: &str) -> Result<PathBuf, Invalid> {
        Ok(self.path(name)?.expect("a required argument is given"))
    }

    /// An absolute path.
    fn path(&self, name: &str) -> Result<Option<PathBuf>, Invalid> {
        let Some(value) = self.get(name)? else {
            return Ok(None);
        };
        let Some(text) = value.as_str().filter(|s| !s.is_empty()) else {
            return Err(self.wrong(name, value, "a path (a non-empty string)"));
        };
        let path = PathBuf::from(text);
        if !path.is_absolute() {
            return Err(Invalid {
                message: format!("\"{name}\" must be an absolute path, not \"{text}\""),
                hint: format!(
                    "devc mcp's working folder need not be the agent's; {}",
                    example(self.field(name))
                ),
            });
        }
        Ok(Some(path))
    }

    fn required_text(&self, name: &str) -> Result<String, Invalid> {
        Ok(self.text(name)?.expect("a required argument is given"))
    }

    fn text(&self, name: &str) -> Result<Option<String>, Invalid> {
        let Some(value) = self.get(name)? else {
            return Ok(None);
        };
        match value.as_str().filter(|s| !s.is_empty()) {
            Some(text) => Ok(Some(text.to_string())),
            None => Err(self.wrong(name, value, "a non-empty string")),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, Invalid> {
        let Kind::Flag(default) = self.field(name).kind else {
            unreachable!("{name} is a flag")
        };
        match self.get(name)? {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(value) => Err(self.wrong(name, value, "true or false")),
        }
    }

    fn count(&self, name: &str) -> Result<Option<u64>, Invalid> {
        let Kind::Count(bounds) = self.field(name).kind else {
            unreachable!("{name} is a count")
        };
        let Some(value) = self.get(name)? else {
            return Ok(None);
        };
        let expected = format!("an integer from {} to {}", bounds.min, bounds.max);
        match value.as_u64() {
            Some(n) if (bounds.min..=bounds.max).contains(&n) => Ok(Some(n)),
            _ => Err(self.wrong(name, value, &expected)),
        }
    }

    fn command(&self, name: &str) -> Result<Vec<String>, Invalid> {
        let value = self.get(name)?.expect("command is required");
        let expected = "a non-empty array of strings (the program and its arguments)";
        let Some(items) = value.as_array().filter(|a| !a.is_empty()) else {
            return Err(self.wrong(name, value, expected));
        };
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.wrong(name, value, expected))
            })
            .collect()
    }
}

/// A value as an error message shows it: short JSON.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// How a field is written, for hints.
fn example(field: &Field) -> String {
    let sample = match field.kind {
        Kind::Folder => json!("/home/me/project"),
        Kind::Flag(default) => json!(!default),
        Kind::Text => json!("feature/login"),
        Kind::Count(bounds) if bounds.default != 0 => json!(bounds.default),
        Kind::Count(bounds) => json!(bounds.min.max(100)),
        Kind::Command => json!(["sh", "-c", "make test"]),
    };
    format!(
        "pass it as {}; {}",
        json!({ field.name: sample }),
        field.description
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Value) -> Result<Call, Invalid> {
        parse(name, args.as_object())
    }

    #[test]
    fn every_tool_has_an_object_schema_naming_its_required_fields() {
        for tool in TOOLS {
            let schema = tool.input_schema();
            assert_eq!(schema["type"], "object", "{}", tool.name);
            assert_eq!(schema["additionalProperties"], false);
            let properties = schema["properties"].as_object().unwrap();
            for field in tool.fields {
                assert!(properties[field.name]["description"].is_string());
            }
            if tool.name.starts_with("worktree_") {
                assert_eq!(schema["required"][0], "repositoryFolder", "{}", tool.name);
            } else if tool.name != "list" {
                assert_eq!(schema["required"][0], "workspaceFolder", "{}", tool.name);
            }
            assert!(
                tool.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "MCP tool names are letters, digits, _ and -: {}",
                tool.name
            );
        }
        let exec = spec("exec").unwrap().input_schema();
        assert_eq!(exec["required"], json!(["workspaceFolder", "command"]));
        assert_eq!(exec["properties"]["timeoutSeconds"]["maximum"], 3600);
        assert_eq!(exec["properties"]["command"]["items"]["type"], "string");
    }

    #[test]
    fn good_arguments_become_calls_with_defaults() {
        assert_eq!(
            call(
                "exec",
                json!({"workspaceFolder": "/w", "command": ["true"]})
            ),
            Ok(Call::Exec(ExecCall {
                folder: "/w".into(),
                command: vec!["true".into()],
                timeout: Duration::from_secs(600),
                max_output_bytes: 65536,
            }))
        );
        assert_eq!(
            call("down", json!({"workspaceFolder": "/w", "volumes": true, })),
            Ok(Call::Down {
                folder: "/w".into(),
                volumes: true
            })
        );
        assert_eq!(parse("list", None), Ok(Call::List));
        assert_eq!(
            call("logs", json!({"workspaceFolder": "/w", "tail": null})),
            Ok(Call::Logs {
                folder: "/w".into(),
                tail: None,
                max_output_bytes: 65536
            })
        );
    }

    #[test]
    fn missing_arguments_name_the_field_and_show_how_to_write_it() {
        let err = call("up", json!({})).unwrap_err();
        assert_eq!(err.message, "the \"up\" tool needs \"workspaceFolder\"");
        assert!(
            err.hint
                .starts_with("pass it as {\"workspaceFolder\":\"/home/me/project\"}"),
            "{}",
            err.hint
        );
        let err = call("exec", json!({"workspaceFolder": "/w"})).unwrap_err();
        assert_eq!(err.message, "the \"exec\" tool needs \"command\"");
    }

    #[test]
    fn ill_typed_and_out_of_range_arguments_say_what_is_expected() {
        let err = call("up", json!({"workspaceFolder": 3})).unwrap_err();
        assert_eq!(
            err.message,
            "\"workspaceFolder\" of the \"up\" tool must be a path (a non-empty string), not 3"
        );
        let err = call("up", json!({"workspaceFolder": "project"})).unwrap_err();
        assert!(err.message.contains("must be an absolute path"), "{err:?}");
        let err = call(
            "exec",
            json!({"workspaceFolder": "/w", "command": "make test"}),
        )
        .unwrap_err();
        assert!(
            err.message.ends_with(
                "must be a non-empty array of strings (the program and its arguments), not \"make test\""
            ),
            "{err:?}"
        );
        for bad in [json!([]), json!(["ls", 1])] {
            assert!(call("exec", json!({"workspaceFolder": "/w", "command": bad})).is_err());
        }
        let err = call(
            "exec",
            json!({"workspaceFolder": "/w", "command": ["true"], "timeoutSeconds": 0}),
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "\"timeoutSeconds\" of the \"exec\" tool must be an integer from 1 to 3600, not 0"
        );
        for bad in [json!(1.5), json!(-1), json!("10"), json!(2_000_000)] {
            let args = json!({"workspaceFolder": "/w", "command": ["true"], "maxOutputBytes": bad});
            assert!(call("exec", args).is_err());
        }
        let err = call("down", json!({"workspaceFolder": "/w", "volumes": "yes"})).unwrap_err();
        assert!(err.message.ends_with("must be true or false, not \"yes\""));
    }

    #[test]
    fn strangers_and_unknown_tools_get_a_suggestion() {
        let err = call(
            "exec",
            json!({"workspaceFolder": "/w", "command": ["true"], "timeout": 5}),
        )
        .unwrap_err();
        assert_eq!(err.message, "the \"exec\" tool has no argument \"timeout\"");
        assert!(err.hint.contains("timeoutSeconds"), "{}", err.hint);
        let err = call("down", json!({"workspaceFolder": "/w", "volume": true})).unwrap_err();
        assert!(
            err.message.ends_with("(did you mean \"volumes\"?)"),
            "{err:?}"
        );
        let err = call("list", json!({"all": true})).unwrap_err();
        assert!(err.hint.contains("no arguments"));
        let err = parse("exek", None).unwrap_err();
        assert_eq!(
            err.message,
            "devc has no tool \"exek\" (did you mean \"exec\"?)"
        );
        assert!(err.hint.contains("up, exec, logs, list, stop, down"));
    }

    #[test]
    fn worktree_tools_take_a_repository_a_branch_and_absolute_paths() {
        assert_eq!(
            call(
                "worktree_add",
                json!({"repositoryFolder": "/r", "branch": "feat/x"})
            ),
            Ok(Call::WorktreeAdd {
                repository: "/r".into(),
                branch: "feat/x".into(),
                from: None,
                path: None,
                up: true,
            })
        );
        assert_eq!(
            call(
                "worktree_add",
                json!({"repositoryFolder": "/r", "branch": "b", "from": "main", "path": "/w/b", "up": false})
            ),
            Ok(Call::WorktreeAdd {
                repository: "/r".into(),
                branch: "b".into(),
                from: Some("main".into()),
                path: Some("/w/b".into()),
                up: false,
            })
        );
        assert_eq!(
            call(
                "worktree_rm",
                json!({"repositoryFolder": "/r", "branch": "b"})
            ),
            Ok(Call::WorktreeRm {
                repository: "/r".into(),
                branch: "b".into(),
                force: false,
            })
        );
        let schema = spec("worktree_add").unwrap().input_schema();
        assert_eq!(schema["required"], json!(["repositoryFolder", "branch"]));
        assert_eq!(schema["properties"]["up"]["default"], true);
        let err = call(
            "worktree_add",
            json!({"repositoryFolder": "/r", "branch": "b", "path": "b"}),
        )
        .unwrap_err();
        assert_eq!(err.message, "\"path\" must be an absolute path, not \"b\"");
        let err = call(
            "worktree_rm",
            json!({"repositoryFolder": "/r", "branch": ""}),
        )
        .unwrap_err();
        assert!(
            err.message
                .ends_with("must be a non-empty string, not \"\""),
            "{err:?}"
        );
        let err = call("worktree_list", json!({"workspaceFolder": "/r"})).unwrap_err();
        assert!(err.hint.contains("repositoryFolder"), "{err:?}");
    }
}
