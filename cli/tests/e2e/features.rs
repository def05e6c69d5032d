//! Dev container features (issue 4) against the real engine: local
//! features here; OCI features with a real registry in `registry.rs`.

use crate::common::Workspace;

#[test]
fn local_features_install_in_order_with_options_env_and_hooks() {
    let ws = Workspace::fixture("features");
    ws.devc(&["up"]).json();
    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cat /opt/install-order /opt/hello/info /opt/greeting; hello; cat /tmp/feature-hooks.log",
    ]);
    assert_eq!(
        out.stdout,
        "hello\ngreeting sees HELLO_HOME=/opt/hello\n\
         version=2.0 shout=false remote=root home=/root\n\
         hi \"there\" $HOME `x`\n\
         hello 2.0\n\
         hello-feature-postCreate\n",
        "{}",
        out.stderr
    );
    assert!(
        !ws.path
            .join(".devcontainer/devcontainer-lock.json")
            .exists(),
        "local features are not locked"
    );
}

#[test]
fn changing_the_second_feature_rebuilds_only_from_it() {
    let ws = Workspace::fixture("features");
    // A unique option value makes this run's image new.
    let nonce = format!("{:?}", std::time::SystemTime::now());
    let config = ws.path.join(".devcontainer/devcontainer.json");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        original.replace("hi \\\"there\\\" $HOME `x`", &nonce),
    )
    .unwrap();
    // The classic builder's cache report ("Using cache"); BuildKit's
    // ("CACHED") is checked in buildkit.rs.
    let first = ws.devc(&["up", "--buildkit", "never"]);
    first.json();
    assert!(
        first.stderr.contains("Installing features hello, greeting"),
        "{}",
        first.stderr
    );

    // Nothing changed: no build at all.
    let again = ws.devc(&["up", "--remove-existing-container", "--buildkit", "never"]);
    again.json();
    assert!(
        again.stderr.contains("features unchanged"),
        "{}",
        again.stderr
    );

    // Only the second feature's options change: hello's layers come from the cache.
    std::fs::write(
        &config,
        original.replace("hi \\\"there\\\" $HOME `x`", &format!("{nonce}-2")),
    )
    .unwrap();
    let changed = ws.devc(&["up", "--remove-existing-container", "--buildkit", "never"]);
    changed.json();
    let log = &changed.stderr;
    let greeting_copy = log
        .find("COPY 01-greeting/")
        .expect("greeting is installed");
    let hello_run = log
        .find("./devcontainer-features-install.sh")
        .expect("hello's step is listed");
    assert!(hello_run < greeting_copy);
    assert!(
        log[..greeting_copy].matches("Using cache").count() >= 4,
        "hello's layers are reused: {log}"
    );
    assert!(
        !log[greeting_copy..].contains("Using cache"),
        "greeting is rebuilt: {log}"
    );
    let greeting = ws.devc(&["exec", "cat", "/opt/greeting"]);
    assert_eq!(greeting.stdout.trim(), format!("{nonce}-2"));
}

#[test]
fn bad_feature_input_is_named_and_creates_nothing() {
    let ws = Workspace::with_config(
        "bad-features",
        r#"{"image": "devc-test/busybox:latest", "features": {"../outside": {}}}"#,
    );
    let escape = ws.devc(&["up"]);
    assert_eq!(escape.code, 1);
    assert!(escape.stderr.contains("../outside"), "{}", escape.stderr);

    ws.write(
        ".devcontainer/devcontainer.json",
        r#"{"image": "devc-test/busybox:latest", "features": {"./opt": {"flavor": "mint"}}}"#,
    );
    ws.write(
        ".devcontainer/opt/devcontainer-feature.json",
        r#"{"id": "opt", "version": "1.0.0", "options": {"flavor": {"type": "string", "enum": ["vanilla", "chocolate"], "default": "vanilla"}}}"#,
    );
    ws.write(".devcontainer/opt/install.sh", "#!/bin/sh\ntrue\n");
    let bad_option = ws.devc(&["up"]);
    assert_eq!(bad_option.code, 1);
    assert!(
        bad_option.stderr.contains("opt")
            && bad_option.stderr.contains("flavor")
            && bad_option.stderr.contains("mint"),
        "{}",
        bad_option.stderr
    );

    ws.write(
        ".devcontainer/devcontainer.json",
        r#"{"image": "devc-test/busybox:latest", "features": {"./opt": {}}}"#,
    );
    ws.write(
        ".devcontainer/opt/install.sh",
        "#!/bin/sh\necho 'feature install broke' >&2\nexit 9\n",
    );
    let failing = ws.devc(&["up"]);
    assert_eq!(failing.code, 5);
    assert!(
        failing.stderr.contains("feature install broke"),
        "{}",
        failing.stderr
    );
    assert!(ws.containers().is_empty());
}
