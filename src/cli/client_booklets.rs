//! The operator's booklet commands over the daemon's HTTP API: `booklets receive`, `list`,
//! `reconcile` (exit 1 when the stock does not balance).

use std::io::Write;

use clap::Subcommand;

use super::client::{ClientArgs, finish, station_offset};
use super::{CmdResult, Exit};
use crate::api::wire;

/// `pstation booklets …`.
#[derive(Debug, Subcommand)]
pub enum BookletsCommand {
    /// Receive a batch of blank booklets (FIRST..=LAST).
    Receive {
        /// First number of the batch.
        first: String,
        /// Last number of the batch.
        last: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Batches and booklets (only those not in stock, unless --state).
    List {
        /// Only booklets in this state (in-stock, loaded, issued, spoiled).
        #[arg(long)]
        state: Option<String>,
        /// Daemon address and user.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Prove received = issued + spoiled + in stock; exit 1 and list differences otherwise.
    Reconcile {
        /// Daemon address and user.
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `pstation booklets …`.
pub(super) fn booklets(
    command: BookletsCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    match command {
        BookletsCommand::Receive {
            first,
            last,
            client,
        } => receive(&client, &first, &last, out, err),
        BookletsCommand::List { state, client } => {
            list_booklets(&client, state.as_deref(), out, err)
        }
        BookletsCommand::Reconcile { client } => reconcile(&client, out, err),
    }
}

/// `pstation booklets receive FIRST LAST`.
pub(super) fn receive(
    c: &ClientArgs,
    first: &str,
    last: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    finish(
        c.client().receive_batch(first, last),
        c,
        out,
        err,
        |v, out| {
            let b = &v.batch;
            writeln!(
                out,
                "batch {}: {}..{} ({} booklets) received",
                b.batch_id, b.first, b.last, b.count
            )
        },
    )
}

/// `pstation booklets list [--state S]`.
pub(super) fn list_booklets(
    c: &ClientArgs,
    state: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let answer = c.client().booklets(state);
    let offset = station_offset(c);
    finish(answer, c, out, err, |v, out| {
        for b in &v.batches {
            writeln!(
                out,
                "batch {}: {}..{} ({}) received {} by {}",
                b.batch_id,
                b.first,
                b.last,
                b.count,
                crate::clock::local(&b.received_at, offset),
                b.actor
            )?;
        }
        let in_stock = |b: &&wire::Booklet| b.state == crate::store::BookletState::InStock;
        for b in v.booklets.iter().filter(|b| !in_stock(b)) {
            writeln!(
                out,
                "  {} {:<8} {}{}",
                b.number,
                b.state.as_str(),
                b.job_id.as_deref().unwrap_or(""),
                b.reason
                    .as_deref()
                    .map(|r| format!("  ({r})"))
                    .unwrap_or_default()
            )?;
        }
        writeln!(
            out,
            "{} booklet(s) listed, {} in stock",
            v.booklets.len(),
            v.booklets.iter().filter(in_stock).count()
        )
    })
}

/// `pstation booklets reconcile`: exit 1 when the stock does not balance.
pub(super) fn reconcile(c: &ClientArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let answer = c.client().reconcile();
    let balanced = answer.as_ref().is_ok_and(|v| v.balanced);
    let exit = finish(answer, c, out, err, |v, out| {
        let r = &v.reconciliation;
        writeln!(
            out,
            "received {} = issued {} + spoiled {} + in stock {}{}",
            r.received,
            r.issued,
            r.spoiled,
            r.in_stock,
            if r.loaded > 0 {
                format!(" + in the printer or in doubt {}", r.loaded)
            } else {
                String::new()
            }
        )?;
        for d in &r.differences {
            writeln!(out, "  difference: {d}")?;
        }
        writeln!(
            out,
            "{}",
            if v.balanced {
                "balanced"
            } else {
                "NOT balanced"
            }
        )
    })?;
    Ok(if exit == Exit::Ok && !balanced {
        Exit::CheckFailed
    } else {
        exit
    })
}
