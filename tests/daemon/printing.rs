//! The print engine against the simulated printer: it waits for a warming printer, prints only a
//! confirmed booklet, and recovers from a jam, an open cover, an empty hopper and an unplugged cable.

use super::*;
use pstation::api::wire::ActionBody;
use pstation::client::ClientError;
use pstation::store::JobState;

#[test]
fn the_engine_waits_for_a_warming_printer_and_reads_its_counter_after_each_job() {
    // Issue 16 #6 and #8: a printer warming up is shown as such, with the operator's advice,
    // and a job waits for it (not failed, not refused); the page counter is current after the
    // job, without anyone asking.
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--warm-up-ms", "5000"]);
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        lab_toml().replace(
            "require_booklet_confirmation = true",
            "require_booklet_confirmation = false",
        ),
    )
    .expect("config");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    until("the printer shown warming up", || {
        get(&base, "/api/printer").1["printer"]["reasons"] == json!(["warming-up-report"])
    });
    let printer = get(&base, "/api/printer").1;
    assert_ne!(printer["printer"]["state"], "stopped", "{printer}");
    assert_eq!(
        printer["printer"]["advice"][0]["en"],
        "The printer is warming up; wait a moment, printing starts by itself",
        "{printer}"
    );
    let before = printer["identity"]["page_count"]
        .as_u64()
        .expect("a page counter");
    let (status, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X1234560", "last": "X1234569"}),
    );
    assert_eq!(status, 201);
    let (status, v) = submit(&base, "jobs/valid/santoso-budi.json");
    assert_eq!(status, 201, "{v}");
    until("printed once warm", || {
        job_state(&base, "SMD-2026-000123") == "printed"
    });
    let (_, v) = get(&base, "/api/jobs/SMD-2026-000123");
    let attempts = v["attempts"].as_array().expect("attempts");
    assert_eq!(
        attempts.len(),
        1,
        "one attempt, not a failed one first: {v}"
    );
    until("the counter read after the job", || {
        get(&base, "/api/printer").1["identity"]["page_count"].as_u64() == Some(before + 1)
    });
}

#[test]
fn a_job_prints_only_after_its_booklet_is_confirmed_and_a_cover_open_pauses_then_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (mut sim, device) = start_sim(&pages, &["--fault", "cover-open"]);
    let config = dir.path().join("station.toml");
    std::fs::write(&config, lab_toml()).expect("config");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);

    // The operator's session, through the library's typed client (a lab station: no tokens).
    let api = client(&base, None);
    let id = "SMD-2026-000123";
    let job = std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    // Submitted before its booklet is in stock: held, saying why; the batch releases it.
    let submitted = api.submit(&job).expect("submitted");
    assert_eq!(submitted.job.state, JobState::Held);
    assert!(!submitted.existing);
    let batch = api.receive_batch("X1234560", "X1234569").expect("batch");
    assert_eq!(batch.batch.count, 10);
    assert_eq!(api.job(id).expect("job").job.state, JobState::Queued);
    // The same job again changes nothing; the same id with other content is refused.
    assert!(api.submit(&job).expect("the same job").existing);
    let other = String::from_utf8(job.clone())
        .expect("utf-8")
        .replace("SAMARINDA", "BALIKPAPAN");
    match api.submit(other.as_bytes()) {
        Err(ClientError::Refused { status, error }) => {
            assert_eq!(
                (status, error.code.as_str()),
                (409, "conflict"),
                "{error:?}"
            )
        }
        other => panic!("another job under the same id: {other:?}"),
    }

    // The printer reports its cover open, with what to do in both languages.
    until("the cover-open status", || {
        api.printer().expect("printer").printer.reasons == ["cover-open-error"]
    });
    let printer = api.printer().expect("printer").printer;
    assert_eq!(printer.advice[0].id, "Tutup penutup printer");
    assert_eq!(printer.advice[0].en, "Close the printer cover");

    // A wrong booklet number is refused; the right one is accepted, but the cover is open.
    let confirm = |number: &str| {
        let body = ActionBody {
            booklet: Some(number.to_owned()),
            ..Default::default()
        };
        api.act(id, "confirm-booklet", &body)
    };
    match confirm("X1234568") {
        Err(ClientError::Refused { status, error }) => {
            assert_eq!((status, error.code.as_str()), (409, "booklet-mismatch"))
        }
        other => panic!("a wrong booklet number: {other:?}"),
    }
    let confirmed = confirm("X1234567").expect("the right booklet");
    assert!(confirmed.job.booklet_confirmed);
    assert_eq!(confirmed.job.state, JobState::Queued);
    assert!(sim_jobs(&pages).is_empty(), "nothing reached the printer");

    // Closing the cover lets the engine go on by itself.
    {
        use std::io::Write;
        let stdin = sim.0.stdin.as_mut().expect("sim stdin");
        writeln!(stdin, "clear").expect("control");
    }
    until("the job printed", || {
        job_state(&base, "SMD-2026-000123") == "printed"
    });
    let verified = api
        .act(id, "verify", &ActionBody::default())
        .expect("verify");
    assert_eq!(verified.job.state, JobState::Completed);
    let rec = api.reconcile().expect("reconciliation");
    assert!(rec.balanced, "{rec:?}");
    assert_eq!(rec.reconciliation.issued, 1);
    let jobs = sim_jobs(&pages);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["name"], "SMD-2026-000123-a1");
    assert_eq!(jobs[0]["result"], "OK");
    // The event log tells the story, with who did what.
    let show = api.job(id).expect("the job");
    let actions: Vec<&str> = show.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "submit",
            "hold-by-station",
            "release",
            "confirm-booklet-refused",
            "confirm-booklet",
            "start-printing",
            "print-confirmed",
            "verify"
        ]
    );
}

fn printer_reasons(base: &str) -> Vec<String> {
    client(base, None)
        .printer()
        .expect("printer status")
        .printer
        .reasons
}

pub(crate) fn submit_numbered(base: &str, id: &str, number: &str) {
    let mut job: Value = serde_json::from_slice(
        &std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture"),
    )
    .expect("json");
    job["job_id"] = json!(id);
    job["document"]["number"] = json!(number);
    let submitted = client(base, None)
        .submit(&serde_json::to_vec(&job).expect("json"))
        .expect("submitted");
    assert!(!submitted.existing);
}

#[test]
fn jam_cover_open_out_of_booklets_and_unplug_mid_run_recover_without_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (mut sim, device) = start_sim(&pages, &["--baud", "0"]);
    let config = config_without_confirmation(dir.path());
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let api = client(&base, None);
    api.receive_batch("X6000000", "X6000009").expect("batch");
    until("the printer ready", || {
        api.printer().expect("printer").printer.state == "idle"
    });

    // A jam eats the booklet: the outcome is in doubt, a person spoils it and a supervisor
    // approves the reprint on a new booklet.
    control(&mut sim, "jam@page1");
    submit_numbered(&base, "F-JAM", "X6000000");
    until("the jam reported", || {
        printer_reasons(&base) == ["media-jam-error"]
    });
    let advice = get(&base, "/api/printer").1["printer"]["advice"][0]["en"].clone();
    assert_eq!(
        advice,
        "Open the printer, remove the jammed booklet, then close it"
    );
    control(&mut sim, "clear");
    until("the jammed job in doubt", || {
        job_state(&base, "F-JAM") == "needs-verification"
    });
    assert_eq!(
        post(&base, "/api/jobs/F-JAM/spoil", json!({"reason": "jammed"})).0,
        200
    );
    assert_eq!(
        post(
            &base,
            "/api/jobs/F-JAM/reprint",
            json!({"booklet": "X6000001", "supervisor": "sup"})
        )
        .0,
        200
    );
    until("the reprint printed", || {
        job_state(&base, "F-JAM") == "printed"
    });

    // Cover open: nothing is sent until it closes.
    control(&mut sim, "cover-open");
    until("cover open reported", || {
        printer_reasons(&base) == ["cover-open-error"]
    });
    submit_numbered(&base, "F-COVER", "X6000002");
    assert_eq!(job_state(&base, "F-COVER"), "queued");
    control(&mut sim, "clear");
    until("printed after the cover closed", || {
        job_state(&base, "F-COVER") == "printed"
    });

    // Out of booklets at the printer: the job waits in the printer until it is refilled.
    control(&mut sim, "out-of-booklets");
    submit_numbered(&base, "F-EMPTY", "X6000003");
    until("booklets needed", || {
        printer_reasons(&base) == ["media-needed-error"]
    });
    assert_eq!(job_state(&base, "F-EMPTY"), "printing");
    control(&mut sim, "refill=5");
    until("printed after the refill", || {
        job_state(&base, "F-EMPTY") == "printed"
    });

    // Unplugged and plugged back (the link drops; the station reopens it by itself).
    control(&mut sim, "link-drop");
    submit_numbered(&base, "F-UNPLUG", "X6000004");
    until("printed after the replug", || {
        job_state(&base, "F-UNPLUG") == "printed"
    });

    // Nothing lost, everything accounted for.
    for id in ["F-JAM", "F-COVER", "F-EMPTY", "F-UNPLUG"] {
        assert_eq!(
            post(&base, &format!("/api/jobs/{id}/verify"), json!({})).0,
            200,
            "{id}"
        );
    }
    let rec = get(&base, "/api/booklets/reconcile").1;
    assert_eq!(rec["balanced"], true, "{rec}");
    assert_eq!(
        (
            &rec["reconciliation"]["issued"],
            &rec["reconciliation"]["spoiled"]
        ),
        (&json!(4), &json!(1))
    );
}
