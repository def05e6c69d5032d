//! `devc completions <shell>` and `devc man`: generated from the same clap
//! definition that parses the command line, so they cannot drift from it.

use clap::{Args, CommandFactory};

use super::{Cli, Context};
use crate::error::Error;
use crate::printer::Reporter;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for; load with e.g. `source <(devc completions bash)`.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub async fn run(ctx: &Context, args: CompletionsArgs) -> Result<u8, Error> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    ctx.printer.stdout_text(&String::from_utf8_lossy(&script));
    Ok(0)
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write a page per command (devc.1, devc-up.1, …) into DIR instead of
    /// printing devc.1.
    #[arg(long, value_name = "DIR", conflicts_with = "markdown")]
    out_dir: Option<std::path::PathBuf>,
    /// Print the command reference as Markdown (the README's) instead.
    #[arg(long)]
    markdown: bool,
}

pub async fn run_man(ctx: &Context, args: ManArgs) -> Result<u8, Error> {
    if args.markdown {
        ctx.printer.stdout_text(&reference_markdown());
        return Ok(0);
    }
    let Some(dir) = args.out_dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut page)
            .expect("rendering into memory cannot fail");
        ctx.printer.stdout_text(&String::from_utf8_lossy(&page));
        return Ok(0);
    };
    clap_mangen::generate_to(Cli::command(), &dir).map_err(|e| {
        Error::failed(
            format!("cannot write the man pages into {}: {e}", dir.display()),
            Some("pass an existing folder you can write to"),
        )
    })?;
    ctx.printer
        .step(&format!("Wrote the man pages into {}", dir.display()));
    Ok(0)
}

/// The README's command reference: every visible command and flag, in
/// Markdown, from the clap definition (a unit test keeps the README equal
/// to it).
pub fn reference_markdown() -> String {
    let root = Cli::command();
    let mut out = String::new();
    out.push_str("#### Flags every command takes\n\n");
    flag_table(&mut out, root.get_arguments());
    for sub in root.get_subcommands() {
        command_section(&mut out, sub, "devc");
    }
    out
}

fn command_section(out: &mut String, command: &clap::Command, parent: &str) {
    if command.is_hide_set() || command.get_name() == "help" {
        return;
    }
    let path = format!("{parent} {}", command.get_name());
    out.push_str(&format!("\n#### `{path}`\n\n"));
    if let Some(about) = command.get_about() {
        out.push_str(&format!("{}\n\n", one_line(&about.to_string())));
    }
    let own: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| !a.is_global_set())
        .collect();
    if own.iter().any(|a| !a.is_hide_set()) {
        flag_table(out, own.into_iter());
    }
    for sub in command.get_subcommands() {
        command_section(out, sub, &path);
    }
}

fn flag_table<'a>(out: &mut String, args: impl Iterator<Item = &'a clap::Arg>) {
    out.push_str("| flag | meaning |\n|---|---|\n");
    for arg in args {
        if arg.is_hide_set() {
            continue;
        }
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        let choices = !possible.is_empty() && possible != ["true", "false"];
        // clap names a value after its field unless told otherwise; a
        // choice reads better as its choices.
        let derived = arg
            .get_value_names()
            .is_some_and(|names| names.len() == 1 && names[0] == id.to_uppercase());
        let value = match arg.get_value_names() {
            _ if choices && derived => possible.join("|"),
            Some(names) => names
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            None if choices => possible.join("|"),
            None => id.to_uppercase(),
        };
        let takes_value = arg.get_action().takes_values();
        let mut name = match (arg.get_long(), arg.get_short()) {
            (Some(long), Some(short)) => format!("-{short}, --{long}"),
            (Some(long), None) => format!("--{long}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => value.clone(),
        };
        if takes_value && (arg.get_long().is_some() || arg.get_short().is_some()) {
            name.push(' ');
            name.push_str(&value);
        }
        let mut meaning = arg
            .get_help()
            .map(|h| one_line(&h.to_string()))
            .unwrap_or_default();
        if !meaning.is_empty() && !meaning.ends_with('.') {
            meaning.push('.');
        }
        if takes_value && choices && !derived {
            meaning.push_str(&format!(" One of: {}.", possible.join(", ")));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .filter(|v| !v.is_empty())
            .collect();
        if takes_value && !defaults.is_empty() {
            meaning.push_str(&format!(" Default: `{}`.", defaults.join(",")));
        }
        if matches!(arg.get_action(), clap::ArgAction::Append)
            && !meaning.to_lowercase().contains("repeatable")
        {
            meaning.push_str(" Repeatable.");
        }
        out.push_str(&format!(
            "| `{}` | {} |\n",
            name.replace('|', "\\|"),
            meaning.trim().replace('|', "\\|")
        ));
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    /// The README's reference block is what [`super::reference_markdown`]
    /// makes; `DEVC_UPDATE_REFERENCE=1 cargo test --lib readme_reference`
    /// rewrites it.
    #[test]
    fn readme_reference_is_current() {
        const BEGIN: &str = "<!-- reference:begin -->\n";
        const END: &str = "<!-- reference:end -->";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = readme
            .find(BEGIN)
            .expect("the README has a reference block")
            + BEGIN.len();
        let end = readme.find(END).expect("the reference block ends");
        let generated = super::reference_markdown();
        if readme[start..end] != generated {
            if std::env::var_os("DEVC_UPDATE_REFERENCE").is_some() {
                let updated = format!("{}{generated}{}", &readme[..start], &readme[end..]);
                std::fs::write(&path, updated).unwrap();
            } else {
                panic!(
                    "README.md's command reference is out of date: run `DEVC_UPDATE_REFERENCE=1 cargo test --lib readme_reference` and commit the result"
                );
            }
        }
    }
}
