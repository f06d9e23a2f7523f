//! Live tests against a real ZooKeeper 3.8 ensemble (Debian's `zookeeper` package): zk-dump
//! captures `lo` through libpcap while kazoo drives a workload and logs, from inside the client,
//! every request it writes to its socket. The decoded requests must equal that log exactly, and
//! a tcpdump capture of the same traffic, read back by zk-dump, must decode identically.
//!
//! Needs root, Java, the ZooKeeper jars, kazoo and tcpdump; see `common::ensemble`.

mod common;

use common::ensemble::{live_tests_can_run, wait_line, Ensemble, Watched, SYSTEM_PYTHON};
use common::scratch;
use common::tmux::Tmux;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CLIENT_PORT: u16 = 12181;

type Key = (u64, Option<i64>, Option<String>);

fn key_of(port: Option<u64>, opcode: &Value, path: &Value) -> Key {
    (
        port.expect("client port"),
        opcode.as_i64(),
        path.as_str().map(str::to_string),
    )
}

fn multiset(keys: impl IntoIterator<Item = Key>) -> HashMap<Key, usize> {
    let mut m = HashMap::new();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    m
}

fn requests_of(lines: &[Value]) -> HashMap<Key, usize> {
    multiset(
        lines
            .iter()
            .filter(|m| m["dir"] == "request" || m["dir"] == "connect")
            .map(|m| {
                let port = m["client"]
                    .as_str()
                    .and_then(|c| c.rsplit(':').next())
                    .and_then(|p| p.parse().ok());
                key_of(port, &m["opcode"], &m["path"])
            }),
    )
}

fn parse_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The messages without their timestamps and latencies: two capture sockets may stamp the same
/// packet a microsecond apart.
fn without_times(lines: &[Value]) -> Vec<Value> {
    lines
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if let Some(o) = m.as_object_mut() {
                o.remove("ts");
                o.remove("latency_us");
            }
            m
        })
        .collect()
}

#[test]
fn live_capture_of_a_real_ensemble_matches_the_clients_own_log() {
    if !live_tests_can_run() {
        return;
    }
    let dir = scratch("live-ensemble");
    let ensemble = Ensemble::start(&dir, CLIENT_PORT);
    ensemble.wait_for_quorum(Duration::from_secs(90));

    let filter = format!("tcp port {CLIENT_PORT}");
    let pcap = dir.join("tcpdump.pcap");
    let mut tcpdump_cmd = Command::new("tcpdump");
    tcpdump_cmd
        .args(["-i", "lo", "-s", "0", "-U", "-w"])
        .arg(&pcap)
        .arg(&filter);
    let tcpdump = Watched::spawn(tcpdump_cmd);
    tcpdump.wait_stderr("listening on", Duration::from_secs(30));

    let mut zk_dump_cmd = Command::new(zkwire_tests::bin("zk-dump"));
    zk_dump_cmd.args([
        "-i",
        "lo",
        "--port",
        &CLIENT_PORT.to_string(),
        "--format",
        "json",
        "--include-pings",
    ]);
    // Open the capture as root, then run as nobody (tcpdump's -Z).
    zk_dump_cmd.args(["-Z", "nobody"]);
    let zk_dump = Watched::spawn(zk_dump_cmd);
    zk_dump.wait_stderr("listening on lo", Duration::from_secs(30));
    let status = std::fs::read_to_string(format!("/proc/{}/status", zk_dump.child.id()))
        .expect("proc status");
    let uids = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("Uid line");
    assert!(
        uids.split_whitespace().skip(1).all(|u| u != "0"),
        "still root after -Z: {uids}"
    );

    // An analysis mode live, side by side: request counts by path.
    let mut counts_cmd = Command::new(zkwire_tests::bin("zk-dump"));
    counts_cmd.args([
        "-i",
        "lo",
        "--port",
        &CLIENT_PORT.to_string(),
        "--format",
        "json",
        "-p",
        "-q",
    ]);
    counts_cmd.args(["--count-requests", "0", "--group-by", "path"]);
    let counts = Watched::spawn(counts_cmd);
    counts.wait_stderr("listening on lo", Duration::from_secs(30));
    // The other analysis modes live too; each must equal the same mode run on tcpdump's file.
    let modes: [&[&str]; 4] = [
        &["--sessions"],
        &["--errors"],
        &["--top-watches"],
        &["--measure-latency", "0", "--group-by", "type"],
    ];
    let analyses: Vec<(&[&str], Watched)> = modes
        .iter()
        .map(|mode| {
            let mut cmd = Command::new(zkwire_tests::bin("zk-dump"));
            cmd.args([
                "-i",
                "lo",
                "--port",
                &CLIENT_PORT.to_string(),
                "--format",
                "json",
                "-q",
            ]);
            cmd.args(*mode);
            let w = Watched::spawn(cmd);
            w.wait_stderr("listening on lo", Duration::from_secs(30));
            (*mode, w)
        })
        .collect();

    // zk-top live in a real terminal (issue 18): non-zero rates while the workload runs.
    let top = Tmux::start(
        "live",
        &format!(
            "{} -i lo --port {CLIENT_PORT} --interval 1 -q; echo \"zk-top exited $?\"; sleep 600",
            zkwire_tests::bin("zk-top")
        ),
    );
    top.wait_for("zk-top to start", |screen| {
        screen.contains("capture: packets")
    });

    let truth_path = dir.join("truth.jsonl");
    let running = Command::new(SYSTEM_PYTHON)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("live/kazoo_workload.py"))
        .arg(ensemble.hosts())
        .arg(&truth_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the kazoo workload");
    let busy = top.wait_for("a non-zero request rate on zk-top", |screen| {
        screen.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.len() == 4
                && cells[0].ends_with("Request")
                && cells[1].parse::<f64>().is_ok_and(|rate| rate > 0.0)
        })
    });
    let workload = running.wait_with_output().expect("the kazoo workload");
    top.keys(&["q"]);
    top.wait_for("zk-top to exit", |screen| {
        screen.contains("zk-top exited 0")
    });
    assert!(busy.contains("kernel drops 0"), "{busy}");
    assert!(
        workload.status.success(),
        "workload failed: {}",
        String::from_utf8_lossy(&workload.stderr)
    );

    // The client's last request is closeSession: once its reply is decoded, everything before it
    // on that connection has been too.
    let mut live_lines = Vec::new();
    wait_line(
        &zk_dump.stdout,
        "\"CloseReply\"",
        Duration::from_secs(60),
        &mut live_lines,
    );
    let (status, rest, stderr) = zk_dump.interrupt();
    live_lines.extend(rest);
    assert!(status.success(), "zk-dump: {status}: {stderr:?}");
    let summary = stderr
        .iter()
        .find(|l| l.contains("packets"))
        .expect("summary line");
    assert!(summary.contains("0 decode errors"), "{summary}");
    assert!(
        summary.contains("0 kernel drops"),
        "live runs report kernel drops: {summary}"
    );
    // tcpdump writes each packet as it handles it (-U) but may lag behind: stop it only once
    // its file holds the close too.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let so_far = Command::new(zkwire_tests::bin("zk-dump"))
            .args([
                "-q",
                "--port",
                &CLIENT_PORT.to_string(),
                "--format",
                "json",
                "-r",
            ])
            .arg(&pcap)
            .output()
            .expect("zk-dump -r");
        if String::from_utf8_lossy(&so_far.stdout).contains("\"CloseReply\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tcpdump never wrote the close"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, _, tcpdump_err) = tcpdump.interrupt();

    // Ctrl-C still reads what the kernel had queued, so the counts are complete.
    let (status, count_lines, _) = counts.interrupt();
    let analyses: Vec<(&[&str], Vec<String>)> = analyses
        .into_iter()
        .map(|(mode, w)| (mode, w.interrupt().1))
        .collect();
    assert!(status.success());
    let live = parse_lines(&live_lines);
    let truth_text = std::fs::read_to_string(&truth_path).expect("truth log");
    let truth = multiset(truth_text.lines().map(|l| {
        let t: Value = serde_json::from_str(l).expect("truth line");
        key_of(t["client_port"].as_u64(), &t["opcode"], &t["path"])
    }));
    assert!(truth.values().sum::<usize>() > 150);
    assert_eq!(
        requests_of(&live),
        truth,
        "live decode versus the client's own log"
    );
    let mut truth_by_path: HashMap<String, u64> = HashMap::new();
    for ((_, _, path), n) in &truth {
        *truth_by_path
            .entry(path.clone().unwrap_or_else(|| "(none)".into()))
            .or_default() += *n as u64;
    }
    let live_counts: HashMap<String, u64> = parse_lines(&count_lines)
        .iter()
        .map(|m| {
            (
                m["path"].as_str().expect("path").to_string(),
                m["count"].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        live_counts, truth_by_path,
        "live --count-requests versus the client's own log"
    );
    assert!(live
        .iter()
        .all(|m| m["type"] != "unknown" && m["type"] != "DecodeError"));
    assert!(live.iter().any(|m| m["type"] == "EventNodeDataChanged"));
    assert!(live
        .iter()
        .any(|m| m["type"] == "GetDataReply" && m["data_len"] == 300 * 1024));

    // The same traffic captured by tcpdump and read back decodes to the same messages.
    let from_file = Command::new(zkwire_tests::bin("zk-dump"))
        .args([
            "--port",
            &CLIENT_PORT.to_string(),
            "--format",
            "json",
            "--include-pings",
            "-r",
        ])
        .arg(&pcap)
        .output()
        .expect("zk-dump -r");
    assert!(from_file.status.success());
    let file_lines: Vec<String> = String::from_utf8_lossy(&from_file.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let file = parse_lines(&file_lines);
    let file_requests = requests_of(&file);
    if file_requests != truth {
        let missing: Vec<_> = truth
            .iter()
            .filter(|(k, n)| file_requests.get(*k) != Some(n))
            .take(10)
            .collect();
        panic!("file decode versus the client's own log: {} vs {} requests; first differences {missing:?}; tcpdump said {tcpdump_err:?}; zk-dump said {}",
            file_requests.values().sum::<usize>(), truth.values().sum::<usize>(), String::from_utf8_lossy(&from_file.stderr));
    }
    let (file, live) = (without_times(&file), without_times(&live));
    if let Some(i) = (0..file.len().max(live.len())).find(|&i| file.get(i) != live.get(i)) {
        panic!(
            "live and file decodes differ at message {i} of {}/{}: file {:?} live {:?}",
            file.len(),
            live.len(),
            file.get(i),
            live.get(i)
        );
    }

    // Every analysis mode gave, live, what it gives on the file (latencies aside: two capture
    // sockets may stamp a packet a microsecond apart).
    for (mode, live_rows) in analyses {
        let from_file = Command::new(zkwire_tests::bin("zk-dump"))
            .args([
                "-q",
                "--port",
                &CLIENT_PORT.to_string(),
                "--format",
                "json",
                "-r",
            ])
            .arg(&pcap)
            .args(mode)
            .output()
            .expect("zk-dump -r");
        let file_rows: Vec<String> = String::from_utf8_lossy(&from_file.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        // Every watch of this workload fires or ends with its session (issue 22 item 2: the
        // one on /live/stays-absent was listed after its session closed), so --top-watches is
        // rightly empty.
        if mode[0] == "--top-watches" {
            assert!(
                file_rows.is_empty(),
                "watches of ended sessions: {file_rows:?}"
            );
        } else {
            assert!(!file_rows.is_empty(), "{mode:?} printed nothing");
        }
        if mode[0] == "--measure-latency" {
            let counts = |rows: &[String]| -> Vec<(String, u64)> {
                let mut v: Vec<(String, u64)> = parse_lines(rows)
                    .iter()
                    .map(|r| {
                        (
                            r["type"].as_str().unwrap_or("").to_string(),
                            r["count"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect();
                v.sort();
                v
            };
            assert_eq!(counts(&live_rows), counts(&file_rows), "{mode:?}");
        } else {
            let (mut a, mut b) = (
                without_times(&parse_lines(&live_rows)),
                without_times(&parse_lines(&file_rows)),
            );
            for rows in [&mut a, &mut b] {
                for r in rows.iter_mut() {
                    if let Some(o) = r.as_object_mut() {
                        // Session lifetimes come from packet times too.
                        for k in ["first_seen", "last_seen", "lifetime_s"] {
                            o.remove(k);
                        }
                    }
                }
                rows.sort_by_key(|r| r.to_string());
            }
            assert_eq!(a, b, "{mode:?}: live and file differ");
        }
    }
}
