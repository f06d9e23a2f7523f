//! Live TLS (issue 17): a real three-server ZooKeeper 3.8 ensemble serving clients on a
//! `secureClientPort` (Netty, JSSE) and running its quorum and election links over TLS
//! (`sslQuorum`), with a keystore and truststore made here by `keytool`. tcpdump captures all
//! three ports from before the ensemble starts; kazoo drives the usual workloads over TLS with
//! Python's key log, one connection per cipher suite. Then:
//! * zk-dump, live and on tcpdump's file, decrypts every client connection with the key log and
//!   decodes exactly the requests kazoo logged writing them; without the key log it shows only
//!   what the handshake tells in clear; with wrong secrets every connection fails by name and
//!   nothing is decoded;
//! * zab-dump's proposals, decrypted with a key log derived by tshark from the servers' RSA key
//!   (the quorum uses RSA key exchange so that one can be derived: a JVM writes no key log),
//!   equal the servers' transaction logs, and fle-dump decodes the election that made the
//!   leader;
//! * TLS 1.3 (which Debian's ZooKeeper 3.8.0, through Netty 4.1.48, does not offer) is decoded
//!   for each of its three suites, and TLS 1.2's ChaCha20-Poly1305 (which that server does not
//!   negotiate either), through a TLS front (`live/tls_proxy.py`, OpenSSL) relaying kazoo's
//!   session to the ensemble's plaintext port.
//!
//! Needs root, Java, ZooKeeper, kazoo, tcpdump, tshark and openssl; see `common::ensemble`.

mod common;

use common::ensemble::{live_tests_can_run, wait_line, Ensemble, Watched, SYSTEM_PYTHON};
use common::scratch;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const CLIENT_PORT: u16 = 18181;
const SECURE_PORT: u16 = 18281;
const PROXY_PORT: u16 = 18381;
const PASSWORD: &str = "zkwire-test";

fn tool(name: &str) -> Command {
    Command::new(zkwire_tests::bin(name))
}

fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// (client port, opcode, path) of every request or connect line, counted.
fn requests_of(lines: &[Value]) -> HashMap<(u64, i64, Option<String>), usize> {
    let mut m = HashMap::new();
    for l in lines {
        if l["dir"] != "request" && l["dir"] != "connect" {
            continue;
        }
        let port = l["client"]
            .as_str()
            .and_then(|c| c.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .expect("client port");
        let path = l["path"].as_str().map(str::to_string);
        *m.entry((port, l["opcode"].as_i64().unwrap_or(-100), path))
            .or_default() += 1;
    }
    m
}

/// The same from kazoo's own log of what it wrote.
fn truth_of(path: &Path) -> HashMap<(u64, i64, Option<String>), usize> {
    let mut m = HashMap::new();
    let text = std::fs::read_to_string(path).expect("truth log");
    for l in text.lines() {
        let t: Value = serde_json::from_str(l).expect("truth line");
        let port = t["client_port"].as_u64().expect("client port");
        // kazoo's Connect has no opcode attribute; zk-dump gives ConnectRequest none either.
        let opcode = t["opcode"].as_i64().unwrap_or(-100);
        let path = t["path"].as_str().map(str::to_string);
        *m.entry((port, opcode, path)).or_default() += 1;
    }
    m
}

/// A keystore with one RSA key and a self-signed certificate for the three server addresses, a
/// truststore holding that certificate, and the key and certificate as PEM (for tshark and the
/// TLS 1.3 front).
fn make_stores(dir: &Path) {
    let ks = dir.join("keystore.p12");
    ok(Command::new("keytool")
        .args([
            "-genkeypair",
            "-alias",
            "zk",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-dname",
            "CN=zk-test-server",
            "-ext",
            "SAN=ip:127.0.0.1,ip:127.0.0.2,ip:127.0.0.3",
            "-validity",
            "2",
            "-storetype",
            "PKCS12",
            "-storepass",
            PASSWORD,
            "-keypass",
            PASSWORD,
            "-keystore",
        ])
        .arg(&ks));
    let cert = dir.join("cert.pem");
    ok(Command::new("keytool")
        .args([
            "-exportcert",
            "-rfc",
            "-alias",
            "zk",
            "-storepass",
            PASSWORD,
        ])
        .arg("-keystore")
        .arg(&ks)
        .arg("-file")
        .arg(&cert));
    ok(Command::new("keytool")
        .args([
            "-importcert",
            "-noprompt",
            "-alias",
            "zk",
            "-storetype",
            "PKCS12",
        ])
        .args(["-storepass", PASSWORD, "-file"])
        .arg(&cert)
        .arg("-keystore")
        .arg(dir.join("truststore.p12")));
    let bag = ok(Command::new("openssl")
        .args(["pkcs12", "-nodes", "-nocerts", "-passin"])
        .arg(format!("pass:{PASSWORD}"))
        .arg("-in")
        .arg(&ks));
    // Plain PKCS#8 (tshark does not read the bag attributes openssl pkcs12 writes).
    let mut pkey = Command::new("openssl")
        .args(["pkey", "-out"])
        .arg(dir.join("key.pem"))
        .stdin(Stdio::piped())
        .spawn()
        .expect("openssl pkey");
    use std::io::Write;
    pkey.stdin
        .take()
        .expect("stdin")
        .write_all(&bag.stdout)
        .expect("key to openssl pkey");
    assert!(pkey.wait().expect("openssl pkey").success());
}

/// zoo.cfg lines for TLS: the secure client port (Netty), and TLS on the quorum and election
/// links with RSA key exchange (so that tshark can derive their keys from the server's key).
fn tls_config(dir: &Path, id: u8) -> String {
    let ks = dir.join("keystore.p12");
    let ts = dir.join("truststore.p12");
    let (ks, ts) = (ks.display(), ts.display());
    format!(
        "secureClientPortAddress=127.0.0.{id}\nsecureClientPort={SECURE_PORT}\n\
         serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
         ssl.keyStore.location={ks}\nssl.keyStore.password={PASSWORD}\n\
         ssl.trustStore.location={ts}\nssl.trustStore.password={PASSWORD}\n\
         ssl.clientAuth=none\nssl.hostnameVerification=false\n\
         ssl.ciphersuites={CLIENT_SUITES}\n\
         sslQuorum=true\n\
         ssl.quorum.keyStore.location={ks}\nssl.quorum.keyStore.password={PASSWORD}\n\
         ssl.quorum.trustStore.location={ts}\nssl.quorum.trustStore.password={PASSWORD}\n\
         ssl.quorum.hostnameVerification=false\n\
         ssl.quorum.protocol=TLSv1.2\nssl.quorum.enabledProtocols=TLSv1.2\n\
         ssl.quorum.ciphersuites=TLS_RSA_WITH_AES_128_GCM_SHA256\n"
    )
}

/// The TLS 1.2 suites the client port offers (ZooKeeper's default list has no RSA key
/// exchange).
const CLIENT_SUITES: &str = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,\
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,\
    TLS_RSA_WITH_AES_256_CBC_SHA256";

/// One kazoo run over TLS: (hosts, phase, TLS version, TLS 1.2 ciphers, TLS 1.3 suite).
struct Case {
    hosts: String,
    phase: &'static str,
    version: &'static str,
    ciphers: &'static str,
    suite13: &'static str,
    /// The IANA name zk-dump must report.
    expect_suite: &'static str,
}

fn run_kazoo(dir: &Path, case: &Case, keylog: &Path, truth: &Path) {
    let mut cmd = Command::new(SYSTEM_PYTHON);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("live/kazoo_workload.py"))
        .arg(&case.hosts)
        .arg(truth)
        .arg(case.phase)
        .env("ZKWIRE_TLS_KEYLOG", keylog)
        .env("ZKWIRE_TLS_VERSION", case.version)
        .env("ZKWIRE_TAG", format!("-{}", case.expect_suite));
    if !case.ciphers.is_empty() {
        cmd.env("ZKWIRE_TLS_CIPHERS", case.ciphers);
    }
    if !case.suite13.is_empty() {
        let conf = dir.join(format!("openssl-{}.cnf", case.suite13));
        std::fs::write(
            &conf,
            format!(
                "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = \
                 defaults\n[defaults]\nCiphersuites = {}\n",
                case.suite13
            ),
        )
        .expect("openssl.cnf");
        cmd.env("OPENSSL_CONF", conf);
    }
    ok(&mut cmd);
}

/// The TLS lines of a zk-dump JSON output, by client port.
fn tls_lines(lines: &[Value]) -> BTreeMap<u64, Vec<&Value>> {
    let mut m: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for l in lines.iter().filter(|l| l["dir"] == "tls") {
        let port = l["client"]
            .as_str()
            .and_then(|c| c.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .expect("client port");
        m.entry(port).or_default().push(l);
    }
    m
}

/// zk-stats-daemon replaying `pcap` with `keylog`: its `zkwire_tls_connections` series by
/// result, once the replay is done.
fn daemon_tls_counts(pcap: &Path, keylog: &Path) -> BTreeMap<String, f64> {
    let mut cmd = tool("zk-stats-daemon");
    cmd.arg("-r")
        .arg(pcap)
        .args([
            "--port",
            &SECURE_PORT.to_string(),
            "--port",
            &PROXY_PORT.to_string(),
        ])
        .args(["--http-addr", "127.0.0.1:0", "--tls-keylog"])
        .arg(keylog);
    let daemon = Watched::spawn(cmd);
    let base = daemon.wait_serving();
    let get = |path: &str| {
        let mut response = ureq::get(&format!("http://{base}{path}"))
            .call()
            .expect("HTTP GET");
        response.body_mut().read_to_string().expect("body")
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while serde_json::from_str::<Value>(&get("/json/info")).expect("info")["replay_done"] != true {
        assert!(Instant::now() < deadline, "replay never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = get("/metrics");
    let _ = daemon.interrupt();
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("zkwire_tls_connections_total{result=\""))
        .filter_map(|l| {
            let (result, value) = l.split_once("\"} ")?;
            Some((result.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[test]
fn tls_clients_quorum_and_elections_decrypt_with_key_logs() {
    if !live_tests_can_run() {
        return;
    }
    for prerequisite in ["keytool", "openssl", "tshark"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {prerequisite}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "{prerequisite} is missing (scripts/install-deps.sh)");
    }
    let dir = scratch("live-tls");
    make_stores(&dir);
    let q = CLIENT_PORT + 707;
    let e = CLIENT_PORT + 1707;

    // Everything from before the ensemble starts: the elections too.
    let pcap = dir.join("tls.pcap");
    let mut tcpdump_cmd = Command::new("tcpdump");
    tcpdump_cmd
        .args(["-i", "lo", "-s", "0", "-U", "-w"])
        .arg(&pcap)
        .arg(format!(
            "tcp and (port {SECURE_PORT} or port {PROXY_PORT} or port {q} or port {e})"
        ));
    let tcpdump = Watched::spawn(tcpdump_cmd);
    tcpdump.wait_stderr("listening on", Duration::from_secs(30));

    let ensemble = Ensemble::start_configured(
        &dir,
        CLIENT_PORT,
        &|_, _| None,
        &|id| tls_config(&dir, id),
        &[],
    );
    let leader = ensemble.wait_for_quorum(Duration::from_secs(120));

    // Live: the key log does not exist until the first client writes it.
    let keylog = dir.join("client-keys.log");
    let mut live_cmd = tool("zk-dump");
    live_cmd
        .args(["-i", "lo", "--port", &SECURE_PORT.to_string()])
        .args(["--port", &PROXY_PORT.to_string(), "--format", "json"])
        .arg("--include-pings")
        .arg("--tls-keylog")
        .arg(&keylog);
    let live = Watched::spawn(live_cmd);
    live.wait_stderr("listening on lo", Duration::from_secs(30));

    let proxy_cmd = {
        let mut c = Command::new(SYSTEM_PYTHON);
        c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("live/tls_proxy.py"))
            .args(["127.0.0.1", &PROXY_PORT.to_string(), "127.0.0.1"])
            .arg(CLIENT_PORT.to_string())
            .arg(dir.join("cert.pem"))
            .arg(dir.join("key.pem"));
        c
    };
    let proxy = Watched::spawn(proxy_cmd);
    let mut first = Vec::new();
    wait_line(
        &proxy.stdout,
        "listening",
        Duration::from_secs(30),
        &mut first,
    );

    let secure = |id: u8| format!("127.0.0.{id}:{SECURE_PORT}");
    let front = format!("127.0.0.1:{PROXY_PORT}");
    let cases = [
        (
            "a",
            "1.2",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            secure(1),
        ),
        (
            "b",
            "1.2",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            secure(2),
        ),
        (
            "b",
            "1.2",
            "ECDHE-RSA-CHACHA20-POLY1305",
            "",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            front.clone(),
        ),
        (
            "b",
            "1.2",
            "ECDHE-RSA-AES128-SHA",
            "",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            secure(1),
        ),
        (
            "b",
            "1.2",
            "AES256-SHA256",
            "",
            "TLS_RSA_WITH_AES_256_CBC_SHA256",
            secure(2),
        ),
        (
            "a",
            "1.3",
            "",
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_128_GCM_SHA256",
            front.clone(),
        ),
        (
            "b",
            "1.3",
            "",
            "TLS_AES_256_GCM_SHA384",
            "TLS_AES_256_GCM_SHA384",
            front.clone(),
        ),
        (
            "b",
            "1.3",
            "",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256",
            front.clone(),
        ),
    ]
    .map(
        |(phase, version, ciphers, suite13, expect_suite, hosts)| Case {
            hosts,
            phase,
            version,
            ciphers,
            suite13,
            expect_suite,
        },
    );
    let truth = dir.join("truth.jsonl");
    for case in &cases {
        run_kazoo(&dir, case, &keylog, &truth);
    }

    // Each session ends with closeSession: once every reply to it is decoded, all is.
    let mut live_lines = Vec::new();
    for _ in &cases {
        wait_line(
            &live.stdout,
            "\"CloseReply\"",
            Duration::from_secs(60),
            &mut live_lines,
        );
    }
    let (status, rest, live_err) = live.interrupt();
    live_lines.extend(rest);
    assert!(status.success(), "live zk-dump: {live_err:?}");
    let _ = proxy.interrupt();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let so_far = ok(tool("zk-dump")
            .args(["-q", "--port", &SECURE_PORT.to_string()])
            .args(["--port", &PROXY_PORT.to_string(), "--format", "json"])
            .arg("--tls-keylog")
            .arg(&keylog)
            .arg("-r")
            .arg(&pcap));
        let closes = String::from_utf8_lossy(&so_far.stdout)
            .matches("\"CloseReply\"")
            .count();
        if closes == cases.len() {
            break;
        }
        assert!(Instant::now() < deadline, "tcpdump never wrote every close");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = tcpdump.interrupt();
    let expected = truth_of(&truth);

    // zk-dump live and on the file: exactly kazoo's requests, every connection decrypted with
    // the suite kazoo negotiated.
    let live = json_lines(live_lines.join("\n").as_bytes());
    assert_eq!(requests_of(&live), expected, "live decode");
    let summary = live_err
        .iter()
        .find(|l| l.contains("TLS connections"))
        .expect("summary");
    let n = cases.len();
    assert!(
        summary.contains(&format!(
            "{n} TLS connections ({n} decrypted, 0 without keys, 0 failed)"
        )),
        "{summary}"
    );
    let ports = [SECURE_PORT, PROXY_PORT].map(|p| p.to_string());
    let from_file = |keylog: Option<&Path>| {
        let mut cmd = tool("zk-dump");
        cmd.args(["--port", &ports[0], "--port", &ports[1], "--format", "json"]);
        cmd.arg("--include-pings");
        if let Some(k) = keylog {
            cmd.arg("--tls-keylog").arg(k);
        }
        let out = ok(cmd.arg("-r").arg(&pcap));
        (
            json_lines(&out.stdout),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (decoded, _) = from_file(Some(&keylog));
    assert_eq!(requests_of(&decoded), expected, "decode of tcpdump's file");
    let by_port = tls_lines(&decoded);
    assert_eq!(by_port.len(), n, "{by_port:?}");
    let mut suites: Vec<&str> = by_port
        .values()
        .map(|l| {
            assert_eq!(l.len(), 1, "one TLS line per connection: {l:?}");
            assert_eq!(l[0]["tls"], "decrypted", "{}", l[0]);
            l[0]["cipher_suite"].as_str().expect("suite")
        })
        .collect();
    let mut wanted: Vec<&str> = cases.iter().map(|c| c.expect_suite).collect();
    suites.sort();
    wanted.sort();
    assert_eq!(suites, wanted);
    for l in by_port.values().flatten() {
        let v = l["version"].as_str().expect("version");
        let expect_cert = v == "TLSv1.2";
        assert_eq!(l["certificate"] == "CN=zk-test-server", expect_cert, "{l}");
    }

    // Without keys: the clear handshake only, never a request.
    let (bare, bare_err) = from_file(None);
    assert!(requests_of(&bare).is_empty(), "decoded without keys");
    assert!(
        bare_err.contains(&format!(
            "{n} TLS connections (0 decrypted, {n} without keys"
        )),
        "{bare_err}"
    );
    assert!(tls_lines(&bare)
        .values()
        .flatten()
        .all(|l| l["tls"] == "keys_missing" && l["cipher_suite"].is_string()));
    // Wrong secrets (one hex digit changed in each): every connection fails by name.
    let wrong = dir.join("wrong-keys.log");
    let text = std::fs::read_to_string(&keylog).expect("key log");
    let flipped: String = text
        .lines()
        .map(|l| match l.rsplit_once(' ') {
            Some((head, secret)) if !l.starts_with('#') => {
                let first = if secret.starts_with('0') { '1' } else { '0' };
                format!("{head} {first}{}\n", &secret[1..])
            }
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&wrong, flipped).expect("wrong key log");
    let (failed, failed_err) = from_file(Some(&wrong));
    assert!(requests_of(&failed).is_empty(), "decoded with wrong keys");
    assert!(failed_err.contains(&format!("{n} failed)")), "{failed_err}");
    assert!(tls_lines(&failed)
        .values()
        .flatten()
        .all(|l| l["tls"] == "failed" && l["error"] == "bad_record_mac"));
    // The key log's secrets never reach the output.
    let secret = text
        .lines()
        .find(|l| l.starts_with("CLIENT_RANDOM"))
        .and_then(|l| l.rsplit(' ').next())
        .expect("a TLS 1.2 secret");
    for (lines, err) in [(&decoded, ""), (&failed, failed_err.as_str())] {
        let all = format!("{lines:?}{err}");
        assert!(!all.to_lowercase().contains(&secret.to_lowercase()));
    }

    // The daemon counts them too.
    assert_eq!(
        daemon_tls_counts(&pcap, &keylog),
        BTreeMap::from([("decrypted".to_string(), n as f64)])
    );

    // The quorum: keys derived by tshark from the servers' RSA key.
    let quorum_keys = dir.join("quorum-keys.log");
    let tshark = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .arg("-o")
        .arg(format!(
            "uat:rsa_keys:\"{}\",\"\"",
            dir.join("key.pem").display()
        ))
        .args([
            "-d",
            &format!("tcp.port=={q},tls"),
            "-d",
            &format!("tcp.port=={e},tls"),
        ])
        .args(["-2", "-V", "--export-tls-session-keys"])
        .arg(&quorum_keys)
        .stdout(Stdio::null())
        .status()
        .expect("tshark");
    assert!(tshark.success());
    let zab = ok(tool("zab-dump")
        .args(["--port", &q.to_string(), "--format", "json", "--tls-keylog"])
        .arg(&quorum_keys)
        .arg("-r")
        .arg(&pcap));
    let zab_err = String::from_utf8_lossy(&zab.stderr);
    assert!(zab_err.contains("0 without keys, 0 failed"), "{zab_err}");
    ensemble.assert_proposals_match_the_logs(&json_lines(&zab.stdout));
    // The election, decrypted: it elected the leader the servers report.
    let fle = ok(tool("fle-dump")
        .args([
            "--port",
            &e.to_string(),
            "--format",
            "json",
            "--summary",
            "--limit",
            "0",
        ])
        .arg("--tls-keylog")
        .arg(&quorum_keys)
        .arg("-r")
        .arg(&pcap));
    let elections = json_lines(&fle.stdout);
    let first_election = elections
        .iter()
        .find_map(|m| m["election"]["leader"].as_i64())
        .unwrap_or_else(|| panic!("no election: {}", String::from_utf8_lossy(&fle.stderr)));
    assert_eq!(first_election, i64::from(leader));
}
