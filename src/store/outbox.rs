//! The status outbox: rows pending for a destination, its cursor moved after delivery, the
//! backlog it reports.

use super::*;

impl Store {
    /// The oldest `limit` status changes not yet delivered to the destination `sink`, in order.
    pub fn outbox_pending(&self, sink: &str, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, job_id, state, booklet, at, reason FROM outbox
             WHERE seq > COALESCE((SELECT delivered FROM outbox_sinks WHERE sink = ?1), 0)
             ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![sink, limit], |r| {
                Ok(OutboxEntry {
                    event_id: r.get(0)?,
                    job_id: r.get(1)?,
                    state: r.get(2)?,
                    booklet: r.get(3)?,
                    at: r.get(4)?,
                    reason: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Marks every status change up to `up_to` (an `event_id`, inclusive) as delivered to
    /// `sink`. The cursor never moves back.
    pub fn outbox_delivered(&mut self, sink: &str, up_to: i64) -> Result<(), StoreError> {
        self.conn.exec(
            "INSERT INTO outbox_sinks (sink, delivered) VALUES (?1, ?2)
             ON CONFLICT (sink) DO UPDATE SET delivered = MAX(delivered, excluded.delivered)",
            params![sink, up_to],
        )?;
        Ok(())
    }

    /// How many status changes wait for delivery to `sink`.
    pub fn outbox_backlog(&self, sink: &str) -> Result<u64, StoreError> {
        let n: i64 = self.conn.row(
            "SELECT COUNT(*) FROM outbox
             WHERE seq > COALESCE((SELECT delivered FROM outbox_sinks WHERE sink = ?1), 0)",
            [sink],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }
}
