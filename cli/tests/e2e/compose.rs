//! Docker Compose configurations: devc reads the Compose files itself and
//! makes the project through the Engine API (no `docker compose` here):
//! the dev service with features and hooks, a dependency it can reach by
//! name, labels Compose recognises, reuse, stop and down as a whole.

use std::collections::HashMap;

use crate::common::{Workspace, docker, inspect, runtime};

/// `devc down --volumes` on drop, pass or fail: the other services carry
/// no workspace label, so the workspace's own cleanup would miss them.
pub(crate) struct Down<'a>(pub(crate) &'a Workspace);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        self.0.devc(&["down", "--volumes"]);
    }
}

const COMPOSE: &str = r#"
services:
  app:
    build:
      context: .
      dockerfile: app.Dockerfile
    volumes:
      - ..:/workspaces/${WORKSPACE_NAME}:cached
      - cache:/cache
    environment:
      FROM_COMPOSE: ${GREETING:-hello}
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
    init: true
    command: sleep infinity
  migrate:
    image: devc-test/busybox:latest
    volumes:
      - cache:/cache
    command: ["sh", "-c", "sleep 1; echo migrated > /cache/migrated"]
  sidecar:
    extends:
      file: base.yml
      service: quiet
    network_mode: service:db
    depends_on: [app]
  db:
    build:
      context: .
      dockerfile: db.Dockerfile
      args:
        ANSWER: pong
    init: true
    command: ["sh", "-c", "sleep 1; exec httpd -f -p 8080 -h /www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 300ms
      retries: 20
volumes:
  cache:
"#;

const OVERRIDE: &str = r#"
services:
  app:
    environment:
      FROM_OVERRIDE: "yes"
"#;

/// A workspace whose devcontainer.json makes service `app` of `compose`
/// the dev container; its folder name is unique to this test run, and so
/// is the Compose project (returned) named after it.
pub(crate) fn compose_workspace(prefix: &str, compose: &str) -> (Workspace, String) {
    let name = format!("{prefix}{}", std::process::id());
    let ws = Workspace::with_config(
        &name,
        r#"{"dockerComposeFile": "compose.yml", "service": "app"}"#,
    );
    ws.write(".devcontainer/compose.yml", compose);
    (ws, format!("{name}_devcontainer"))
}

fn service_name(id: &str) -> String {
    inspect(id).config.unwrap().labels.unwrap()["com.docker.compose.service"].clone()
}

pub(crate) fn project_resources(project: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    runtime().block_on(async {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("com.docker.compose.project={project}")],
        )]);
        let containers = docker()
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id.unwrap_or_default())
            .collect();
        let networks = docker()
            .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|n| n.name)
            .collect();
        let volumes = docker()
            .list_volumes(Some(bollard::query_parameters::ListVolumesOptions {
                filters: Some(filters),
            }))
            .await
            .unwrap()
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        (containers, networks, volumes)
    })
}

#[test]
fn a_compose_project_comes_up_with_its_dependency_and_goes_down_as_a_whole() {
    let name = format!("compose{}", std::process::id());
    let ws = Workspace::with_config(
        &name,
        r#"{
          "dockerComposeFile": ["compose.yml", "compose.override.yml"],
          "service": "app",
          "workspaceFolder": "/workspaces/${localWorkspaceFolderBasename}",
          "containerEnv": {"FROM_DEVC": "1"},
          "mounts": ["source=history,target=/history,type=volume"],
          "features": {"./probe": {"greeting": "hi"}},
          "postCreateCommand": "echo created > /cache/hook"
        }"#,
    );
    ws.write(".devcontainer/compose.yml", COMPOSE);
    ws.write(".devcontainer/compose.override.yml", OVERRIDE);
    ws.write(
        ".devcontainer/base.yml",
        "services:\n  quiet:\n    image: devc-test/busybox:latest\n    init: true\n    command: sleep 3600\n",
    );
    ws.write(
        ".devcontainer/app.Dockerfile",
        "FROM devc-test/debian:bookworm\nRUN echo built > /etc/built\n",
    );
    ws.write(
        ".devcontainer/db.Dockerfile",
        "FROM devc-test/busybox:latest\nARG ANSWER\nRUN mkdir -p /www && echo $ANSWER > /www/index.html\n",
    );
    ws.write(".devcontainer/.env", &format!("WORKSPACE_NAME={name}\n"));
    ws.write(
        ".devcontainer/probe/devcontainer-feature.json",
        r#"{"id": "probe", "version": "1.0.0", "options": {"greeting": {"type": "string", "default": "x"}}}"#,
    );
    ws.write(
        ".devcontainer/probe/install.sh",
        "#!/bin/sh\nset -e\necho \"$GREETING\" > /etc/probe\n",
    );
    ws.write("marker.txt", "from the host\n");
    let _down = Down(&ws);
    let project = format!("{name}_devcontainer");

    let up = ws.devc_env(&["up"], &[("GREETING", "bonjour")]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let result = up.json();
    let id = result["containerId"].as_str().unwrap().to_string();
    assert_eq!(
        result["remoteWorkspaceFolder"],
        format!("/workspaces/{name}")
    );
    assert_eq!(result["composeProjectName"], format!("{name}_devcontainer"));

    // The service's and devc's settings, the feature, the hook, the mount.
    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "echo $FROM_COMPOSE $FROM_OVERRIDE $FROM_DEVC; cat /etc/built /etc/probe /cache/hook /cache/migrated marker.txt",
    ]);
    assert_eq!(
        out.stdout, "bonjour yes 1\nbuilt\nhi\ncreated\nmigrated\nfrom the host\n",
        "{}",
        out.stderr
    );
    // The dependency is up and reachable by its service name.
    let out = ws.devc(&[
        "exec",
        "bash",
        "-c",
        "exec 3<>/dev/tcp/db/8080 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && tail -n1 <&3",
    ]);
    assert_eq!(out.stdout.trim(), "pong", "{}", out.stderr);

    // Labelled as Compose labels its containers, and as a dev container.
    let labels = inspect(&id).config.unwrap().labels.unwrap();
    assert_eq!(labels["com.docker.compose.project"], project);
    assert_eq!(labels["com.docker.compose.service"], "app");
    assert_eq!(
        labels["devcontainer.local_folder"],
        ws.path.display().to_string()
    );
    let (containers, networks, volumes) = project_resources(&project);
    assert_eq!(containers.len(), 4, "app, db, migrate and sidecar");
    // up waited for db's health check and migrate's completion.
    assert!(
        up.stderr.contains("Waiting for service db to be healthy")
            && up
                .stderr
                .contains("Waiting for service migrate to complete"),
        "{}",
        up.stderr
    );
    let service = |name: &str| {
        containers
            .iter()
            .map(|c| inspect(c))
            .find(|c| {
                c.config.as_ref().unwrap().labels.as_ref().unwrap()["com.docker.compose.service"]
                    == name
            })
            .unwrap()
    };
    // network_mode service:db joins db's network stack.
    let db = service("db").id.unwrap();
    assert_eq!(
        service("sidecar")
            .host_config
            .unwrap()
            .network_mode
            .unwrap(),
        format!("container:{db}")
    );
    // overrideCommand defaults to false: the service's command runs.
    let out = ws.devc(&["exec", "sh", "-c", "cat /proc/*/cmdline | tr '\\0' ' '"]);
    assert!(out.stdout.contains("sleep infinity"), "{}", out.stdout);
    assert_eq!(networks, [format!("{project}_default")]);
    // devcontainer.json's named volumes belong to the project, as with the
    // reference CLI.
    let mut volumes = volumes;
    volumes.sort();
    assert_eq!(
        volumes,
        [format!("{project}_cache"), format!("{project}_history")]
    );

    // Reused as it is, without a false "configuration changed" warning;
    // stopped and started as a whole.
    // devc build makes the dev service's image, features included.
    let tag = format!("devc-e2e-compose-build:{}", std::process::id());
    let built = ws.devc(&["build", "--image-name", &tag]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let metadata = runtime().block_on(async {
        let image = docker().inspect_image(&tag).await.unwrap();
        let _ = docker()
            .remove_image(
                &tag,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await;
        image.config.unwrap().labels.unwrap()["devcontainer.metadata"].clone()
    });
    assert!(metadata.contains("probe"), "{metadata}");

    let reuse = ws.devc(&["up"]);
    assert_eq!(reuse.json()["containerId"], id.as_str());
    assert!(!reuse.stderr.contains("changed"), "{}", reuse.stderr);
    assert_eq!(ws.devc(&["stop"]).code, 0);
    let running = |id: &str| inspect(id).state.unwrap().running == Some(true);
    assert!(
        containers.iter().all(|c| !running(c)),
        "stop stops every service"
    );
    let again = ws.devc(&["up"]);
    assert_eq!(again.json()["containerId"], id.as_str(), "{}", again.stderr);
    let states: Vec<(String, bool)> = containers
        .iter()
        .map(|c| (service_name(c), running(c)))
        .collect();
    assert!(
        states.iter().all(|(name, up)| *up || name == "migrate"),
        "up starts every service but the one-shot migrate: {states:?}\n{}",
        again.stderr
    );

    // A changed service is recreated when the dev container is.
    ws.write(
        ".devcontainer/compose.yml",
        &COMPOSE.replace("ANSWER: pong", "ANSWER: pong2"),
    );
    let recreated = ws.devc(&["up", "--remove-existing-container"]);
    assert_eq!(recreated.code, 0, "{}", recreated.stderr);
    assert!(
        recreated
            .stderr
            .contains("Recreating service db: its definition changed"),
        "{}",
        recreated.stderr
    );
    let out = ws.devc(&[
        "exec",
        "bash",
        "-c",
        "exec 3<>/dev/tcp/db/8080 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && tail -n1 <&3",
    ]);
    assert_eq!(out.stdout.trim(), "pong2", "{}", out.stderr);
    assert!(
        recreated.stderr.contains(
            "Recreating service sidecar: the service whose network it shares was recreated"
        ),
        "{}",
        recreated.stderr
    );

    // down --volumes leaves nothing of the project.
    let down = ws.devc(&["down", "--volumes"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(
        project_resources(&project),
        (vec![], vec![], vec![]),
        "{}",
        down.stderr
    );
}

#[test]
fn a_service_missing_from_the_compose_files_is_named_and_nothing_is_made() {
    let name = format!("composebad{}", std::process::id());
    let ws = Workspace::with_config(
        &name,
        r#"{"dockerComposeFile": "compose.yml", "service": "web"}"#,
    );
    ws.write(".devcontainer/compose.yml", COMPOSE);
    ws.write(
        ".devcontainer/base.yml",
        "services:\n  quiet:\n    image: devc-test/busybox:latest\n",
    );
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 1);
    let result: serde_json::Value = serde_json::from_str(up.stdout.trim()).unwrap();
    assert_eq!(result["outcome"], "error");
    assert!(
        up.stderr.contains("the service \"web\"") && up.stderr.contains("compose.yml"),
        "{}",
        up.stderr
    );
    let (containers, networks, volumes) = project_resources(&format!("{name}_devcontainer"));
    assert!(containers.is_empty() && networks.is_empty() && volumes.is_empty());

    ws.write(
        ".devcontainer/compose.yml",
        "services:\n  web:\n    image: [unclosed\n",
    );
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 1);
    assert!(
        up.stderr
            .contains(".devcontainer/compose.yml:4:1: while parsing a flow sequence"),
        "{}",
        up.stderr
    );
}

#[test]
fn down_cleans_up_the_project_of_an_up_that_failed_at_the_dev_container() {
    let (ws, project) = compose_workspace(
        "composefail",
        r#"
services:
  app:
    image: devc-test/busybox:latest
    depends_on: [db]
    volumes:
      - type: bind
        source: /nonexistent/devc-e2e-source
        target: /x
  db:
    image: devc-test/busybox:latest
    init: true
    command: sleep 3600
"#,
    );
    let _down = Down(&ws);
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    assert!(
        up.stderr.contains("/nonexistent/devc-e2e-source"),
        "{}",
        up.stderr
    );
    let (containers, networks, _) = project_resources(&project);
    assert_eq!(
        containers.len(),
        1,
        "db was started, the dev container removed"
    );
    assert_eq!(networks.len(), 1);

    let down = ws.devc(&["down"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(project_resources(&project), (vec![], vec![], vec![]));
}

#[test]
fn a_failed_dependency_condition_stops_up_with_the_reason() {
    let (ws, _) = compose_workspace(
        "composecond",
        r#"
services:
  app:
    image: devc-test/busybox:latest
    command: sleep 3600
    depends_on:
      migrate:
        condition: service_completed_successfully
  migrate:
    image: devc-test/busybox:latest
    command: ["sh", "-c", "exit 3"]
"#,
    );
    let _down = Down(&ws);
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    assert!(
        up.stderr
            .contains("service \"app\" waits for \"migrate\", which exited with code 3"),
        "{}",
        up.stderr
    );
    assert!(up.stderr.contains("docker logs"), "{}", up.stderr);
    assert!(ws.containers().is_empty(), "no dev container was made");
}
