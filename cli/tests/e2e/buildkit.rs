//! BuildKit builds (issue 10) against the real engine: a Dockerfile with a
//! cache mount and `ARG TARGETARCH`, a local feature on top, reuse without
//! a build request, BuildKit's cache report when only a later feature
//! changes, the clear error of the classic builder, and Ctrl-C mid-build.

use std::time::{Duration, Instant};

use crate::common::{Workspace, runtime};

/// A Dockerfile only BuildKit reads, made new by `nonce`.
fn dockerfile(nonce: &str) -> String {
    format!(
        "FROM devc-test/busybox:latest\n\
         ARG TARGETARCH\n\
         RUN --mount=type=cache,target=/cache echo \"$TARGETARCH\" > /arch && echo {nonce} >> /cache/runs\n"
    )
}

/// A workspace with that Dockerfile and two local features, `first`
/// (installed first) and `second` (whose `flavor` option the test changes).
fn workspace(name: &str, nonce: &str) -> Workspace {
    let ws = Workspace::with_config(
        name,
        &format!(
            r#"{{"build": {{"dockerfile": "Dockerfile"}},
                "features": {{"./first": {{}}, "./second": {{"flavor": "{nonce}"}}}},
                "remoteUser": "root"}}"#
        ),
    );
    ws.write(".devcontainer/Dockerfile", &dockerfile(nonce));
    ws.write(
        ".devcontainer/first/devcontainer-feature.json",
        r#"{"id": "first", "version": "1.0.0", "name": "First"}"#,
    );
    ws.write(
        ".devcontainer/first/install.sh",
        "#!/bin/sh\nset -e\nmkdir -p /opt\necho first > /opt/first\n",
    );
    ws.write(
        ".devcontainer/second/devcontainer-feature.json",
        r#"{"id": "second", "version": "1.0.0", "name": "Second", "installsAfter": ["./first"],
            "options": {"flavor": {"type": "string", "default": "plain"}}}"#,
    );
    ws.write(
        ".devcontainer/second/install.sh",
        "#!/bin/sh\nset -e\nmkdir -p /opt\necho \"$FLAVOR\" > /opt/second\n",
    );
    ws
}

fn nonce() -> String {
    format!(
        "n{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// The `#N` of the progress line that starts with `#N <step>`.
fn step_number<'a>(log: &'a str, step: &str) -> &'a str {
    log.lines()
        .map(str::trim)
        .find(|l| l.starts_with('#') && l.contains(step))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("no step {step:?} in:\n{log}"))
}

/// The lines of the features build (after its "Installing features" step).
fn features_build(log: &str) -> &str {
    let start = log
        .find("Installing features first, second")
        .unwrap_or_else(|| panic!("the features are built:\n{log}"));
    &log[start..]
}

#[test]
fn a_cache_mount_dockerfile_and_local_features_build_with_buildkit_and_are_reused() {
    let nonce = nonce();
    let ws = workspace("buildkit-features", &nonce);

    let first = ws.devc(&["up"]);
    first.json();
    let log = &first.stderr;
    assert!(
        log.contains("Building image devc-buildkit-features:") && log.contains("with BuildKit"),
        "{log}"
    );
    step_number(log, "RUN --mount=type=cache,target=/cache");
    let arch = ws.devc(&["exec", "cat", "/arch", "/opt/first", "/opt/second"]);
    assert_eq!(
        arch.stdout,
        format!("amd64\nfirst\n{nonce}\n"),
        "{}",
        arch.stderr
    );

    // Nothing changed: no build request at all.
    let again = ws.devc(&["up", "--remove-existing-container"]);
    again.json();
    assert!(again.stderr.contains("Reusing image"), "{}", again.stderr);
    assert!(
        again.stderr.contains("features unchanged"),
        "{}",
        again.stderr
    );
    assert!(
        !again.stderr.contains("with BuildKit") && !again.stderr.contains(" DONE "),
        "no build is sent: {}",
        again.stderr
    );

    // Only the later feature changes: BuildKit reports the earlier steps CACHED.
    let config = ws.path.join(".devcontainer/devcontainer.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(&format!("\"{nonce}\""), "\"changed\""),
    )
    .unwrap();
    let changed = ws.devc(&["up", "--remove-existing-container"]);
    changed.json();
    let log = features_build(&changed.stderr);
    for cached in [
        "RUN mkdir -p /tmp/devc-features",
        "COPY 00-first/",
        "RUN chmod -R 0755 /tmp/devc-features/00-first",
    ] {
        let number = step_number(log, cached);
        assert!(
            log.contains(&format!("{number} CACHED")),
            "{cached} is reused:\n{log}"
        );
    }
    let second = step_number(log, "RUN chmod -R 0755 /tmp/devc-features/01-second");
    assert!(
        log.contains(&format!("{second} DONE")) && !log.contains(&format!("{second} CACHED")),
        "the second feature is rebuilt:\n{log}"
    );
    let flavor = ws.devc(&["exec", "cat", "/opt/second"]);
    assert_eq!(flavor.stdout, "changed\n");
}

#[test]
fn the_classic_builder_names_the_buildkit_line_instead_of_failing_in_a_step() {
    let ws = workspace("buildkit-never", &nonce());
    for command in ["build", "up"] {
        let run = ws.devc(&[command, "--buildkit", "never"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "error: the Dockerfile {} needs BuildKit (RUN --mount on line 3), but --buildkit never asks for the classic builder",
                ws.path.join(".devcontainer/Dockerfile").display()
            )),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("hint: run without `--buildkit never`"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("Building image"),
            "nothing is sent: {}",
            run.stderr
        );
    }
    assert!(ws.containers().is_empty());
}

/// Ctrl-C in the middle of a BuildKit step: devc ends with 130, the build
/// is cancelled and no image is tagged.
#[test]
fn ctrl_c_during_a_buildkit_build_leaves_no_image() {
    let ws = Workspace::with_config(
        "buildkit-interrupt",
        r#"{"build": {"dockerfile": "Dockerfile"}}"#,
    );
    let marker = nonce();
    // The step announces itself, then waits for the signal that ends it.
    ws.write(
        ".devcontainer/Dockerfile",
        &format!("FROM devc-test/busybox:latest\nRUN echo started-{marker} && sleep 600\n"),
    );
    let log = ws.path.join("devc.log");
    let mut child = ws
        .command(&["up"])
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    // The step's own output line (`#5 started-…`, not its name) shows it runs.
    let started = format!(" started-{marker}");
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.trim().starts_with('#') && l.trim().ends_with(&started))
        {
            break text;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("devc ended before the step ran ({status}):\n{text}");
        }
        assert!(Instant::now() < deadline, "the step never ran:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let tag = text
        .lines()
        .find_map(|l| l.strip_prefix("Building image "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("no build step in:\n{text}"))
        .to_string();
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    runtime().block_on(async {
        let image = crate::common::docker().inspect_image(&tag).await;
        assert!(image.is_err(), "no image {tag} after Ctrl-C: {image:?}");
    });
    assert!(ws.containers().is_empty());
}

/// Podman's API has no BuildKit: devc falls back to its builder (Buildah,
/// which reads `RUN --mount` itself) and passes `TARGETARCH`, which Buildah
/// leaves empty through the API.
#[test]
fn podman_builds_the_cache_mount_dockerfile_without_buildkit_and_gets_targetarch() {
    let service = crate::podman::PodmanService::start();
    let host = service.docker_host();
    let ws = Workspace::with_config(
        "buildkit-podman",
        r#"{"build": {"dockerfile": "Dockerfile"},
            "runArgs": ["--ulimit", "nofile=1024:4096", "--ulimit", "nproc=4096:4096"]}"#,
    );
    ws.write(".devcontainer/Dockerfile", &dockerfile(&nonce()));
    let _down = crate::podman::PodmanDown(&ws, &host);
    let env = [("DOCKER_HOST", host.as_str())];
    let up = ws.devc_env(&["up"], &env);
    assert_eq!(
        up.code,
        0,
        "{}\nPodman's service log:\n{}",
        up.stderr,
        service.log()
    );
    assert!(
        up.stderr.contains("Building image devc-buildkit-podman:")
            && !up.stderr.contains("with BuildKit"),
        "{}",
        up.stderr
    );
    let arch = ws.devc_env(&["exec", "cat", "/arch"], &env);
    assert_eq!(arch.stdout, "amd64\n", "{}", arch.stderr);
}

/// Docker 20.10's built-in Dockerfile frontend predates heredocs: devc
/// names the line before sending the build (on Docker 23+ it builds).
#[test]
fn a_heredoc_the_engines_frontend_cannot_read_is_named_before_building() {
    let ws = Workspace::with_config(
        "buildkit-heredoc",
        r#"{"build": {"dockerfile": "Dockerfile"}}"#,
    );
    ws.write(
        ".devcontainer/Dockerfile",
        &format!(
            "FROM devc-test/busybox:latest\nRUN <<EOF\necho {}\nEOF\n",
            nonce()
        ),
    );
    let api = runtime()
        .block_on(crate::common::docker().version())
        .unwrap()
        .api_version
        .unwrap();
    let (major, minor) = api.split_once('.').unwrap();
    let old = (major.parse::<u32>().unwrap(), minor.parse::<u32>().unwrap()) < (1, 42);
    let run = ws.devc(&["build"]);
    if old {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "error: the Dockerfile {} has a heredoc (line 2), which the Dockerfile reader built into the engine (Docker ",
                ws.path.join(".devcontainer/Dockerfile").display()
            )) && run.stderr.contains("hint: write the step without a heredoc"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("Building image"), "{}", run.stderr);
    } else {
        run.json();
    }
}
