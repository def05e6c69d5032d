//! Git worktrees (issue 15): the common `.git` folder mounted so git works
//! in the container, `devc worktree add/list/rm`, separate Compose
//! projects and host ports that do not clash.

use crate::common::git;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

use crate::common::{self, BUSYBOX, DEBIAN, Run, devc, devc_in, inspect};
use crate::compose::project_resources;

/// The Debian test image with git (Debian's package), and a user `dev`.
const GIT_DOCKERFILE: &str = "FROM devc-test/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
RUN useradd -m -u 1000 -s /bin/sh dev
";

/// `devc-test/git:<hash>`, built once per test run.
fn git_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        common::require_engine();
        let hash = Sha256::digest(format!("{DEBIAN}\n{GIT_DOCKERFILE}"));
        let tag = format!("devc-test/git:{}", &format!("{hash:x}")[..16]);
        let docker = common::docker();
        if common::runtime()
            .block_on(docker.inspect_image(&tag))
            .is_ok()
        {
            return tag;
        }
        let context = tempfile::Builder::new()
            .prefix("devc-git-image-")
            .tempdir()
            .unwrap();
        std::fs::write(context.path().join("Dockerfile"), GIT_DOCKERFILE).unwrap();
        let output = Command::new("docker")
            .args(["build", "-q", "-t", &tag])
            .arg(context.path())
            .output()
            .expect("docker runs");
        assert!(
            output.status.success(),
            "building {tag}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tag
    })
}

/// A git repository `app` in a temporary folder (its worktrees go beside
/// it, in the same folder) with one commit of `files`. On drop every
/// environment under the folder is taken down, Compose projects included.
struct Repo {
    root: tempfile::TempDir,
    path: PathBuf,
}

impl Repo {
    fn new(files: &[(&str, &str)]) -> Self {
        common::require_engine();
        let root = tempfile::Builder::new()
            .prefix("devc-e2e-wt-")
            .tempdir()
            .unwrap();
        let path = root.path().join("app");
        std::fs::create_dir_all(&path).unwrap();
        for (name, text) in files {
            let file = path.join(name);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        git(&path, &["init", "-q", "-b", "main"]);
        git(&path, &["config", "user.name", "Devc Test"]);
        git(&path, &["config", "user.email", "devc@example.com"]);
        git(&path, &["add", "-A"]);
        git(&path, &["commit", "-qm", "initial"]);
        Self { root, path }
    }

    /// `devc <args> --workspace-folder <repo>`.
    fn devc(&self, args: &[&str]) -> Run {
        devc_in(&self.path, args, &[])
    }

    /// `devc worktree <sub> --workspace-folder <repo> <args>`.
    fn worktree_command(&self, args: &[&str]) -> Command {
        let (sub, rest) = args.split_first().unwrap();
        let mut command = devc();
        command
            .args(["worktree", sub, "--workspace-folder"])
            .arg(&self.path)
            .args(rest)
            .stdin(Stdio::null());
        command
    }

    fn wt(&self, args: &[&str]) -> Run {
        Run::from(self.worktree_command(args).output().unwrap())
    }

    fn worktree(&self, branch: &str) -> PathBuf {
        self.root.path().join(format!("app.{branch}"))
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        for entry in std::fs::read_dir(self.root.path()).into_iter().flatten() {
            let folder = entry.unwrap().path();
            if folder.join(".devcontainer").exists() {
                devc_in(&folder, &["down", "--volumes"], &[]);
            }
        }
        common::remove_containers_under(self.root.path());
    }
}

/// A host port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Volumes devc made for the workspace at `folder` (editor servers, …).
fn volumes_of(folder: &Path) -> Vec<String> {
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("devcontainer.local_folder={}", folder.display())],
    )]);
    common::runtime().block_on(async {
        common::docker()
            .list_volumes(Some(bollard::query_parameters::ListVolumesOptions {
                filters: Some(filters),
            }))
            .await
            .unwrap()
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect()
    })
}

/// The host ports a container publishes (`container port/proto` → host ports).
fn host_ports(id: &str) -> Vec<u16> {
    let ports = inspect(id)
        .host_config
        .unwrap()
        .port_bindings
        .unwrap_or_default();
    let mut out: Vec<u16> = ports
        .values()
        .flatten()
        .flatten()
        .filter_map(|b| b.host_port.as_deref()?.parse().ok())
        .collect();
    out.sort();
    out
}

#[test]
fn two_worktrees_come_up_in_parallel_with_their_own_project_and_ports_and_go_away() {
    let image = git_image();
    let port = free_port();
    let compose = format!(
        "services:
  dev:
    image: {image}
    command: sleep infinity
    init: true
    volumes:
      - ..:/workspaces/app
      - cache:/cache
    ports:
      - \"127.0.0.1:{port}:8000\"
volumes:
  cache:
"
    );
    let repo = Repo::new(&[
        (
            ".devcontainer/devcontainer.json",
            r#"{"dockerComposeFile": "compose.yml", "service": "dev",
                "workspaceFolder": "/workspaces/app", "remoteUser": "root"}"#,
        ),
        (".devcontainer/compose.yml", &compose),
        ("README.md", "hello\n"),
    ]);

    // Two `devc worktree add` at once.
    let spawn = |branch: &str| {
        repo.worktree_command(&["add", branch])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("feat-a"), spawn("feat-b"));
    let a = Run::from(a.wait_with_output().unwrap());
    let b = Run::from(b.wait_with_output().unwrap());
    let (a_json, b_json) = (a.json(), b.json());
    assert_eq!(a_json["outcome"], "success");
    let (project_a, project_b) = (
        a_json["composeProjectName"].as_str().unwrap().to_string(),
        b_json["composeProjectName"].as_str().unwrap().to_string(),
    );
    assert_ne!(
        project_a, project_b,
        "each worktree has its own Compose project"
    );
    assert!(repo.worktree("feat-a").join("README.md").exists());
    assert!(repo.worktree("feat-b").join("README.md").exists());

    // Different host ports; the one that had to move says so, in the
    // result and in a warning.
    let id_a = a_json["containerId"].as_str().unwrap();
    let id_b = b_json["containerId"].as_str().unwrap();
    let (ports_a, ports_b) = (host_ports(id_a), host_ports(id_b));
    assert_eq!(ports_a.len(), 1, "{ports_a:?}");
    assert_eq!(ports_b.len(), 1, "{ports_b:?}");
    assert_ne!(ports_a, ports_b);
    assert!(ports_a.contains(&port) || ports_b.contains(&port));
    let (moved, moved_json, moved_port) = if ports_a.contains(&port) {
        (&b, &b_json, ports_b[0])
    } else {
        (&a, &a_json, ports_a[0])
    };
    assert!(
        moved.stderr.contains(&format!("host port {port}")) && moved.stderr.contains("warning:"),
        "{}",
        moved.stderr
    );
    let reported = &moved_json["ports"][0];
    assert_eq!(reported["hostPort"], moved_port, "{moved_json}");
    assert_eq!(reported["requestedHostPort"], port, "{moved_json}");
    assert_eq!(reported["containerPort"], 8000);

    // Separate named volumes: each project has its own `cache`.
    let (_, _, volumes_a) = project_resources(&project_a);
    let (_, _, volumes_b) = project_resources(&project_b);
    assert_eq!(volumes_a, vec![format!("{project_a}_cache")]);
    assert_eq!(volumes_b, vec![format!("{project_b}_cache")]);

    // git works inside, as the remote user, and the commit lands in the repository.
    let wt_a = repo.worktree("feat-a");
    let status = devc_in(
        &wt_a,
        &["exec", "git", "status", "--short", "--branch"],
        &[],
    );
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("feat-a"), "{}", status.stdout);
    let commit = devc_in(
        &wt_a,
        &[
            "exec",
            "sh",
            "-c",
            "echo inside > inside.txt && git add inside.txt && git commit -qm 'made inside' && git log -1 --format=%s",
        ],
        &[],
    );
    assert_eq!(commit.code, 0, "{commit:?}");
    assert!(commit.stdout.contains("made inside"), "{}", commit.stdout);
    let log = git(&repo.path, &["log", "--format=%s", "feat-a"]);
    assert!(log.lines().next() == Some("made inside"), "{log}");

    // The list shows both, running, with their ports.
    let list = repo.wt(&["list", "--json"]);
    let rows = list.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for branch in ["feat-a", "feat-b"] {
        let row = rows.iter().find(|r| r["branch"] == branch).unwrap();
        assert_eq!(row["state"], "running", "{row}");
        assert_eq!(row["ports"].as_array().unwrap().len(), 1, "{row}");
    }
    let main = rows.iter().find(|r| r["branch"] == "main").unwrap();
    assert_eq!(main["state"], "none");
    let table = repo.wt(&["list"]);
    assert_eq!(table.code, 0, "{table:?}");
    assert!(table.stdout.contains("feat-b"), "{}", table.stdout);

    // rm takes the environment down whole and removes the worktree.
    assert!(!volumes_of(&wt_a).is_empty(), "editor-server volumes exist");
    let rm = repo.wt(&["rm", "feat-a"]);
    assert_eq!(rm.json()["outcome"], "success");
    assert!(!wt_a.exists());
    let (containers, networks, volumes) = project_resources(&project_a);
    assert!(containers.is_empty(), "{containers:?}");
    assert!(networks.is_empty(), "{networks:?}");
    assert!(volumes.is_empty(), "{volumes:?}");
    assert!(volumes_of(&wt_a).is_empty(), "{:?}", volumes_of(&wt_a));
    assert!(common::containers_under(&wt_a).is_empty());
    // The branch (and the commit made inside) stays.
    assert!(git(&repo.path, &["branch", "--list", "feat-a"]).contains("feat-a"));

    // Uncommitted changes: refused without a terminal, unless --force.
    let wt_b = repo.worktree("feat-b");
    std::fs::write(wt_b.join("scratch.txt"), "unsaved\n").unwrap();
    let refused = repo.wt(&["rm", "feat-b"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("uncommitted changes") && refused.stderr.contains("hint:"),
        "{}",
        refused.stderr
    );
    assert!(wt_b.join("scratch.txt").exists());
    assert_eq!(project_resources(&project_b).0.len(), 1);
    let forced = repo.wt(&["rm", "feat-b", "--force"]);
    assert_eq!(forced.json()["outcome"], "success");
    assert!(!wt_b.exists());
    let (containers, networks, volumes) = project_resources(&project_b);
    assert!(
        containers.is_empty() && networks.is_empty() && volumes.is_empty(),
        "{containers:?} {networks:?} {volumes:?}"
    );
}

#[test]
fn a_taken_app_port_moves_to_the_next_free_one() {
    let port = free_port();
    let config = format!(r#"{{"image": "{BUSYBOX}", "appPort": [{port}]}}"#);
    let repo = Repo::new(&[(".devcontainer/devcontainer.json", &config)]);
    let first = repo.devc(&["up"]);
    let first_json = first.json();
    assert_eq!(
        host_ports(first_json["containerId"].as_str().unwrap()),
        vec![port]
    );
    assert_eq!(first_json["ports"][0]["hostPort"], port, "{first_json}");
    assert!(first_json["ports"][0].get("requestedHostPort").is_none());

    let add = repo.wt(&["add", "other"]);
    let json = add.json();
    let moved = host_ports(json["containerId"].as_str().unwrap());
    assert_eq!(moved.len(), 1);
    assert!(moved[0] > port, "{moved:?}");
    assert_eq!(json["ports"][0]["requestedHostPort"], port, "{json}");
    assert!(add.stderr.contains("warning:"), "{}", add.stderr);
    // `up` again on the running container reports the same.
    let again = devc_in(&repo.worktree("other"), &["up"], &[]).json();
    assert_eq!(again["ports"], json["ports"]);
}

#[test]
fn the_common_git_folder_is_mounted_unless_turned_off_and_relative_gitdirs_work() {
    let image = git_image();
    let config = format!(r#"{{"image": "{image}", "remoteUser": "root"}}"#);
    let repo = Repo::new(&[(".devcontainer/devcontainer.json", &config)]);
    let added = repo.wt(&["add", "topic", "--no-up"]);
    assert_eq!(added.json()["outcome"], "success");
    let wt = repo.worktree("topic");
    let common = repo.path.join(".git");
    let common_text = common.to_string_lossy().into_owned();
    let mount_targets = |id: &str| -> Vec<String> {
        inspect(id)
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.destination)
            .collect()
    };

    // Off: no mount, and git inside cannot find the repository.
    let off = devc_in(&wt, &["up", "--no-mount-git-worktree-common-dir"], &[]).json();
    let id = off["containerId"].as_str().unwrap().to_string();
    assert!(!mount_targets(&id).contains(&common_text));
    let status = devc_in(
        &wt,
        &[
            "exec",
            "--no-mount-git-worktree-common-dir",
            "git",
            "status",
        ],
        &[],
    );
    assert_ne!(status.code, 0, "{status:?}");
    // The reference CLI's spelling of the switch.
    let off_too = devc_in(
        &wt,
        &["up", "--mount-git-worktree-common-dir", "false"],
        &[],
    );
    assert_eq!(off_too.json()["containerId"], off["containerId"]);

    // On (the default): mounted where the `.git` file points; git works.
    let on = devc_in(&wt, &["up", "--remove-existing-container"], &[]).json();
    let id = on["containerId"].as_str().unwrap().to_string();
    assert!(
        mount_targets(&id).contains(&common_text),
        "{:?}",
        mount_targets(&id)
    );
    let status = devc_in(&wt, &["exec", "git", "status", "--short", "--branch"], &[]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("topic"), "{}", status.stdout);

    // A relative gitdir (git 2.48's worktree.useRelativePaths, written by
    // hand for older gits): worktree and common folder keep their relative
    // places under /workspaces.
    std::fs::write(wt.join(".git"), "gitdir: ../app/.git/worktrees/app.topic\n").unwrap();
    std::fs::write(
        common.join("worktrees/app.topic/gitdir"),
        "../../../app.topic/.git\n",
    )
    .unwrap();
    let relative = devc_in(&wt, &["up", "--remove-existing-container"], &[]).json();
    assert_eq!(relative["remoteWorkspaceFolder"], "/workspaces/app.topic");
    let id = relative["containerId"].as_str().unwrap().to_string();
    assert!(
        mount_targets(&id).contains(&"/workspaces/app/.git".to_string()),
        "{:?}",
        mount_targets(&id)
    );
    let log = devc_in(&wt, &["exec", "git", "log", "-1", "--format=%s"], &[]);
    assert_eq!(log.code, 0, "{log:?}");
    assert_eq!(log.stdout.trim(), "initial");
}

#[test]
fn a_non_root_remote_user_can_use_git_in_a_worktree_owned_by_another_uid() {
    // A Dockerfile configuration this time (image and Compose are above).
    let dockerfile = format!("FROM {}\n", git_image());
    let repo = Repo::new(&[
        (
            ".devcontainer/devcontainer.json",
            r#"{"build": {"dockerfile": "Dockerfile"}, "remoteUser": "dev"}"#,
        ),
        (".devcontainer/Dockerfile", &dockerfile),
    ]);
    let add = repo.wt(&["add", "nonroot"]);
    assert_eq!(add.json()["remoteUser"], "dev");
    let wt = repo.worktree("nonroot");
    // devc runs as root here: the files belong to uid 0, the user is 1000.
    // git trusts the worktree anyway (safe.directory) and can read it...
    let status = devc_in(&wt, &["exec", "git", "status", "--short", "--branch"], &[]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("nonroot"), "{}", status.stdout);
    let commit = ["exec", "git", "commit", "--allow-empty", "-qm", "as dev"];
    // ...but writing needs the files to be the user's, as the warning says.
    let refused = devc_in(&wt, &commit, &[]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains("Permission denied"),
        "{}",
        refused.stderr
    );
    // Given to that uid (what updateRemoteUserUID arranges for a non-root
    // devc), the commit goes through and lands in the repository.
    let chown = Command::new("chown")
        .args(["-R", "1000:1000"])
        .arg(&wt)
        .arg(repo.path.join(".git"))
        .status()
        .unwrap();
    assert!(chown.success());
    let made = devc_in(&wt, &commit, &[]);
    assert_eq!(made.code, 0, "{made:?}");
    let log = git(
        &repo.path,
        &[
            "-c",
            "safe.directory=*",
            "log",
            "-1",
            "--format=%s",
            "nonroot",
        ],
    );
    assert_eq!(log.trim(), "as dev");
}

#[test]
fn worktree_add_takes_from_and_path_and_refuses_what_it_cannot_do() {
    let repo = Repo::new(&[("README.md", "hello\n")]);
    git(&repo.path, &["branch", "base"]);
    std::fs::write(repo.path.join("README.md"), "changed\n").unwrap();
    git(&repo.path, &["commit", "-qam", "second"]);

    // A new branch from --from, where --path says.
    let custom = repo.root.path().join("custom place");
    let custom_text = custom.to_string_lossy().into_owned();
    let made = repo.wt(&[
        "add",
        "feature/x",
        "--from",
        "base",
        "--path",
        &custom_text,
        "--no-up",
    ]);
    assert_eq!(made.json()["worktree"], custom_text.as_str());
    assert_eq!(
        git(&custom, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "feature/x"
    );
    assert_eq!(
        std::fs::read_to_string(custom.join("README.md")).unwrap(),
        "hello\n"
    );
    // An existing branch is checked out as it is, beside the repository.
    git(&repo.path, &["branch", "existing"]);
    let beside = repo.wt(&["add", "existing", "--no-up"]);
    assert_eq!(
        beside.json()["worktree"],
        repo.worktree("existing").to_string_lossy().as_ref()
    );
    // A branch name becomes a folder-name suffix.
    let slashed = repo.wt(&["add", "fix/a+b", "--no-up"]);
    assert_eq!(
        slashed.json()["worktree"],
        repo.worktree("fix-a-b").to_string_lossy().as_ref()
    );

    // Usage errors: exit 2, one sentence and a hint, nothing made.
    let from_existing = repo.wt(&[
        "add",
        "existing",
        "--from",
        "base",
        "--path",
        "/nonexistent-x",
    ]);
    assert_eq!(from_existing.code, 2, "{from_existing:?}");
    assert!(
        from_existing.stderr.contains("hint:"),
        "{}",
        from_existing.stderr
    );
    let invalid = repo.wt(&["add", "a b", "--no-up"]);
    assert_eq!(invalid.code, 2, "{invalid:?}");
    assert!(
        invalid.stderr.contains("not a valid git branch name"),
        "{}",
        invalid.stderr
    );
    let taken = repo.wt(&["add", "other", "--path", &custom_text, "--no-up"]);
    assert_eq!(taken.code, 2, "{taken:?}");
    assert!(taken.stderr.contains("exists already"), "{}", taken.stderr);
    let unknown = repo.wt(&["rm", "no-such-branch"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    let main = repo.wt(&["rm", "main"]);
    assert_eq!(main.code, 2, "{main:?}");
    assert!(repo.path.join("README.md").exists());
    let outside = tempfile::tempdir().unwrap();
    let not_git = devc()
        .args(["worktree", "list", "--workspace-folder"])
        .arg(outside.path())
        .output()
        .unwrap();
    let not_git = Run::from(not_git);
    assert_eq!(not_git.code, 2, "{not_git:?}");
    assert!(
        not_git.stderr.contains("not in a git repository"),
        "{}",
        not_git.stderr
    );

    // Without a devcontainer.json, list says so and rm removes the worktree alone.
    let rows = repo.wt(&["list", "--json"]).json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["branch"] == "feature/x")
        .unwrap()
        .clone();
    assert_eq!(row["state"], "no-config", "{row}");
    let rm = repo.wt(&["rm", "feature/x"]);
    assert_eq!(rm.json()["outcome"], "success");
    assert!(!custom.exists());
    // A worktree folder deleted by hand is pruned.
    std::fs::remove_dir_all(repo.worktree("existing")).unwrap();
    let pruned = repo.wt(&["rm", "existing"]);
    assert_eq!(pruned.json()["outcome"], "success");
    let listed = git(&repo.path, &["worktree", "list", "--porcelain"]);
    assert!(!listed.contains("app.existing"), "{listed}");
}
