//! Error kinds, hints and exit codes, rendered in one place.
//!
//! Each pipeline module has its own `thiserror` enum that keeps its
//! `#[source]`; this enum only gathers them so the edge can print
//! `error:`, `caused by:` and `hint:` lines and pick an exit code.

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
    Container(#[from] ContainerError),
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
    #[error(transparent)]
    Lifecycle(#[from] crate::lifecycle::LifecycleError),
    #[error(transparent)]
    Attach(#[from] crate::attach::AttachError),
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A signal ended the command (see [`crate::interrupt`]).
    #[error("interrupted by {0}")]
    Interrupted(crate::interrupt::Signal),
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> Self {
        Self::Usage {
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
            Self::Usage { hint, .. } => hint.clone(),
            Self::Interrupted(_) => None,
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

    /// 128 + the signal's number after a signal (130 after Ctrl-C), as
    /// shells expect; 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Interrupted(signal)
            | Self::Lifecycle(crate::lifecycle::LifecycleError::Interrupted { signal, .. }) => {
                signal.exit_code()
            }
            _ => 1,
        }
    }
}
