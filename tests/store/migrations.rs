//! The store's file over time: schema migrations from every earlier release, a failed migration
//! that changes nothing, a newer store refused, and the outbox's cursor kept across them.

use super::*;

/// (job id, state, attempt id, payload) of one job.
type JobSnap = (String, String, Option<String>, Vec<u8>);

/// Every job and every event as text, read with plain SQL so the comparison does not depend on
/// the code under test.
fn snapshot(path: &std::path::Path) -> (Vec<JobSnap>, Vec<String>) {
    let conn = rusqlite::Connection::open(path).expect("open for a snapshot");
    let mut jobs = conn
        .prepare("SELECT job_id, state, attempt_id, payload FROM jobs ORDER BY job_id")
        .expect("jobs");
    let jobs = jobs
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    let mut events = conn
        .prepare(
            "SELECT seq || '|' || ifnull(job_id, '') || '|' || at || '|' || actor || '|' || action
             || '|' || ifnull(from_state, '') || '|' || ifnull(to_state, '') || '|'
             || ifnull(reason, '') || '|' || ifnull(attempt_id, '') FROM events ORDER BY seq",
        )
        .expect("events");
    let events = events
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    (jobs, events)
}

#[test]
fn the_webhooks_delivered_status_stays_delivered_when_the_outbox_gets_a_cursor_per_destination() {
    // A schema-5 store whose webhook had confirmed the first 20 status changes.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db");
    std::fs::copy(crate::util::fixture("store/schema-5.db"), &db).expect("copy");
    let total: i64 = {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute(
            "UPDATE outbox SET delivered_at = '2026-11-30T00:00:00Z' WHERE seq <= 20",
            [],
        )
        .expect("mark");
        conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            .expect("count")
    };
    assert!(total > 20, "the fixture has {total} status changes");
    let mut store = Store::open(&db, &key()).expect("open migrates");
    let webhook = store.outbox_pending("webhook", 1000).expect("pending");
    assert_eq!(webhook.first().map(|e| e.event_id), Some(21));
    assert_eq!(
        store.outbox_backlog("webhook").expect("backlog"),
        (total - 20) as u64
    );
    // A destination configured later starts from the first change; each has its own cursor.
    assert_eq!(store.outbox_backlog("nats").expect("backlog"), total as u64);
    store.outbox_delivered("nats", 5).expect("mark");
    store.outbox_delivered("nats", 3).expect("never moves back");
    assert_eq!(
        store.outbox_backlog("nats").expect("backlog"),
        (total - 5) as u64
    );
    assert_eq!(
        store.outbox_backlog("webhook").expect("backlog"),
        (total - 20) as u64
    );
}

#[test]
fn every_earlier_schema_migrates_at_open_keeping_every_job_booklet_and_event() {
    use pstation::store::{SCHEMA_VERSION, Transfer, backup};
    // One frozen store per earlier schema (fixtures/store/schema-N.db, made by the
    // make-store-fixture example with that schema's code).
    for version in 1..SCHEMA_VERSION {
        let fixture = crate::util::fixture(&format!("store/schema-{version}.db"));
        assert!(
            fixture.is_file(),
            "no frozen store for schema {version}: {fixture:?}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("station.db");
        std::fs::copy(&fixture, &db).expect("copy the fixture");
        assert_eq!(Store::schema_of(&db).expect("schema"), version);
        let (raw_before, events_before) = snapshot(&db);
        assert_eq!(raw_before.len(), 13);
        // From schema 7 the payloads were sealed already (with the fixtures' test key): what
        // they hold is compared.
        let jobs_before: Vec<JobSnap> = raw_before
            .iter()
            .map(|(id, state, attempt, payload)| {
                let plain = if pstation::store::crypt::is_sealed(payload) {
                    key()
                        .open(id, payload)
                        .expect("the fixture opens with the test key")
                } else {
                    payload.clone()
                };
                (id.clone(), state.clone(), attempt.clone(), plain)
            })
            .collect();

        let mut store = Store::open(&db, &key()).expect("open migrates");
        assert_eq!(Store::schema_of(&db).expect("schema"), SCHEMA_VERSION);
        // Nothing lost or changed: every job with its state, attempt and bytes (now sealed with
        // the store key, schema 7: they open to exactly what was stored); every event.
        let (jobs_after, events_after) = snapshot(&db);
        let opened: Vec<JobSnap> = jobs_after
            .iter()
            .map(|(id, state, attempt, sealed)| {
                assert!(pstation::store::crypt::is_sealed(sealed), "{id} sealed");
                let plain = store.payload(id).expect("opens");
                (id.clone(), state.clone(), attempt.clone(), plain)
            })
            .collect();
        assert_eq!(opened, jobs_before);
        assert_eq!(store.key_id().expect("key id").as_deref(), Some(key().id()));
        // No plain payload is left anywhere in the store's files (freed pages are overwritten,
        // the write-ahead log emptied).
        for (_, _, _, plain) in &jobs_before {
            let needle = &plain[plain.len() / 2..plain.len() / 2 + 24];
            for f in [db.clone(), db.with_extension("db-wal")] {
                let bytes = std::fs::read(&f).unwrap_or_default();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "plain payload bytes in {f:?}"
                );
            }
        }
        assert_eq!(events_after, events_before);
        // Booklets: 20 received; the two taken by unsettled attempts (the unknown outcome and the
        // job left printing) are listed as differences until a person settles them.
        let r = store.reconcile().expect("reconcile");
        assert_eq!(r.received, 20);
        assert_eq!(r.received, r.issued + r.spoiled + r.in_stock + r.loaded);
        assert_eq!((r.issued, r.spoiled, r.loaded), (2, 2, 2));
        // The store as it was is kept beside it.
        let copies: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("station.db.schema-{version}-")))
            .collect();
        assert_eq!(copies.len(), 1, "{copies:?}");
        let copy = dir.path().join(&copies[0]);
        assert_eq!(Store::schema_of(&copy).expect("schema"), version);
        assert_eq!(snapshot(&copy), (raw_before.clone(), events_before.clone()));

        // Schema 2's attempts, derived from the event log.
        let attempts = store.attempts(None, 100).expect("attempts");
        let outcome = |id: &str| {
            let a = attempts
                .iter()
                .find(|a| a.attempt_id == id)
                .unwrap_or_else(|| panic!("no attempt {id}"));
            (a.outcome.clone(), a.ended_at.is_some())
        };
        assert_eq!(attempts.len(), 7);
        assert_eq!(outcome("MIG-COMPLETED-a1"), (Some("printed".into()), true));
        assert_eq!(outcome("MIG-REQUEUED-a1"), (Some("not-sent".into()), true));
        assert_eq!(outcome("MIG-UNKNOWN-a1"), (Some("unknown".into()), true));
        assert_eq!(outcome("MIG-PRINTING-a1"), (None, false));
        assert!(attempts.iter().all(|a| a.bytes_sent.is_none()));

        // The store works on: recovery, a new attempt with its transfer figures, and the checks.
        assert_eq!(store.recover().expect("recover"), ["MIG-PRINTING"]);
        assert_eq!(
            outcome_of(&store, "MIG-PRINTING-a1"),
            Some("unknown".into())
        );
        let job = store.begin_attempt("MIG-REQUEUED").expect("second attempt");
        let aid = job.attempt_id.expect("attempt id");
        assert_eq!(aid, "MIG-REQUEUED-a2");
        let transfer = Transfer {
            bytes: 123_456,
            duration: Some(std::time::Duration::from_millis(789)),
        };
        store
            .end_attempt_with("MIG-REQUEUED", &aid, &AttemptEnd::Printed, Some(transfer))
            .expect("end");
        // A store from before the outbox (schema 4) starts with an empty one (that history was
        // never promised to anyone); every change after the migration is in it.
        let outbox = store.outbox_pending("webhook", 1000).expect("outbox");
        if version < 4 {
            assert_eq!(outbox.len(), 3);
        }
        let states: Vec<(&str, &str)> = outbox[outbox.len() - 3..]
            .iter()
            .map(|e| (e.job_id.as_str(), e.state.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                ("MIG-PRINTING", "needs-verification"),
                ("MIG-REQUEUED", "printing"),
                ("MIG-REQUEUED", "printed")
            ]
        );
        let a2 = &store.attempts(Some("MIG-REQUEUED"), 1).expect("attempts")[0];
        assert_eq!((a2.bytes_sent, a2.transfer_ms), (Some(123_456), Some(789)));
        assert_eq!(a2.outcome.as_deref(), Some("printed"));
        drop(store);
        let report = backup::check(&db).expect("check");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.schema, SCHEMA_VERSION);
        // The event log's chain starts with schema 5: older events are before it. Then recover,
        // then the second attempt's start and end.
        let chain = pstation::store::audit::verify(&db)
            .expect("read")
            .expect("intact");
        if version < 5 {
            assert_eq!(chain.unchained as usize, events_before.len());
            assert_eq!(chain.chained, 3, "{chain:?}");
        } else {
            assert_eq!(chain.unchained, 0);
            assert_eq!(chain.chained as usize, events_before.len() + 3, "{chain:?}");
        }

        // Opening a current store again migrates nothing and copies nothing.
        drop(Store::open(&db, &key()).expect("reopen"));
        let n = std::fs::read_dir(dir.path())
            .expect("list")
            .filter(|e| {
                e.as_ref()
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .contains(".schema-")
            })
            .count();
        assert_eq!(n, 1);
    }
}

fn outcome_of(store: &Store, attempt_id: &str) -> Option<String> {
    store
        .attempts(None, 100)
        .expect("attempts")
        .into_iter()
        .find(|a| a.attempt_id == attempt_id)
        .and_then(|a| a.outcome)
}

#[test]
fn a_migration_that_fails_leaves_the_store_as_it_was_and_a_newer_store_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db");
    std::fs::copy(crate::util::fixture("store/schema-1.db"), &db).expect("copy");
    // A table in the way of schema 2's: its step fails half-way.
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch("CREATE TABLE attempts (x INTEGER); INSERT INTO attempts VALUES (7);")
            .expect("obstacle");
    }
    let before = snapshot(&db);
    let Err(err) = Store::open(&db, &key()) else {
        panic!("the migration should fail")
    };
    assert_eq!(err.code(), "store-migration");
    assert!(err.to_string().contains("schema 1"), "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert_eq!(Store::schema_of(&db).expect("schema"), 1);
    assert_eq!(snapshot(&db), before);
    let conn = rusqlite::Connection::open(&db).expect("open");
    let x: i64 = conn
        .query_row("SELECT x FROM attempts", [], |r| r.get(0))
        .expect("the obstacle is untouched");
    assert_eq!(x, 7);

    // A store from a newer pstation is refused, untouched.
    conn.pragma_update(None, "user_version", 99).expect("set");
    drop(conn);
    let Err(err) = Store::open(&db, &key()) else {
        panic!("a newer store should be refused")
    };
    assert_eq!(err.code(), "store-too-new");
    assert_eq!(Store::schema_of(&db).expect("schema"), 99);
}
