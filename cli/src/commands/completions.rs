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
    #[arg(long, value_name = "DIR")]
    out_dir: Option<std::path::PathBuf>,
}

pub async fn run_man(ctx: &Context, args: ManArgs) -> Result<u8, Error> {
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
