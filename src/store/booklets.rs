//! Booklet stock: batches received, each booklet's state, and the reconciliation
//! (received = issued + spoiled + in stock).

use super::*;

/// Splits a booklet number into its letter prefix and its digits (`X1234567` → `X`, 1234567,
/// 7 digits).
pub(super) fn split_number(n: &str) -> Option<(&str, u64, usize)> {
    let digits_at = n.find(|c: char| c.is_ascii_digit())?;
    let (prefix, digits) = n.split_at(digits_at);
    if prefix.is_empty()
        || !prefix.chars().all(|c| c.is_ascii_uppercase())
        || digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || n.len() > 9
    {
        return None;
    }
    Some((prefix, digits.parse().ok()?, digits.len()))
}

impl Store {
    pub(super) fn booklet_state(
        tx: &Connection,
        number: &str,
    ) -> Result<Option<BookletState>, StoreError> {
        let s: Option<String> = tx
            .row(
                "SELECT state FROM booklets WHERE number = ?1",
                [number],
                |r| r.get(0),
            )
            .optional()?;
        Ok(s.as_deref().and_then(BookletState::parse))
    }

    pub(super) fn set_booklet(
        tx: &Connection,
        number: &str,
        state: BookletState,
        job_id: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        tx.exec(
            "UPDATE booklets SET state = ?2, job_id = CASE WHEN ?2 = 'in-stock' THEN NULL ELSE COALESCE(?3, job_id) END, reason = ?4, updated_at = ?5 WHERE number = ?1",
            params![number, state.as_str(), job_id, reason, now()],
        )?;
        Ok(())
    }

    /// Receives booklets `first..=last` (same letter prefix, same digit count) as one batch.
    /// Jobs held only because their booklet was missing are queued again.
    pub fn receive_batch(
        &mut self,
        first: &str,
        last: &str,
        actor: &str,
    ) -> Result<Batch, StoreError> {
        let bad = |what: &'static str| StoreError::from(BookletError::InvalidRange(what));
        let (p1, a, w1) =
            split_number(first).ok_or_else(|| bad("the first number is not a booklet number"))?;
        let (p2, b, w2) =
            split_number(last).ok_or_else(|| bad("the last number is not a booklet number"))?;
        if p1 != p2 || w1 != w2 {
            return Err(bad("the first and last numbers differ in prefix or length"));
        }
        if b < a {
            return Err(bad("the last number is below the first"));
        }
        let count = b - a + 1;
        if count > MAX_BATCH {
            return Err(BookletError::BatchTooLarge(count).into());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let at = now();
        tx.exec(
            "INSERT INTO booklet_batches (first, last, count, received_at, actor) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![first, last, count as i64, at, actor],
        )?;
        let batch_id = tx.last_insert_rowid();
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO booklets (number, batch_id, state, updated_at) VALUES (?1, ?2, 'in-stock', ?3)
                 ON CONFLICT(number) DO NOTHING",
            )?;
            for n in a..=b {
                let number = format!("{p1}{n:0w1$}");
                if ins.execute(params![number, batch_id, at])? == 0 {
                    return Err(BookletError::AlreadyReceived(number).into());
                }
            }
        }
        Self::append_event(
            &tx,
            NewEvent {
                job_id: None,
                actor,
                action: "booklets-received",
                from: None,
                to: None,
                reason: Some(&format!("batch {batch_id}: {first}..{last} ({count})")),
                attempt_id: None,
                signature: None,
            },
        )?;
        // Jobs waiting for these booklets go back to the queue.
        let waiting: Vec<JobRow> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {} FROM jobs j WHERE state = 'held' AND reason = ?1
                 AND EXISTS (SELECT 1 FROM booklets b WHERE b.number = j.booklet AND b.state = 'in-stock')
                 ORDER BY rowid",
                Self::JOB_COLUMNS
            ))?;
            stmt.query_map([BOOKLET_NOT_IN_STOCK], Self::row)?
                .collect::<Result<Vec<_>, _>>()?
        };
        for job in &waiting {
            Self::step(
                &tx,
                job,
                Action::Release,
                "station",
                Some("its booklet arrived"),
            )?;
        }
        tx.commit()?;
        Ok(Batch {
            batch_id,
            first: first.to_owned(),
            last: last.to_owned(),
            count,
            received_at: at,
            actor: actor.to_owned(),
        })
    }

    /// Every batch received.
    pub fn batches(&self) -> Result<Vec<Batch>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT batch_id, first, last, count, received_at, actor FROM booklet_batches ORDER BY batch_id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Batch {
                    batch_id: r.get(0)?,
                    first: r.get(1)?,
                    last: r.get(2)?,
                    count: r.get::<_, i64>(3)? as u64,
                    received_at: r.get(4)?,
                    actor: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Booklets, optionally in one state.
    pub fn booklets(&self, state: Option<BookletState>) -> Result<Vec<Booklet>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT number, batch_id, state, job_id, reason, chip_state FROM booklets
             WHERE ?1 IS NULL OR state = ?1 ORDER BY number",
        )?;
        let rows = stmt
            .query_map([state.map(BookletState::as_str)], |r| {
                let s: String = r.get(2)?;
                Ok(Booklet {
                    number: r.get(0)?,
                    batch_id: r.get(1)?,
                    // The CHECK constraint keeps the column to these four words.
                    state: BookletState::parse(&s).unwrap_or(BookletState::Loaded),
                    job_id: r.get(3)?,
                    reason: r.get(4)?,
                    // The CHECK constraint keeps the column to the four words.
                    chip_state: ChipState::parse(&r.get::<_, String>(5)?).unwrap_or_default(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Proves received = issued + spoiled + in stock and lists every difference: booklets
    /// taken by an unsettled attempt, issued booklets without a printed job, printed jobs
    /// without an issued booklet.
    pub fn reconcile(&self) -> Result<Reconciliation, StoreError> {
        let received: i64 = self.conn.row(
            "SELECT COALESCE(SUM(count), 0) FROM booklet_batches",
            [],
            |r| r.get(0),
        )?;
        let count = |state: &str| -> Result<u64, StoreError> {
            let n: i64 = self.conn.row(
                "SELECT COUNT(*) FROM booklets WHERE state = ?1",
                [state],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        };
        let mut rec = Reconciliation {
            received: received as u64,
            issued: count("issued")?,
            spoiled: count("spoiled")?,
            in_stock: count("in-stock")?,
            loaded: count("loaded")?,
            chips: self.chip_counts()?,
            differences: Vec::new(),
        };
        let stored: i64 = self
            .conn
            .row("SELECT COUNT(*) FROM booklets", [], |r| r.get(0))?;
        if stored != received {
            rec.differences.push(format!(
                "{received} booklets received in batches but {stored} on record"
            ));
        }
        let mut q =
            |sql: &str, what: &dyn Fn(String, String) -> String| -> Result<(), StoreError> {
                let mut stmt = self.conn.prepare_cached(sql)?;
                let found = stmt
                    .query_map([], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                for (a, b) in found {
                    rec.differences.push(what(a, b.unwrap_or_default()));
                }
                Ok(())
            };
        q(
            "SELECT number, job_id FROM booklets WHERE state = 'loaded' ORDER BY number",
            &|n, j| {
                format!(
                    "booklet {n} is in the printer or in doubt (job {j}): finish printing or verify/spoil the job"
                )
            },
        )?;
        q(
            "SELECT b.number, b.job_id FROM booklets b WHERE b.state = 'issued' AND NOT EXISTS
               (SELECT 1 FROM jobs j WHERE j.job_id = b.job_id AND j.booklet = b.number AND j.state IN ('printed', 'completed'))
             ORDER BY b.number",
            &|n, j| format!("booklet {n} is issued but job {j} is not printed or completed on it"),
        )?;
        q(
            "SELECT j.job_id, j.booklet FROM jobs j WHERE j.state IN ('printed', 'completed') AND NOT EXISTS
               (SELECT 1 FROM booklets b WHERE b.number = j.booklet AND b.state = 'issued')
             ORDER BY j.job_id",
            &|j, n| format!("job {j} is printed but its booklet {n} is not recorded as issued"),
        )?;
        Ok(rec)
    }

    /// How many booklets are in each state (states with none are left out).
    pub fn booklet_counts(&self) -> Result<Vec<(BookletState, u64)>, StoreError> {
        self.counts_by_state(
            "SELECT state, COUNT(*) FROM booklets GROUP BY state",
            BookletState::parse,
        )
    }
}
