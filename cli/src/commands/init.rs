//! `devc init`: start a project from a template. On a terminal it asks for
//! the template and each option (Enter keeps the default); `--template` and
//! `--option NAME=VALUE` make it non-interactive for scripts.
//!
//! Prompts go to stderr and answers come from stdin, line by line, so
//! stdout keeps only the JSON result.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use serde_json::{Map, Value, json};

use super::{ApplyTarget, Context};
use crate::error::Error;
use crate::features::metadata::OptionType;
use crate::templates::{self, Source, Template, apply::default_text};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The template (shipped id, folder or registry reference); asked for on a terminal when absent.
    #[arg(long, short = 't', value_name = "ID|PATH|REF")]
    template: Option<String>,
    /// An option value as NAME=VALUE (repeatable); the others keep their defaults without asking.
    #[arg(long = "option", short = 'o', value_name = "NAME=VALUE")]
    options: Vec<String>,
    /// Ask for nothing: options not given keep their defaults.
    #[arg(long)]
    defaults: bool,
    #[command(flatten)]
    target: ApplyTarget,
}

pub async fn run(ctx: &Context, args: InitArgs) -> Result<u8, Error> {
    let interactive = std::io::stdin().is_terminal() && !args.defaults;
    let mut prompt = Prompt::stdio();
    let name = match &args.template {
        Some(name) => name.clone(),
        None if interactive => choose_template(&mut prompt)?,
        None => {
            return Err(Error::usage(
                "devc init needs --template when stdin is not a terminal",
                Some(
                    "`devc templates list` shows the shipped templates; e.g. `devc init --template cpp-cmake --option baseImage=debian:bookworm`",
                ),
            ));
        }
    };
    let template = templates::load(&Source::parse(&name)?, &ctx.printer).await?;
    let mut user = templates::apply::parse_args(None, &args.options)?;
    if interactive && args.options.is_empty() {
        ask_options(&mut prompt, &template, &mut user)?;
    }
    let target = &args.target;
    let files = templates::apply::apply(
        &template,
        &user,
        "[]",
        &target.workspace_folder,
        target.force,
        &ctx.printer,
    )?;
    ctx.printer
        .result(&json!({"outcome": "success", "template": template.metadata.id, "files": files}));
    Ok(0)
}

/// Questions on stderr, answers from stdin.
struct Prompt<R, W> {
    input: R,
    output: W,
}

impl Prompt<std::io::StdinLock<'static>, std::io::Stderr> {
    fn stdio() -> Self {
        Self {
            input: std::io::stdin().lock(),
            output: std::io::stderr(),
        }
    }
}

impl<R: BufRead, W: Write> Prompt<R, W> {
    fn say(&mut self, text: &str) -> Result<(), Error> {
        self.output
            .write_all(text.as_bytes())
            .and_then(|_| self.output.flush())
            .map_err(|e| Error::failed(format!("cannot write the prompt: {e}"), None))
    }

    /// One line of input, trimmed; `Interrupted` at end of input.
    fn line(&mut self) -> Result<String, Error> {
        let mut line = String::new();
        let read = self
            .input
            .read_line(&mut line)
            .map_err(|e| Error::failed(format!("cannot read the answer: {e}"), None))?;
        if read == 0 {
            return Err(Error::Interrupted(crate::interrupt::Signal::Interrupt));
        }
        Ok(line.trim().to_string())
    }
}

fn choose_template<R: BufRead, W: Write>(prompt: &mut Prompt<R, W>) -> Result<String, Error> {
    let rows = templates::shipped::summaries()?;
    let mut text = String::from("Templates:\n");
    for (i, row) in rows.iter().enumerate() {
        text.push_str(&format!("  {}) {:14} {}\n", i + 1, row.id, row.description));
    }
    prompt.say(&text)?;
    loop {
        prompt.say(&format!(
            "Template [1-{}, an id, a folder or a registry reference]: ",
            rows.len()
        ))?;
        let answer = prompt.line()?;
        if let Ok(n) = answer.parse::<usize>()
            && (1..=rows.len()).contains(&n)
        {
            return Ok(rows[n - 1].id.clone());
        }
        if !answer.is_empty() && Source::parse(&answer).is_ok() {
            return Ok(answer);
        }
        prompt.say("  not a template; try again\n")?;
    }
}

fn ask_options<R: BufRead, W: Write>(
    prompt: &mut Prompt<R, W>,
    template: &Template,
    user: &mut Map<String, Value>,
) -> Result<(), Error> {
    for (name, option) in template.metadata.options.iter() {
        let default = default_text(option);
        let mut question = name.to_string();
        if let Some(description) = &option.description {
            question.push_str(&format!(" — {description}"));
        }
        let choices = option.allowed.as_ref().or(option.proposals.as_ref());
        if option.kind == Some(OptionType::Boolean) {
            question.push_str(" (true/false)");
        } else if let Some(choices) = choices {
            question.push_str(&format!(" ({})", choices.join(", ")));
        }
        loop {
            prompt.say(&format!("{question}\n  [{default}]: "))?;
            let answer = prompt.line()?;
            if answer.is_empty() {
                break;
            }
            let mut single = Map::new();
            single.insert(name.to_string(), Value::String(answer.clone()));
            match templates::apply::resolve_options(template, &single) {
                Ok(_) => {
                    user.insert(name.to_string(), Value::String(answer));
                    break;
                }
                Err(err) => prompt.say(&format!("  {err}\n"))?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_each_option_and_retries_invalid_answers() {
        let files = vec![templates::File {
            path: "devcontainer-template.json".into(),
            contents: br#"{"id": "t", "options": {
                "target": {"type": "string", "enum": ["aarch64", "armhf"], "default": "aarch64", "description": "CPU"},
                "image": {"type": "string", "default": "debian:bookworm"}
            }}"#
            .to_vec(),
            executable: false,
        }];
        let template = templates::from_files("t".into(), files).unwrap();
        let mut output = Vec::new();
        let mut prompt = Prompt {
            input: "mips\narmhf\n\n".as_bytes(),
            output: &mut output,
        };
        let mut user = Map::new();
        ask_options(&mut prompt, &template, &mut user).unwrap();
        assert_eq!(user.get("target"), Some(&Value::String("armhf".into())));
        assert!(!user.contains_key("image"));
        let shown = String::from_utf8(output).unwrap();
        assert!(
            shown.contains("target — CPU (aarch64, armhf)\n  [aarch64]: "),
            "{shown}"
        );
        assert!(
            shown.contains("must be one of aarch64, armhf, not `mips`"),
            "{shown}"
        );

        let mut prompt = Prompt {
            input: "9\ncpp-cmake\n".as_bytes(),
            output: Vec::new(),
        };
        if shipped::template_ids().contains(&"cpp-cmake") {
            assert_eq!(choose_template(&mut prompt).unwrap(), "cpp-cmake");
        }
    }

    use crate::templates::shipped;
}
