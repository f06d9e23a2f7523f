//! End-to-end tests of the `fle-dump` binary on the shipped captures: every election message
//! decoded and attributed, and the elections reconstructed as the recipe's own log recorded
//! them (`zk38-mtu1500.events.log`: who led first, who led after the first leader was killed).

mod common;

use common::{capture, data_dir, json_lines};
use serde_json::Value;
use std::process::{Command, Output};

const B_PORTS: [&str; 8] = [
    "--port", "23881", "--port", "23882", "--port", "23883", "--port", "23884",
];

fn fle_dump(args: &[&str]) -> Output {
    Command::new(zkwire_tests::bin("fle-dump"))
        .args(args)
        .output()
        .expect("run fle-dump")
}

/// Leaders in the order the recipe saw them: `leader: N`, then `sN leader`.
fn recorded_leaders() -> Vec<i64> {
    let log =
        std::fs::read_to_string(data_dir().join("zk38-mtu1500.events.log")).expect("events log");
    let mut leaders = Vec::new();
    for line in log.lines() {
        if let Some(n) = line.strip_prefix("leader: ") {
            leaders.push(n.trim().parse().expect("leader id"));
        } else if let Some(s) = line.strip_suffix(" leader") {
            leaders.push(s.trim_start_matches('s').parse().expect("server id"));
        }
    }
    leaders
}

#[test]
fn elections_match_the_recorded_leaders() {
    let out = fle_dump(&[
        "-r",
        &capture("zk38-mtu1500.pcap"),
        "--summary",
        "--limit",
        "0",
        "--format",
        "json",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let elections: Vec<Value> = json_lines(&out)
        .into_iter()
        .map(|m| m["election"].clone())
        .collect();
    let elected: Vec<i64> = elections
        .iter()
        .filter(|e| e["joined_existing_leader"] == false)
        .map(|e| e["leader"].as_i64().expect("a leader"))
        .collect();
    let recorded = recorded_leaders();
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(elected, recorded);
    // The first election involves all three servers, each with a vote.
    let first = &elections[0];
    assert_eq!(first["looking"], serde_json::json!([1, 2, 3]));
    assert_eq!(first["votes"].as_object().map(|v| v.len()), Some(3));
    assert!(first["duration_ms"]
        .as_f64()
        .is_some_and(|d| d > 0.0 && d < 5_000.0));
    // The killed leader came back and joined the new one without a leaderless period.
    let last = elections.last().expect("elections");
    assert_eq!(last["joined_existing_leader"], true);
    assert_eq!(last["leader"], recorded[1]);
    assert!(!last["looking"]
        .as_array()
        .is_some_and(|l| l.contains(&serde_json::json!(recorded[1]))));
}

#[test]
fn every_message_decodes_with_its_fields() {
    for (file, ports) in [
        ("zk38-mtu1500.pcap", &["--port", "3888"][..]),
        ("zk380-A.pcap", &B_PORTS[..]),
        ("zk380-B.pcap", &B_PORTS[..]),
    ] {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(ports);
        let (out, s) = common::run_with_stats(zkwire_tests::bin("fle-dump"), file, &args);
        assert!(out.status.success(), "{file}");
        assert_eq!(s["fle"]["decode_errors"], 0, "{file}: {s}");
        assert_eq!(s["fle"]["skipped_bytes"], 0, "{file}: {s}");
        // Capture B has one acceptor frame cut off by the challenge closing the connection
        // (shared/spec/vectors/README.md); nothing else is left undecoded anywhere.
        let cut = if file == "zk380-B.pcap" { 4 } else { 0 };
        assert_eq!(s["fle"]["incomplete_at_close"], cut, "{file}: {s}");
        let lines = json_lines(&out);
        let initial: Vec<&Value> = lines.iter().filter(|m| m["kind"] == "initial").collect();
        let notes: Vec<&Value> = lines
            .iter()
            .filter(|m| m["kind"] == "notification")
            .collect();
        assert!(!initial.is_empty() && notes.len() > 10, "{file}");
        assert_eq!(s["fle"]["notifications"].as_u64(), Some(notes.len() as u64));
        for m in &initial {
            assert!(
                m["sid"].is_i64() && m["election_addr"].as_array().is_some_and(|a| !a.is_empty()),
                "{m}"
            );
        }
        for m in &notes {
            for key in [
                "ts",
                "src",
                "dst",
                "state",
                "leader",
                "zxid",
                "election_epoch",
                "peer_epoch",
                "version",
            ] {
                assert!(!m[key].is_null(), "{file}: {key} missing in {m}");
            }
            assert!(["LOOKING", "FOLLOWING", "LEADING", "OBSERVING"]
                .contains(&m["state"].as_str().unwrap_or("")));
        }
    }
}

#[test]
fn observer_votes_and_config_are_shown_as_asked() {
    let mut args = vec![
        "-r".to_string(),
        capture("zk380-B.pcap"),
        "--format".into(),
        "json".into(),
        "-q".into(),
    ];
    args.extend(B_PORTS.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let lines = json_lines(&fle_dump(&argv));
    assert!(
        lines
            .iter()
            .any(|m| m["sentinel_vote"] == true && m["sid"] == 4),
        "observer 4 votes with a sentinel"
    );
    assert!(lines.iter().any(|m| m["config"]
        .as_str()
        .is_some_and(|c| c.contains("server.1="))));
    let mut no_config = argv.clone();
    no_config.push("--no-config");
    assert!(json_lines(&fle_dump(&no_config))
        .iter()
        .all(|m| m.get("config").is_none()));
    let text = fle_dump(&["-r", &capture("zk38-mtu1500.pcap"), "-q", "--limit", "3"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("notification(") && text.contains("\n          config=server.1="),
        "{text}"
    );
}

/// Issue 22 item 4: with colour on, every dynamic-configuration block was dropped (the line
/// ended with the colour's reset, not `)`). Coloured output, with the escapes removed, is the
/// plain output line for line.
#[test]
fn colour_keeps_the_configuration_blocks() {
    let run = |colour: &str| {
        let out = fle_dump(&[
            "-r",
            &capture("zk38-mtu1500.pcap"),
            "--utc",
            "--color",
            colour,
        ]);
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let plain = run("never");
    let coloured = run("always");
    assert!(coloured.contains('\u{1b}'), "no colour at all");
    let mut stripped = String::new();
    let mut chars = coloured.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An SGR sequence: ESC [ … m.
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            stripped.push(c);
        }
    }
    assert!(
        plain.contains("config="),
        "the capture carries configurations"
    );
    assert_eq!(stripped, plain);
}

/// Issue 22 item 1: a capture that starts after the election connections were opened (the
/// usual case: the tool started on a running ensemble) merged the failover's election with the
/// killed leader's rejoin and counted the dead server as an elector. The shipped capture cut
/// between its first and second elections must show the same later elections as the whole
/// capture: same leaders, same electors, the rejoin apart.
#[test]
fn a_capture_started_on_a_running_ensemble_tells_elections_apart() {
    let full = capture("zk38-mtu1500.pcap");
    let elections = |file: &str| -> Vec<Value> {
        let out = fle_dump(&["-r", file, "-q", "--summary", "--format", "json"]);
        json_lines(&out)
            .into_iter()
            .filter_map(|m| m.get("election").cloned())
            .collect()
    };
    let whole = elections(&full);
    assert!(whole.len() >= 3, "{whole:?}");
    // Cut between the end of the first election and the start of the second.
    let cut_at =
        (whole[0]["end"].as_f64().expect("end") + whole[1]["start"].as_f64().expect("start")) / 2.0;
    let mut pcap = common::Pcap::read(std::path::Path::new(&full));
    pcap.records
        .retain(|r| r.sec as f64 + r.frac as f64 / 1e6 >= cut_at);
    let late = common::scratch("fle_late_start").join("late.pcap");
    pcap.write(&late);
    let after = elections(&late.display().to_string());
    let summary = |e: &Value| {
        (
            e["leader"].clone(),
            e["looking"].clone(),
            e["joined_existing_leader"].clone(),
            e["election_epochs"].clone(),
        )
    };
    assert_eq!(
        after.iter().map(summary).collect::<Vec<_>>(),
        whole[1..].iter().map(summary).collect::<Vec<_>>(),
        "{after:#?}"
    );
}
