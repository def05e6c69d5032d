//! Compose parity (issue 10 part 5): devc and Debian's `docker-compose`
//! (1.29) take turns on one project without recreating anything, and bind
//! sources that do not exist yet are created as `docker-compose` has the
//! engine create them.

use std::process::Command;

use crate::common::inspect;
use crate::compose::{Down, compose_workspace, project_resources};

/// Debian's docker-compose, the one `.ci/run` installs (the reference
/// CLI's Compose here).
const DOCKER_COMPOSE: &str = "/usr/bin/docker-compose";

const PROJECT: &str = r#"
services:
  app:
    image: devc-test/busybox:latest
    command: sleep infinity
    depends_on: [db, web]
    volumes:
      - ..:/workspaces/parity:cached
    environment:
      PGPORT: 5432
      GREETING: hello
  db:
    image: devc-test/busybox:latest
    command: ["sh", "-c", "exec sleep infinity"]
    environment: ["POSTGRES_PASSWORD=secret"]
    volumes:
      - data:/data
    ports: ["5432"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  web:
    build:
      context: .
      dockerfile: web.Dockerfile
    command: sleep infinity
volumes:
  data:
"#;

fn label(id: &str, key: &str) -> Option<String> {
    inspect(id)
        .config
        .unwrap()
        .labels
        .unwrap()
        .get(key)
        .cloned()
}

#[test]
fn docker_compose_up_after_devc_up_recreates_nothing() {
    assert!(
        std::path::Path::new(DOCKER_COMPOSE).exists(),
        "{DOCKER_COMPOSE} is missing: `apt-get install docker-compose` (.ci/run does)"
    );
    let (ws, project) = compose_workspace("parity", PROJECT);
    ws.write(
        ".devcontainer/web.Dockerfile",
        "FROM devc-test/busybox:latest\nRUN echo web > /web\n",
    );
    // Dropped last: the images go after the containers.
    let _images = RemoveImages(project.clone());
    let _down = Down(&ws);
    let up = ws.devc(&["up"]).json();
    let dev = up["containerId"].as_str().unwrap().to_string();
    let (before, networks, volumes) = project_resources(&project);
    assert_eq!(before.len(), 3, "app, db and web: {before:?}");
    for id in &before {
        assert_eq!(
            label(id, "com.docker.compose.version").as_deref(),
            Some("1.29.2")
        );
        assert!(label(id, "com.docker.compose.config-hash").is_some_and(|h| h.len() == 64));
    }
    assert!(label(&dev, "com.docker.compose.depends_on").is_some_and(|d| d.contains("db:")));
    assert_eq!(networks, [format!("{project}_default")]);
    assert_eq!(volumes, [format!("{project}_data")]);

    let file = ws.path.join(".devcontainer/compose.yml");
    let output = Command::new(DOCKER_COMPOSE)
        .args(["-p", &project, "-f"])
        .arg(&file)
        .args(["up", "-d"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "docker-compose up failed: {stderr}"
    );
    for service in ["app", "db", "web"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!("{project}-{service}-1")) && l.contains("up-to-date")),
            "docker-compose did not find {service} up to date:\n{stderr}"
        );
    }
    assert!(!stderr.contains("Recreating"), "{stderr}");
    let (after, networks_after, volumes_after) = project_resources(&project);
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(after),
        sorted(before),
        "docker-compose recreated a container"
    );
    assert_eq!(networks_after, networks);
    assert_eq!(volumes_after, volumes);
    // And devc still finds its dev container afterwards.
    assert_eq!(ws.devc(&["up"]).json()["containerId"], dev.as_str());
}

/// Removes the images whose name holds the project's (devc's build of
/// `web` and the `<project>_web` tag it gets for Compose), pass or fail.
struct RemoveImages(String);

impl Drop for RemoveImages {
    fn drop(&mut self) {
        let listed = Command::new("docker")
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for image in listed.lines().filter(|i| i.contains(&self.0)) {
            let _ = Command::new("docker").args(["rmi", image]).output();
        }
    }
}

#[test]
fn a_missing_bind_source_under_home_is_created() {
    let home = tempfile::Builder::new()
        .prefix("devc-e2e-home-")
        .tempdir()
        .unwrap();
    let (ws, _project) = compose_workspace(
        "bindsrc",
        "services:\n  app:\n    image: devc-test/busybox:latest\n    command: sleep infinity\n    volumes:\n      - ~/.cache-devc-e2e:/cache\n",
    );
    ws.write(
        ".devcontainer/devcontainer.json",
        r#"{"dockerComposeFile": "compose.yml", "service": "app",
            "mounts": ["source=${localEnv:HOME}/.ssh,target=/root/.ssh,type=bind,readonly"]}"#,
    );
    let home_path = home.path().to_str().unwrap();
    let env = [("HOME", home_path)];
    let _down = DownWith(&ws, home_path);
    let up = ws.devc_env(&["up"], &env);
    assert_eq!(up.code, 0, "devc up failed: {}", up.stderr);
    for folder in [".ssh", ".cache-devc-e2e"] {
        assert!(
            home.path().join(folder).is_dir(),
            "~/{folder} was not created"
        );
    }
    let id = up.json()["containerId"].as_str().unwrap().to_string();
    let mounts = inspect(&id).mounts.unwrap();
    let ssh = mounts
        .iter()
        .find(|m| m.destination.as_deref() == Some("/root/.ssh"))
        .expect("~/.ssh is mounted");
    assert_eq!(ssh.rw, Some(false), "the readonly flag survives");
}

/// `devc down --volumes` with the test's HOME, pass or fail.
struct DownWith<'a>(&'a crate::common::Workspace, &'a str);

impl Drop for DownWith<'_> {
    fn drop(&mut self) {
        self.0.devc_env(&["down", "--volumes"], &[("HOME", self.1)]);
    }
}
