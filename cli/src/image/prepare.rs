//! Making sure the image exists, with the least work: inspect first, pull
//! only what is missing, build only when the content-hash tag is absent.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use super::plan::{self, BuildInputs, PullPolicy};

use super::features::{FeatureLayer, FeaturePlan};
use super::{ImageError, context};
use crate::config::MergedConfig;
use crate::config::resolved::DockerfileBuild;
use crate::config::{ImageSource, ResolvedConfig};
use crate::engine::{BuildContext, BuildRequest, Engine, EngineError, ImageInfo};
use crate::printer::{Event, Outcome, Reporter};
use crate::registry::credentials::{self, Access, LoginFiles, LoginRefused, Origin};

#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    pub pull: PullPolicy,
    /// `--build-no-cache`: rebuild every step even when the tag exists.
    pub no_cache: bool,
    /// What to do with `devcontainer-lock.json`.
    pub lock: crate::features::LockMode,
    /// `devc build --platform`: the platform images are built for.
    pub platform: Option<String>,
    /// `devc build --cache-from`: images whose layers a Dockerfile build may reuse.
    pub cache_from: Vec<String>,
    /// `build.options` for the build's containers (`--network`, `--add-host`,
    /// limits), which the features build on top of a Dockerfile gets too, as
    /// in the reference CLI's single build. Set by [`prepare`].
    pub build_host: crate::engine::BuildHostOptions,
    /// `--buildkit`: whether builds may use the engine's BuildKit.
    pub buildkit: super::BuildkitPolicy,
}

/// The image the container will run.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedImage {
    pub name: String,
    pub info: ImageInfo,
    /// A build request was sent.
    pub built: bool,
}

/// How many lines of build output a failure shows.
const TAIL_LINES: usize = 15;

/// The image with the configuration's features installed: the base image
/// (pulled or built), then a features image on top when there are features.
pub async fn prepare(
    engine: &Engine,
    config: &ResolvedConfig,
    options: &PrepareOptions,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ImageError> {
    let base = prepare_base(engine, config, options, reporter).await?;
    let features = crate::features::resolve(config, options.lock, reporter).await?;
    if features.is_empty() {
        return Ok(base);
    }
    let mut options = options.clone();
    if let ImageSource::Dockerfile(build) = &config.image {
        options.build_host = plan::parse_build_options(&build.options)?.host;
    }
    let options = &options;
    let merged = MergedConfig::for_image(config, &base.name, &base.info.labels, reporter)?;
    let base_entries = &merged.label[..merged.image_entries];
    let plan = FeaturePlan {
        remote_user: merged.remote_user(&base.info.user),
        container_user: merged.container_user(&base.info.user),
        layers: features
            .iter()
            .map(|f| FeatureLayer {
                id: f.metadata.id.clone(),
                folder: f.folder.clone(),
                options_env: f.options.env_file(),
                container_env: f
                    .metadata
                    .container_env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
                metadata: f.metadata.label_entry(&f.user_id),
            })
            .collect(),
    };
    super::features::build(engine, &base, base_entries, &plan, options, reporter).await
}

/// The base image: `image` (pulled only when missing) or the Dockerfile build.
pub async fn prepare_base(
    engine: &Engine,
    config: &ResolvedConfig,
    options: &PrepareOptions,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ImageError> {
    match &config.image {
        ImageSource::Image { name } => use_image(engine, name, options.pull, reporter).await,
        ImageSource::Dockerfile(build) => {
            let basename = config
                .local_workspace_folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            build_image(engine, build, &basename, options, reporter).await
        }
        // crate::compose hands its service's image here as Image or Dockerfile.
        ImageSource::Compose(compose) => Err(ImageError::Compose {
            service: compose.service.clone(),
        }),
    }
}

async fn use_image(
    engine: &Engine,
    name: &str,
    pull: PullPolicy,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ImageError> {
    if pull != PullPolicy::Always
        && let Some(info) = engine.inspect_image(name).await?
    {
        return Ok(PreparedImage {
            name: name.to_string(),
            info,
            built: false,
        });
    }
    if pull == PullPolicy::Never {
        return Err(ImageError::NotLocal {
            name: name.to_string(),
        });
    }
    reporter.step(&format!("Pulling image {name}"));
    let files = login_files(engine).await;
    let login = credentials::for_image(&files, name).await?;
    let pulled = engine.pull_image(name, login.as_ref(), reporter).await;
    if let Err(err) = pulled {
        // `--pull always` offline: a local copy is still good enough.
        if pull == PullPolicy::Always
            && let Some(info) = engine.inspect_image(name).await?
        {
            reporter.warn(&format!(
                "could not pull {name} ({err}); using the local image"
            ));
            return Ok(PreparedImage {
                name: name.to_string(),
                info,
                built: false,
            });
        }
        if err.is_login_failure() {
            return Err(login_refused(
                Access::Pull,
                name,
                login.map(|l| l.credentials.origin),
                &files,
                err,
            ));
        }
        let reason = match err {
            crate::engine::EngineError::Api { message, .. } => message,
            other => other.to_string(),
        };
        return Err(ImageError::PullFailed {
            name: name.to_string(),
            reason,
        });
    }
    let info = engine
        .inspect_image(name)
        .await?
        .ok_or_else(|| ImageError::PullFailed {
            name: name.to_string(),
            reason: "the engine reported success but the image is not there".into(),
        })?;
    reporter.outcome(Outcome::ImagePulled);
    Ok(PreparedImage {
        name: name.to_string(),
        info,
        built: false,
    })
}

async fn build_image(
    engine: &Engine,
    build: &DockerfileBuild,
    workspace_basename: &str,
    options: &PrepareOptions,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ImageError> {
    let dockerfile_text =
        std::fs::read_to_string(&build.dockerfile).map_err(|_| ImageError::DockerfileMissing {
            path: build.dockerfile.clone(),
        })?;
    let flags = plan::parse_build_options(&build.options)?;
    for warning in &flags.warnings {
        reporter.warn(warning);
    }
    let target = flags.target.as_ref().or(build.target.as_ref());
    let mut args = build.args.clone();
    args.extend(flags.build_args.clone());
    let scan = context::scan(&build.context, &build.dockerfile, None)?;

    let mut base_ids = BTreeMap::new();
    for base in plan::base_images(&dockerfile_text, &args, target.map(String::as_str)) {
        let id = engine
            .inspect_image(&base)
            .await?
            .map(|i| i.id)
            .unwrap_or_default();
        base_ids.insert(base, id);
    }
    let args_for_tag = args.clone();
    let tag = plan::build_tag(
        workspace_basename,
        &BuildInputs {
            context_digest: &scan.digest,
            dockerfile: scan.dockerfile_name(),
            args: &args,
            target: target.map(String::as_str),
            flags: &flags,
            base_ids: &base_ids,
        },
    );
    let no_cache = options.no_cache || flags.no_cache;
    if !no_cache && let Some(info) = engine.inspect_image(&tag).await? {
        reporter.step(&format!(
            "Reusing image {tag} (nothing changed since it was built)"
        ));
        return Ok(PreparedImage {
            name: tag,
            info,
            built: false,
        });
    }

    let builder = super::builder::choose(engine, options.buildkit).await?;
    builder.check(&build.dockerfile, &dockerfile_text)?;
    let platform = options.platform.clone().or_else(|| flags.platform.clone());
    let platform_args = builder.platform_args(&dockerfile_text, &args, platform.as_deref());
    reporter.step(&format!(
        "Building image {tag}{}",
        if builder.buildkit {
            " with BuildKit"
        } else {
            ""
        }
    ));
    let request = BuildRequest {
        context_tar: BuildContext::File(scan.to_temp_file()?),
        dockerfile: scan.dockerfile_name().to_string(),
        tag: tag.clone(),
        build_args: args.into_iter().chain(platform_args).collect(),
        buildkit: builder.buildkit,
        target: target.cloned(),
        cache_from: build
            .cache_from
            .iter()
            .chain(&flags.cache_from)
            .chain(&options.cache_from)
            .cloned()
            .collect(),
        platform,
        host: flags.host.clone(),
        no_cache,
        labels: flags.labels.clone().into_iter().collect::<HashMap<_, _>>(),
        pull: flags.pull || options.pull == PullPolicy::Always,
        // Filled in by `build_with_tail`, which every build goes through.
        registry_logins: Default::default(),
    };
    let built = build_tagged(engine, request, reporter).await?;
    // The engine pulled base images that were missing; tag the result
    // under the name the next run will compute with their ids, so that run
    // sends no build.
    if base_ids.values().any(String::is_empty) {
        let mut known = base_ids.clone();
        for (base, id) in known.iter_mut().filter(|(_, id)| id.is_empty()) {
            *id = engine
                .inspect_image(base)
                .await?
                .map(|i| i.id)
                .unwrap_or_default();
        }
        let next = plan::build_tag(
            workspace_basename,
            &BuildInputs {
                context_digest: &scan.digest,
                dockerfile: scan.dockerfile_name(),
                args: &args_for_tag,
                target: target.map(String::as_str),
                flags: &flags,
                base_ids: &known,
            },
        );
        engine.tag_image(&built.info.id, &next).await?;
    }
    Ok(built)
}

/// Sends a build and returns the image it tagged.
pub(super) async fn build_tagged(
    engine: &Engine,
    request: BuildRequest,
    reporter: &dyn Reporter,
) -> Result<PreparedImage, ImageError> {
    let tag = request.tag.clone();
    build_with_tail(engine, request, reporter).await?;
    let info = engine
        .inspect_image(&tag)
        .await?
        .ok_or_else(|| ImageError::BuildFailed {
            message: format!("the engine reported success but {tag} is not there"),
            last_lines: Vec::new(),
        })?;
    reporter.outcome(Outcome::ImageBuilt);
    Ok(PreparedImage {
        name: tag,
        info,
        built: true,
    })
}

/// A build context holding only `dockerfile` (as `Dockerfile`).
pub(super) fn dockerfile_only(dockerfile: &str) -> Result<Vec<u8>, ImageError> {
    let io = |e: std::io::Error| ImageError::BuildFailed {
        message: format!("cannot make the build context: {e}"),
        last_lines: Vec::new(),
    };
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .map_err(io)?;
    tar.into_inner().map_err(io)
}

/// The login files of this engine's own client (Podman's `auth.json`
/// first on Podman, then Docker's `config.json`).
pub(crate) async fn login_files(engine: &Engine) -> LoginFiles {
    LoginFiles::for_engine(engine.is_podman().await)
}

/// The error for a pull or push the registry refused for want of a login.
pub(crate) fn login_refused(
    access: Access,
    image: &str,
    sent: Option<Origin>,
    files: &LoginFiles,
    err: EngineError,
) -> ImageError {
    let detail = match err {
        EngineError::Api { message, .. } => message,
        other => other.to_string(),
    };
    ImageError::Login(Box::new(LoginRefused {
        access,
        image: image.to_string(),
        registry: credentials::registry_of(image),
        sent,
        searched: files.describe(),
        detail,
    }))
}

/// Sends a build with every configured registry login (private `FROM`
/// images); a failure carries the build's last output lines.
async fn build_with_tail(
    engine: &Engine,
    mut request: BuildRequest,
    reporter: &dyn Reporter,
) -> Result<String, ImageError> {
    let files = login_files(engine).await;
    request.registry_logins = credentials::for_build(&files).await?;
    // Where each login came from, for the error (the secrets stay in the request).
    let origins: BTreeMap<String, Origin> = request
        .registry_logins
        .iter()
        .map(|(server, c)| (server.clone(), c.origin.clone()))
        .collect();
    let recorder = TailRecorder {
        inner: reporter,
        lines: Mutex::new(VecDeque::new()),
    };
    let result = engine.build_image(request, &recorder).await;
    let last_lines: Vec<String> = recorder.lines.into_inner().unwrap_or_default().into();
    result.map_err(|err| {
        if err.is_login_failure()
            && let EngineError::Api { message, .. } = &err
            && let Some(image) = credentials::image_of_failed_build(message, &last_lines)
        {
            let server = credentials::server_address(&credentials::registry_of(&image));
            let sent = origins.get(&server).cloned();
            return login_refused(Access::Pull, &image, sent, &files, err);
        }
        let message = match err {
            EngineError::Api { message, .. } => message,
            other => other.to_string(),
        };
        ImageError::BuildFailed {
            message,
            last_lines,
        }
    })
}

/// Passes events on and keeps the last lines of output for error messages.
struct TailRecorder<'a> {
    inner: &'a dyn Reporter,
    lines: Mutex<VecDeque<String>>,
}

impl Reporter for TailRecorder<'_> {
    fn report(&self, event: Event<'_>) {
        if let Event::Output { line, .. } = &event
            && let Ok(mut lines) = self.lines.lock()
        {
            if lines.len() == TAIL_LINES {
                lines.pop_front();
            }
            lines.push_back(line.to_string());
        }
        self.inner.report(event);
    }
}
