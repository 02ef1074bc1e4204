//! The simulated printer's tests: jobs, warm-up, faults (cover, jam, empty hopper, power cycle), replies per channel.

use super::*;
use crate::pcl::encode_page;
use crate::pjl::{JobOptions, Message, ReplyParser, job};
use crate::status::{Outcome, classify, judge_end};

fn page() -> Bitmap {
    let mut r = Bitmap::blank(64, 8);
    r.bits[9] = 0xFF;
    r
}

fn job_bytes(name: &str, pages: usize) -> Vec<u8> {
    let mut pcl = Vec::new();
    for _ in 0..pages {
        encode_page(&page(), 300, &mut pcl);
    }
    job(
        &JobOptions {
            name,
            echo_token: "T1",
            heartbeat_s: 0,
            end_token: None,
        },
        &pcl,
    )
    .expect("job")
}

/// Runs the simulator until nothing is pending, collecting parsed messages and records.
fn run(
    sim: &mut SimPrinter,
    mut outputs: Vec<Output>,
    parser: &mut ReplyParser,
) -> (Vec<Message>, Vec<JobRecord>) {
    let mut msgs = Vec::new();
    let mut done = Vec::new();
    let mut guard = 0;
    loop {
        for o in outputs.drain(..) {
            match o {
                Output::Send { bytes, .. } => msgs.extend(parser.feed(&bytes)),
                Output::JobDone(r) => done.push(r),
            }
        }
        match sim.next_deadline() {
            Some(t) if guard < 100 && sim.channels.values().all(|c| c.notify.timed_s == 0) => {
                outputs = sim.advance(t);
                guard += 1;
            }
            _ => break,
        }
    }
    (msgs, done)
}

#[test]
fn a_job_without_its_final_reset_still_prints_and_leaves_nothing_to_the_next() {
    // A printer resets PCL at the UEL that ends every job (HP's PCL/PJL reference), whether
    // or not the job ended with ESC E: a job cut off inside its raster block — no end of
    // raster, no form feed, no reset — has its page ejected as drawn, and the next job
    // starts from the defaults (its rows are not appended to the cut page, nor decoded
    // against its seed row).
    let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
    let mut parser = ReplyParser::new();
    let mut cut = Vec::new();
    encode_page(&page(), 300, &mut cut);
    let end = cut
        .windows(4)
        .rposition(|w| w == b"\x1b*rC")
        .expect("end of raster");
    cut.truncate(end);
    let cut_job = job(
        &JobOptions {
            name: "CUT-1",
            echo_token: "T1",
            heartbeat_s: 0,
            end_token: None,
        },
        &cut,
    )
    .expect("job");
    let out = [sim.feed(&cut_job), sim.feed(&job_bytes("NEXT-1", 1))].concat();
    let (_, done) = run(&mut sim, out, &mut parser);
    let by = |n: &str| {
        done.iter()
            .find(|r| r.name == n)
            .unwrap_or_else(|| panic!("{n} in {done:?}"))
    };
    assert_eq!(by("CUT-1").printed.len(), 1, "the drawn page comes out");
    assert_eq!(
        by("NEXT-1").printed,
        [page()],
        "nothing leaks into the next job"
    );
}

#[test]
fn a_job_prints_after_warm_up_and_ends_with_our_name_and_page_count() {
    let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
    let mut parser = ReplyParser::new();
    let out = sim.feed(&job_bytes("SMD-1-a1", 1));
    let (msgs, done) = run(&mut sim, out, &mut parser);
    assert!(msgs.contains(&Message::Echo("T1".into())));
    assert!(msgs.contains(&Message::JobStart {
        name: "SMD-1-a1".into()
    }));
    assert!(msgs.contains(&Message::Page(1)));
    let end = msgs
        .iter()
        .find_map(|m| match m {
            Message::JobEnd(e) => Some(e.clone()),
            _ => None,
        })
        .expect("END");
    assert_eq!(judge_end("SMD-1-a1", 1, &end), Outcome::Completed);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].printed, [page()]);
    assert_eq!(sim.hopper(), 49);
    // Warm-up (1 s) then one booklet (2 s).
    assert_eq!(sim.now, 3_000);
}

#[test]
fn cover_open_stops_printing_and_closing_it_resumes() {
    let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
    let mut parser = ReplyParser::new();
    let _ = run(&mut sim, Vec::new(), &mut parser); // warm up
    let mut msgs = parser.feed(&[]);
    // Status reporting is on before the cover opens, as the driver sets it up on connect.
    let out0 = sim.feed(b"@PJL USTATUS DEVICE = ON\r\n");
    let out = sim.inject(Fault::CoverOpen);
    let out2 = sim.feed(&job_bytes("J2", 1));
    let out3 = sim.feed(b"@PJL INFO STATUS\r\n");
    let (m, done) = run(&mut sim, [out0, out, out2, out3].concat(), &mut parser);
    msgs.extend(m);
    assert!(done.is_empty(), "nothing prints with the cover open");
    let device: Vec<u32> = msgs
        .iter()
        .filter_map(|m| match m {
            Message::Device(s) => s.codes.first().copied(),
            _ => None,
        })
        .collect();
    assert!(device.contains(&40021), "{msgs:?}");
    assert!(msgs.iter().any(
        |m| matches!(m, Message::InfoStatus(s) if s.codes == [40021] && s.online == Some(false))
    ));
    assert_eq!(classify(40021).reason, Some("cover-open-error"));
    let out = sim.clear_faults();
    let (msgs, done) = run(&mut sim, out, &mut parser);
    assert_eq!(done.len(), 1);
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Message::JobEnd(e) if e.pages == Some(1)))
    );
}

#[test]
fn a_jam_consumes_the_booklet_and_the_job_ends_short() {
    let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
    let mut parser = ReplyParser::new();
    let _ = sim.inject(Fault::JamAtPage(2));
    let out = sim.feed(&job_bytes("J3", 2));
    let (msgs, _) = run(&mut sim, out, &mut parser);
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Message::Device(s) if s.codes == [40022])),
        "{msgs:?}"
    );
    assert_eq!(sim.hopper(), 48, "both booklets taken");
    let out = sim.clear_faults();
    let (msgs, done) = run(&mut sim, out, &mut parser);
    let end = msgs
        .iter()
        .find_map(|m| match m {
            Message::JobEnd(e) => Some(e.clone()),
            _ => None,
        })
        .expect("END");
    assert!(matches!(judge_end("J3", 2, &end), Outcome::Unknown(_)));
    assert_eq!(done[0].printed.len(), 1);
}

#[test]
fn an_empty_hopper_waits_for_booklets() {
    let mut cfg = SimConfig::test_default();
    cfg.hopper = 0;
    let mut sim = SimPrinter::new(cfg, 0);
    let mut parser = ReplyParser::new();
    let out = sim.feed(&job_bytes("J4", 1));
    let (msgs, done) = run(&mut sim, out, &mut parser);
    assert!(done.is_empty());
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Message::Device(s) if s.codes == [41101])),
        "{msgs:?}"
    );
    assert_eq!(classify(41101).reason, Some("media-needed-error"));
    let out = sim.refill(5);
    let (_, done) = run(&mut sim, out, &mut parser);
    assert_eq!(done.len(), 1);
    assert_eq!(sim.hopper(), 4);
}

#[test]
fn a_power_cycle_mid_job_never_sends_an_end() {
    let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
    let mut parser = ReplyParser::new();
    let mut msgs = parser.feed(&[]);
    let out = sim.feed(&job_bytes("J5", 1));
    for o in out {
        if let Output::Send { bytes, .. } = o {
            msgs.extend(parser.feed(&bytes));
        }
    }
    let _ = sim.advance(1_500); // warm-up over, the booklet is being printed
    let lost = sim.inject(Fault::PowerCycle);
    assert!(matches!(
        lost.as_slice(),
        [Output::JobDone(JobRecord { result: None, .. })]
    ));
    let (m, _) = run(&mut sim, Vec::new(), &mut parser);
    msgs.extend(m);
    assert!(!msgs.iter().any(|m| matches!(m, Message::JobEnd(_))));
    assert_eq!(sim.code(), 10001, "back after warm-up");
}

#[test]
fn unknown_commands_get_a_protocol_error_reply_and_garbled_replies_are_survivable() {
    let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
    let mut parser = ReplyParser::new();
    let out = sim.feed(b"@PJL FROBNICATE NOW\r\n");
    let (msgs, _) = run(&mut sim, out, &mut parser);
    assert!(msgs.iter().any(|m| matches!(m, Message::Other { header, lines } if header == "FROBNICATE NOW" && lines == &["?".to_owned()])), "{msgs:?}");
    let _ = sim.inject(Fault::Garble);
    let out = sim.feed(b"@PJL INFO ID\r\n@PJL ECHO AFTER\r\n");
    let (msgs, _) = run(&mut sim, out, &mut parser);
    assert!(msgs.contains(&Message::Echo("AFTER".into())), "{msgs:?}");
    assert!(
        !msgs
            .iter()
            .any(|m| matches!(m, Message::InfoId(id) if id.starts_with("PSTATION")))
    );
    let _ = sim.feed(&[0xFF, 0x00, 0x1B, b'%', b'\n']);
}

/// The messages `outputs` carry for `channel`.
fn for_channel(outputs: &[Output], channel: Channel) -> Vec<Message> {
    let mut parser = ReplyParser::new();
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { channel: c, bytes } if *c == channel => Some(parser.feed(bytes)),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Runs to quiescence, keeping every output.
fn settle(sim: &mut SimPrinter, mut all: Vec<Output>) -> Vec<Output> {
    for _ in 0..100 {
        let Some(t) = sim.next_deadline() else { break };
        all.extend(sim.advance(t));
    }
    all
}

#[test]
fn replies_and_job_status_go_to_the_channel_that_asked_and_device_status_to_every_listener() {
    let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
    let mut all = sim.feed_from(1, b"@PJL USTATUS DEVICE = ON\r\n@PJL ECHO ONE\r\n");
    all.extend(sim.feed_from(2, b"@PJL ECHO TWO\r\n"));
    all.extend(sim.feed_from(2, &job_bytes("ON-TWO", 1)));
    let all = settle(&mut sim, all);
    let one = for_channel(&all, 1);
    let two = for_channel(&all, 2);
    assert!(one.contains(&Message::Echo("ONE".into())));
    assert!(!one.contains(&Message::Echo("TWO".into())));
    assert!(
        !one.iter().any(|m| matches!(
            m,
            Message::JobStart { .. } | Message::JobEnd(_) | Message::Page(_)
        )),
        "{one:?}"
    );
    assert!(
        one.iter().any(|m| matches!(m, Message::Device(_))),
        "channel 1 asked for device status"
    );
    assert!(two.contains(&Message::Echo("TWO".into())));
    assert!(two.contains(&Message::Page(1)));
    assert!(
        two.iter()
            .any(|m| matches!(m, Message::JobEnd(e) if e.name == "ON-TWO"))
    );
}

#[test]
fn a_job_cut_off_before_eoj_ends_with_what_came_and_never_blocks_the_next_one() {
    for how in ["close", "timeout", "next-job"] {
        let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
        let whole = job_bytes("CUT", 2);
        // Up to just before the end of the second page's raster (its rows are in).
        let one_page = {
            let mut v = Vec::new();
            encode_page(&page(), 300, &mut v);
            v.len()
        };
        let enter = b"ENTER LANGUAGE = PCL\r\n";
        let pcl_at = whole
            .windows(enter.len())
            .position(|w| w == enter)
            .expect("ENTER")
            + enter.len();
        let cut = pcl_at + 2 * one_page - b"\x1b*rC\x0c".len();
        let mut all = sim.feed_from(3, &whole[..cut]);
        match how {
            "close" => all.extend(sim.close_channel(3)),
            "timeout" => {
                all.extend(sim.advance(14_999));
                assert!(
                    sim.queue.first().is_some_and(|j| !j.ended()),
                    "still waiting for data"
                );
                all.extend(sim.advance(15_000));
            }
            _ => {}
        }
        all.extend(sim.feed_from(3, &job_bytes("NEXT", 1)));
        let all = settle(&mut sim, all);
        let done: Vec<&JobRecord> = all
            .iter()
            .filter_map(|o| match o {
                Output::JobDone(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(done.len(), 2, "{how}: both jobs end");
        assert_eq!(done[0].name, "CUT");
        let expected = match how {
            "close" => JobEnding::ChannelClosed,
            "timeout" => JobEnding::IoTimeout,
            _ => JobEnding::NextJob,
        };
        assert_eq!(done[0].ending, expected, "{how}");
        assert_eq!(
            done[0].pages_received, 2,
            "{how}: the page in progress is ejected as drawn"
        );
        assert_eq!(done[1].name, "NEXT");
        assert_eq!(done[1].ending, JobEnding::Eoj);
        assert_eq!(done[1].printed, [page()], "{how}");
    }
}

#[test]
fn a_power_cycle_records_every_job_in_the_printer_with_what_it_had_received() {
    let mut sim = SimPrinter::new(SimConfig::test_default(), 0);
    let _ = sim.feed_from(1, &job_bytes("FIRST", 1));
    let _ = sim.feed_from(2, &job_bytes("QUEUED", 2));
    let _ = sim.advance(1_500);
    let lost = sim.inject(Fault::PowerCycle);
    let records: Vec<(&str, u32, usize, Option<&str>, JobEnding)> = lost
        .iter()
        .filter_map(|o| match o {
            Output::JobDone(r) => Some((
                r.name.as_str(),
                r.pages_received,
                r.printed.len(),
                r.result,
                r.ending,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        records,
        [
            ("FIRST", 1, 0, None, JobEnding::PowerCycle),
            ("QUEUED", 2, 0, None, JobEnding::PowerCycle)
        ]
    );
    assert_eq!(sim.code(), 10003, "warming up again");
}
