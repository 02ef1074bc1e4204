//! The printer's status history (state, reasons, link) as the technician and the bundle read it.

use super::*;

impl Store {
    /// Appends the printer's status to its history.
    pub fn record_printer_status<S: AsRef<str>>(
        &mut self,
        state: &str,
        reasons: &[S],
        link: &str,
    ) -> Result<(), StoreError> {
        let reasons: Vec<&str> = reasons.iter().map(AsRef::as_ref).collect();
        self.conn.exec(
            "INSERT INTO printer_status (at, state, reasons, link) VALUES (?1, ?2, ?3, ?4)",
            params![now(), state, reasons.join(","), link],
        )?;
        Ok(())
    }

    /// The last `limit` printer statuses, newest first: (at, state, reasons, link).
    pub fn printer_history(
        &self,
        limit: u32,
    ) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, state, reasons, link FROM printer_status ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
