//! Step 5: `extends` (Compose spec, "Extends"; compose-go
//! `loader/extends.go`).
//!
//! The one step that reads further files and follows chains: it keeps the
//! files it has read and the chain being resolved (to name a cycle), and
//! rebases the relative paths of a service taken from another file. It
//! merges a service over its base with step 6's rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::merge::{MergeTag, Tags, merge_mapping};
use super::yaml::Layer;
use super::{ComposeFileError, PropertyPath, invalid, read_layers};
use crate::config::workspace::absolute;

/// Where `extends` looks services up: one document of a file given to
/// [`load`](super::load), or the whole of a file named by `extends.file`.
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

/// Resolves `extends` for one [`load`](super::load).
pub(super) struct Extends<'a> {
    /// The variables files named by `extends.file` are interpolated with.
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Files named by `extends.file`, read once each, by absolute path.
    files: HashMap<PathBuf, Rc<Scope>>,
    /// The services being resolved, the outermost first: a cycle shows here.
    chain: Vec<Link>,
}

impl<'a> Extends<'a> {
    /// Ready to resolve the `extends` of one [`load`](super::load), reading
    /// the files `extends.file` names with the variables of `lookup`.
    pub(super) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            files: HashMap::new(),
            chain: Vec::new(),
        }
    }

    /// Replaces every service of `layer` that has `extends` by the merge of
    /// its base and itself.
    pub(super) fn apply(
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
    /// given to [`load`](super::load) and merged, `extends` left for [`Self::resolve`].
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

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::super::testing::{load_many, load_one, service};
    use super::*;
    use crate::testutil::TempDir;
    use serde_json::json;

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
