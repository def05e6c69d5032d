//! `devc volumes`: the dev container's named volumes — list them, back
//! them up to tar files, restore them into a rebuilt or new container. The
//! work is done in [`crate::volume_backup`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Context, WorkspaceArgs};
use crate::engine::{Engine, VolumeMount};
use crate::error::Error;
use crate::volume_backup::{self, BackupOptions, Mounted, RestoreOptions};

#[derive(Debug, Args)]
pub struct VolumesArgs {
    #[command(subcommand)]
    command: VolumesCommand,
}

#[derive(Debug, Subcommand)]
enum VolumesCommand {
    /// List the named volumes mounted in the dev container.
    List {
        #[command(flatten)]
        workspace: WorkspaceArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Copy each named volume into DIR as <volume>.tar, with a manifest.json.
    Backup {
        #[command(flatten)]
        workspace: WorkspaceArgs,
        /// The folder to write (default: devc-volumes-<unix time> here); must not hold a backup yet.
        #[arg(long, short, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Copy volumes even while a container that mounts them runs (its
        /// programs may be writing; a database may not start from such a copy).
        #[arg(long)]
        live: bool,
        /// Replace a backup, or files named like its archives, already in DIR.
        #[arg(long)]
        force: bool,
        /// Only these volumes (by name); default: all.
        #[arg(value_name = "VOLUME")]
        volumes: Vec<String>,
    },
    /// Copy a backup back into the dev container's volumes: each volume is
    /// emptied, then holds exactly the backup's files. The containers that
    /// mount them must be stopped (`devc stop`).
    Restore {
        #[command(flatten)]
        workspace: WorkspaceArgs,
        /// A folder written by `devc volumes backup`.
        #[arg(value_name = "DIR")]
        backup: PathBuf,
        /// Restore even while a container that mounts the volume runs.
        #[arg(long)]
        live: bool,
        /// Keep the volume's files: the backup's files replace those of the
        /// same path, other files stay.
        #[arg(long)]
        merge: bool,
        /// Only these volumes (by name); default: all in the backup.
        #[arg(value_name = "VOLUME")]
        volumes: Vec<String>,
    },
}

pub async fn run(ctx: &Context, args: VolumesArgs) -> Result<u8, Error> {
    match args.command {
        VolumesCommand::List { workspace, json } => {
            let (_, _, mounted) = open_volumes(ctx, &workspace).await?;
            let mounts: Vec<&VolumeMount> = mounted.iter().map(|m| &m.mount).collect();
            if json {
                ctx.printer.result(&mounts);
            } else {
                ctx.printer.stdout_text(&table(&mounts));
            }
        }
        VolumesCommand::Backup {
            workspace,
            output,
            live,
            force,
            volumes,
        } => {
            let (engine, found, mounts) = open_volumes(ctx, &workspace).await?;
            let chosen = volume_backup::choose(&mounts, &volumes)?;
            let dir = output.unwrap_or_else(default_folder);
            let manifest = volume_backup::backup(
                &engine,
                &found,
                &chosen,
                &dir,
                BackupOptions { live, force },
                &ctx.printer,
            )
            .await?;
            ctx.printer.result(&serde_json::json!({
                "outcome": "success",
                "backup": dir.display().to_string(),
                "volumes": manifest.volumes,
            }));
        }
        VolumesCommand::Restore {
            workspace,
            backup,
            live,
            merge,
            volumes,
        } => {
            let (engine, _, mounts) = open_volumes(ctx, &workspace).await?;
            let restored = volume_backup::restore(
                &engine,
                &mounts,
                &backup,
                &volumes,
                RestoreOptions { live, merge },
                &ctx.printer,
            )
            .await?;
            ctx.printer.result(&serde_json::json!({
                "outcome": "success",
                "restored": restored,
            }));
        }
    }
    Ok(0)
}

/// The workspace's engine, and its dev container's volumes.
async fn open_volumes(
    ctx: &Context,
    workspace: &WorkspaceArgs,
) -> Result<(Engine, crate::engine::ContainerInfo, Vec<Mounted>), Error> {
    let config = ctx.resolve(workspace)?;
    let engine = ctx.engine().await?;
    let (found, mounted) = volume_backup::find_volumes(&engine, &config).await?;
    Ok((engine, found, mounted))
}

fn default_folder() -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    PathBuf::from(format!("devc-volumes-{now}"))
}

/// The `volumes list` table.
fn table(mounts: &[&VolumeMount]) -> String {
    let rows: Vec<[&str; 2]> = mounts
        .iter()
        .map(|m| [m.name.as_str(), m.target.as_str()])
        .collect();
    aligned(["VOLUME", "MOUNTED AT"], &rows)
}

/// Rows under a header, each column as wide as its widest cell (counted
/// in characters) plus two spaces; the last column is not padded.
fn aligned<const N: usize>(header: [&str; N], rows: &[[&str; N]]) -> String {
    let mut widths = [0; N];
    for row in std::iter::once(&header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_table_keeps_long_names_apart_from_the_mount_path() {
        let long = VolumeMount {
            name: format!("devc-{}-vscode-server-insiders", "a".repeat(52)),
            target: "/home/dev/.vscode-server-insiders".into(),
        };
        let editors = VolumeMount {
            name: format!("devc-{}-editors", "a".repeat(52)),
            target: "/var/devc/editors".into(),
        };
        let short = VolumeMount {
            name: "data".into(),
            target: "/data".into(),
        };
        let table = table(&[&long, &editors, &short]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[1],
            format!("{}  /home/dev/.vscode-server-insiders", long.name)
        );
        let column = lines[0].find("MOUNTED AT").unwrap();
        assert_eq!(column, long.name.len() + 2);
        for (line, target) in lines[1..].iter().zip(["/home", "/var", "/data"]) {
            assert_eq!(line.find(target), Some(column), "{table}");
        }
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_in_characters() {
        let table = aligned(["A", "BB", "C"], &[["ééé", "x", "1"], ["", "yyyy", "22"]]);
        assert_eq!(table, "A    BB    C\nééé  x     1\n     yyyy  22\n");
        assert_eq!(
            aligned(["VOLUME", "MOUNTED AT"], &[]),
            "VOLUME  MOUNTED AT\n"
        );
    }
}
