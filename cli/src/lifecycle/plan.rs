//! Which lifecycle steps run, decided without touching the container.
//!
//! [`candidates`] is the sequence the flags allow; each candidate that is
//! once-per-container or once-per-start then runs only if its marker says
//! it is due ([`super::markers`]). Markers are only touched for candidates,
//! so a hook skipped by `--skip-non-blocking-commands` still runs on the
//! next `run-user-commands`, as with the reference CLI.

use super::Hook;
use crate::config::model::WaitFor;

/// Flags of `up`, `run-user-commands` and `set-up`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// `--skip-post-create`: run no hook in the container and no dotfiles.
    pub skip_post_create: bool,
    /// `--skip-non-blocking-commands`: stop after the `waitFor` hook.
    pub skip_non_blocking: bool,
    /// `--skip-post-attach`.
    pub skip_post_attach: bool,
    /// `--prebuild`: stop after `updateContentCommand` (and run it again).
    pub prebuild: bool,
    /// `--stop-for-personalization`: stop after `postCreateCommand` and the
    /// dotfiles, before `postStartCommand`.
    pub stop_for_personalization: bool,
}

/// One step of the in-container sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Hook(Hook),
    Dotfiles,
}

/// When a step runs at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    /// Once per container (keyed by its creation time).
    PerContainer,
    /// Once per start (keyed by its start time).
    PerStart,
    /// Every time (`postAttachCommand`).
    Always,
}

impl Step {
    pub fn once(self) -> Once {
        match self {
            Step::Hook(Hook::PostStart) => Once::PerStart,
            Step::Hook(Hook::PostAttach) | Step::Hook(Hook::Initialize) => Once::Always,
            _ => Once::PerContainer,
        }
    }

    /// The marker file's name part (`.<name>Marker`).
    pub fn marker(self) -> &'static str {
        match self {
            Step::Hook(hook) => hook.property(),
            Step::Dotfiles => "dotfiles",
        }
    }
}

/// The steps the flags allow, in order, as if every marker were due.
pub fn candidates(wait_for: WaitFor, options: RunOptions, dotfiles: bool) -> Vec<Step> {
    if options.skip_post_create
        || (options.skip_non_blocking && wait_for == WaitFor::InitializeCommand)
    {
        return Vec::new();
    }
    let stop_at = options.skip_non_blocking.then(|| waits_for(wait_for));
    let mut steps = Vec::new();
    let sequence = [
        Step::Hook(Hook::OnCreate),
        Step::Hook(Hook::UpdateContent),
        Step::Hook(Hook::PostCreate),
        Step::Dotfiles,
        Step::Hook(Hook::PostStart),
        Step::Hook(Hook::PostAttach),
    ];
    for step in sequence {
        if step == Step::Dotfiles && !dotfiles {
            continue;
        }
        if step == Step::Hook(Hook::PostAttach) && options.skip_post_attach {
            continue;
        }
        if step == Step::Hook(Hook::PostStart) && options.stop_for_personalization {
            break;
        }
        steps.push(step);
        if Some(step) == stop_at || (options.prebuild && step == Step::Hook(Hook::UpdateContent)) {
            break;
        }
    }
    steps
}

/// Whether a candidate runs, given whether its marker changed.
pub fn runs(step: Step, marker_changed: bool, options: RunOptions) -> bool {
    match step.once() {
        Once::Always => true,
        _ if options.prebuild && step == Step::Hook(Hook::UpdateContent) => true,
        _ => marker_changed,
    }
}

fn waits_for(wait_for: WaitFor) -> Step {
    Step::Hook(match wait_for {
        WaitFor::InitializeCommand => Hook::Initialize,
        WaitFor::OnCreateCommand => Hook::OnCreate,
        WaitFor::UpdateContentCommand => Hook::UpdateContent,
        WaitFor::PostCreateCommand => Hook::PostCreate,
        WaitFor::PostStartCommand => Hook::PostStart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Hook::*;

    fn hooks(list: &[Hook]) -> Vec<Step> {
        list.iter().map(|h| Step::Hook(*h)).collect()
    }

    #[test]
    fn personalization_stops_before_post_start() {
        let options = RunOptions {
            stop_for_personalization: true,
            ..Default::default()
        };
        let mut expected = hooks(&[OnCreate, UpdateContent, PostCreate]);
        expected.push(Step::Dotfiles);
        assert_eq!(
            candidates(WaitFor::UpdateContentCommand, options, true),
            expected
        );
        // --skip-non-blocking-commands still stops at waitFor first.
        let both = RunOptions {
            skip_non_blocking: true,
            ..options
        };
        assert_eq!(
            candidates(WaitFor::OnCreateCommand, both, true),
            hooks(&[OnCreate])
        );
    }

    #[test]
    fn everything_in_order() {
        let all = candidates(WaitFor::UpdateContentCommand, RunOptions::default(), true);
        assert_eq!(
            all,
            vec![
                Step::Hook(OnCreate),
                Step::Hook(UpdateContent),
                Step::Hook(PostCreate),
                Step::Dotfiles,
                Step::Hook(PostStart),
                Step::Hook(PostAttach)
            ]
        );
        assert!(
            !candidates(WaitFor::UpdateContentCommand, RunOptions::default(), false)
                .contains(&Step::Dotfiles)
        );
    }

    #[test]
    fn flags_cut_the_sequence() {
        let skip_all = RunOptions {
            skip_post_create: true,
            ..Default::default()
        };
        assert!(candidates(WaitFor::UpdateContentCommand, skip_all, true).is_empty());
        let non_blocking = RunOptions {
            skip_non_blocking: true,
            ..Default::default()
        };
        assert_eq!(
            candidates(WaitFor::UpdateContentCommand, non_blocking, false),
            hooks(&[OnCreate, UpdateContent])
        );
        assert_eq!(
            candidates(WaitFor::OnCreateCommand, non_blocking, false),
            hooks(&[OnCreate])
        );
        assert!(candidates(WaitFor::InitializeCommand, non_blocking, false).is_empty());
        let prebuild = RunOptions {
            prebuild: true,
            ..Default::default()
        };
        assert_eq!(
            candidates(WaitFor::PostStartCommand, prebuild, true),
            hooks(&[OnCreate, UpdateContent])
        );
        let no_attach = RunOptions {
            skip_post_attach: true,
            ..Default::default()
        };
        assert!(
            !candidates(WaitFor::UpdateContentCommand, no_attach, false)
                .contains(&Step::Hook(PostAttach))
        );
    }

    #[test]
    fn markers_gate_once_steps() {
        let plain = RunOptions::default();
        assert!(runs(Step::Hook(PostAttach), false, plain));
        assert!(!runs(Step::Hook(PostCreate), false, plain));
        assert!(runs(Step::Hook(PostStart), true, plain));
        let prebuild = RunOptions {
            prebuild: true,
            ..Default::default()
        };
        assert!(runs(Step::Hook(UpdateContent), false, prebuild));
        assert!(!runs(Step::Hook(OnCreate), false, prebuild));
    }
}
