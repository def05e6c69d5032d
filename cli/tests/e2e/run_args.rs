//! `runArgs`, `build.options` and GPUs (issue 10): the whole `docker run`
//! surface checked in `docker inspect` against the reference CLI's
//! container from the same configuration, warnings, typos, and the GPU
//! request with and without a GPU runtime (this engine has none).

use serde_json::{Value, json};

use crate::common::{BUSYBOX, Run, Workspace, inspect};
use crate::compat::reference;

/// 55 different flags, all of which this unprivileged
/// VM can run: no `--privileged`, no `--uts host` beside `--domainname`, no
/// `--mac-address` (the docker CLI refuses it below API 1.44, and this
/// engine speaks 1.41).
fn run_args(files: &std::path::Path) -> Vec<String> {
    let env_file = files.join("env");
    let label_file = files.join("labels");
    [
        "--group-add",
        "1234",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--device",
        "/dev/null:/dev/devc-null:rw",
        "--device-cgroup-rule",
        "c 42:* rmw",
        "--platform",
        "linux/amd64",
        "--runtime",
        "runc",
        "--ipc",
        "shareable",
        "--userns",
        "host",
        "--cgroupns=private",
        "--cgroup-parent",
        "/devc-e2e",
        "--pids-limit",
        "300",
        "-m",
        "512m",
        "--memory-reservation=256m",
        "--memory-swap",
        "1g",
        "--memory-swappiness",
        "10",
        "-c",
        "512",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "150000",
        "--cpuset-cpus=0",
        "--cpuset-mems",
        "0",
        "--shm-size",
        "128m",
        "--dns",
        "10.0.0.53",
        "--dns-search",
        "corp.example",
        "--dns-option",
        "ndots:2",
        "--add-host=db:10.0.0.2",
        "--tmpfs",
        "/scratch:rw,size=16m",
        "--ulimit",
        "nofile=1024:2048",
        "--security-opt",
        "no-new-privileges",
        "--cap-add",
        "SYS_PTRACE",
        "--cap-drop=MKNOD",
        "--stop-signal",
        "SIGINT",
        "--stop-timeout",
        "5",
        "--health-cmd",
        "true",
        "--health-interval",
        "30s",
        "--health-timeout=5s",
        "--health-retries",
        "2",
        "--health-start-period",
        "1s",
        "--oom-kill-disable",
        "--oom-score-adj",
        "100",
        "--restart",
        "unless-stopped",
        "-l",
        "team=devc",
        "--label-file",
        label_file.to_str().unwrap(),
        "-e",
        "FOO=bar",
        "--env-file",
        env_file.to_str().unwrap(),
        "--domainname",
        "example.org",
        "-h",
        "devbox",
        "-w",
        "/tmp",
        "-u",
        "root",
        "--expose",
        "9000",
        "-P",
        "--mount",
        "type=tmpfs,target=/m",
        "--init",
        "--log-driver",
        "json-file",
        "--log-opt",
        "max-size=1m",
        "--isolation",
        "default",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect()
}

/// Distinct flag names among `args` (long and short spellings of one flag
/// count once only when they are the same spelling).
fn distinct_flags(args: &[String]) -> usize {
    let mut names: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with('-'))
        .map(|a| a.split('=').next().unwrap())
        .collect();
    names.sort();
    names.dedup();
    names.len()
}

/// The inspect fields the flags above set.
const FIELDS: &[&str] = &[
    "/HostConfig/GroupAdd",
    "/HostConfig/Sysctls",
    "/HostConfig/Devices",
    "/HostConfig/DeviceCgroupRules",
    "/HostConfig/Runtime",
    "/HostConfig/IpcMode",
    "/HostConfig/UsernsMode",
    "/HostConfig/CgroupnsMode",
    "/HostConfig/CgroupParent",
    "/HostConfig/PidsLimit",
    "/HostConfig/Memory",
    "/HostConfig/MemoryReservation",
    "/HostConfig/MemorySwap",
    "/HostConfig/MemorySwappiness",
    "/HostConfig/CpuShares",
    "/HostConfig/CpuPeriod",
    "/HostConfig/CpuQuota",
    "/HostConfig/CpusetCpus",
    "/HostConfig/CpusetMems",
    "/HostConfig/ShmSize",
    "/HostConfig/Dns",
    "/HostConfig/DnsSearch",
    "/HostConfig/DnsOptions",
    "/HostConfig/ExtraHosts",
    "/HostConfig/Tmpfs",
    "/HostConfig/Ulimits",
    "/HostConfig/SecurityOpt",
    "/HostConfig/OomKillDisable",
    "/HostConfig/OomScoreAdj",
    "/HostConfig/RestartPolicy",
    "/HostConfig/LogConfig",
    "/HostConfig/PublishAllPorts",
    "/HostConfig/Init",
    "/HostConfig/Isolation",
    "/Config/StopSignal",
    "/Config/StopTimeout",
    "/Config/Healthcheck",
    "/Config/Domainname",
    "/Config/Hostname",
    "/Config/WorkingDir",
    "/Config/User",
    "/Config/ExposedPorts/9000~1tcp",
    "/Config/Labels/team",
    "/Config/Labels/from.file",
];

fn inspected(id: &str) -> Value {
    serde_json::to_value(inspect(id)).unwrap()
}

/// The docker CLI writes capabilities as `CAP_X`; the engine takes `X` too.
fn capabilities(container: &Value, field: &str) -> Vec<String> {
    let mut caps: Vec<String> = container
        .pointer(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|c| c.trim_start_matches("CAP_").to_owned())
        .collect();
    caps.sort();
    caps
}

fn tmpfs_mount_targets(container: &Value) -> Vec<String> {
    container
        .pointer("/HostConfig/Mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m["Type"] == "tmpfs")
        .filter_map(|m| m["Target"].as_str().map(str::to_owned))
        .collect()
}

fn env_has(container: &Value, entry: &str) -> bool {
    container["Config"]["Env"]
        .as_array()
        .is_some_and(|env| env.iter().any(|e| e == entry))
}

fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

#[test]
fn fifty_five_run_flags_make_the_same_container_as_the_reference_cli() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("env"), "FROM_FILE=1\n# comment\n").unwrap();
    std::fs::write(files.path().join("labels"), "from.file=yes\n").unwrap();
    let args = run_args(files.path());
    assert_eq!(distinct_flags(&args), 55, "{}", distinct_flags(&args));
    let config = json!({"image": BUSYBOX, "runArgs": args}).to_string();
    let ours_ws = Workspace::with_config("runargs-devc", &config);
    let theirs_ws = Workspace::with_config("runargs-ref", &config);

    let up = ours_ws.devc(&["up"]);
    let ours_id = up.json()["containerId"].as_str().unwrap().to_owned();
    assert!(
        !up.stderr.contains("is ignored"),
        "no flag of this configuration is skipped: {}",
        up.stderr
    );
    let theirs_id = reference(&theirs_ws.path, &["up"]).last_json()["containerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ours, theirs) = (inspected(&ours_id), inspected(&theirs_id));

    let mut differences = Vec::new();
    for field in FIELDS {
        let (a, b) = (
            ours.pointer(field).unwrap_or(&Value::Null),
            theirs.pointer(field).unwrap_or(&Value::Null),
        );
        if a != b {
            differences.push(format!("{field}: devc {a} vs reference {b}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // Set, not merely equally absent (the blkio weight is the exception
    // that proves the rule: this kernel discards it for both tools, so it
    // is not among the fields).
    // An exposed port is a key whose value is `{}`.
    let unset: Vec<&&str> = FIELDS
        .iter()
        .filter(|f| match ours.pointer(f) {
            Some(_) if f.starts_with("/Config/ExposedPorts/") => false,
            Some(value) => is_unset(value),
            None => true,
        })
        .collect();
    assert!(unset.is_empty(), "fields the flags did not set: {unset:?}");
    assert_eq!(capabilities(&ours, "/HostConfig/CapAdd"), ["SYS_PTRACE"]);
    assert_eq!(
        capabilities(&ours, "/HostConfig/CapAdd"),
        capabilities(&theirs, "/HostConfig/CapAdd")
    );
    assert_eq!(
        capabilities(&ours, "/HostConfig/CapDrop"),
        capabilities(&theirs, "/HostConfig/CapDrop")
    );
    assert!(tmpfs_mount_targets(&ours).contains(&"/m".to_owned()));
    assert_eq!(tmpfs_mount_targets(&ours), tmpfs_mount_targets(&theirs));
    for entry in ["FOO=bar", "FROM_FILE=1"] {
        assert!(env_has(&ours, entry) && env_has(&theirs, entry), "{entry}");
    }
    assert_eq!(ours["State"]["Status"], "running");
    assert_eq!(theirs["State"]["Status"], "running");
}

#[test]
fn docker_cli_only_flags_are_warnings_and_the_container_comes_up() {
    let config = json!({
        "image": BUSYBOX,
        "runArgs": ["--rm", "-it", "--entrypoint", "/bin/bash", "--detach-keys=ctrl-x", "--init"],
    })
    .to_string();
    let ws = Workspace::with_config("runargs-warn", &config);
    let up = ws.devc(&["up"]);
    let id = up.json()["containerId"].as_str().unwrap().to_owned();
    for flag in ["--rm", "-i", "-t", "--entrypoint", "--detach-keys"] {
        assert!(
            up.stderr
                .contains(&format!("runArgs: \"{flag}\" is ignored: ")),
            "{flag}: {}",
            up.stderr
        );
    }
    let container = inspected(&id);
    assert_eq!(container["HostConfig"]["AutoRemove"], false);
    assert_eq!(container["HostConfig"]["Init"], true);
    assert_eq!(container["Config"]["Tty"], false);
    assert_eq!(container["Config"]["Entrypoint"], json!(["/bin/sh"]));
}

fn assert_nothing_created(ws: &Workspace, run: &Run) {
    assert!(
        ws.containers().is_empty(),
        "nothing is left behind: {:?}\n{}",
        ws.containers(),
        run.stderr
    );
}

#[test]
fn a_misspelt_flag_names_runargs_the_file_and_the_right_flag() {
    let config =
        json!({"image": BUSYBOX, "runArgs": ["--init", "--grup-add", "video"]}).to_string();
    let ws = Workspace::with_config("runargs-typo", &config);
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 3, "{}", up.stderr);
    let file = ws.path.join(".devcontainer/devcontainer.json");
    let expected = format!(
        "runArgs in {}: unknown docker run flag \"--grup-add\" (did you mean \"--group-add\"?)",
        file.display()
    );
    assert!(up.stderr.contains(&expected), "{}", up.stderr);
    assert!(
        up.stderr.contains("hint: runArgs takes `docker run` flags"),
        "{}",
        up.stderr
    );
    assert_nothing_created(&ws, &up);
}

#[test]
fn build_options_reach_the_classic_build() {
    let config = json!({
        "build": {
            "dockerfile": "Dockerfile",
            "options": ["--add-host", "proxy.corp:10.9.8.7", "--network=host", "--progress=plain", "--shm-size=64m"],
        },
        "features": {"./proxycheck": {}},
    })
    .to_string();
    let ws = Workspace::with_config("buildopts", &config);
    // Unique steps, so every run builds (tags are content hashes).
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    // The features build on top gets the same options, as in the
    // reference CLI's single build.
    ws.write(
        ".devcontainer/proxycheck/devcontainer-feature.json",
        r#"{"id": "proxycheck", "version": "1.0.0"}"#,
    );
    ws.write(
        ".devcontainer/proxycheck/install.sh",
        &format!("#!/bin/sh\nset -e\ngrep -q '10.9.8.7.*proxy.corp' /etc/hosts\necho {unique} > /proxycheck\n"),
    );
    ws.write(
        ".devcontainer/Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo {unique} && grep -q '10.9.8.7.*proxy.corp' /etc/hosts && df -m /dev/shm | grep -q ' 64 '\n"),
    );
    let up = ws.devc(&["up"]);
    let id = up.json()["containerId"].as_str().unwrap().to_owned();
    assert!(up.stderr.contains("Installing features"), "{}", up.stderr);
    let image = inspected(&id)["Config"]["Image"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        up.stderr
            .contains("build.options: \"--progress\" is ignored: "),
        "{}",
        up.stderr
    );
    let typo = Workspace::with_config(
        "buildopts-typo",
        &json!({"build": {"dockerfile": "Dockerfile", "options": ["--netwrok=host"]}}).to_string(),
    );
    typo.write(".devcontainer/Dockerfile", &format!("FROM {BUSYBOX}\n"));
    let up = typo.devc(&["up"]);
    assert_eq!(up.code, 3);
    assert!(
        up.stderr.contains(
            "build.options: unknown docker build flag \"--netwrok\" (did you mean \"--network\"?)"
        ),
        "{}",
        up.stderr
    );
    assert_nothing_created(&typo, &up);
    // The images this run built (the Dockerfile's and the features').
    drop(ws);
    let base = up_base_image(&image);
    let _ = std::process::Command::new("docker")
        .args(["rmi", &image, &base])
        .output();
}

/// The image a features image was built on (its `FROM`, by id).
fn up_base_image(features_image: &str) -> String {
    let output = std::process::Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Parent}}", features_image])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

const GPU_REQUIRED: &str =
    r#"{"image": "devc-test/busybox:latest", "hostRequirements": {"gpu": true}}"#;

#[test]
fn a_required_gpu_on_an_engine_without_one_fails_before_creating_anything() {
    let ws = Workspace::with_config("gpu-required", GPU_REQUIRED);
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    assert!(
        up.stderr
            .contains("the configuration requires a GPU (hostRequirements.gpu in ")
            && up
                .stderr
                .contains("lists no \"nvidia\" runtime and no CDI GPU (runtimes: "),
        "{}",
        up.stderr
    );
    assert!(
        up.stderr
            .contains("hint: install the NVIDIA Container Toolkit"),
        "{}",
        up.stderr
    );
    assert_nothing_created(&ws, &up);

    // With a Dockerfile, nothing is built either.
    let ws = Workspace::with_config(
        "gpu-required-build",
        r#"{"build": {"dockerfile": "Dockerfile"}, "hostRequirements": {"gpu": {"cores": 1}}}"#,
    );
    ws.write(
        ".devcontainer/Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN echo never-built\n"),
    );
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    assert!(
        up.stderr.contains("the configuration requires a GPU"),
        "{}",
        up.stderr
    );
    assert!(!up.stderr.contains("Building image"), "{}", up.stderr);
    assert_nothing_created(&ws, &up);
}

#[test]
fn an_optional_gpu_is_a_note_and_no_request() {
    let ws = Workspace::with_config(
        "gpu-optional",
        r#"{"image": "devc-test/busybox:latest", "hostRequirements": {"gpu": "optional"}}"#,
    );
    let up = ws.devc(&["up"]);
    let id = up.json()["containerId"].as_str().unwrap().to_owned();
    assert!(
        up.stderr
            .contains("no GPU support found in the container engine; going on without a GPU"),
        "{}",
        up.stderr
    );
    assert_eq!(inspected(&id)["HostConfig"]["DeviceRequests"], Value::Null);
}

/// `--gpu-availability all` skips detection: the create request carries
/// `DeviceRequests` and this engine, with no GPU runtime, refuses to start
/// the container. devc removes the container it could not start (as for
/// any start failure), so the evidence that the request reached the engine
/// is the engine's own complaint about the `[["gpu"]]` capability.
#[test]
fn gpu_availability_all_sends_the_device_request() {
    let ws = Workspace::with_config("gpu-all", GPU_REQUIRED);
    let up = ws.devc(&["up", "--gpu-availability", "all"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    assert!(
        up.stderr
            .contains("GPU support found; the container gets all GPUs"),
        "{}",
        up.stderr
    );
    assert!(
        up.stderr.contains("could not be started")
            && up
                .stderr
                .contains("could not select device driver \"\" with capabilities: [[gpu]]"),
        "{}",
        up.stderr
    );
    assert!(
        up.stderr.contains("hint: the container asked for GPUs"),
        "{}",
        up.stderr
    );
    assert_nothing_created(&ws, &up);
    // `none` goes on without a GPU.
    let up = ws.devc(&["up", "--gpu-availability", "none"]);
    let id = up.json()["containerId"].as_str().unwrap().to_owned();
    assert_eq!(inspected(&id)["HostConfig"]["DeviceRequests"], Value::Null);
}

/// A user-defined network with a helper container that has a volume,
/// removed (with whatever joined it) on drop.
struct Network {
    name: String,
    helper: String,
    subnet_prefix: String,
}

impl Network {
    fn new(tag: &str) -> Self {
        let unique = format!("devc-e2e-{tag}-{}", std::process::id());
        let mut made = None;
        // A free /24 among a few candidates (other tests may hold some).
        for third in 0..40 {
            let prefix = format!(
                "172.31.{}",
                100 + (std::process::id() as usize + third) % 150
            );
            let status = std::process::Command::new("docker")
                .args([
                    "network",
                    "create",
                    "--subnet",
                    &format!("{prefix}.0/24"),
                    &unique,
                ])
                .output()
                .unwrap();
            if status.status.success() {
                made = Some(prefix);
                break;
            }
        }
        let subnet_prefix = made.expect("a free 172.31.x.0/24 subnet for the test network");
        let helper = format!("{unique}-helper");
        let run = std::process::Command::new("docker")
            .args([
                "run",
                "-d",
                "--name",
                &helper,
                "--network",
                &unique,
                "-v",
                "/data",
                BUSYBOX,
                "sleep",
                "600",
            ])
            .output()
            .unwrap();
        let network = Self {
            name: unique,
            helper,
            subnet_prefix,
        };
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        network
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &self.helper])
            .output();
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &self.name])
            .output();
    }
}

#[test]
fn network_flags_match_the_reference_cli() {
    let network = Network::new("runargs");
    let config = |ip: &str| {
        json!({
            "image": BUSYBOX,
            "runArgs": [
                "--network", network.name,
                "--network-alias=api",
                "--ip", format!("{}.{ip}", network.subnet_prefix),
                "--link", format!("{}:db", network.helper),
                "--volumes-from", format!("{}:ro", network.helper),
            ],
        })
        .to_string()
    };
    // Workspaces drop (removing their containers) before the network.
    let ours_ws = Workspace::with_config("runargs-net-devc", &config("10"));
    let theirs_ws = Workspace::with_config("runargs-net-ref", &config("11"));
    let ours_id = ours_ws.devc(&["up"]).json()["containerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs_id = reference(&theirs_ws.path, &["up"]).last_json()["containerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ours, theirs) = (inspected(&ours_id), inspected(&theirs_id));
    let endpoint = |c: &Value| c["NetworkSettings"]["Networks"][&network.name].clone();
    let (a, b) = (endpoint(&ours), endpoint(&theirs));
    assert_eq!(a["Links"], b["Links"]);
    assert_eq!(a["Links"], json!([format!("{}:db", network.helper)]));
    assert!(
        a["Aliases"].as_array().unwrap().contains(&json!("api")),
        "{a}"
    );
    assert!(
        b["Aliases"].as_array().unwrap().contains(&json!("api")),
        "{b}"
    );
    assert_eq!(a["IPAddress"], format!("{}.10", network.subnet_prefix));
    assert_eq!(b["IPAddress"], format!("{}.11", network.subnet_prefix));
    assert_eq!(
        ours["HostConfig"]["VolumesFrom"],
        theirs["HostConfig"]["VolumesFrom"]
    );
    assert_eq!(
        ours["HostConfig"]["NetworkMode"],
        theirs["HostConfig"]["NetworkMode"]
    );
    assert_eq!(ours["HostConfig"]["Links"], theirs["HostConfig"]["Links"]);
    // The link and the volume work.
    let check = ours_ws.devc(&[
        "exec",
        "sh",
        "-c",
        "ping -c1 -W2 db >/dev/null && test -d /data && echo ok",
    ]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(check.stdout.contains("ok"), "{}", check.stdout);
    drop((ours_ws, theirs_ws));
}

/// Compose: a required GPU stops `up` before any service, network or
/// volume of the project exists; `--gpu-availability all` gives the dev
/// service's container the request (and this engine cannot start it).
#[test]
fn compose_dev_services_follow_host_requirements_gpu() {
    let name = format!("gpucompose{}", std::process::id());
    let ws = Workspace::with_config(
        &name,
        r#"{"dockerComposeFile": "compose.yml", "service": "app", "hostRequirements": {"gpu": true}}"#,
    );
    ws.write(
        ".devcontainer/compose.yml",
        &format!(
            "services:\n  app:\n    image: {BUSYBOX}\n    command: sleep infinity\n    depends_on: [db]\n  db:\n    image: {BUSYBOX}\n    command: sleep infinity\n"
        ),
    );
    // The project's service containers carry no workspace label: `down`
    // removes them, pass or fail.
    struct Down<'a>(&'a Workspace);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = self.0.devc(&["down"]);
        }
    }
    let _down = Down(&ws);
    let project = format!("{name}_devcontainer");
    let up = ws.devc(&["up"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    assert!(
        up.stderr.contains("the configuration requires a GPU"),
        "{}",
        up.stderr
    );
    let (containers, networks, volumes) = crate::compose::project_resources(&project);
    assert!(
        containers.is_empty() && networks.is_empty() && volumes.is_empty(),
        "{containers:?} {networks:?} {volumes:?}"
    );

    let up = ws.devc(&["up", "--gpu-availability", "all"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    assert!(
        up.stderr
            .contains("could not select device driver \"\" with capabilities: [[gpu]]"),
        "{}",
        up.stderr
    );
}
