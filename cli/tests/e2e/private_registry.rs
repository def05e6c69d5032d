//! Private registries (issue 10): a real `docker-registry` with htpasswd,
//! a real `docker login` into a test-owned `DOCKER_CONFIG`, and devc's
//! pulls, `FROM` builds, Compose images and pushes through the engine with
//! that login. A wrong or missing login is one clear error, and the
//! password never shows, not even under `-v`.

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use base64::Engine as _;

use crate::common::*;

const USER: &str = "devc-e2e";

/// A registry with one private image pushed by the docker CLI, and the
/// `DOCKER_CONFIG` folder of a real `docker login` to it. Removes every
/// image name the test registered (never by id: the private image shares
/// its id with the local busybox it was pushed from).
struct PrivateRegistry {
    registry: Registry,
    password: String,
    config: tempfile::TempDir,
    /// `127.0.0.1:PORT/devc-e2e/private:1`, pushed, then removed locally.
    image: String,
    names: Mutex<Vec<String>>,
    /// Substrings of image names to remove (devc's content-hash tags).
    patterns: Mutex<Vec<String>>,
}

impl PrivateRegistry {
    fn start() -> Self {
        require_engine();
        let password = format!("pw-{}-{}", std::process::id(), nonce());
        let registry = Registry::start(Some((USER, &password)));
        let config = tempfile::Builder::new()
            .prefix("devc-e2e-docker-config-")
            .tempdir()
            .unwrap();
        let mut login = Command::new("docker")
            .args([
                "login",
                "--username",
                USER,
                "--password-stdin",
                &registry.addr,
            ])
            .env("DOCKER_CONFIG", config.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the docker CLI runs");
        login
            .stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        let out = login.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "docker login {} failed: {}",
            registry.addr,
            String::from_utf8_lossy(&out.stderr)
        );
        let image = format!("{}/devc-e2e/private:1", registry.addr);
        let this = Self {
            registry,
            password,
            config,
            image: image.clone(),
            names: Mutex::new(vec![image.clone()]),
            patterns: Mutex::new(Vec::new()),
        };
        this.docker(&["tag", BUSYBOX, &image]);
        this.docker(&["push", &image]);
        this.untag(&image);
        this
    }

    /// Runs the docker CLI with this registry's login; must succeed.
    fn docker(&self, args: &[&str]) {
        let out = Command::new("docker")
            .args(args)
            .env("DOCKER_CONFIG", self.config.path())
            .stdin(Stdio::null())
            .output()
            .expect("the docker CLI runs");
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn config_dir(&self) -> String {
        self.config.path().display().to_string()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![("DOCKER_CONFIG", self.config_dir())]
    }

    /// Removes `name` locally (untags it) so devc must pull it.
    fn untag(&self, name: &str) {
        runtime().block_on(async {
            let _ = docker()
                .remove_image(
                    name,
                    None::<bollard::query_parameters::RemoveImageOptions>,
                    None,
                )
                .await;
        });
        assert!(!image_exists(name), "{name} is still local");
    }

    fn remove_later(&self, name: &str) {
        self.names.lock().unwrap().push(name.to_string());
    }

    fn remove_matching_later(&self, pattern: &str) {
        self.patterns.lock().unwrap().push(pattern.to_string());
    }

    /// Asserts that the password (plain or in a base64 `user:password`)
    /// appears nowhere in `text`.
    fn assert_secret_absent(&self, what: &str, text: &str) {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{}", self.password));
        assert!(
            !text.contains(&self.password) && !text.contains(&encoded),
            "{what} shows the password:\n{text}"
        );
    }

    /// The tags of `repository` the registry holds, asked with the login
    /// through its /v2 API.
    fn tags(&self, repository: &str) -> String {
        let mut stream = std::net::TcpStream::connect(&self.registry.addr).unwrap();
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{}", self.password));
        write!(
            stream,
            "GET /v2/{repository}/tags/list HTTP/1.0\r\nHost: {}\r\nAuthorization: Basic {auth}\r\n\r\n",
            self.registry.addr
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }
}

impl Drop for PrivateRegistry {
    fn drop(&mut self) {
        let mut names = std::mem::take(&mut *self.names.lock().unwrap());
        let patterns = std::mem::take(&mut *self.patterns.lock().unwrap());
        runtime().block_on(async {
            let docker = docker();
            if !patterns.is_empty() {
                let images = docker
                    .list_images(None::<bollard::query_parameters::ListImagesOptions>)
                    .await
                    .unwrap_or_default();
                names.extend(
                    images
                        .into_iter()
                        .flat_map(|i| i.repo_tags)
                        .filter(|tag| patterns.iter().any(|p| tag.contains(p.as_str()))),
                );
            }
            for name in names {
                let _ = docker
                    .remove_image(
                        &name,
                        None::<bollard::query_parameters::RemoveImageOptions>,
                        None,
                    )
                    .await;
            }
        });
    }
}

fn nonce() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

fn image_exists(name: &str) -> bool {
    runtime().block_on(async { docker().inspect_image(name).await.is_ok() })
}

fn devc_with(ws: &Workspace, args: &[&str], env: &[(&'static str, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ws.devc_env(args, &env)
}

/// A unique workspace folder name for this test run.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), nonce())
}

#[test]
fn a_private_image_config_pulls_with_the_docker_login() {
    let private = PrivateRegistry::start();
    // A layer of random bytes no local image has, so the pull downloads.
    let image = format!("{}/devc-e2e/fresh:1", private.registry.addr);
    let maker = format!("devc-e2e-layer-{}", nonce());
    private.docker(&[
        "run",
        "--name",
        &maker,
        BUSYBOX,
        "sh",
        "-c",
        "head -c 3000000 /dev/urandom > /blob",
    ]);
    private.docker(&["commit", &maker, &image]);
    private.docker(&["rm", &maker]);
    private.names.lock().unwrap().push(image.clone());
    private.docker(&["push", &image]);
    private.untag(&image);
    let ws = Workspace::with_config(&unique("privimage"), &format!(r#"{{"image": "{image}"}}"#));
    let up = devc_with(&ws, &["up", "-v", "--log-format", "json"], &private.env());
    private.assert_secret_absent("`devc up -v`", &format!("{}{}", up.stdout, up.stderr));
    let result = up.json();
    assert_eq!(result["outcome"], "success", "{}", up.stderr);
    assert!(image_exists(&image), "devc pulled nothing");
    // The pull's progress counts bytes, per layer and in all.
    assert!(
        up.stderr.lines().any(|l| l.contains(r#""type":"progress""#)
            && l.contains("Downloading ")
            && l.contains(" of ")
            && l.contains("(pull: ")),
        "{}",
        up.stderr
    );
    assert_eq!(ws.containers().len(), 1);
}

#[test]
fn a_dockerfile_whose_from_is_private_builds() {
    let private = PrivateRegistry::start();
    let name = unique("privfrom");
    private.remove_matching_later(&name);
    let ws = Workspace::with_config(&name, r#"{"build": {"dockerfile": "Dockerfile"}}"#);
    ws.write(
        ".devcontainer/Dockerfile",
        &format!("FROM {}\nLABEL devc.e2e.private-from=yes\n", private.image),
    );
    let up = devc_with(&ws, &["up", "-v"], &private.env());
    private.assert_secret_absent("`devc up -v`", &format!("{}{}", up.stdout, up.stderr));
    let result = up.json();
    assert_eq!(result["outcome"], "success", "{}", up.stderr);
    // BuildKit (the default on this engine) pulls the base into its own
    // store, so the proof is the built container's label, not a local tag.
    let container = crate::common::inspect(result["containerId"].as_str().unwrap());
    let labels = container.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(
        labels.get("devc.e2e.private-from").map(String::as_str),
        Some("yes"),
        "{}",
        up.stderr
    );
    assert!(up.stderr.contains("with BuildKit"), "{}", up.stderr);

    // The classic builder gets the logins too.
    let classic = devc_with(
        &ws,
        &["build", "--no-cache", "--buildkit", "never"],
        &private.env(),
    );
    assert_eq!(classic.code, 0, "{}", classic.stderr);
    assert!(
        image_exists(&private.image),
        "the classic build pulled nothing"
    );

    // Without the login: the same sentence as a pull, naming the image.
    private.untag(&private.image);
    let empty = tempfile::tempdir().unwrap();
    let denied = devc_with(
        &ws,
        &["build", "--no-cache"],
        &[("DOCKER_CONFIG", empty.path().display().to_string())],
    );
    assert_ne!(denied.code, 0, "{}", denied.stderr);
    assert!(
        denied.stderr.contains(&format!(
            "the registry {} requires a login to pull {}",
            private.registry.addr, private.image
        )),
        "{}",
        denied.stderr
    );
    assert!(
        denied.stderr.contains(&format!(
            "hint: run `docker login {}`",
            private.registry.addr
        )),
        "{}",
        denied.stderr
    );

    // A wrong password: the build names the login it sent.
    let wrong = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:wrong-pw"));
    std::fs::write(
        wrong.path().join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            private.registry.addr
        ),
    )
    .unwrap();
    let refused = devc_with(
        &ws,
        &["build", "--no-cache"],
        &[("DOCKER_CONFIG", wrong.path().display().to_string())],
    );
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "the registry {} refused the login from {} to pull {}",
            private.registry.addr,
            wrong.path().join("config.json").display(),
            private.image
        )),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("wrong-pw") && !refused.stderr.contains(&auth));
}

#[test]
fn a_private_compose_service_image_pulls_and_builds_from() {
    let private = PrivateRegistry::start();
    let (ws, project) = crate::compose::compose_workspace(
        "privcompose",
        &format!(
            "services:\n  app:\n    image: {BUSYBOX}\n    command: sleep 3600\n  side:\n    image: {}\n    command: sleep 3600\n  built:\n    build: ./built\n    command: sleep 3600\n",
            private.image
        ),
    );
    // The services' containers carry no workspace label: `down` removes them.
    let _down = crate::compose::Down(&ws);
    private.remove_matching_later(&project.replace("_devcontainer", ""));
    ws.write(
        ".devcontainer/built/Dockerfile",
        &format!("FROM {}\nLABEL devc.e2e.compose-build=yes\n", private.image),
    );
    // The config folder's compose file is read with the env of this run.
    let up = devc_with(&ws, &["up", "-v"], &private.env());
    private.assert_secret_absent("`devc up -v`", &format!("{}{}", up.stdout, up.stderr));
    assert_eq!(up.json()["outcome"], "success", "{}", up.stderr);
    assert!(
        image_exists(&private.image),
        "the side service's image was not pulled"
    );
    let (containers, _, _) = crate::compose::project_resources(&project);
    let images: Vec<String> = containers
        .iter()
        .map(|id| inspect(id).config.unwrap().image.unwrap_or_default())
        .collect();
    assert_eq!(containers.len(), 3, "{images:?}");
    assert!(images.contains(&private.image), "{images:?}");
    // The `built` service's private FROM came through the build's logins.
    let built = containers
        .iter()
        .map(|id| inspect(id).config.unwrap())
        .find(|c| {
            c.labels.as_ref().is_some_and(|l| {
                l.get("com.docker.compose.service").map(String::as_str) == Some("built")
            })
        })
        .expect("the built service's container");
    let image = built.image.unwrap_or_default();
    private.remove_later(&image);
    let labels = runtime()
        .block_on(async { docker().inspect_image(&image).await.unwrap() })
        .config
        .unwrap()
        .labels
        .unwrap_or_default();
    assert_eq!(
        labels.get("devc.e2e.compose-build").map(String::as_str),
        Some("yes")
    );
}

#[test]
fn build_push_sends_the_login() {
    let private = PrivateRegistry::start();
    let ws = Workspace::with_config(&unique("privpush"), &format!(r#"{{"image": "{BUSYBOX}"}}"#));
    let target = format!("{}/devc-e2e/pushed:7", private.registry.addr);
    private.remove_later(&target);

    // No login: refused, naming the registry and the command to fix it.
    let empty = tempfile::tempdir().unwrap();
    let denied = devc_with(
        &ws,
        &["build", "--push", "--image-name", &target],
        &[("DOCKER_CONFIG", empty.path().display().to_string())],
    );
    assert_ne!(denied.code, 0, "{}", denied.stderr);
    assert!(
        denied.stderr.contains(&format!(
            "the registry {} requires a login to push {target}",
            private.registry.addr
        )),
        "{}",
        denied.stderr
    );
    assert!(
        denied.stderr.contains(&format!(
            "hint: run `docker login {}`",
            private.registry.addr
        )),
        "{}",
        denied.stderr
    );
    // The JSON result carries the same sentence, and no secret.
    assert_eq!(denied.last_json()["outcome"], "error");

    let pushed = devc_with(
        &ws,
        &["build", "-v", "--push", "--image-name", &target],
        &private.env(),
    );
    private.assert_secret_absent(
        "`devc build --push -v`",
        &format!("{}{}", pushed.stdout, pushed.stderr),
    );
    assert_eq!(
        pushed.json()["imageName"][0],
        target.as_str(),
        "{}",
        pushed.stderr
    );
    let tags = private.tags("devc-e2e/pushed");
    assert!(
        tags.starts_with("HTTP/1.0 200") || tags.starts_with("HTTP/1.1 200"),
        "{tags}"
    );
    assert!(tags.contains(r#""tags":["7"]"#), "{tags}");
}

#[test]
fn a_wrong_password_is_one_clear_error_and_leaves_no_container() {
    let private = PrivateRegistry::start();
    let wrong = tempfile::tempdir().unwrap();
    let wrong_password = format!("not-{}", private.password);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{wrong_password}"));
    std::fs::write(
        wrong.path().join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            private.registry.addr
        ),
    )
    .unwrap();
    let ws = Workspace::with_config(
        &unique("privwrong"),
        &format!(r#"{{"image": "{}"}}"#, private.image),
    );
    let up = devc_with(
        &ws,
        &["up", "-v"],
        &[("DOCKER_CONFIG", wrong.path().display().to_string())],
    );
    assert_eq!(up.code, 5, "{}", up.stderr);
    let config = wrong.path().join("config.json");
    assert!(
        up.stderr.contains(&format!(
            "error: the registry {} refused the login from {} to pull {}",
            private.registry.addr,
            config.display(),
            private.image
        )),
        "{}",
        up.stderr
    );
    assert!(
        up.stderr.contains(&format!(
            "hint: run `docker login {}` again",
            private.registry.addr
        )),
        "{}",
        up.stderr
    );
    let all = format!("{}{}", up.stdout, up.stderr);
    assert!(
        !all.contains(&wrong_password) && !all.contains(&auth),
        "{all}"
    );
    assert!(ws.containers().is_empty(), "a container was left behind");
    assert!(!image_exists(&private.image));
}

/// A Podman API service of the test's own (runc and cgroupfs, as this
/// kind of machine needs; see podman.rs) that may reach `registry` over
/// plain HTTP; stopped on drop.
struct PodmanService {
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl PodmanService {
    fn start(registry: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("devc-podman-auth-")
            .tempdir()
            .unwrap();
        let conf = dir.path().join("containers.conf");
        std::fs::write(
            &conf,
            "[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\n",
        )
        .unwrap();
        let registries = dir.path().join("registries.conf");
        std::fs::write(
            &registries,
            format!("[[registry]]\nlocation = \"{registry}\"\ninsecure = true\n"),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
        let socket = dir.path().join("podman.sock");
        let child = Command::new("podman")
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .env("CONTAINERS_CONF", &conf)
            .env("CONTAINERS_REGISTRIES_CONF", &registries)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("podman is installed (apt-get install podman)");
        let service = Self { dir, child };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "podman system service did not answer on {}:\n{}",
                socket.display(),
                service.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        service
    }

    fn docker_host(&self) -> String {
        format!("unix://{}", self.dir.path().join("podman.sock").display())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// With a Podman engine the login comes from Podman's `auth.json`
/// (`REGISTRY_AUTH_FILE`, written by a real `podman login`), not only
/// from Docker's `config.json`.
#[test]
fn podman_pulls_with_the_login_from_its_auth_file() {
    let private = PrivateRegistry::start();
    let service = PodmanService::start(&private.registry.addr);
    let host = service.docker_host();
    let auth_file = service.dir.path().join("auth.json");
    let mut login = Command::new("podman")
        .args([
            "login",
            "--tls-verify=false",
            "--username",
            USER,
            "--password-stdin",
        ])
        .arg("--authfile")
        .arg(&auth_file)
        .arg(&private.registry.addr)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podman runs");
    login
        .stdin
        .take()
        .unwrap()
        .write_all(private.password.as_bytes())
        .unwrap();
    let out = login.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "podman login failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ws = Workspace::with_config(
        &unique("privpodman"),
        &format!(
            r#"{{"image": "{}",
                "runArgs": ["--ulimit", "nofile=1024:4096", "--ulimit", "nproc=4096:4096"]}}"#,
            private.image
        ),
    );
    let empty = tempfile::tempdir().unwrap();
    let env = |auth: &std::path::Path| {
        vec![
            ("DOCKER_HOST", host.clone()),
            ("DOCKER_CONFIG", empty.path().display().to_string()),
            ("REGISTRY_AUTH_FILE", auth.display().to_string()),
        ]
    };
    // Removes the container and the pulled name from Podman, pass or fail.
    struct Cleanup<'a>(&'a Workspace, Vec<(&'static str, String)>, String);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            devc_with(self.0, &["down", "--volumes"], &self.1);
            let _ = Command::new("podman").args(["rmi", &self.2]).output();
        }
    }
    let _cleanup = Cleanup(&ws, env(&auth_file), private.image.clone());

    let missing = devc_with(&ws, &["up"], &env(&empty.path().join("none.json")));
    assert_ne!(missing.code, 0, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("none.json"),
        "the Podman login file is searched: {}",
        missing.stderr
    );
    let up = devc_with(&ws, &["up", "-v"], &env(&auth_file));
    private.assert_secret_absent(
        "`devc up -v` on Podman",
        &format!("{}{}", up.stdout, up.stderr),
    );
    assert_eq!(
        up.code,
        0,
        "{}\nPodman's service log:\n{}",
        up.stderr,
        service.log()
    );
    assert!(
        up.stderr.contains(&auth_file.display().to_string()),
        "{}",
        up.stderr
    );
}
