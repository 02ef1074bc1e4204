//! The adapter protocol: golden lines both ways, checks that name the field, and every way a
//! print can end as the tracker sees it.

use super::*;

#[test]
fn requests_are_the_documented_lines_byte_for_byte() {
    assert_eq!(
        encode(&Request::Hello {
            id: 1,
            protocol: vec![1],
            station: "pstation 0.1.0".to_owned()
        }),
        "{\"type\":\"hello\",\"id\":1,\"protocol\":[1],\"station\":\"pstation 0.1.0\"}\n"
    );
    assert_eq!(
        encode(&Request::Status { id: 3 }),
        "{\"type\":\"status\",\"id\":3}\n"
    );
    let mut page = Bitmap::blank(9, 2);
    page.bits = vec![0x80, 0x80, 0xFF, 0x80];
    assert_eq!(
        encode(&Request::Print {
            id: 4,
            job: "A-1".to_owned(),
            job_id: "J".to_owned(),
            booklet: "X1".to_owned(),
            pages: 1,
            pdf: None,
            bitmaps: vec![WireBitmap::from_bitmap(&page, 300)],
        }),
        "{\"type\":\"print\",\"id\":4,\"job\":\"A-1\",\"job_id\":\"J\",\"booklet\":\"X1\",\"pages\":1,\"bitmaps\":[{\"width\":9,\"height\":2,\"dpi\":300,\"bits\":\"gID/gA==\"}]}\n"
    );
    assert_eq!(
        encode(&Request::Cancel {
            id: 5,
            job: "A-1".to_owned()
        }),
        "{\"type\":\"cancel\",\"id\":5,\"job\":\"A-1\"}\n"
    );
}

#[test]
fn replies_decode_and_bad_ones_name_the_field() {
    assert_eq!(
        decode(
            "{\"type\":\"hello\",\"id\":1,\"protocol\":1,\"adapter\":\"ref 1\",\"capabilities\":{\"formats\":[\"pdf\"]}}\n"
        ),
        Ok(Reply::Hello {
            id: 1,
            protocol: 1,
            adapter: "ref 1".to_owned(),
            capabilities: WireCapabilities {
                formats: vec!["pdf".to_owned()],
                resolutions: vec![],
                media: vec![],
                color: false
            }
        })
    );
    assert_eq!(
        decode("{\"type\":\"status\",\"state\":\"stopped\",\"reasons\":[\"media-jam-error\"]}"),
        Ok(Reply::Status {
            id: None,
            state: "stopped".to_owned(),
            reasons: vec!["media-jam-error".to_owned()],
            message: None
        })
    );
    for (line, words) in [
        ("not json", "not a protocol line"),
        ("{\"type\":\"teleport\"}", "teleport"),
        ("{\"type\":\"status\",\"state\":\"asleep\"}", "state"),
        (
            "{\"type\":\"status\",\"state\":\"idle\",\"reasons\":[\"jam\"]}",
            "suffix",
        ),
        (
            "{\"type\":\"outcome\",\"id\":\"4\",\"job\":\"A\",\"outcome\":\"confirmed\"}",
            "id",
        ),
        (
            "{\"type\":\"hello\",\"id\":1,\"protocol\":1,\"adapter\":\"a\",\"capabilities\":{\"formats\":[],\"colour\":true}}",
            "colour",
        ),
    ] {
        let e = decode(line).expect_err(line);
        assert!(e.contains(words), "{line}: {e}");
    }
    assert!(decode(&"x".repeat(MAX_LINE + 1)).is_err());
}

#[test]
fn capabilities_need_a_format_and_bitmaps_need_a_resolution() {
    let caps = |formats: &[&str], resolutions: &[u32]| WireCapabilities {
        formats: formats.iter().map(|s| (*s).to_owned()).collect(),
        resolutions: resolutions.to_vec(),
        media: vec![],
        color: false,
    };
    assert_eq!(
        capabilities(&caps(&["bitmap", "pdf"], &[600]))
            .expect("ok")
            .bitmap_dpi(),
        Some(600)
    );
    assert!(capabilities(&caps(&[], &[])).is_err());
    assert!(capabilities(&caps(&["bitmap"], &[])).is_err());
    assert!(capabilities(&caps(&["bitmap"], &[30])).is_err());
    assert!(capabilities(&caps(&["postscript"], &[])).is_err());
}

fn outcome(id: u64, job: &str, word: &str, pages: Option<u32>) -> Reply {
    Reply::Outcome {
        id,
        job: job.to_owned(),
        outcome: word.to_owned(),
        pages,
        reason: Some("why".to_owned()),
    }
}

#[test]
fn only_our_jobs_confirmed_outcome_with_every_page_is_a_success() {
    let mut t = PrintTracker::new(4, "A-1", 1);
    assert_eq!(
        t.feed(&Reply::Accepted {
            id: 4,
            job: "A-1".to_owned()
        }),
        Step::Accepted
    );
    assert!(t.accepted());
    assert_eq!(
        t.feed(&Reply::Progress {
            job: "A-1".to_owned(),
            sheets: 1
        }),
        Step::Progress(1)
    );
    assert_eq!(t.feed(&Reply::Ack { id: 9 }), Step::Nothing);
    assert_eq!(
        t.feed(&outcome(4, "A-1", "confirmed", Some(1))),
        Step::Done(PrintOutcome::Confirmed { pages: 1 })
    );
    let unknown = |s: Step| matches!(s, Step::Done(PrintOutcome::Unknown { .. }));
    let mut t = PrintTracker::new(4, "A-1", 1);
    assert!(unknown(t.feed(&outcome(4, "A-1", "confirmed", Some(0)))));
    assert!(unknown(t.feed(&outcome(4, "A-1", "confirmed", None))));
    assert!(
        unknown(t.feed(&outcome(4, "B-2", "confirmed", Some(1)))),
        "another job"
    );
    assert!(
        unknown(t.feed(&outcome(3, "A-1", "confirmed", Some(1)))),
        "another request"
    );
    assert!(
        unknown(t.feed(&outcome(4, "A-1", "printed", Some(1)))),
        "not a word"
    );
    assert!(
        unknown(t.feed(&outcome(4, "A-1", "canceled", None))),
        "nobody cancelled"
    );
    assert!(unknown(t.feed(&Reply::Accepted {
        id: 5,
        job: "B-2".to_owned()
    })));
    assert_eq!(
        t.feed(&outcome(4, "A-1", "failed-before-start", None)),
        Step::Done(PrintOutcome::FailedBeforeStart {
            reason: "why".to_owned()
        })
    );
    t.cancel();
    assert_eq!(
        t.feed(&outcome(4, "A-1", "canceled", None)),
        Step::Done(PrintOutcome::CanceledByHost)
    );
    assert_eq!(
        t.feed(&outcome(4, "A-1", "canceled-at-device", None)),
        Step::Done(PrintOutcome::CanceledAtDevice)
    );
    // An error before the adapter took the job: nothing started; after: in doubt.
    let err = Reply::Error {
        id: Some(4),
        code: "printer-unreachable".to_owned(),
        message: "no link".to_owned(),
    };
    let mut t = PrintTracker::new(4, "A-1", 1);
    assert!(matches!(
        t.feed(&err),
        Step::Done(PrintOutcome::FailedBeforeStart { .. })
    ));
    t.feed(&Reply::Accepted {
        id: 4,
        job: "A-1".to_owned(),
    });
    assert!(unknown(t.feed(&err)));
}
