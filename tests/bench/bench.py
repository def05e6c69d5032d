#!/usr/bin/env python3
"""Side-by-side benchmark: devc against the reference Dev Container CLI.

Speed is a reason to switch to devc (issue 7), so it is measured the way a
user would feel it: each tool's whole process, on the same machine, in the
same run, on the same workspaces. `tests/bench/README.md` says how to run it
and how to read the results.

Why it is built this way:

- Every tool gets its own copy of every workspace. The tools find a
  workspace's container by the same identity labels
  (`devcontainer.local_folder`, `devcontainer.config_file`) and would
  otherwise reuse each other's containers.
- The tools run alternately (A, B, A, B, ...), so drift in the machine's
  load hits them alike. The first round is a warm-up and is not counted.
- Setup (stopping the container, writing a changed Dockerfile) happens
  outside the timed region: only the tool's own process is timed.
- Wall time is taken around the run; peak RSS comes from GNU time
  (`/usr/bin/time -f %M`), which reports the rusage of its one child: the
  tool and every descendant it waited for (the reference CLI's `docker`
  children), so the peak is that of the largest process in the tree. Python
  cannot measure this itself: a process exec'd from a Python child inherits
  the Python interpreter's peak RSS (Linux keeps the pre-exec peak), which
  would put a 15-20 MiB floor under every figure; GNU time's floor is ~1 MiB.
  Its fork and exec add about 1 ms to every wall time, for every tool alike.
- Images are built from a base image made for this run and labelled with
  the run's id. Images built on it and containers created from them inherit
  the label, so cleanup removes exactly what this run made (also after a
  failure or Ctrl-C), and no run reuses another run's build cache.
- No registry is reachable on CI machines: the base image is made from the
  local `devc-test/busybox` image that `.ci/images.sh` builds.
- Each cold run writes a fresh nonce into what it builds, and a probe reads
  the nonce back from the new container: a "cold build" that reused a stale
  image, or a tool that silently ignored features, fails the run.

Standard library only (Python 3.11).
"""

import argparse
import html
import json
import math
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFERENCE_PACKAGE = "@devcontainers/cli@0.89.0"
DEVCONTAINER_RS_PACKAGE = "devcontainer-rs"
BASE_SOURCE = "devc-test/busybox:latest"
RUN_LABEL = "devc.bench.run"
LOCAL_FOLDER_LABEL = "devcontainer.local_folder"
RUN_TIMEOUT_S = 600
GNU_TIME = "/usr/bin/time"
RECREATE = ("--remove-existing-container",)
# Debian's docker.io client (20.10): it speaks the engine's BuildKit session
# without the buildx plugin, which the newer client first on PATH requires.
# The reference CLI builds with BuildKit only through it (see `Scenario.buildkit`).
DEBIAN_DOCKER = "/usr/bin/docker"

# What devc cannot do yet, by capability, with the reason the report shows
# instead of numbers. Delete an entry once devc supports it.
DEVC_LACKS: dict[str, str] = {}
# devcontainer-rs 0.0.66 writes Compose override files that Debian's
# docker-compose 1.29 (the Compose this machine has) rejects.
DEVCONTAINER_RS_LACKS = {"compose": "its Compose override files need docker compose v2, not installed here"}


class BenchError(Exception):
    """A failure that stops the benchmark: a missing tool or engine."""


# ---------------------------------------------------------------------------
# Tools


@dataclass(frozen=True)
class Tool:
    """A CLI under test. All of them take the reference CLI's command line,
    `<tool> <verb> --workspace-folder W [flags]`."""

    name: str
    path: Path
    version: str
    lacks: Mapping[str, str] = field(default_factory=dict)

    def argv(self, verb: str, workspace: Path, flags: tuple[str, ...] = ()) -> list[str]:
        return [str(self.path), verb, "--workspace-folder", str(workspace), *flags]

    def invocation(self, scenario: "Scenario", verb: str, workspace: Path) -> tuple[list[str], dict[str, str]]:
        """The command line and environment for `verb` in `scenario`. In the
        BuildKit scenarios the reference CLI (which finds no buildx plugin
        here and so runs a plain `docker build`) gets Debian's 20.10 client
        and `DOCKER_BUILDKIT=1`, which make that `docker build` a BuildKit
        build; devc uses the engine's BuildKit by itself."""
        flags = scenario.flags if verb == scenario.verb else ()
        if scenario.buildkit and self.name == "reference":
            return self.argv(verb, workspace, ("--docker-path", DEBIAN_DOCKER, *flags)), {
                **TOOL_ENV,
                "DOCKER_BUILDKIT": "1",
            }
        return self.argv(verb, workspace, flags), TOOL_ENV


def version_of(path: Path) -> str:
    """The last word of `--version` ("devc 0.1.0" and "0.89.0" alike)."""
    return run_checked([str(path), "--version"]).split()[-1]


def find_devc(given: Path | None) -> Path:
    """`--devc`, or this checkout's release build. Cargo runs every time
    (a no-op when up to date) so a stale binary is never measured."""
    if given:
        if not os.access(given, os.X_OK):
            raise BenchError(f"--devc {given} is not an executable")
        return given.resolve()
    log("building devc (cargo build --release)")
    run_checked(["cargo", "build", "--release", "--quiet", "-p", "devc"], cwd=REPO)
    # .cargo/config.toml names the target (static linking), so outputs
    # live under target/<triple>/.
    for path in sorted(REPO.glob("target/*/release/devc")):
        return path
    return REPO / "target/release/devc"


def find_reference() -> Path:
    """`DEVC_REFERENCE_CLI` (as in the compatibility tests), or the copy in
    target/refcli, installed with npm when missing."""
    if os.environ.get("DEVC_REFERENCE_CLI"):
        return Path(os.environ["DEVC_REFERENCE_CLI"])
    path = REPO / "target/refcli/node_modules/.bin/devcontainer"
    if not path.exists():
        log(f"installing the reference CLI ({REFERENCE_PACKAGE}) into target/refcli")
        prefix = REPO / "target/refcli"
        prefix.mkdir(parents=True, exist_ok=True)
        run_checked(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix), REFERENCE_PACKAGE]
        )
    return path


def find_devcontainer_rs() -> Path | None:
    """`DEVC_BENCH_DEVCONTAINER_RS`, or the copy in target/bench-venv,
    installed from PyPI when missing. None (with a note) when it cannot be
    installed: it is an optional third tool."""
    if os.environ.get("DEVC_BENCH_DEVCONTAINER_RS"):
        return Path(os.environ["DEVC_BENCH_DEVCONTAINER_RS"])
    venv = REPO / "target/bench-venv"
    path = venv / "bin/devcontainer"
    if not path.exists():
        log(f"installing {DEVCONTAINER_RS_PACKAGE} into target/bench-venv")
        try:
            run_checked([sys.executable, "-m", "venv", str(venv)])
            run_checked([str(venv / "bin/pip"), "install", "--quiet", DEVCONTAINER_RS_PACKAGE])
        except BenchError as err:
            log(f"note: devcontainer-rs left out, it could not be installed: {err}")
            return None
    return path


def find_tools(names: list[str], devc: Path | None) -> list[Tool]:
    tools = []
    for name in names:
        match name:
            case "devc":
                path = find_devc(devc)
                tools.append(Tool(name, path, version_of(path), DEVC_LACKS))
            case "reference":
                path = find_reference()
                tools.append(Tool(name, path, version_of(path)))
            case "devcontainer-rs":
                path = find_devcontainer_rs()
                if path:
                    tools.append(Tool(name, path, version_of(path), DEVCONTAINER_RS_LACKS))
            case _:
                raise BenchError(f"unknown tool {name!r}; known: devc, reference, devcontainer-rs")
    if not tools or tools[0].name != "devc":
        raise BenchError("devc must be the first tool: every ratio is to devc")
    return tools


# ---------------------------------------------------------------------------
# Workspaces: pure functions from (base image, nonce) to the files to write


Files = dict[str, str]


def image_workspace(base: str, nonce: str) -> Files:
    """A container from an existing image."""
    return {".devcontainer/devcontainer.json": as_json({"image": base, "remoteUser": "root"})}


def dockerfile_workspace(base: str, nonce: str) -> Files:
    """A Dockerfile build; the nonce is the first step, so a new nonce
    rebuilds every step."""
    return {
        ".devcontainer/devcontainer.json": as_json(
            {"build": {"dockerfile": "Dockerfile", "context": ".."}, "remoteUser": "root"}
        ),
        ".devcontainer/Dockerfile": lines(
            f"FROM {base}",
            f"RUN echo {nonce} > /etc/bench-nonce",
            "COPY app/ /opt/app/",
            "RUN sh /opt/app/setup.sh",
        ),
        "app/setup.sh": lines("mkdir -p /opt/data", "for i in 1 2 3; do echo $i > /opt/data/$i; done"),
    }


def buildkit_workspace(base: str, nonce: str) -> Files:
    """A Dockerfile only BuildKit builds: a cache mount and `TARGETARCH` in
    the first step, which also writes the nonce (a new nonce reruns every step)."""
    return {
        ".devcontainer/devcontainer.json": as_json(
            {"build": {"dockerfile": "Dockerfile", "context": ".."}, "remoteUser": "root"}
        ),
        ".devcontainer/Dockerfile": lines(
            f"FROM {base}",
            "ARG TARGETARCH",
            "RUN --mount=type=cache,target=/var/cache/bench "
            f'echo {nonce} > /etc/bench-nonce && echo "$TARGETARCH" > /etc/bench-arch && echo run >> /var/cache/bench/runs',
            "COPY app/ /opt/app/",
            "RUN sh /opt/app/setup.sh",
        ),
        "app/setup.sh": lines("mkdir -p /opt/data", "for i in 1 2 3; do echo $i > /opt/data/$i; done"),
    }


def features_workspace(base: str, install_tag: str, second_flavour: str) -> Files:
    """Two local features that only write a file (no network): feat-a, then
    feat-b with a `flavour` option. Each writes its install tag and flavour
    to /opt/bench/<feature>."""
    files = {
        ".devcontainer/devcontainer.json": as_json(
            {
                "image": base,
                "features": {"./feat-a": {}, "./feat-b": {"flavour": second_flavour}},
                "remoteUser": "root",
            }
        )
    }
    for feature in ("feat-a", "feat-b"):
        files[f".devcontainer/{feature}/devcontainer-feature.json"] = as_json(
            {
                "id": feature,
                "version": "1.0.0",
                "name": feature,
                "options": {"flavour": {"type": "string", "default": "plain"}},
            }
        )
        files[f".devcontainer/{feature}/install.sh"] = lines(
            "#!/bin/sh",
            "set -e",
            "mkdir -p /opt/bench",
            f'echo "{install_tag} $FLAVOUR" > /opt/bench/{feature}',
        )
    return files


def features_cold(base: str, nonce: str) -> Files:
    """Both features' scripts change: every feature layer is new."""
    return features_workspace(base, install_tag=nonce, second_flavour="one")


def features_second_changed(base: str, nonce: str) -> Files:
    """Only feat-b's options change: feat-a's layer could be reused."""
    return features_workspace(base, install_tag="fixed", second_flavour=nonce)


def compose_workspace(base: str, nonce: str) -> Files:
    """A Compose project: the dev service and a second service it depends
    on. The project is named after the workspace folder, which is unique
    per tool and scenario (see `Bench.scenario`)."""
    return {
        ".devcontainer/devcontainer.json": as_json(
            {
                "dockerComposeFile": "compose.yml",
                "service": "app",
                "workspaceFolder": "/workspace",
                "remoteUser": "root",
            }
        ),
        ".devcontainer/compose.yml": lines(
            "services:",
            "  app:",
            f"    image: {base}",
            "    init: true",
            "    command: sleep 86400",
            "    volumes:",
            "      - ..:/workspace",
            "    depends_on: [db]",
            "  db:",
            f"    image: {base}",
            "    init: true",
            "    command: sleep 86400",
        ),
    }


def as_json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


def lines(*text: str) -> str:
    return "\n".join(text) + "\n"


# ---------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    measures: str
    layout: Callable[[str, str], Files]
    verb: str
    flags: tuple[str, ...] = ()
    prime: bool = True  # run `up` once before the warm-up, so a container exists
    renew: bool = False  # rewrite the workspace with a fresh nonce before each run
    stop: bool = False  # stop the container before each run
    probe: str | None = None  # file in the new container that must hold the nonce
    needs: str | None = None  # capability a tool must have (see DEVC_LACKS)
    quick: bool = False  # part of --quick
    target: float | None = None  # issue 7's target for reference/devc
    buildkit: bool = False  # the reference CLI builds with BuildKit (see Tool.invocation)


SCENARIOS = (
    Scenario(
        "up-running",
        "up, container running",
        "`up` when the container exists and runs: find it and report it.",
        image_workspace,
        "up",
        quick=True,
        target=15,
    ),
    Scenario(
        "up-stopped",
        "up, container stopped",
        "`up` when the container exists but is stopped: find it and start it.",
        image_workspace,
        "up",
        stop=True,
        quick=True,
        target=3,
    ),
    Scenario(
        "up-recreate",
        "up --remove-existing-container, image exists",
        "Remove the container and create and start a new one from an existing image.",
        image_workspace,
        "up",
        RECREATE,
        quick=True,
        target=3,
    ),
    Scenario(
        "build-cold",
        "up --remove-existing-container, Dockerfile changed",
        "Rebuild after the Dockerfile's first step changed (every step runs), then recreate.",
        dockerfile_workspace,
        "up",
        RECREATE,
        renew=True,
        probe="/etc/bench-nonce",
    ),
    Scenario(
        "build-cached",
        "up --remove-existing-container, Dockerfile unchanged",
        "Recreate with a Dockerfile that did not change since the last build.",
        dockerfile_workspace,
        "up",
        RECREATE,
    ),
    Scenario(
        "buildkit-cold",
        "up --remove-existing-container, BuildKit Dockerfile changed",
        "BuildKit build (cache mount, TARGETARCH) after its first step changed, then recreate.",
        buildkit_workspace,
        "up",
        RECREATE,
        renew=True,
        probe="/etc/bench-nonce",
        buildkit=True,
    ),
    Scenario(
        "buildkit-cached",
        "up --remove-existing-container, BuildKit Dockerfile unchanged",
        "Recreate with a BuildKit Dockerfile that did not change since the last build.",
        buildkit_workspace,
        "up",
        RECREATE,
        buildkit=True,
    ),
    Scenario(
        "features-cold",
        "up --remove-existing-container, two new features",
        "Install two local features whose scripts changed (no layer reusable), then recreate.",
        features_cold,
        "up",
        RECREATE,
        renew=True,
        probe="/opt/bench/feat-b",
        needs="features",
    ),
    Scenario(
        "features-second-changed",
        "up --remove-existing-container, second feature's options changed",
        "Only the second feature's options changed: the first feature's layer can be reused.",
        features_second_changed,
        "up",
        RECREATE,
        renew=True,
        probe="/opt/bench/feat-b",
        needs="features",
        target=2,
    ),
    Scenario(
        "compose-up-running",
        "Compose: up, project running",
        "`up` on a running two-service Compose project (the reference CLI drives docker-compose).",
        compose_workspace,
        "up",
        needs="compose",
    ),
    Scenario(
        "compose-up-recreate",
        "Compose: up --remove-existing-container",
        "Replace the dev service's container of a running two-service Compose project.",
        compose_workspace,
        "up",
        RECREATE,
        needs="compose",
    ),
    Scenario(
        "exec",
        "exec -- true",
        "Run `true` in the running container as the remote user.",
        image_workspace,
        "exec",
        ("--", "true"),
        quick=True,
        target=10,
    ),
    Scenario(
        "read-configuration",
        "read-configuration",
        "Read, parse and resolve devcontainer.json; print it as JSON. No container needed.",
        image_workspace,
        "read-configuration",
        prime=False,
        quick=True,
    ),
)


# ---------------------------------------------------------------------------
# Measuring one run


@dataclass(frozen=True)
class Sample:
    wall_s: float
    rss_mib: float
    stdout: str


class RunFailed(Exception):
    """One tool failed one run; the tool drops out of that scenario."""


# The tools' environment: devc's own debug logging would skew its numbers.
TOOL_ENV = {k: v for k, v in os.environ.items() if k != "DEVC_LOG"}


def measure(argv: list[str], logs: Path, env: Mapping[str, str] = TOOL_ENV) -> Sample:
    """Runs argv under GNU time with stdin from /dev/null and stdout and
    stderr to files; returns its wall time and the peak RSS of its tree."""
    out_path, err_path, rss_path = (logs.with_suffix(s) for s in (".out", ".err", ".rss"))
    timed = [GNU_TIME, "--format", "%M", "--output", str(rss_path), *argv]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        start = time.perf_counter()
        pid = os.posix_spawn(GNU_TIME, timed, dict(env), file_actions=actions)
        watchdog = threading.Timer(RUN_TIMEOUT_S, os.kill, (pid, signal.SIGKILL))
        watchdog.start()
        try:
            _, status = os.waitpid(pid, 0)
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - start
    stdout = out_path.read_text(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        stderr = err_path.read_text(errors="replace").strip().splitlines()
        why = "timed out" if wall >= RUN_TIMEOUT_S else f"exit code {code}"
        raise RunFailed(f"{why}: {' | '.join((stderr or stdout.splitlines())[-3:])}")
    return Sample(wall, int(rss_path.read_text()) / 1024, stdout)


def up_container_id(sample: Sample) -> str:
    """The container id from `up`'s JSON result (the last stdout line)."""
    try:
        result = json.loads(sample.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RunFailed(f"up printed no JSON result: {sample.stdout[-200:]!r}") from None
    if result.get("outcome") != "success":
        raise RunFailed(f"up reported {result}")
    return result["containerId"]


# ---------------------------------------------------------------------------
# The engine


def docker(*args: str) -> str:
    return run_checked(["docker", *args])


def run_checked(argv: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    except OSError as err:
        raise BenchError(f"{argv[0]}: {err}") from None
    if done.returncode != 0:
        raise BenchError(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout.strip()


def containers_under(folder: Path) -> list[str]:
    """Ids of containers whose workspace is `folder` or inside it."""
    rows = docker(
        "ps",
        "-a",
        "--filter",
        f"label={LOCAL_FOLDER_LABEL}",
        "--format",
        f'{{{{.ID}}}} {{{{.Label "{LOCAL_FOLDER_LABEL}"}}}}',
    )
    ids = []
    for row in rows.splitlines():
        container, workspace = row.split(" ", 1)
        if Path(workspace).is_relative_to(folder):
            ids.append(container)
    return ids


def remove_containers(ids: list[str]) -> None:
    if ids:
        subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True, check=False)


def make_base_image(run_id: str) -> str:
    """A copy of the local busybox image carrying this run's label, which
    every image and container made from it inherits."""
    try:
        docker("image", "inspect", BASE_SOURCE)
    except BenchError:
        raise BenchError(f"the local image {BASE_SOURCE} is missing; run `bash .ci/images.sh`") from None
    tag = f"devc-bench/base:{run_id}"
    done = subprocess.run(
        ["docker", "build", "--quiet", "--label", f"{RUN_LABEL}={run_id}", "-t", tag, "-"],
        input=f"FROM {BASE_SOURCE}\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"building the base image failed: {done.stderr.strip()}")
    return tag


def clean_up(run_id: str, root: Path) -> None:
    """Removes every container and image this run made: by the run label,
    and containers by workspace folder in case a tool dropped labels."""
    labelled = docker("ps", "-aq", "--filter", f"label={RUN_LABEL}={run_id}").split()
    remove_containers(sorted(set(labelled) | set(containers_under(root))))
    # The Compose scenarios' networks: `<scenario>-<tool>_devcontainer_default`.
    networks = docker("network", "ls", "--format", "{{.Name}}").split()
    ours = [n for n in networks if n.startswith("compose-up-") and n.endswith("_devcontainer_default")]
    if ours:
        subprocess.run(["docker", "network", "rm", *ours], capture_output=True, check=False)
    # Parents cannot go before their children; a few passes settle it.
    for _ in range(5):
        images = docker("images", "-aq", "--filter", f"label={RUN_LABEL}={run_id}").split()
        if not images:
            break
        subprocess.run(["docker", "rmi", "-f", *dict.fromkeys(images)], capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# Running the scenarios


@dataclass
class Outcome:
    """One tool's result in one scenario: samples, or why there are none."""

    samples: list[Sample] = field(default_factory=list)
    skipped: str | None = None  # the tool lacks a capability: "n/a"
    error: str | None = None

    def summary(self) -> dict:
        if self.skipped:
            return {"status": "n/a", "reason": self.skipped}
        if self.error:
            return {"status": "error", "reason": self.error}
        walls = [s.wall_s for s in self.samples]
        return {
            "status": "ok",
            "runs_s": [round(w, 4) for w in walls],
            "median_s": round(statistics.median(walls), 4),
            "min_s": round(min(walls), 4),
            "max_s": round(max(walls), 4),
            "peak_rss_mib": round(max(s.rss_mib for s in self.samples), 1),
        }


@dataclass
class Bench:
    tools: list[Tool]
    runs: int
    root: Path  # temporary folder holding every workspace
    base: str
    run_id: str
    nonces: int = 0

    def nonce(self, tool: Tool) -> str:
        """Unique per tool and run: tools never share a build cache entry."""
        self.nonces += 1
        return f"{self.run_id}-{tool.name}-{self.nonces}"

    def scenario(self, scenario: Scenario) -> dict[str, Outcome]:
        outcomes = {tool.name: Outcome(skipped=tool.lacks.get(scenario.needs or "")) for tool in self.tools}
        active = [tool for tool in self.tools if not outcomes[tool.name].skipped]
        # The folder's name is unique per tool: Compose names projects after it.
        folders = {tool.name: self.root / tool.name / f"{scenario.key}-{tool.name}" for tool in active}
        try:
            for tool in list(active):
                try:
                    write_files(folders[tool.name], scenario.layout(self.base, self.nonce(tool)))
                    if scenario.prime:
                        argv, env = tool.invocation(scenario, "up", folders[tool.name])
                        up_container_id(measure(argv, folders[tool.name].parent / f"{scenario.key}-prime", env))
                except RunFailed as err:
                    outcomes[tool.name].error = f"preparing: {err}"
                    active.remove(tool)
            for round_ in range(1 + self.runs):
                for tool in list(active):
                    try:
                        sample = self.one_run(scenario, tool, folders[tool.name], round_)
                    except RunFailed as err:
                        outcomes[tool.name].error = str(err)
                        active.remove(tool)
                        log(f"  {scenario.key}: {tool.name} failed: {err}")
                        continue
                    label = f"run {round_}/{self.runs}" if round_ else "warm-up"
                    log(f"  {label:>9}  {tool.name:<16} {sample.wall_s:8.3f} s {sample.rss_mib:7.1f} MiB")
                    if round_:
                        outcomes[tool.name].samples.append(sample)
        finally:
            for folder in folders.values():
                remove_containers(containers_under(folder))
        return outcomes

    def one_run(self, scenario: Scenario, tool: Tool, folder: Path, round_: int) -> Sample:
        """Untimed setup, the timed run, then the untimed probe."""
        nonce = self.nonce(tool)
        if scenario.renew:
            write_files(folder, scenario.layout(self.base, nonce))
        if scenario.stop:
            ids = docker("ps", "-q", "--filter", f"label={LOCAL_FOLDER_LABEL}={folder}").split()
            if not ids:
                raise RunFailed("no running container to stop")
            docker("stop", *ids)
        argv, env = tool.invocation(scenario, scenario.verb, folder)
        sample = measure(argv, folder.parent / f"{scenario.key}-{round_}", env)
        if scenario.verb == "up":
            container = up_container_id(sample)
            if scenario.probe:
                found = subprocess.run(
                    ["docker", "exec", container, "cat", scenario.probe], capture_output=True, text=True, check=False
                ).stdout
                if nonce not in found:
                    raise RunFailed(f"the new container's {scenario.probe} is {found.strip()!r}, not this run's build")
        return sample


def write_files(folder: Path, files: Files) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path.suffix == ".sh":
            path.chmod(0o755)


# ---------------------------------------------------------------------------
# Reporting


def machine_info() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    meminfo = Path("/proc/meminfo").read_text().split()
    memory_kib = int(meminfo[meminfo.index("MemTotal:") + 1])
    try:
        os_name = platform.freedesktop_os_release()["PRETTY_NAME"]
    except OSError:
        os_name = platform.system()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024**2, 1),
        "os": os_name,
        "kernel": platform.release(),
        "docker": docker("version", "--format", "{{.Server.Version}}"),
        "storage_driver": docker("info", "--format", "{{.Driver}}"),
    }


def machine_line(report: dict) -> str:
    m = report["machine"]
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, kernel {m['kernel']}, "
        f"Docker {m['docker']} ({m['storage_driver']})"
    )


def run_line(report: dict) -> str:
    tools = ", ".join(f"{name} {tool['version']}" for name, tool in report["tools"].items())
    runs = report["settings"]["runs"]
    return f"{tools}; {runs} counted run{'s' if runs != 1 else ''} after 1 warm-up; {report['date']}"


def ratios(results: dict[str, dict]) -> dict[str, dict | None]:
    """Each other tool's median time and peak RSS divided by devc's."""
    devc = results["devc"]
    out = {}
    for name, result in results.items():
        if name == "devc":
            continue
        if devc["status"] == "ok" and result["status"] == "ok":
            out[name] = {
                "time": round(result["median_s"] / devc["median_s"], 2),
                "rss": round(result["peak_rss_mib"] / devc["peak_rss_mib"], 2),
            }
        else:
            out[name] = None
    return out


def times(ratio: float) -> str:
    return f"{ratio:.1f}×" if ratio >= 10 else f"{ratio:.2f}×"


def markdown(report: dict) -> str:
    rows = [
        f"Machine: {machine_line(report)}  ",
        f"Run: {run_line(report)}",
        "",
        "| Scenario | Tool | Median s | Min s | Max s | Peak RSS MiB | Time ÷ devc | RSS ÷ devc |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for scenario in report["scenarios"]:
        title = f"`{scenario['key']}`: {scenario['title']}"
        if scenario["target"]:
            title += f" (target ≥{scenario['target']:g}×)"
        for name, result in scenario["results"].items():
            cells = [title, name]
            if result["status"] == "ok":
                ratio = scenario["ratios"].get(name)
                cells += [
                    f"{result['median_s']:.3f}",
                    f"{result['min_s']:.3f}",
                    f"{result['max_s']:.3f}",
                    f"{result['peak_rss_mib']:.1f}",
                    times(ratio["time"]) if ratio else "",
                    times(ratio["rss"]) if ratio else "",
                ]
            else:
                cells += [f"{result['status']}: {result['reason']}", "", "", "", "", ""]
            rows.append("| " + " | ".join(cells) + " |")
            title = ""
    return "\n".join(rows) + "\n"


COLOURS = {"reference": "#4e79a7", "devcontainer-rs": "#f28e2b"}


def svg_chart(report: dict) -> str:
    """Horizontal bars of median time ÷ devc's on a log scale: right of the
    1× line devc is faster. Issue 7's targets (reference ÷ devc) are red
    ticks on the reference bars."""
    others = [name for name in report["tools"] if name != "devc"]
    rows = [(s, name, s["ratios"].get(name)) for s in report["scenarios"] for name in others]
    values = [r["time"] for _, _, r in rows if r] + [s["target"] for s in report["scenarios"] if s["target"]]
    lo = min([0.5, *(v / 1.5 for v in values)])
    hi = max([2.0, *(v * 1.3 for v in values)])
    left, right, top, bar, gap = 200, 720, 80, 16, 14
    height = top + len(report["scenarios"]) * (bar * len(others) + gap) + 60

    def x(value: float) -> float:
        span = math.log10(hi) - math.log10(lo)
        return left + (math.log10(value) - math.log10(lo)) / span * (right - left)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{right + 80}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="10" y="22" font-size="15" font-weight="bold">'
        "Median wall time ÷ devc's (log scale; right of 1× devc is faster)</text>",
        f'<text x="10" y="38" font-size="10" fill="#555">{html.escape(machine_line(report))}</text>',
        f'<text x="10" y="51" font-size="10" fill="#555">{html.escape(run_line(report))}</text>',
    ]
    bottom = height - 50
    for tick in (t * 10**e for e in range(-2, 4) for t in (1, 2, 5)):
        if lo <= tick <= hi:
            out.append(
                f'<line x1="{x(tick):.1f}" y1="{top - 8}" x2="{x(tick):.1f}" y2="{bottom}" '
                f'stroke="{"#000" if tick == 1 else "#ddd"}"/>'
            )
            out.append(f'<text x="{x(tick):.1f}" y="{bottom + 14}" text-anchor="middle">{tick:g}×</text>')
    y = top
    for scenario in report["scenarios"]:
        group = bar * len(others)
        out.append(
            f'<text x="{left - 8}" y="{y + group / 2 + 4:.1f}" text-anchor="end">{html.escape(scenario["key"])}</text>'
        )
        for name in others:
            ratio = scenario["ratios"].get(name)
            if ratio:
                a, b = sorted((x(1), x(ratio["time"])))
                out.append(
                    f'<rect x="{a:.1f}" y="{y + 2}" width="{max(b - a, 1):.1f}" height="{bar - 4}" '
                    f'fill="{COLOURS.get(name, "#888")}"/>'
                )
                label_x = b + 4
                if name == "reference" and scenario["target"]:
                    tx = x(scenario["target"])
                    out.append(
                        f'<line x1="{tx:.1f}" y1="{y}" x2="{tx:.1f}" y2="{y + bar}" stroke="#d62728" stroke-width="2"/>'
                    )
                    label_x = max(label_x, tx + 4)
                out.append(f'<text x="{label_x:.1f}" y="{y + bar - 4}" font-size="10">{times(ratio["time"])}</text>')
            else:
                # devc's own n/a or error stands for the whole group.
                results = scenario["results"]
                who = "devc" if results["devc"]["status"] != "ok" else name
                out.append(
                    f'<text x="{x(1) + 4:.1f}" y="{y + bar - 4}" font-size="10" fill="#777">'
                    f"{who}: {results[who]['status']} ({html.escape(results[who]['reason'])})</text>"
                )
                if who == "devc":
                    y += group
                    break
            y += bar
        y += gap
    legend = [
        *((f"{name} ÷ devc", COLOURS.get(name, "#888")) for name in others),
        ("issue 7's target for reference", "#d62728"),
    ]
    for i, (text, colour) in enumerate(legend):
        lx = left + i * 170
        out.append(f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{height - 12}">{html.escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Main


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the fast scenarios only, 1 warm-up + 1 counted run (keeps the benchmark from rotting)",
    )
    parser.add_argument("--runs", type=int, help="counted runs per tool and scenario (default 5; 1 with --quick)")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "target/bench",
        help="where bench.json and bench-ratios.svg go (default target/bench)",
    )
    parser.add_argument("--devc", type=Path, help="the devc binary (default: cargo build --release)")
    parser.add_argument(
        "--tools",
        default="devc,reference,devcontainer-rs",
        help="comma-separated tools, devc first (default: %(default)s)",
    )
    parser.add_argument(
        "--scenario", action="append", choices=[s.key for s in SCENARIOS], help="run only this scenario (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 5
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    scenarios = [s for s in SCENARIOS if (not args.quick or s.quick) and (not args.scenario or s.key in args.scenario)]
    try:
        if not os.access(GNU_TIME, os.X_OK):
            raise BenchError(f"GNU time ({GNU_TIME}) measures peak RSS; install it (apt-get install time)")
        docker("version", "--format", "{{.Server.Version}}")
        tools = find_tools(args.tools.split(","), args.devc)
        run_id = secrets.token_hex(4)
        root = Path(tempfile.mkdtemp(prefix="devc-bench-")).resolve()
        try:
            bench = Bench(tools, args.runs, root, make_base_image(run_id), run_id)
            log(
                f"benchmark {run_id}: {', '.join(f'{t.name} {t.version}' for t in tools)}; "
                f"{len(scenarios)} scenarios, 1 warm-up + {args.runs} runs each"
            )
            results = {}
            for scenario in scenarios:
                log(f"{scenario.key}: {scenario.title}")
                results[scenario.key] = {name: o.summary() for name, o in bench.scenario(scenario).items()}
        finally:
            log("cleaning up containers and images")
            clean_up(run_id, root)
        report = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine_info(),
            "tools": {t.name: {"version": t.version, "path": str(t.path)} for t in tools},
            "settings": {"runs": args.runs, "warmups": 1, "quick": args.quick},
            "scenarios": [
                {
                    "key": s.key,
                    "title": s.title,
                    "measures": s.measures,
                    "command": " ".join([s.verb, *s.flags]),
                    "target": s.target,
                    "results": results[s.key],
                    "ratios": ratios(results[s.key]),
                }
                for s in scenarios
            ],
        }
    except BenchError as err:
        log(f"error: {err}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; what the benchmark made is removed")
        return 130
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "bench-ratios.svg").write_text(svg_chart(report))
    print(markdown(report), end="")
    log(f"wrote {args.out / 'bench.json'} and {args.out / 'bench-ratios.svg'}")
    failed = [(s["key"], n) for s in report["scenarios"] for n, r in s["results"].items() if r["status"] == "error"]
    for key, name in failed:
        log(f"error: {name} failed in {key}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
