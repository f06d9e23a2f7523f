//! End-to-end tests of the `zab-dump` binary on the shipped captures, against the servers' own
//! transaction logs (`zk38-mtu1500.txns.txt`, dumped with ZooKeeper's TxnLogToolkit).

mod common;

use common::{capture, data_dir, json_lines};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::process::{Command, Output};

const AB_PORTS: [&str; 8] = [
    "--port", "22881", "--port", "22882", "--port", "22883", "--port", "22884",
];

fn zab_dump(args: &[&str]) -> Output {
    Command::new(zkwire_tests::bin("zab-dump"))
        .args(args)
        .output()
        .expect("run zab-dump")
}

#[test]
fn every_logged_transaction_is_proposed_and_committed() {
    let out = zab_dump(&[
        "-r",
        &capture("zk38-mtu1500.pcap"),
        "--format",
        "json",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packets = json_lines(&out);
    let mut proposed: HashMap<String, Vec<&Value>> = HashMap::new();
    let mut committed: HashSet<String> = HashSet::new();
    for p in &packets {
        let zxid = p["zxid_hex"].as_str().expect("zxid_hex").to_string();
        match p["type"].as_str() {
            Some("PROPOSAL") => proposed.entry(zxid).or_default().push(&p["txn"]),
            Some("COMMIT") => {
                committed.insert(zxid);
            }
            _ => {}
        }
    }
    let log = std::fs::read_to_string(data_dir().join("zk38-mtu1500.txns.txt")).expect("txn log");
    let mut checked = 0;
    for line in log.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (zxid, session, cxid, kind, path) =
            (f[0], f[1], f[2], f[3], f.get(4).copied().unwrap_or(""));
        let txns = proposed
            .get(zxid)
            .unwrap_or_else(|| panic!("{zxid} ({kind} {path}) never proposed"));
        let cxid = i64::from_str_radix(cxid.trim_start_matches("0x"), 16).expect("cxid");
        for txn in txns {
            assert_eq!(txn["type"], kind, "{line}");
            assert_eq!(txn["session"], session, "{line}");
            assert_eq!(txn["cxid"], cxid, "{line}");
            if !path.is_empty() {
                assert_eq!(txn["path"], path, "{line}");
            }
        }
        assert!(
            committed.contains(zxid),
            "{zxid} ({kind} {path}) never committed"
        );
        checked += 1;
    }
    assert_eq!(checked, 326);
}

#[test]
fn the_restarted_server_syncs_in_protocol_order() {
    let out = zab_dump(&[
        "-r",
        &capture("zk38-mtu1500.pcap"),
        "--format",
        "json",
        "-q",
    ]);
    let packets = json_lines(&out);
    // The old leader (server 3, per the events log) rejoins as a follower: find its connection.
    let learner = packets
        .iter()
        .rfind(|p| p["type"] == "FOLLOWERINFO" && p["learner_info"]["server_id"] == 3)
        .expect("server 3 rejoins")["src"]
        .clone();
    let conn: Vec<&str> = packets
        .iter()
        .filter(|p| p["src"] == learner || p["dst"] == learner)
        .map(|p| p["type"].as_str().unwrap_or("?"))
        .collect();
    let pos = |t: &str| {
        conn.iter()
            .position(|x| *x == t)
            .unwrap_or_else(|| panic!("no {t} in {conn:?}"))
    };
    let (fi, li, ae, diff, nl, utd) = (
        pos("FOLLOWERINFO"),
        pos("LEADERINFO"),
        pos("ACKEPOCH"),
        pos("DIFF"),
        pos("NEWLEADER"),
        pos("UPTODATE"),
    );
    assert!(
        fi < li && li < ae && ae < diff && diff < nl && nl < utd,
        "{conn:?}"
    );
    // The DIFF carries the writes the server missed as PROPOSAL/COMMIT pairs.
    let missed = conn[diff..nl].iter().filter(|t| **t == "PROPOSAL").count();
    assert!(missed > 10, "{conn:?}");
    assert_eq!(
        missed,
        conn[diff..nl].iter().filter(|t| **t == "COMMIT").count()
    );
}

#[test]
fn every_capture_decodes_and_snapshots_are_skipped_whole() {
    for (file, ports) in [
        ("zk38-mtu1500.pcap", &["--port", "2888"][..]),
        ("zk380-A.pcap", &AB_PORTS[..]),
        ("zk380-B.pcap", &AB_PORTS[..]),
    ] {
        let mut args = vec!["--summary", "--limit", "0"];
        args.extend_from_slice(ports);
        let (out, s) = common::run_with_stats(zkwire_tests::bin("zab-dump"), file, &args);
        assert!(out.status.success(), "{file}");
        let zab = &s["zab"];
        assert_eq!(zab["decode_errors"], 0, "{file}: {zab}");
        assert_eq!(zab["skipped_bytes"], 0, "{file}: {zab}");
        assert!(zab["packets"].as_u64() > Some(50), "{file}: {zab}");
        let syncs = s["summary"]["syncs"].as_array().expect("syncs");
        assert!(!syncs.is_empty(), "{file}");
        if file == "zk380-B.pcap" {
            // Every sync in capture B is a forced SNAP: the snapshot streams are passed over.
            assert!(syncs.iter().all(|s| s["mode"] == "SNAP"), "{syncs:?}");
            assert!(zab["snapshot_bytes"].as_u64() > Some(0));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("proposal -> commit: avg") && text.contains("zxid counter: last"),
            "{text}"
        );
    }
}

#[test]
fn filters_and_zxid_forms() {
    let out = zab_dump(&[
        "-r",
        &capture("zk38-mtu1500.pcap"),
        "--format",
        "json",
        "-q",
        "--type",
        "commit,ack",
    ]);
    let lines = json_lines(&out);
    assert!(!lines.is_empty());
    assert!(lines
        .iter()
        .all(|p| p["type"] == "COMMIT" || p["type"] == "ACK"));
    for p in &lines {
        let zxid = p["zxid"].as_i64().expect("zxid number");
        assert_eq!(p["zxid_hex"], format!("0x{:x}", zxid));
        assert_eq!(
            p["epoch_counter"],
            format!("{}/{}", zxid >> 32, zxid & 0xffff_ffff)
        );
    }
    let no_pings = json_lines(&zab_dump(&[
        "-r",
        &capture("zk38-mtu1500.pcap"),
        "--format",
        "json",
        "-q",
    ]));
    assert!(no_pings.iter().all(|p| p["type"] != "PING"));
    let pings = json_lines(&zab_dump(&[
        "-r",
        &capture("zk38-mtu1500.pcap"),
        "--format",
        "json",
        "-q",
        "-p",
    ]));
    assert!(pings.iter().any(|p| p["type"] == "PING"));
}
