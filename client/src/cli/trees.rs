//! `renkei tree …`: attack trees of business damages (handbook 5.2).

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use renkei_client::{flags, trees};
use serde::Serialize;

use super::print_json;

#[derive(Subcommand)]
pub enum TreeCommand {
    /// Import attack trees from a JSON file (one tree, or an array): all or none, every
    /// problem named. A tree with the id of one held replaces it.
    #[command(after_help = "Example / 例:\n  renkei tree import damage-tree.json")]
    Import { file: PathBuf },
    /// Write a tree as JSON (it imports back as the same tree).
    #[command(after_help = "Example / 例:\n  renkei tree export AT-0001 --out damage-tree.json")]
    Export {
        id: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The trees, with the value and level worked out along each.
    #[command(after_help = "Example / 例:\n  renkei tree list\n  renkei --json tree list")]
    List,
    /// A tree with the values worked out at every node.
    #[command(after_help = "Example / 例:\n  renkei tree show AT-0001\n  renkei --json tree show AT-0001")]
    Show { id: String },
    /// Draw a tree as SVG: the damage at the top, the paths of open flags in red.
    #[command(after_help = "Example / 例:\n  renkei tree svg AT-0001 --out AT-0001.svg")]
    Svg {
        id: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// A tree in `tree list`.
#[derive(Serialize)]
struct Summary {
    id: String,
    risk: String,
    damage: String,
    services: Vec<String>,
    damage_size: usize,
    nodes: usize,
    threat: usize,
    vulnerability: usize,
    value: usize,
    level: usize,
    level_name: String,
}

fn write_out(out: Option<PathBuf>, text: &str) -> Result<()> {
    match out {
        Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub(super) fn run_tree(mut conn: diesel::SqliteConnection, command: TreeCommand, json: bool) -> Result<i32> {
    match command {
        TreeCommand::Import { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .context("the attack tree file is not JSON / 攻撃ツリーのファイルがJSONではありません")?;
            let inputs: Vec<trees::TreeInput> = match value {
                serde_json::Value::Array(_) => serde_json::from_value(value),
                one => serde_json::from_value(one).map(|t| vec![t]),
            }
            .context("the attack tree file / 攻撃ツリーのファイル")?;
            let (ids, flagged) = renkei_client::flags::import_trees(&mut conn, inputs)?;
            println!("{} attack trees stored: {}", ids.len(), ids.join(" "));
            if flagged.raised + flagged.updated > 0 {
                println!(
                    "{} flags raised, {} updated by techniques already held / 保持済みのテクニックによるフラグ: {} 件発行、{} 件更新",
                    flagged.raised, flagged.updated, flagged.raised, flagged.updated
                );
            }
            Ok(0)
        }
        TreeCommand::Export { id, out } => {
            let mut text = trees::export(&mut conn, &id)?;
            text.push('\n');
            write_out(out, &text)?;
            Ok(0)
        }
        TreeCommand::List => {
            let mut summaries = Vec::new();
            for tree in trees::list(&mut conn)? {
                let c = trees::compute_stored(&mut conn, &tree)?;
                summaries.push(Summary {
                    id: c.id,
                    risk: c.risk,
                    damage: tree.damage_text(),
                    services: c.services,
                    damage_size: c.damage_size,
                    nodes: c.nodes.len(),
                    threat: c.threat,
                    vulnerability: c.vulnerability,
                    value: c.value,
                    level: c.level,
                    level_name: c.level_name,
                });
            }
            if json {
                return print_json(&summaries).map(|()| 0);
            }
            for s in summaries {
                println!(
                    "{}\t{}\t{}\tvalue {} (size {} × T{} × V{})\t{} nodes\t{}",
                    s.id, s.risk, s.level_name, s.value, s.damage_size, s.threat, s.vulnerability, s.nodes, s.damage
                );
            }
            Ok(0)
        }
        TreeCommand::Show { id } => {
            let tree = trees::get(&mut conn, &id)?;
            let c = trees::compute_stored(&mut conn, &tree)?;
            if json {
                return print_json(&c).map(|()| 0);
            }
            println!("{} ({}): {}", c.id, c.risk, tree.damage_text());
            println!("services / 事業サービス: {}", c.services.join(", "));
            println!(
                "value / 値: {} = size {} × threat {} × vulnerability {}; likelihood {}; {}",
                c.value, c.damage_size, c.threat, c.vulnerability, c.likelihood, c.level_name
            );
            for n in &c.nodes {
                let what = match (&n.technique, &n.asset) {
                    (Some(t), Some(a)) => format!(" [{t} @ {a}]"),
                    _ => String::new(),
                };
                let from_risk = if n.from_risk { " (the risk's / リスクの値)" } else { "" };
                println!(
                    "{}{} {} {}{what}: T{} V{} L{} value {} {}{from_risk}",
                    "  ".repeat(n.depth),
                    n.kind.as_str().to_uppercase(),
                    n.id,
                    n.title,
                    n.threat,
                    n.vulnerability,
                    n.likelihood,
                    n.value,
                    n.level_name
                );
            }
            Ok(0)
        }
        TreeCommand::Svg { id, out } => {
            let tree = trees::get(&mut conn, &id)?;
            let c = trees::compute_stored(&mut conn, &tree)?;
            let flagged: HashSet<String> = flags::list(&mut conn, "open")?
                .into_iter()
                .filter(|f| f.trigger == flags::Trigger::AttackTree && f.risk_id == tree.risk)
                .flat_map(|f| f.detail.paths)
                .filter(|p| p.tree == id)
                .map(|p| p.leaf)
                .collect();
            write_out(out, &trees::svg(&c, &flagged))?;
            Ok(0)
        }
    }
}
