//! The whole ensemble story, live: a real three-server ZooKeeper 3.8 ensemble is captured on all
//! three ports from before it starts (tcpdump on `lo`), driven by three client implementations
//! (kazoo, the C client's cli_mt, the Java client's zkCli.sh), its leader is killed, writes
//! continue through the election, and the old leader comes back and is synced. Then:
//! * zab-dump's proposals equal the servers' own transaction logs (TxnLogToolkit), every one
//!   committed, and the restarted server's sync is seen;
//! * fle-dump's elections name the leaders the servers themselves reported, in order;
//! * zk-dump decodes every client's traffic with no error, and kazoo's requests equal its log.
//!
//! Needs root, Java, ZooKeeper, zookeeper-bin, kazoo and tcpdump; see `common::ensemble`.

mod common;

use common::ensemble::{live_tests_can_run, Ensemble, Watched, CLI_MT, SYSTEM_PYTHON, ZK_CLI};
use common::scratch;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const CLIENT_PORT: u16 = 14181;

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn tool(name: &str) -> Command {
    Command::new(zkwire_tests::bin(name))
}

/// One unlabelled series of the daemon's /metrics at `addr` (plain HTTP over loopback).
fn metric(addr: &str, name: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn kazoo(ensemble: &Ensemble, hosts: &str, truth: &Path, phase: &str) {
    let out = Command::new(SYSTEM_PYTHON)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("live/kazoo_workload.py"))
        .arg(hosts)
        .arg(truth)
        .arg(phase)
        .output()
        .expect("kazoo");
    assert!(
        out.status.success(),
        "kazoo {phase}: {}; logs in {}",
        String::from_utf8_lossy(&out.stderr),
        ensemble.dir.display()
    );
}

#[test]
fn capture_of_a_failover_matches_the_servers_and_clients_own_records() {
    if !live_tests_can_run() {
        return;
    }
    let dir = scratch("live-failover");
    let pcap = dir.join("ensemble.pcap");
    let (q, e) = (CLIENT_PORT + 707, CLIENT_PORT + 1707);
    let mut tcpdump_cmd = Command::new("tcpdump");
    tcpdump_cmd
        .args(["-i", "lo", "-s", "0", "-U", "-w"])
        .arg(&pcap);
    tcpdump_cmd.arg(format!(
        "tcp port {CLIENT_PORT} or tcp port {q} or tcp port {e}"
    ));
    let tcpdump = Watched::spawn(tcpdump_cmd);
    tcpdump.wait_stderr("listening on", Duration::from_secs(30));

    let mut ensemble = Ensemble::start(&dir, CLIENT_PORT);
    let first = ensemble.wait_for_quorum(Duration::from_secs(120));
    let truth = dir.join("kazoo.jsonl");
    kazoo(&ensemble, &ensemble.hosts(), &truth, "a");
    // The C client, one session per command.
    for cmd in [
        "cmd:create /c-cli",
        "cmd:get /c-cli",
        "cmd:ls2 /",
        "cmd:delete /c-cli",
    ] {
        let out = Command::new(CLI_MT)
            .arg(ensemble.hosts())
            .arg(cmd)
            .output()
            .expect("cli_mt");
        assert!(
            out.status.success(),
            "cli_mt {cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The Java client.
    let out = Command::new(ZK_CLI)
        .args([
            "-server",
            &format!("127.0.0.{first}:{CLIENT_PORT}"),
            "create",
            "/java-cli",
            "from-zkcli",
        ])
        .output()
        .expect("zkCli.sh");
    assert!(
        out.status.success(),
        "zkCli.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // fle-dump started on the running ensemble, as operators do (issue 22 item 1): the
    // election connections are already open, so no initial message tells who sent what.
    let mut late_cmd = tool("fle-dump");
    late_cmd.args([
        "-i",
        "lo",
        "--port",
        &e.to_string(),
        "--summary",
        "--format",
        "json",
        "--limit",
        "0",
    ]);
    let late = Watched::spawn(late_cmd);
    late.wait_stderr("listening on", Duration::from_secs(30));

    // zk-stats-daemon on the running ensemble too (issue 19): a leader change is a counter
    // that moves on /metrics.
    let mut daemon_cmd = tool("zk-stats-daemon");
    daemon_cmd.args([
        "-i",
        "lo",
        "--port",
        &CLIENT_PORT.to_string(),
        "--quorum-port",
        &q.to_string(),
        "--election-port",
        &e.to_string(),
        "--http-addr",
        "127.0.0.1:0",
    ]);
    let daemon = Watched::spawn(daemon_cmd);
    let metrics_at = daemon.wait_serving();
    assert_eq!(
        metric(&metrics_at, "zkwire_leader_changes_total"),
        Some(0.0)
    );

    // Kill the leader; write through the election; bring it back.
    ensemble.kill(first);
    let others: Vec<u8> = (1..=3).filter(|i| *i != first).collect();
    let hosts: Vec<String> = others
        .iter()
        .map(|i| format!("127.0.0.{i}:{CLIENT_PORT}"))
        .collect();
    kazoo(&ensemble, &hosts.join(","), &truth, "b");
    let second = ensemble.wait_for_leader(&others, Duration::from_secs(120));
    // The daemon saw the election: one leader change, to the leader the servers report.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&metrics_at, "zkwire_leader_id") != Some(f64::from(second)) {
        assert!(
            Instant::now() < deadline,
            "zk-stats-daemon never named leader {second}: leader {:?}, {:?} changes",
            metric(&metrics_at, "zkwire_leader_id"),
            metric(&metrics_at, "zkwire_leader_changes_total")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        metric(&metrics_at, "zkwire_leader_changes_total"),
        Some(1.0)
    );
    ensemble.start_server(first);
    assert_eq!(
        ensemble.wait_for_quorum(Duration::from_secs(120)),
        second,
        "the old leader rejoins as a follower"
    );

    // Stop the capture once it holds the restarted server's sync.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = tool("zab-dump")
            .args([
                "-q",
                "--port",
                &q.to_string(),
                "--format",
                "json",
                "--summary",
                "--limit",
                "0",
                "-r",
            ])
            .arg(&pcap)
            .output()
            .expect("zab-dump");
        let summary = json_lines(&out.stdout).pop().unwrap_or(Value::Null);
        let synced = summary["summary"]["syncs"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["sid"] == first && s["duration_ms"].is_number())
        });
        if synced {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted server's sync never reached the capture"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = tcpdump.interrupt();
    // The old leader rejoining is an election, not a leader change.
    assert_eq!(
        metric(&metrics_at, "zkwire_leader_changes_total"),
        Some(1.0)
    );
    assert_eq!(
        metric(&metrics_at, "zkwire_leader_id"),
        Some(f64::from(second))
    );
    let _ = daemon.interrupt();

    // ZAB: every logged transaction proposed with the same type, session, cxid and path, and
    // committed.
    let out = tool("zab-dump")
        .args(["-q", "--port", &q.to_string(), "--format", "json", "-r"])
        .arg(&pcap)
        .output()
        .expect("zab");
    assert!(out.status.success());
    let checked = ensemble.assert_proposals_match_the_logs(&json_lines(&out.stdout));
    assert!(checked > 100, "{checked} transactions");

    // FLE: the elections name the leaders the servers reported.
    let out = tool("fle-dump")
        .args([
            "-q",
            "--port",
            &e.to_string(),
            "--format",
            "json",
            "--summary",
            "--limit",
            "0",
            "-r",
        ])
        .arg(&pcap)
        .output()
        .expect("fle-dump");
    let elections: Vec<Value> = json_lines(&out.stdout)
        .into_iter()
        .map(|m| m["election"].clone())
        .collect();
    let elected: Vec<i64> = elections
        .iter()
        .filter(|e| e["joined_existing_leader"] == false)
        .filter_map(|e| e["leader"].as_i64())
        .collect();
    assert_eq!(elected, vec![first as i64, second as i64], "{elections:?}");
    let rejoin = elections.last().expect("elections");
    assert_eq!(rejoin["joined_existing_leader"], true, "{rejoin}");
    assert_eq!(rejoin["looking"], serde_json::json!([first]));

    // The late-started fle-dump: the failover's election by the survivors alone, then the
    // old leader's rejoin, never merged, never with an elector that sent nothing in it.
    let (_, late_out, _) = late.interrupt();
    let late_elections: Vec<Value> = late_out
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|m| m.get("election").cloned())
        .collect();
    let summary = |e: &Value| (e["leader"].clone(), e["joined_existing_leader"].clone());
    assert_eq!(
        late_elections.iter().map(summary).collect::<Vec<_>>(),
        vec![
            (serde_json::json!(second), serde_json::json!(false)),
            (serde_json::json!(second), serde_json::json!(true)),
        ],
        "{late_elections:#?}"
    );
    let electors = late_elections[0]["looking"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !electors.contains(&serde_json::json!(first)),
        "{late_elections:#?}"
    );
    assert_eq!(late_elections[1]["looking"], serde_json::json!([first]));

    // Client port: every client's traffic decodes; kazoo's requests equal its own log.
    let stats = dir.join("zk-stats.json");
    let out = tool("zk-dump")
        .args([
            "-q",
            "--port",
            &CLIENT_PORT.to_string(),
            "--format",
            "json",
            "-p",
            "--stats-json",
        ])
        .arg(&stats)
        .arg("-r")
        .arg(&pcap)
        .output()
        .expect("zk-dump");
    assert!(out.status.success());
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).expect("stats")).expect("json");
    assert_eq!(s["zk"]["decode_errors"], 0, "{s}");
    let messages = json_lines(&out.stdout);
    let truth_text = std::fs::read_to_string(&truth).expect("truth");
    let kazoo_ports: HashSet<u64> = truth_text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["client_port"].as_u64())
        .collect();
    let mut want: HashMap<(u64, Option<i64>, Option<String>), usize> = HashMap::new();
    for l in truth_text.lines() {
        let t: Value = serde_json::from_str(l).expect("truth line");
        let Some(port) = t["client_port"].as_u64() else {
            continue;
        };
        *want
            .entry((
                port,
                t["opcode"].as_i64(),
                t["path"].as_str().map(str::to_string),
            ))
            .or_default() += 1;
    }
    let mut got: HashMap<(u64, Option<i64>, Option<String>), usize> = HashMap::new();
    for m in messages
        .iter()
        .filter(|m| m["dir"] == "request" || m["dir"] == "connect")
    {
        let port: u64 = m["client"]
            .as_str()
            .and_then(|c| c.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .expect("port");
        if kazoo_ports.contains(&port) {
            *got.entry((
                port,
                m["opcode"].as_i64(),
                m["path"].as_str().map(str::to_string),
            ))
            .or_default() += 1;
        }
    }
    assert_eq!(got, want, "kazoo's requests versus its own log");
    // The C and Java clients' writes are on the wire too.
    assert!(messages
        .iter()
        .any(|m| m["type"] == "CreateRequest" && m["path"] == "/java-cli"));
    for (kind, path) in [
        ("CreateRequest", "/c-cli"),
        ("GetDataRequest", "/c-cli"),
        ("DeleteRequest", "/c-cli"),
    ] {
        assert!(
            messages
                .iter()
                .any(|m| m["type"] == kind && m["path"] == path),
            "{kind} {path}"
        );
    }
}
