//! End-to-end tests of the `zk-dump` binary on the real captures shipped in `tests/data`
//! (copied from the shared corpus: ZooKeeper 3.8.0 ensembles with independent ground truth).

mod common;

use common::{data_dir, has_tcp_payload, scratch, Pcap, Rng};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const ZK38: &str = "zk38-mtu1500.pcap";
const A_PORTS: [&str; 8] = [
    "--port", "22181", "--port", "22182", "--port", "22183", "--port", "22184",
];

fn zk_dump(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zk-dump"))
        .args(args)
        .output()
        .expect("run zk-dump")
}

fn capture(name: &str) -> String {
    data_dir().join(name).display().to_string()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn stats_of(extra: &[&str], file: &str) -> (Output, Value) {
    let dir = scratch(&format!("stats-{}-{}", file, extra.len()));
    let stats = dir.join("stats.json");
    let stats_arg = stats.display().to_string();
    let path = capture(file);
    let mut args = vec![
        "-r",
        path.as_str(),
        "-q",
        "--format",
        "json",
        "--stats-json",
        stats_arg.as_str(),
    ];
    args.extend_from_slice(extra);
    let out = zk_dump(&args);
    let text = std::fs::read_to_string(&stats).expect("stats json written");
    (out, serde_json::from_str(&text).expect("stats json"))
}

type Key = (u64, Option<i64>, Option<String>);

fn request_key(client_port: u64, opcode: &Value, path: &Value) -> Key {
    (
        client_port,
        opcode.as_i64(),
        path.as_str().map(str::to_string),
    )
}

fn count(keys: impl IntoIterator<Item = Key>) -> HashMap<Key, usize> {
    let mut m = HashMap::new();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    m
}

#[test]
fn requests_equal_the_clients_own_wire_log() {
    let truth_text =
        std::fs::read_to_string(data_dir().join("zk38-mtu1500.truth.jsonl")).expect("truth");
    let truth = count(truth_text.lines().map(|l| {
        let t: Value = serde_json::from_str(l).expect("truth line");
        request_key(
            t["client_port"].as_u64().expect("port"),
            &t["opcode"],
            &t["path"],
        )
    }));
    let out = zk_dump(&[
        "-r",
        &capture(ZK38),
        "--format",
        "json",
        "--include-pings",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = count(
        json_lines(&out)
            .into_iter()
            .filter(|m| m["dir"] == "request" || m["dir"] == "connect")
            .map(|m| {
                let port = m["client"]
                    .as_str()
                    .and_then(|c| c.rsplit(':').next())
                    .and_then(|p| p.parse().ok());
                request_key(port.expect("client port"), &m["opcode"], &m["path"])
            }),
    );
    assert!(truth.values().sum::<usize>() > 500);
    assert_eq!(ours, truth);
}

#[test]
fn every_capture_decodes_with_no_errors_and_every_reply_typed() {
    for (file, ports) in [
        (ZK38, &["--port", "2181"][..]),
        ("zk380-A.pcap", &A_PORTS[..]),
        ("zk380-B.pcap", &A_PORTS[..]),
    ] {
        let (out, stats) = stats_of(ports, file);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let zk = &stats["zk"];
        assert_eq!(zk["decode_errors"], 0, "{file}: {zk}");
        assert_eq!(zk["unmatched_replies"], 0, "{file}: {zk}");
        assert_eq!(stats["capture"]["gaps"], 0, "{file}");
        assert!(zk["typed_replies"].as_u64() > Some(5), "{file}: {zk}");
        assert!(zk["four_letter_words"].as_u64() > Some(0), "{file}: {zk}");
        // Everything the client asked got an answer, except requests cut off by a killed server.
        let lines = json_lines(&out);
        for m in lines.iter().filter(|m| m["dir"] == "reply") {
            assert_ne!(m["type"], "unknown", "{file}: {m}");
            assert!(
                m["opcode"].is_i64() && m["latency_us"].is_u64() && m["zxid"].is_string(),
                "{file}: {m}"
            );
        }
    }
}

#[test]
fn reply_fields_follow_their_request() {
    let out = zk_dump(&[
        "-r",
        &capture("zk380-A.pcap"),
        "--format",
        "json",
        "-q",
        "--port",
        "22181",
        "--port",
        "22182",
    ]);
    let lines = json_lines(&out);
    let find = |kind: &str| {
        lines
            .iter()
            .find(|m| m["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
            .clone()
    };
    let children = find("GetChildrenReply");
    assert_eq!(children["path"], "/p");
    assert!(children["children"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    let nonode = lines
        .iter()
        .find(|m| m["type"] == "ExistsReply" && m["err"] == -101)
        .expect("NONODE reply");
    assert_eq!(nonode["error"], "NONODE");
    let failed_multi = lines
        .iter()
        .find(|m| m["type"] == "MultiReply" && m["results"][1]["err"] == -103);
    assert!(failed_multi.is_some(), "failed multi with per-op errors");
    let event = find("EventNodeDataChanged");
    assert_eq!(event["dir"], "event");
    assert_eq!(event["path"], "/p");
    let connect = find("ConnectReply");
    assert!(connect["session"]
        .as_str()
        .is_some_and(|s| s.starts_with("0x")));
}

#[test]
fn secrets_are_redacted_unless_asked_for() {
    let base = [
        "-r",
        &capture("zk380-A.pcap"),
        "--format",
        "json",
        "-q",
        "--port",
        "22181",
        "--port",
        "22182",
    ];
    let hidden = zk_dump(&base);
    let auth: Vec<Value> = json_lines(&hidden)
        .into_iter()
        .filter(|m| m["type"] == "SetAuthRequest")
        .collect();
    assert!(!auth.is_empty());
    for m in &auth {
        assert!(
            m.get("credential").is_none() && m["auth_len"].as_u64() > Some(0),
            "{m}"
        );
    }
    assert!(json_lines(&hidden)
        .iter()
        .all(|m| m.get("token").is_none() && m.get("passwd").is_none()));
    let mut shown_args = base.to_vec();
    shown_args.push("--show-secrets");
    let shown = zk_dump(&shown_args);
    let cred: Vec<String> = json_lines(&shown)
        .into_iter()
        .filter(|m| m["type"] == "SetAuthRequest")
        .map(|m| {
            m["credential"]
                .as_str()
                .expect("credential shown")
                .to_string()
        })
        .collect();
    assert!(cred.iter().all(|c| c.contains(':')), "{cred:?}");
    let hidden_text = String::from_utf8_lossy(&zk_dump(&base[..8]).stdout).to_string();
    for c in &cred {
        assert!(
            !hidden_text.contains(c.as_str()),
            "credential leaked into text output"
        );
    }
}

#[test]
fn text_output_is_zktraffic_style_and_paired() {
    let out = zk_dump(&["-r", &capture(ZK38), "-q"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 500);
    for l in &lines {
        let time = l.get(..15).expect("timestamp");
        assert!(
            time.chars()
                .enumerate()
                .all(|(i, c)| if [2, 5, 8].contains(&i) {
                    c == ':'
                } else {
                    c.is_ascii_digit()
                }),
            "{l}"
        );
        assert!(
            !l.contains('\u{1b}'),
            "no colour when not on a terminal: {l}"
        );
    }
    let exists = lines
        .iter()
        .position(|l| l.contains(" ExistsRequest(xid=2, path=/, "))
        .expect("request line");
    assert!(
        lines[exists + 1].contains("————► ExistsReply(xid=2, path=/"),
        "{}",
        lines[exists + 1]
    );
    let coloured = zk_dump(&[
        "-r",
        &capture(ZK38),
        "-q",
        "--color",
        "always",
        "--limit",
        "3",
    ]);
    assert!(String::from_utf8_lossy(&coloured.stdout).contains('\u{1b}'));
}

#[test]
fn limit_and_filters() {
    let out = zk_dump(&[
        "-r",
        &capture(ZK38),
        "-q",
        "--format",
        "json",
        "--limit",
        "7",
    ]);
    assert_eq!(json_lines(&out).len(), 7);
    let out = zk_dump(&[
        "-r",
        &capture(ZK38),
        "-q",
        "--format",
        "json",
        "--path-prefix",
        "/corpus/n00",
    ]);
    let lines = json_lines(&out);
    assert!(lines.len() > 10);
    assert!(lines.iter().all(|m| m["path"]
        .as_str()
        .is_some_and(|p| p.starts_with("/corpus/n00"))));
    let out = zk_dump(&[
        "-r",
        &capture(ZK38),
        "-q",
        "--format",
        "json",
        "--client-port",
        "37620",
    ]);
    let lines = json_lines(&out);
    assert!(lines.len() > 10);
    assert!(lines.iter().all(|m| m["client"] == "127.0.0.1:37620"));
    let no_pings = json_lines(&zk_dump(&["-r", &capture(ZK38), "-q", "--format", "json"]));
    assert!(no_pings
        .iter()
        .all(|m| m["type"] != "PingRequest" && m["type"] != "PingReply"));
    let pings = json_lines(&zk_dump(&[
        "-r",
        &capture(ZK38),
        "-q",
        "--format",
        "json",
        "-p",
    ]));
    assert!(pings
        .iter()
        .any(|m| m["type"] == "PingReply" && m["latency_us"].is_u64()));
}

#[test]
fn reads_standard_input_like_a_file() {
    let path = data_dir().join("zk380-B.pcap");
    let from_file = zk_dump(&[
        "-r",
        &path.display().to_string(),
        "--format",
        "json",
        "-q",
        "--port",
        "22181",
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_zk-dump"))
        .args(["-r", "-", "--format", "json", "-q", "--port", "22181"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let bytes = std::fs::read(&path).expect("read");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("pipe");
    let from_stdin = child.wait_with_output().expect("wait");
    assert!(from_stdin.status.success());
    assert!(!from_file.stdout.is_empty());
    assert_eq!(from_stdin.stdout, from_file.stdout);
}

#[test]
fn exit_codes_and_error_messages() {
    let missing = zk_dump(&["-r", "/nonexistent/capture.pcap"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("/nonexistent/capture.pcap") && !err.contains("panicked"),
        "{err}"
    );

    let dir = scratch("exit-codes");
    let junk = dir.join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture file at all").expect("write");
    let out = zk_dump(&["-r", &junk.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng"));

    let bytes = std::fs::read(data_dir().join(ZK38)).expect("read");
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).expect("write");
    let out = zk_dump(&["-r", &cut.display().to_string(), "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "damaged input has its own exit code"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("offset"));
    assert!(json_lines(&out).len() > 100, "what was readable is decoded");

    let usage = zk_dump(&["--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
    let help = zk_dump(&["--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples:"));
}

#[test]
fn survives_loss_and_a_mid_stream_start() {
    let dir = scratch("zk-damaged");
    let pcap = Pcap::read(&data_dir().join(ZK38));
    let mut rng = Rng(7);
    let mut lossy = Pcap {
        header: pcap.header.clone(),
        records: Vec::new(),
    };
    for (i, r) in pcap.records.iter().enumerate() {
        // Start mid-stream (skip the first 150 packets: elections, handshakes), then lose 3%.
        if i < 150 || (has_tcp_payload(&r.data) && rng.chance(3)) {
            continue;
        }
        lossy.records.push(r.clone());
    }
    let path = dir.join("lossy.pcap");
    lossy.write(&path);
    let stats_path = dir.join("stats.json");
    let out = zk_dump(&[
        "-r",
        &path.display().to_string(),
        "--format",
        "json",
        "-q",
        "--stats-json",
        &stats_path.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: Value =
        serde_json::from_str(&std::fs::read_to_string(&stats_path).expect("stats")).expect("json");
    assert!(stats["capture"]["gaps"].as_u64() > Some(0));
    assert!(stats["zk"]["resyncs"].as_u64() > Some(0), "{stats}");
    let lines = json_lines(&out);
    let requests = lines.iter().filter(|m| m["dir"] == "request").count();
    assert!(requests > 400, "most requests still decoded: {requests}");
    // Replies are typed again once their requests are seen.
    let typed = lines
        .iter()
        .filter(|m| m["dir"] == "reply" && m["type"] != "unknown")
        .count();
    assert!(typed > 400, "{typed}");
}

#[test]
fn shipped_capture_has_the_expected_origin_note() {
    // The README's first command runs on this file: keep it shipped.
    assert!(Path::new(&capture(ZK38)).exists());
}
