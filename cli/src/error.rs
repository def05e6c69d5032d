//! Error kinds, hints and exit codes, rendered in one place.
//!
//! Each pipeline module has its own `thiserror` enum that keeps its
//! `#[source]`; this enum only gathers them so the edge can print
//! `error:`, `caused by:` and `hint:` lines and pick an exit code.
//!
//! A stage's enum may wrap the errors of the stages below it (`container`
//! wraps `config` and `image`, `compose` and `attach` wrap `container`);
//! the conversions here unwrap those again (issue 14 step 3), so
//! [`Error::kind`], the hints and the `caused by:` chain see the same
//! shapes as when each stage returned this enum itself.

use crate::attach::AttachError;
use crate::compose::ComposeError;
use crate::config::ConfigError;
use crate::container::ContainerError;
use crate::engine::EngineError;
use crate::image::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Container(ContainerError),
    #[error(transparent)]
    Compose(ComposeError),
    #[error(transparent)]
    Lifecycle(#[from] crate::lifecycle::LifecycleError),
    #[error(transparent)]
    Attach(AttachError),
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    /// The command line asks for something devc cannot do (exit 2, as
    /// clap's own parse errors).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A command's own failure that no pipeline module owns (a backup
    /// that cannot be written, an editor that cannot be started).
    #[error("{message}")]
    Failed {
        message: String,
        hint: Option<String>,
    },
    /// A signal ended the command (see [`crate::interrupt`]).
    #[error("interrupted by {0}")]
    Interrupted(crate::interrupt::Signal),
}

/// A container error wrapping a lower stage's is that stage's error again.
impl From<ContainerError> for Error {
    fn from(error: ContainerError) -> Self {
        match error {
            ContainerError::Config(e) => Self::Config(e),
            ContainerError::Image(e) => Self::Image(e),
            other => Self::Container(other),
        }
    }
}

/// A Compose error wrapping a lower stage's is that stage's error again.
impl From<ComposeError> for Error {
    fn from(error: ComposeError) -> Self {
        match error {
            ComposeError::Config(e) => Self::Config(e),
            ComposeError::Engine(e) => Self::Engine(e),
            ComposeError::Image(e) => Self::Image(e),
            ComposeError::Container(e) => Self::from(e),
            other => Self::Compose(other),
        }
    }
}

/// An attach error wrapping a lower stage's is that stage's error again;
/// a bad request of the command line is a usage error (exit 2).
impl From<AttachError> for Error {
    fn from(error: AttachError) -> Self {
        match error {
            AttachError::Config(e) => Self::Config(e),
            AttachError::Container(e) => Self::from(e),
            AttachError::Usage { message, hint } => Self::Usage { message, hint },
            other => Self::Attach(other),
        }
    }
}

/// A bad `--remote-env` flag is a usage error (exit 2), whichever command
/// it was given to.
impl From<crate::lifecycle::remote_env::InvalidRemoteEnv> for Error {
    fn from(error: crate::lifecycle::remote_env::InvalidRemoteEnv) -> Self {
        Self::usage(error.to_string(), None)
    }
}

/// A template failure, its causes glued into the message (the templates
/// commands have always shown it so).
impl From<crate::templates::TemplateError> for Error {
    fn from(err: crate::templates::TemplateError) -> Self {
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Self::Failed {
            message,
            hint: err.hint(),
        }
    }
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    pub fn failed(message: impl Into<String>, hint: Option<&str>) -> Self {
        Self::Failed {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    /// What to do next, when devc knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Config(e) => e.hint(),
            Self::Engine(e) => e.hint(),
            Self::Image(e) => e.hint(),
            Self::Container(e) => e.hint(),
            Self::Compose(e) => e.hint(),
            Self::Lifecycle(e) => e.hint(),
            Self::Attach(e) => e.hint(),
            Self::Sync(e) => e.hint(),
            Self::Usage { hint, .. } | Self::Failed { hint, .. } => hint.clone(),
            Self::Interrupted(_) => None,
        }
    }

    /// The reference CLI's error result (`outcome`, `message`,
    /// `description`), which editors and CI actions read on stdout; every
    /// command that prints a result on success prints this on failure.
    pub fn result(&self, description: &str) -> serde_json::Value {
        serde_json::json!({
            "outcome": "error",
            "message": self.to_string(),
            "description": description,
        })
    }

    /// The error as the printer shows it.
    pub fn report(&self) -> crate::printer::ErrorReport {
        crate::printer::ErrorReport {
            message: self.to_string(),
            causes: self.causes(),
            hint: self.hint(),
        }
    }

    /// The chain of underlying causes, outermost first.
    pub fn causes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            out.push(cause.to_string());
            source = cause.source();
        }
        out
    }

    /// What went wrong, as far as a script needs to know (the exit code).
    pub fn kind(&self) -> ErrorKind {
        use crate::engine::EngineError as E;
        let engine = |e: &E| match e {
            E::Unreachable { .. }
            | E::Denied { .. }
            | E::Failing { .. }
            | E::BadEndpoint { .. }
            | E::SkipTlsVerify { .. }
            | E::Timeout { .. }
            | E::TooLarge { .. }
            | E::Remote { .. } => ErrorKind::Engine,
            _ => ErrorKind::Failed,
        };
        match self {
            Self::Interrupted(signal)
            | Self::Lifecycle(crate::lifecycle::LifecycleError::Interrupted { signal, .. }) => {
                ErrorKind::Interrupted(*signal)
            }
            Self::Usage { .. } => ErrorKind::Usage,
            Self::Config(_)
            | Self::Image(ImageError::BuildOption(_))
            | Self::Container(ContainerError::RunArgs { .. } | ContainerError::Invalid { .. }) => {
                ErrorKind::Config
            }
            Self::Engine(e)
            | Self::Image(ImageError::Engine(e))
            | Self::Container(ContainerError::Engine(e)) => engine(e),
            Self::Image(
                ImageError::BuildFailed { .. }
                | ImageError::PullFailed { .. }
                | ImageError::NotLocal { .. }
                | ImageError::Login(_),
            ) => ErrorKind::Image,
            Self::Lifecycle(crate::lifecycle::LifecycleError::Failed { .. }) => ErrorKind::Hook,
            _ => ErrorKind::Failed,
        }
    }

    /// The exit code of [`Error::kind`] (the README's table).
    pub fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }
}

/// The kinds of failure with their own exit codes; the README lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 1: anything not below.
    Failed,
    /// 2: the command line (also clap's own parse errors).
    Usage,
    /// 3: devcontainer.json (or a file it names) is unreadable or invalid.
    Config,
    /// 4: the container engine cannot be reached or does not answer.
    Engine,
    /// 5: an image could not be built or pulled.
    Image,
    /// 6: a lifecycle hook failed.
    Hook,
    /// 128 + the signal's number (130 after Ctrl-C), as shells expect.
    Interrupted(crate::interrupt::Signal),
}

impl ErrorKind {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Failed => 1,
            Self::Usage => 2,
            Self::Config => 3,
            Self::Engine => 4,
            Self::Image => 5,
            Self::Hook => 6,
            Self::Interrupted(signal) => signal.exit_code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineError;

    #[test]
    fn the_error_result_is_the_reference_clis() {
        let error = Error::failed("cannot write the backup", None);
        assert_eq!(
            error.result("An error occurred building the image."),
            serde_json::json!({
                "outcome": "error",
                "message": "cannot write the backup",
                "description": "An error occurred building the image.",
            })
        );
    }

    #[test]
    fn kinds_have_the_documented_exit_codes() {
        let unreachable = || EngineError::Unreachable {
            endpoint: "unix:///x".into(),
            reason: "gone".into(),
        };
        let api = || EngineError::Api {
            context: "creating".into(),
            message: "conflict".into(),
            status: 409,
        };
        let cases: Vec<(Error, u8)> = vec![
            (Error::usage("bad flag", None), 2),
            (Error::failed("cannot write", None), 1),
            (Error::Engine(unreachable()), 4),
            (Error::Image(ImageError::Engine(unreachable())), 4),
            (Error::Container(ContainerError::Engine(unreachable())), 4),
            (Error::Engine(api()), 1),
            (
                Error::Engine(EngineError::Remote {
                    endpoint: "ssh://build".into(),
                    reason: "refused".into(),
                    hint: "check ssh".into(),
                }),
                4,
            ),
            (Error::Image(ImageError::NotLocal { name: "x".into() }), 5),
            (
                Error::Container(ContainerError::RunArgs {
                    property: "runArgs".into(),
                    file: "devcontainer.json".into(),
                    message: "unknown flag".into(),
                    hint: None,
                }),
                3,
            ),
            (Error::Interrupted(crate::interrupt::Signal::Interrupt), 130),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error:?}");
        }
    }

    /// Issue 14 step 3: a lower stage's error wrapped in `container`'s,
    /// `compose`'s or `attach`'s enum reaches the edge as the same error
    /// (exit code, message, causes, hint) as when returned directly.
    #[test]
    fn wrapped_errors_keep_their_exit_codes_and_reports() {
        use crate::attach::AttachError;
        use crate::compose::ComposeError;
        let unreachable = || EngineError::Unreachable {
            endpoint: "unix:///x".into(),
            reason: "gone".into(),
        };
        let build = || ImageError::BuildFailed {
            message: "RUN false".into(),
            last_lines: vec!["step 2".into()],
        };
        let missing = || ConfigError::Missing {
            path: "/w/.devcontainer/devcontainer.json".into(),
        };
        let cases: Vec<(Error, Error, u8)> = vec![
            // An image build failure (5).
            (
                ContainerError::Image(build()).into(),
                Error::Image(build()),
                5,
            ),
            (
                ComposeError::Image(build()).into(),
                Error::Image(build()),
                5,
            ),
            (
                ComposeError::Container(ContainerError::Image(build())).into(),
                Error::Image(build()),
                5,
            ),
            (
                AttachError::Container(ContainerError::Image(build())).into(),
                Error::Image(build()),
                5,
            ),
            // The engine unreachable (4), however it is wrapped.
            (
                ContainerError::Image(ImageError::Engine(unreachable())).into(),
                Error::Image(ImageError::Engine(unreachable())),
                4,
            ),
            (
                ComposeError::Engine(unreachable()).into(),
                Error::Engine(unreachable()),
                4,
            ),
            (
                ComposeError::Container(ContainerError::Engine(unreachable())).into(),
                Error::Container(ContainerError::Engine(unreachable())),
                4,
            ),
            (
                AttachError::Container(ContainerError::Engine(unreachable())).into(),
                Error::Container(ContainerError::Engine(unreachable())),
                4,
            ),
            // The configuration (3).
            (
                ContainerError::Config(missing()).into(),
                Error::Config(missing()),
                3,
            ),
            (
                ComposeError::Config(missing()).into(),
                Error::Config(missing()),
                3,
            ),
            (
                AttachError::Config(missing()).into(),
                Error::Config(missing()),
                3,
            ),
            // A bad request to `devc forward` or `devc ssh-config` (2).
            (
                AttachError::usage("nothing to forward", Some("list ports")).into(),
                Error::usage("nothing to forward", Some("list ports")),
                2,
            ),
            // A container that stopped right after starting (1, as when
            // it was the lifecycle's error).
            (
                ComposeError::Container(ContainerError::Exited {
                    what: "the dev container x".into(),
                    code: 1,
                    last_lines: Vec::new(),
                })
                .into(),
                Error::Container(ContainerError::Exited {
                    what: "the dev container x".into(),
                    code: 1,
                    last_lines: Vec::new(),
                }),
                1,
            ),
        ];
        for (wrapped, direct, code) in cases {
            assert_eq!(wrapped.exit_code(), code, "{wrapped:?}");
            assert_eq!(wrapped.report(), direct.report(), "{wrapped:?}");
            assert_eq!(format!("{wrapped:?}"), format!("{direct:?}"));
        }
        // No stage below the lifecycle wraps its errors: a failed hook is
        // the lifecycle's own error at the edge, exit 6.
        let hook = Error::Lifecycle(crate::lifecycle::LifecycleError::Failed {
            hook: "postCreateCommand",
            name: String::new(),
            origin: "devcontainer.json".into(),
            command: "false".into(),
            code: 1,
            last_lines: Vec::new(),
        });
        assert_eq!(hook.exit_code(), 6);
    }
}
