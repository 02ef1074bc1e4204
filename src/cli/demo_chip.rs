//! The demo's e-passports: the test central office that personalised each booklet's chip (a
//! virtual card laid on the station's chip reader, the vpcd port, while its job is at the
//! counter), and the central office's answer to a reprint request — a new signed job for the
//! same person on a fresh booklet, whose chip it personalised too; and what the operator is
//! shown of a chip check or a read that failed.

use std::io::Write;
use std::net::SocketAddr;

use super::sim_chip::ServedCard;
use crate::api::wire;
use crate::chip::issuer::{ChipFault, TestOffice, os_rng};
use crate::client::{Client, ClientError};
use crate::mrz::MrzOptions;

/// The booklets' chips, and the reader they are laid on.
pub(super) struct Chips {
    pub(super) office: TestOffice,
    pub(super) reader: SocketAddr,
    on_reader: Option<ServedCard>,
}

impl Chips {
    /// The chips of the test office, laid on the vpcd port at `reader`.
    pub(super) fn new(office: TestOffice, reader: SocketAddr) -> Self {
        Self {
            office,
            reader,
            on_reader: None,
        }
    }

    /// Lays the booklet `number` (its chip personalised for the job `text`, with `fault`) on
    /// the chip reader, taking off the one there.
    pub(super) fn lay(
        &mut self,
        text: &[u8],
        number: &str,
        mrz: &MrzOptions,
        fault: Option<ChipFault>,
    ) -> Result<(), String> {
        self.on_reader = None;
        let card = self
            .office
            .card(text, number, mrz, fault, os_rng())
            .map_err(|e| e.to_string())?;
        self.on_reader = Some(ServedCard::start(card, self.reader).map_err(|e| e.to_string())?);
        Ok(())
    }

    /// Takes the booklet off the reader.
    pub(super) fn take_off(&mut self) {
        self.on_reader = None;
    }
}

/// Prints a job's last chip check, step by step.
pub(super) fn show_check(api: &Client, id: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let Ok(list) = api.chip_checks(id) else {
        return Ok(());
    };
    let Some(check) = list.checks.first() else {
        return Ok(());
    };
    for step in &check.steps {
        writeln!(
            out,
            "      chip {}",
            super::diag_chip::step_line(&step.step, step.ok, step.detail.as_deref())
        )?;
    }
    Ok(())
}

/// Prints the document reader's last read of a job beside what was printed, each differing
/// position marked.
pub(super) fn show_read(api: &Client, id: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let Ok(list) = api.reads(id) else {
        return Ok(());
    };
    let Some(read) = list.reads.first() else {
        return Ok(());
    };
    writeln!(
        out,
        "   {id}: the document reader's read differs ({}): NOT handed over",
        read.result
    )?;
    for (i, expected) in list.expected.iter().enumerate() {
        let line = i as u8 + 1;
        let got = read.lines.get(i).map_or("(missing)", String::as_str);
        let marks: String = (1..=expected.len())
            .map(|p| {
                if read
                    .differences
                    .iter()
                    .any(|d| d.line == line && d.position == p)
                {
                    '^'
                } else {
                    ' '
                }
            })
            .collect();
        writeln!(out, "      printed {expected}")?;
        writeln!(out, "      read    {got}")?;
        if marks.contains('^') {
            writeln!(out, "              {}", marks.trim_end())?;
        }
    }
    Ok(())
}

/// The central office's answer to a reprint request: the job `text` again, with the id
/// `new_id` and the booklet `fresh`, signed.
pub(super) fn reissue(
    central: &Client,
    key: &ed25519_dalek::SigningKey,
    kid: &str,
    text: &str,
    new_id: &str,
    fresh: &str,
) -> Result<(String, Vec<u8>), ClientError> {
    let mut job: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    job["job_id"] = new_id.into();
    job["document"]["number"] = fresh.into();
    // Serialising a JSON value cannot fail.
    let bytes = serde_json::to_vec_pretty(&job).unwrap_or_default();
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 86_400;
    let signed = crate::central::jws::sign(&bytes, key, kid, exp);
    let answer: wire::JobAnswer = central.submit(signed.as_bytes())?;
    Ok((answer.job.job_id, bytes))
}
