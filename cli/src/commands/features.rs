//! `devc features publish|package|info|test`: for feature authors.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Context;
use crate::error::Error;
use crate::features;

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[command(subcommand)]
    command: FeaturesCommand,
}

#[derive(Debug, Subcommand)]
enum FeaturesCommand {
    /// Package and publish features (a feature folder, a folder of them, or a repository with src/).
    Publish(PublishArgs),
    /// Write devcontainer-feature-<id>.tgz files and devcontainer-collection.json.
    Package(PackageArgs),
    /// Show a published feature's manifest or tags.
    Info(InfoArgs),
    /// Run a collection's test/<id>/test.sh and scenarios.json against a base image.
    Test(TestArgs),
    /// Print the configuration's features in install order, dependencies included, as JSON.
    ResolveDependencies(ResolveArgs),
    /// Write a README.md for every feature of a collection (the reference CLI's layout).
    GenerateDocs(GenerateDocsArgs),
}

#[derive(Debug, Args)]
struct GenerateDocsArgs {
    /// The folder holding the feature folders (or a repository with them in src/).
    #[arg(long, short = 'p', default_value = ".")]
    project_folder: PathBuf,
    /// The registry in the usage example.
    #[arg(long, short = 'r', default_value = "ghcr.io")]
    registry: String,
    /// The collection's namespace in the usage example, e.g. owner/repo.
    #[arg(long, short = 'n')]
    namespace: String,
    #[command(flatten)]
    github: super::templates::GitHubArgs,
}

#[derive(Debug, Args)]
struct ResolveArgs {
    #[command(flatten)]
    workspace: super::WorkspaceArgs,
}

#[derive(Debug, Args)]
struct PackageArgs {
    /// The feature folder, or a folder holding feature folders (directly or in src/).
    #[arg(default_value = ".")]
    target: PathBuf,
    /// Where the files go.
    #[arg(long, short = 'o', default_value = "./output")]
    output_folder: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum InfoMode {
    Manifest,
    Tags,
}

#[derive(Debug, Args)]
struct InfoArgs {
    #[arg(value_enum)]
    mode: InfoMode,
    /// registry/namespace/id[:tag|@digest]
    reference: String,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// The collection: a folder with src/<id> and test/<id>.
    #[arg(long, short = 'p', default_value = ".")]
    project_folder: PathBuf,
    /// Only these features (repeatable).
    #[arg(long = "features", short = 'f', value_name = "ID")]
    features: Vec<String>,
    /// The image the features are installed on.
    #[arg(long, default_value = "debian:bookworm")]
    base_image: String,
    /// Run only each feature's test.sh, not its scenarios.
    #[arg(long)]
    skip_scenarios: bool,
}

#[derive(Debug, Args)]
struct PublishArgs {
    /// The feature folder, or a folder holding feature folders (directly or in src/).
    #[arg(default_value = ".")]
    target: PathBuf,
    /// Registry host[:port]; plain HTTP only for loopback or DEVC_INSECURE_REGISTRIES.
    #[arg(long, short = 'r', default_value = "ghcr.io")]
    registry: String,
    /// Namespace under the registry, e.g. my-org/features.
    #[arg(long, short = 'n')]
    namespace: String,
}

pub async fn run(ctx: &Context, args: FeaturesArgs) -> Result<u8, Error> {
    match args.command {
        FeaturesCommand::Publish(publish) => {
            let done = features::publish::publish(
                &publish.target,
                &publish.registry,
                &publish.namespace,
                &ctx.printer,
            )
            .await
            .map_err(crate::image::ImageError::from)?;
            ctx.printer
                .result(&json!({"outcome": "success", "published": done}));
            Ok(0)
        }
        FeaturesCommand::Package(package) => {
            let written = features::authoring::package(&package.target, &package.output_folder)
                .map_err(crate::image::ImageError::from)?;
            ctx.printer
                .result(&json!({"outcome": "success", "files": written}));
            Ok(0)
        }
        FeaturesCommand::Info(info) => info_command(ctx, &info).await,
        FeaturesCommand::Test(test) => test_command(ctx, &test).await,
        FeaturesCommand::GenerateDocs(args) => {
            let kind = crate::collection_docs::Kind::Features {
                registry: args.registry,
                namespace: args.namespace,
            };
            super::templates::write_docs(ctx, &args.project_folder, &kind, &args.github)
        }
        FeaturesCommand::ResolveDependencies(args) => {
            let config = ctx.resolve(&args.workspace)?;
            // Fetches what is not cached; the lockfile is neither read nor
            // written, as in the reference CLI.
            let resolved = features::resolve(&config, features::LockMode::Ignore, &ctx.printer)
                .await
                .map_err(crate::image::ImageError::from)?;
            let order: Vec<_> = resolved
                .iter()
                .map(|f| json!({"id": f.user_id, "options": f.user_options}))
                .collect();
            ctx.printer.result(&json!({"installOrder": order}));
            Ok(0)
        }
    }
}

async fn info_command(ctx: &Context, args: &InfoArgs) -> Result<u8, Error> {
    use crate::registry::oci;
    let oci_error = |source| {
        crate::image::ImageError::from(features::FeatureError::Oci {
            key: args.reference.clone(),
            source: Box::new(source),
        })
    };
    let reference = oci::OciRef::parse(&args.reference).map_err(oci_error)?;
    let client = oci::OciClient::new(oci::ClientOptions::from_env()).map_err(oci_error)?;
    match args.mode {
        InfoMode::Manifest => {
            let fetched = client.resolve(&reference).await.map_err(oci_error)?;
            let manifest: serde_json::Value =
                serde_json::from_slice(&fetched.bytes).unwrap_or_default();
            let canonical = format!("{}@{}", reference.resource(), fetched.digest.as_str());
            ctx.printer
                .result(&json!({"manifest": manifest, "canonicalId": canonical}));
        }
        InfoMode::Tags => {
            let tags = client
                .list_tags(&reference.repository())
                .await
                .map_err(oci_error)?;
            ctx.printer.result(&json!({"publishedTags": tags}));
        }
    }
    Ok(0)
}

/// Runs every test case in its own workspace through this same binary.
async fn test_command(ctx: &Context, args: &TestArgs) -> Result<u8, Error> {
    use crate::printer::Reporter;
    let cases = features::authoring::test_cases(
        &args.project_folder,
        &args.features,
        &args.base_image,
        !args.skip_scenarios,
    )
    .map_err(crate::image::ImageError::from)?;
    if cases.is_empty() {
        return Err(Error::failed(
            format!(
                "no tests found in {}",
                args.project_folder.join("test").display()
            ),
            Some("put a test.sh (and optionally scenarios.json) in test/<feature id>/"),
        ));
    }
    let devc = std::env::current_exe()
        .map_err(|e| Error::failed(format!("cannot find the devc binary: {e}"), None))?;
    let mut results = Vec::new();
    for case in &cases {
        ctx.printer
            .step(&format!("Testing feature {} ({})", case.feature, case.name));
        // A private folder (random name, 0700): a predictable one in /tmp
        // could be pre-created by another user, who could then edit the
        // configuration before `devc up` runs it.
        let scratch = tempfile::Builder::new()
            .prefix("devc-feature-test-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(|e| {
                Error::failed(
                    format!(
                        "cannot create a test workspace in {}: {e}",
                        std::env::temp_dir().display()
                    ),
                    None,
                )
            })?;
        let dir = scratch.path().to_path_buf();
        features::authoring::workspace(&args.project_folder, case, &dir).map_err(|e| {
            Error::failed(
                format!("cannot prepare the test workspace {}: {e}", dir.display()),
                None,
            )
        })?;
        let run = |sub: &[&str]| {
            let mut command = std::process::Command::new(&devc);
            command
                .arg(sub[0])
                .arg("--workspace-folder")
                .arg(&dir)
                .args(&sub[1..]);
            // stdout is this command's JSON result; the tests' own output goes to stderr.
            command
                .stdin(std::process::Stdio::null())
                .stdout(std::io::stderr());
            command.status().map(|s| s.success()).unwrap_or(false)
        };
        let script = format!("chmod +x ./{0} && ./{0}", case.script);
        let passed = run(&["up", "--no-lockfile"]) && run(&["exec", "/bin/sh", "-c", &script]);
        run(&["down", "--volumes"]);
        drop(scratch);
        if !passed {
            ctx.printer
                .warn(&format!("feature {} ({}) failed", case.feature, case.name));
        }
        results.push(json!({"feature": case.feature, "test": case.name, "passed": passed}));
    }
    let failed = results.iter().filter(|r| r["passed"] == false).count();
    let outcome = if failed == 0 { "success" } else { "error" };
    ctx.printer
        .result(&json!({"outcome": outcome, "results": results}));
    Ok(if failed == 0 { 0 } else { 1 })
}
