//! The team flow of issue 6, end to end: a maintainer applies a shipped
//! template and publishes the built image ("build once"); a teammate whose
//! configuration is only `{"image": …}` pulls it and builds the sample
//! project with the features' environment, hooks and user taken from the
//! image label ("the whole team pulls"). The rust and embedded-arm
//! templates are applied and brought up directly, and build their samples.
//!
//! The images install real Debian packages (cross GCC, qemu-user, CMake,
//! build-essential); Docker's layer cache keeps later runs fast.

use std::path::Path;
use std::time::Instant;

use crate::common::{DEBIAN, Registry, Run, Workspace, devc, docker, repo_root, runtime};

/// The maintainer's half: apply `template` with `args` into a fresh folder,
/// build its image and push it as `image`; then drop the local tag so the
/// teammate's `up` must pull.
fn build_once(template: &str, args: &str, image: &str) {
    let started = Instant::now();
    let maintainer = tempfile::Builder::new()
        .prefix("devc-e2e-maintainer-")
        .tempdir()
        .unwrap();
    let apply = Run::from(
        devc()
            .args([
                "templates",
                "apply",
                "-t",
                template,
                "-a",
                args,
                "--workspace-folder",
            ])
            .arg(maintainer.path())
            .output()
            .unwrap(),
    );
    apply.json();
    let build = Run::from(
        devc()
            .args(["build", "--workspace-folder"])
            .arg(maintainer.path())
            .args(["--image-name", image, "--push"])
            .output()
            .unwrap(),
    );
    assert_eq!(build.json()["imageName"][0], image, "{}", build.stderr);
    remove_image(image);
    timing(&format!("{template} built and pushed"), started);
}

/// How long a step took, in the test's output (`--nocapture` shows it).
#[allow(clippy::print_stderr)]
fn timing(what: &str, started: Instant) {
    eprintln!("team flow: {what} in {:.1?}", started.elapsed());
}

fn remove_image(image: &str) {
    runtime().block_on(async {
        let options = bollard::query_parameters::RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        let _ = docker().remove_image(image, Some(options), None).await;
    });
}

/// The teammate's half: a workspace holding only `{"image": image}` and the
/// sample project's sources, owned by UID 1000 like the image's `dev` user.
fn teammate(template: &str, image: &str) -> Workspace {
    let ws = Workspace::with_config(
        &format!("team-{template}"),
        &format!(r#"{{"image": "{image}"}}"#),
    );
    let sample = repo_root().join("templates").join(template);
    std::fs::copy(
        sample.join("CMakeLists.txt"),
        ws.path.join("CMakeLists.txt"),
    )
    .unwrap();
    copy_dir(&sample.join("src"), &ws.path.join("src"));
    let status = std::process::Command::new("chown")
        .args(["-R", "1000:1000"])
        .arg(&ws.path)
        .status()
        .unwrap();
    assert!(status.success());
    ws
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The ELF header's `e_machine` of a little-endian ELF file.
fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..4],
        b"\x7fELF",
        "{} is not an ELF file",
        path.display()
    );
    u16::from_le_bytes([bytes[18], bytes[19]])
}

const EM_AARCH64: u16 = 183;
const EM_X86_64: u16 = 62;
const EM_ARM: u16 = 40;

#[test]
fn cross_aarch64_is_built_once_and_the_teammate_cross_compiles_and_runs_it_under_qemu() {
    let registry = Registry::start(None);
    let image = format!("{}/team/cross-aarch64:1", registry.addr);
    build_once(
        "cross-aarch64",
        &format!(r#"{{"baseImage": "{DEBIAN}"}}"#),
        &image,
    );

    let started = Instant::now();
    let ws = teammate("cross-aarch64", &image);
    let up = ws.devc(&["up"]);
    let result = up.json();
    assert_eq!(
        result["remoteUser"], "dev",
        "the user comes from the image label"
    );
    assert!(
        !up.stderr.contains("Installing features"),
        "nothing is built: {}",
        up.stderr
    );
    // postCreateCommand (from the label) configured the project with the toolchain from CMAKE_TOOLCHAIN_FILE.
    let cache = std::fs::read_to_string(ws.path.join("build/CMakeCache.txt"))
        .expect("configured on create");
    assert!(
        cache.contains("CMAKE_TOOLCHAIN_FILE:FILEPATH=/usr/local/share/devc/cmake/cross.cmake")
            && cache.contains("/usr/bin/aarch64-linux-gnu-"),
        "configured for aarch64 with the shipped toolchain file"
    );

    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cmake -S . -B build --toolchain /usr/local/share/devc/cmake/aarch64.cmake >/dev/null && cmake --build build >/dev/null && file build/hello && qemu-aarch64 build/hello && ctest --test-dir build >/dev/null && echo ctest-ok",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("ELF 64-bit LSB") && out.stdout.contains("ARM aarch64"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Hello from aarch64!\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("ctest-ok"),
        "ctest runs through the emulator: {}",
        out.stdout
    );
    assert_eq!(elf_machine(&ws.path.join("build/hello")), EM_AARCH64);

    // The plain form works too: QEMU_LD_PREFIX finds the target's libraries.
    let env = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "echo $CMAKE_TOOLCHAIN_FILE; qemu-aarch64 ./build/hello",
    ]);
    assert_eq!(
        env.stdout, "/usr/local/share/devc/cmake/cross.cmake\nHello from aarch64!\n",
        "{}",
        env.stderr
    );
    timing("cross-aarch64 pulled, built and run", started);
    drop(ws);
    remove_image(&image);
}

#[test]
fn cpp_cmake_is_built_once_and_the_teammate_builds_and_runs_it_natively() {
    let registry = Registry::start(None);
    let image = format!("{}/team/cpp-cmake:1", registry.addr);
    build_once(
        "cpp-cmake",
        &format!(r#"{{"baseImage": "{DEBIAN}"}}"#),
        &image,
    );

    let ws = teammate("cpp-cmake", &image);
    assert_eq!(ws.devc(&["up"]).json()["remoteUser"], "dev");
    assert!(
        ws.path.join("build/build.ninja").exists(),
        "configured with Ninja on create"
    );
    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cmake --build build >/dev/null && ./build/hello && id -un",
    ]);
    assert_eq!(out.stdout, "Hello, world!\ndev\n", "{}", out.stderr);
    assert_eq!(elf_machine(&ws.path.join("build/hello")), EM_X86_64);
    drop(ws);
    remove_image(&image);
}

/// A template applied into a fresh workspace (base image swapped for the
/// local Debian one) and brought up as is; the workspace belongs to UID
/// 1000, the templates' `dev` user.
fn applied(template: &str, args: &str) -> Workspace {
    let ws = Workspace::with_config(&format!("applied-{template}"), "{}");
    std::fs::remove_dir_all(ws.path.join(".devcontainer")).unwrap();
    let apply = Run::from(
        devc()
            .args([
                "templates",
                "apply",
                "-t",
                template,
                "-a",
                args,
                "--workspace-folder",
            ])
            .arg(&ws.path)
            .output()
            .unwrap(),
    );
    apply.json();
    let status = std::process::Command::new("chown")
        .args(["-R", "1000:1000"])
        .arg(&ws.path)
        .status()
        .unwrap();
    assert!(status.success());
    let up = ws.devc(&["up"]);
    assert_eq!(up.json()["remoteUser"], "dev", "{}", up.stderr);
    ws
}

#[test]
fn the_rust_template_cross_compiles_its_sample_and_runs_it_under_qemu() {
    let started = Instant::now();
    let ws = applied(
        "rust",
        &format!(r#"{{"baseImage": "{DEBIAN}", "targets": "aarch64"}}"#),
    );
    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cargo run --quiet && cargo run --quiet --target aarch64-unknown-linux-gnu",
    ]);
    assert_eq!(
        out.stdout, "Hello from x86_64!\nHello from aarch64!\n",
        "{}",
        out.stderr
    );
    assert_eq!(
        elf_machine(&ws.path.join("target/aarch64-unknown-linux-gnu/debug/hello")),
        EM_AARCH64
    );
    assert_eq!(elf_machine(&ws.path.join("target/debug/hello")), EM_X86_64);
    timing("rust template applied, built and run", started);
}

#[test]
fn the_embedded_arm_template_builds_its_firmware_with_arm_none_eabi() {
    let started = Instant::now();
    let ws = applied(
        "embedded-arm",
        &format!(r#"{{"baseImage": "{DEBIAN}", "mcpu": "cortex-m3"}}"#),
    );
    // postCreateCommand configured the project with the toolchain file.
    let cache = std::fs::read_to_string(ws.path.join("build/CMakeCache.txt"))
        .expect("configured on create");
    assert!(
        cache.contains("arm-none-eabi"),
        "configured for arm-none-eabi"
    );
    let out = ws.devc(&[
        "exec",
        "sh",
        "-c",
        "cmake --build build >/dev/null && arm-none-eabi-readelf -A build/firmware.elf && test -s build/firmware.bin && echo bin-ok",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(elf_machine(&ws.path.join("build/firmware.elf")), EM_ARM);
    assert!(
        out.stdout.contains("Tag_CPU_name: \"7-M\"") || out.stdout.contains("Tag_CPU_arch: v7"),
        "cortex-m3 is ARMv7-M: {}",
        out.stdout
    );
    assert!(out.stdout.contains("bin-ok"), "{}", out.stdout);
    timing("embedded-arm template applied and built", started);
}
