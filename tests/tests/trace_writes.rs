//! End-to-end tests of `zk-dump --trace-writes` on the shipped captures: every write in the
//! servers' transaction logs (`zk38-mtu1500.txns.txt`) is traced with its zxid, session and
//! xid; the table agrees with the JSON lines; and the capture cut into one file per server,
//! one file's clock shifted with `editcap -t`, gives the same traces.

mod common;

use common::{capture, json_lines, scratch};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output};

fn zk_dump(args: &[&str]) -> Output {
    let out = Command::new(zkwire_tests::bin("zk-dump"))
        .args(args)
        .output()
        .expect("run zk-dump");
    assert!(
        out.status.success(),
        "zk-dump {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn trace_json(files: &[&str]) -> (Vec<Value>, String) {
    let mut args = Vec::new();
    for f in files {
        args.extend(["-r", f]);
    }
    args.extend(["--trace-writes", "--format", "json"]);
    let out = zk_dump(&args);
    (
        json_lines(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The servers' transaction logs: zxid → (session, cxid, type).
fn transactions() -> BTreeMap<u64, (u64, u64, String)> {
    let text = std::fs::read_to_string(capture("zk38-mtu1500.txns.txt")).expect("txns");
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex");
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|t| t.len() >= 4)
        .map(|t| (hex(t[0]), (hex(t[1]), hex(t[2]), t[3].to_string())))
        .collect()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// Every logged transaction made by a client request is traced, once, with the log's session
/// and xid; its stages never exceed the total; a follower's client shows a forward and a
/// commit, a leader's client neither.
#[test]
fn every_logged_write_is_traced_with_its_session_and_xid() {
    let (traces, _) = trace_json(&[&capture("zk38-mtu1500.pcap")]);
    let log = transactions();
    let mut traced: HashMap<u64, &Value> = HashMap::new();
    for t in &traces {
        let zxid = u(t, "zxid");
        assert!(traced.insert(zxid, t).is_none(), "traced twice: {t}");
        let (session, cxid, _) = log
            .get(&zxid)
            .unwrap_or_else(|| panic!("not in the transaction log: {t}"));
        let hex = t["session"].as_str().expect("session");
        assert_eq!(
            u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok(),
            Some(*session),
            "{t}"
        );
        assert_eq!(t["xid"].as_i64(), Some(*cxid as i64), "{t}");
        let stages = t["stages"].as_object().expect("stages");
        let sum: u64 = stages.values().map(|v| v.as_u64().expect("stage µs")).sum();
        assert!(sum <= u(t, "total_us"), "stages exceed the total: {t}");
        assert!(stages.contains_key("quorum_us"), "{t}");
        let forwarded = stages.contains_key("forward_us");
        assert_eq!(forwarded, stages.contains_key("commit_us"), "{t}");
        assert!(stages.contains_key("propose_us") && stages.contains_key("reply_us"));
    }
    // Every transaction a client asked for: all of them, sessions opened included.
    let missing: Vec<_> = log.keys().filter(|z| !traced.contains_key(z)).collect();
    assert!(missing.is_empty(), "not traced: {missing:x?}");
    // Both kinds of client were in the capture: a follower's and (after the failover) the
    // leader's.
    let forwarded = traces
        .iter()
        .filter(|t| t["stages"].get("forward_us").is_some())
        .count();
    assert!(forwarded > 0 && forwarded < traces.len(), "{forwarded}");
}

/// The table's write counts per type are the JSON lines' counts; `--group-by server` splits
/// the same writes by server.
#[test]
fn the_table_counts_what_the_json_lines_hold() {
    let file = capture("zk38-mtu1500.pcap");
    let (traces, _) = trace_json(&[&file]);
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_server: BTreeMap<String, u64> = BTreeMap::new();
    for t in &traces {
        *by_type
            .entry(t["type"].as_str().expect("type").into())
            .or_default() += 1;
        *by_server
            .entry(t["server"].as_str().expect("server").into())
            .or_default() += 1;
    }
    let table = |group: &str| -> BTreeMap<String, u64> {
        let out = zk_dump(&["-r", &file, "--trace-writes", "--group-by", group, "-q"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let header = text
            .lines()
            .position(|l| l.starts_with(group))
            .unwrap_or_else(|| panic!("no {group} table:\n{text}"));
        text.lines()
            .skip(header + 2)
            .take_while(|l| !l.is_empty())
            .map(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                (cells[0].to_string(), cells[1].parse().expect("writes"))
            })
            .collect()
    };
    assert_eq!(table("type"), by_type);
    assert_eq!(table("server"), by_server);
}

/// The sid of each learner's quorum connection (its address), from zab-dump.
fn learner_sids(file: &str) -> HashMap<String, i64> {
    let out = Command::new(zkwire_tests::bin("zab-dump"))
        .args(["-r", file, "--format", "json", "-q"])
        .output()
        .expect("run zab-dump");
    let mut sids = HashMap::new();
    for p in json_lines(&out) {
        let (Some(sid), Some(src), Some(dst)) = (
            p["learner_sid"].as_i64(),
            p["src"].as_str(),
            p["dst"].as_str(),
        ) else {
            continue;
        };
        let learner = if src.ends_with(":2888") { dst } else { src };
        sids.insert(learner.to_string(), sid);
    }
    sids
}

/// Writes what server `sid` (on 127.0.0.`sid`) would have captured on its own host: its
/// client connections, the quorum connections it leads, and its own learner connections.
fn host_capture(file: &str, sid: i64, learners: &HashMap<String, i64>, out: &Path) {
    let mut filter = format!(
        "(ip.addr == 127.0.0.{sid} && (tcp.port == 2181 || tcp.port == 2888) && \
         !(ip.src == 127.0.0.1 && ip.dst == 127.0.0.1))"
    );
    // Server 1's own connections: on one loopback every learner connects from 127.0.0.1.
    if sid == 1 {
        filter = "((ip.dst == 127.0.0.1 && tcp.dstport == 2181) || \
                  (ip.src == 127.0.0.1 && tcp.srcport == 2181) || \
                  (ip.addr == 127.0.0.1 && tcp.port == 2888 && ip.src != ip.dst))"
            .into();
        // … minus the learner connections that are not server 1's.
        for (addr, s) in learners {
            if *s != 1 {
                let port = addr.rsplit(':').next().expect("port");
                filter = format!("({filter} && !(tcp.port == {port}))");
            }
        }
    }
    for (addr, s) in learners {
        if *s == sid {
            let port = addr.rsplit(':').next().expect("port");
            filter = format!("({filter} || tcp.port == {port})");
        }
    }
    let status = Command::new("tshark")
        .args(["-r", file, "-Y", &filter, "-w"])
        .arg(out)
        .args(["-F", "pcap"])
        .status()
        .expect("run tshark (apt-get install tshark)");
    assert!(status.success(), "tshark {filter}");
}

/// The capture cut into what each of the three servers would have captured, server 2's file
/// shifted 1.5 s with `editcap -t`: zk-dump finds the shift and traces the same writes with
/// the same stages as from the one capture.
#[test]
fn per_host_captures_with_a_shifted_clock_give_the_same_traces() {
    let file = capture("zk38-mtu1500.pcap");
    let dir = scratch("trace-per-host");
    let learners = learner_sids(&file);
    assert_eq!(learners.len(), 4, "{learners:?}");
    let mut hosts = Vec::new();
    for sid in 1..=3 {
        let path = dir.join(format!("s{sid}.pcap"));
        host_capture(&file, sid, &learners, &path);
        hosts.push(path);
    }
    let shifted = dir.join("s2-shifted.pcap");
    let status = Command::new("editcap")
        .args(["-t", "1.5"])
        .arg(&hosts[1])
        .arg(&shifted)
        .status()
        .expect("run editcap (apt-get install tshark)");
    assert!(status.success());
    let names = [&hosts[0], &shifted, &hosts[2]].map(|p| p.display().to_string());
    let (merged, stderr) = trace_json(&[&names[0], &names[1], &names[2]]);
    assert!(
        stderr.contains("s2-shifted.pcap: clock +1.500000 s"),
        "{stderr}"
    );
    let (single, _) = trace_json(&[&file]);
    let key = |t: &Value| {
        (
            u(t, "zxid"),
            t["session"].as_str().map(str::to_string),
            t["xid"].as_i64(),
            u(t, "total_us"),
            t["stages"].to_string(),
        )
    };
    let mut a: Vec<_> = merged.iter().map(key).collect();
    let mut b: Vec<_> = single.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a.len(), transactions().len());
    let differ: Vec<_> = a.iter().zip(&b).filter(|(x, y)| x != y).take(3).collect();
    assert!(differ.is_empty(), "merged vs one capture: {differ:?}");
}

/// Several captures are for --trace-writes only; a missing one is named, exit 1.
#[test]
fn several_captures_are_refused_without_trace_writes_and_a_missing_one_is_named() {
    let file = capture("zk38-mtu1500.pcap");
    let run = |args: &[&str]| {
        Command::new(zkwire_tests::bin("zk-dump"))
            .args(args)
            .output()
            .expect("run zk-dump")
    };
    let out = run(&["-r", &file, "-r", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only with zk-dump --trace-writes"));
    let out = run(&["-r", &file, "-r", "/nonexistent/s2.pcap", "--trace-writes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/s2.pcap"));
    assert!(out.stdout.is_empty());
}
