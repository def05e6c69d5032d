//! `devc templates apply|list|publish`: dev container templates.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::{ApplyTarget, Context, GitHubArgs};
use crate::error::Error;
use crate::templates::{self, Source, shipped};

#[derive(Debug, Args)]
pub struct TemplatesArgs {
    #[command(subcommand)]
    command: TemplatesCommand,
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// Copy a template into the workspace folder with its options filled in.
    Apply(ApplyArgs),
    /// List the templates devc ships.
    List(ListArgs),
    /// Package and publish templates (a template folder, a folder of them, or a repository with src/).
    Publish(PublishArgs),
    /// Write a README.md for every template of a collection (the reference CLI's layout).
    GenerateDocs(TemplateDocsArgs),
    /// Print a published template's metadata (its manifest's dev.containers.metadata).
    Metadata(MetadataArgs),
}

#[derive(Debug, Args)]
struct MetadataArgs {
    /// registry/namespace/id[:tag|@digest]
    #[arg(value_name = "TEMPLATE_ID")]
    template_id: String,
}

#[derive(Debug, Args)]
struct TemplateDocsArgs {
    /// The folder holding the template folders (or a repository with them in src/).
    #[arg(long, short = 'p', default_value = ".")]
    project_folder: PathBuf,
    #[command(flatten)]
    github: GitHubArgs,
}

/// The `dev.containers.metadata` annotation of a published template.
async fn template_metadata(reference: &str) -> Result<serde_json::Value, Error> {
    use crate::registry::oci;
    let failed = |e: oci::OciError| {
        Error::failed(
            format!("cannot read the template {reference}: {e}"),
            e.hint().as_deref(),
        )
    };
    let parsed = oci::OciRef::parse(reference).map_err(failed)?;
    let client = oci::OciClient::new(oci::ClientOptions::from_env()).map_err(failed)?;
    let fetched = client.resolve(&parsed).await.map_err(failed)?;
    let manifest: serde_json::Value = serde_json::from_slice(&fetched.bytes).unwrap_or_default();
    let annotation = manifest
        .pointer("/annotations/dev.containers.metadata")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            Error::failed(
                format!(
                    "the template {reference} has no dev.containers.metadata annotation on its manifest"
                ),
                Some("ask the template's owner to publish it again (`devc templates publish` writes the annotation)"),
            )
        })?;
    serde_json::from_str(annotation).map_err(|e| {
        Error::failed(
            format!("the dev.containers.metadata annotation of {reference} is not JSON: {e}"),
            None,
        )
    })
}

#[derive(Debug, Args)]
struct ApplyArgs {
    /// A shipped template id (`devc templates list`), a template folder, or registry/namespace/id[:tag].
    #[arg(long = "template-id", short = 't', value_name = "ID|PATH|REF")]
    template: String,
    /// Option values as a JSON object, e.g. '{"baseImage": "debian:bookworm"}'.
    #[arg(long = "template-args", short = 'a', value_name = "JSON")]
    args: Option<String>,
    /// An option value as NAME=VALUE (repeatable; wins over --template-args).
    #[arg(long = "option", short = 'o', value_name = "NAME=VALUE")]
    options: Vec<String>,
    /// Features to add to the template's devcontainer.json, as JSON: [{"id": …, "options": {…}}].
    #[arg(long, short = 'f', value_name = "JSON", default_value = "[]")]
    features: String,
    #[command(flatten)]
    target: ApplyTarget,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Print JSON (one array) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct PublishArgs {
    /// The template folder, or a folder holding template folders (directly or in src/).
    #[arg(default_value = ".")]
    target: PathBuf,
    /// Registry host[:port]; plain HTTP only for loopback or DEVC_INSECURE_REGISTRIES.
    #[arg(long, short = 'r', default_value = "ghcr.io")]
    registry: String,
    /// Namespace under the registry, e.g. my-org/templates.
    #[arg(long, short = 'n')]
    namespace: String,
}

pub async fn run(ctx: &Context, args: TemplatesArgs) -> Result<u8, Error> {
    match args.command {
        TemplatesCommand::Apply(apply) => {
            let source = Source::parse(&apply.template)?;
            let user = templates::apply::parse_args(apply.args.as_deref(), &apply.options)?;
            let template = templates::load(&source, &ctx.printer).await?;
            let target = &apply.target;
            let files = templates::apply::apply(
                &template,
                &user,
                &apply.features,
                &target.workspace_folder,
                target.force,
                &ctx.printer,
            )?;
            ctx.printer
                .result(&json!({"outcome": "success", "files": files}));
            Ok(0)
        }
        TemplatesCommand::List(list) => {
            let rows = shipped::summaries()?;
            if list.json {
                ctx.printer.result(&rows);
            } else {
                let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0);
                let mut text = String::new();
                for row in &rows {
                    text.push_str(&format!("{:width$}  {}\n", row.id, row.description));
                    if !row.options.is_empty() {
                        text.push_str(&format!(
                            "{:width$}  options: {}\n",
                            "",
                            row.options.join(", ")
                        ));
                    }
                }
                ctx.printer.stdout_text(&text);
            }
            Ok(0)
        }
        TemplatesCommand::Publish(publish) => {
            let done = templates::publish::publish(
                &publish.target,
                &publish.registry,
                &publish.namespace,
                &ctx.printer,
            )
            .await?;
            ctx.printer
                .result(&json!({"outcome": "success", "published": done}));
            Ok(0)
        }
        TemplatesCommand::Metadata(args) => {
            // As the reference CLI: `{}` on stdout whenever there is no
            // metadata to print, and exit 1.
            match template_metadata(&args.template_id).await {
                Ok(metadata) => {
                    ctx.printer.result(&metadata);
                    Ok(0)
                }
                Err(error) => {
                    ctx.printer.result(&json!({}));
                    Err(error)
                }
            }
        }
        TemplatesCommand::GenerateDocs(args) => {
            let written = crate::collection_docs::write(
                &args.project_folder,
                &crate::collection_docs::Kind::Templates,
                &args.github.links(),
                &ctx.printer,
            )?;
            ctx.printer
                .result(&json!({"outcome": "success", "files": written}));
            Ok(0)
        }
    }
}
