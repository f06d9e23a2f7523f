//! Prints every quorum-port test vector decoded, as JSON (needs `--features serde`).
//!
//! `cargo run -p zab-proto --features serde --example dump_vectors`

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zab.json");
    let text = std::fs::read_to_string(path).expect("vectors");
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).expect("json");
    for v in &all {
        let b = unhex(v["hex"].as_str().unwrap_or_default());
        let out = match v["kind"].as_str() {
            Some("zab.packet") => zab_proto::parse_quorum_packet(&b)
                .ok()
                .and_then(|(_, qp)| zab_proto::decode_packet(&qp, None).ok())
                .map(|p| serde_json::to_string(&p)),
            Some("zab.snapshot_stream") => zab_proto::parse_snapshot_stream(&b)
                .ok()
                .map(|(_, s)| serde_json::to_string(&s)),
            Some("zab.quorum_auth") => zab_proto::parse_quorum_auth_packet(&b)
                .ok()
                .map(|(_, a)| serde_json::to_string(&a)),
            _ => None,
        };
        println!(
            "{}: {}",
            v["id"],
            out.map_or("undecodable".into(), |r| r
                .unwrap_or_else(|e| e.to_string()))
        );
    }
}
