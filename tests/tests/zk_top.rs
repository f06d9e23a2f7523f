//! End-to-end tests of the `zk-top` binary on the shipped capture: full screen in a real
//! terminal (tmux: keys with `send-keys`, the screen with `capture-pane`), and plain tables when
//! standard output is not a terminal. Every total is compared with `zk-dump --count-requests 0`
//! of the same capture (both leave pings out).

mod common;

use common::tmux::Tmux;
use common::{capture, json_lines};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

const ZK38: &str = "zk38-mtu1500.pcap";

/// zk-dump's request counts of the capture, grouped by `group` (`type` or `path`).
fn zk_dump_counts(group: &str, extra: &[&str]) -> BTreeMap<String, u64> {
    let zk38 = capture(ZK38);
    let mut args = vec![
        "-r",
        &zk38,
        "-q",
        "--format",
        "json",
        "--count-requests",
        "0",
        "--group-by",
        group,
    ];
    args.extend_from_slice(extra);
    let out = Command::new(zkwire_tests::bin("zk-dump"))
        .args(&args)
        .output()
        .expect("run zk-dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out)
        .into_iter()
        .map(|m| {
            (
                m[group].as_str().expect("key").to_string(),
                m["count"].as_u64().expect("count"),
            )
        })
        .collect()
}

/// zk-top on the shipped capture in a terminal; once it exits, the shell prints its status
/// and whether the terminal is back in canonical mode.
fn top_then_terminal_state(tag: &str) -> Tmux {
    let command = format!(
        "{} -r {} -q; echo \"zk-top exited $?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; \
         sleep 600",
        zkwire_tests::bin("zk-top"),
        capture(ZK38)
    );
    Tmux::start(tag, &command)
}

/// zk-top exited with status 0, the main screen back and the terminal out of raw mode.
fn assert_exited_0_with_the_terminal_restored(tmux: &Tmux) {
    let screen = tmux.wait_for("zk-top to exit", |s| s.contains("zk-top exited"));
    assert!(screen.contains("zk-top exited 0"), "{screen}");
    assert!(
        !screen.contains("req/s"),
        "the alternate screen was left:\n{screen}"
    );
    let icanon = tmux.wait_for("stty", |s| s.lines().any(|l| l.trim().ends_with("icanon")));
    assert!(
        icanon.lines().any(|l| l.trim() == "icanon"),
        "canonical mode restored:\n{icanon}"
    );
}

/// The table rows on screen: the lines after the header whose first column is `first`,
/// as (key, last column).
fn rows(screen: &str, first: &str) -> Vec<(String, u64)> {
    screen
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(first) || !l.contains("req/s"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("? keys"))
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            let total = cells.last().and_then(|n| n.parse().ok());
            (
                cells[0].to_string(),
                total.unwrap_or_else(|| panic!("row {l:?}")),
            )
        })
        .collect()
}

fn as_map(rows: &[(String, u64)]) -> BTreeMap<String, u64> {
    rows.iter().cloned().collect()
}

/// The query line's sort (`sort path asc`).
fn query_line(screen: &str) -> &str {
    screen
        .lines()
        .find(|l| l.starts_with("depth "))
        .unwrap_or_else(|| panic!("no query line:\n{screen}"))
}

#[test]
fn full_screen_totals_equal_zk_dump_and_the_keys_sort_filter_and_quit() {
    let by_type = zk_dump_counts("type", &[]);
    let by_path1 = zk_dump_counts("path", &["--aggregation-depth", "1"]);
    let by_path = zk_dump_counts("path", &[]);
    let tmux = top_then_terminal_state("full");

    // The main pane: requests by type, the totals final once the file has been read.
    let screen = tmux.wait_for("the end of the capture", |s| s.contains("end of capture"));
    assert!(screen.contains("capture: packets 4301"), "{screen}");
    let types = rows(&screen, "type");
    assert_eq!(as_map(&types), by_type, "per type:\n{screen}");
    // Largest total first by default.
    assert!(types.windows(2).all(|w| w[0].1 >= w[1].1), "{screen}");

    // Paths at depth 1 (key +), then whole paths filtered by a prefix (keys -, /).
    tmux.keys(&["2", "+"]);
    let screen = tmux.wait_for("paths at depth 1", |s| s.contains("depth 1 "));
    assert_eq!(
        as_map(&rows(&screen, "path")),
        by_path1,
        "depth 1:\n{screen}"
    );
    tmux.keys(&["-", "/"]);
    tmux.text("/corpus/n00");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the path filter", |s| {
        s.contains("path filter /corpus/n00 ")
    });
    let want: BTreeMap<String, u64> = by_path
        .iter()
        .filter(|(p, _)| p.starts_with("/corpus/n00"))
        .map(|(p, n)| (p.clone(), *n))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(as_map(&rows(&screen, "path")), want, "filtered:\n{screen}");

    // Sorting: s moves to the next column (from the total to the path, A to Z), r reverses.
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("sorted by path", |s| {
        query_line(s).ends_with("sort path asc")
    });
    let keys: Vec<String> = rows(&screen, "path").into_iter().map(|r| r.0).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{screen}");
    tmux.keys(&["r"]);
    let screen = tmux.wait_for("reversed", |s| query_line(s).ends_with("sort path desc"));
    let reversed: Vec<String> = rows(&screen, "path").into_iter().map(|r| r.0).collect();
    sorted.reverse();
    assert_eq!(reversed, sorted, "{screen}");

    // A client filter that matches nothing empties the request panes; x clears it.
    tmux.keys(&["1", "c"]);
    tmux.text("10.9.9.9");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the client filter", |s| s.contains("Types (0 rows)"));
    assert!(rows(&screen, "type").is_empty(), "{screen}");
    tmux.keys(&["x"]);
    tmux.wait_for("the filters cleared", |s| {
        s.contains(&format!("Types ({} rows)", by_type.len()))
    });

    // ? shows the keys; any key closes the list.
    tmux.keys(&["?"]);
    tmux.wait_for("the key list", |s| s.contains("reverse the sort order"));
    tmux.keys(&["Space"]);
    tmux.wait_for("the key list closed", |s| {
        !s.contains("reverse the sort order")
    });

    // q leaves with status 0, the main screen back and the terminal out of raw mode.
    tmux.keys(&["q"]);
    assert_exited_0_with_the_terminal_restored(&tmux);
}

/// SIGTERM (a service manager stopping it) restores the terminal as `q` does.
#[test]
fn sigterm_restores_the_terminal() {
    let tmux = top_then_terminal_state("term");
    tmux.wait_for("the end of the capture", |s| s.contains("end of capture"));
    let children = tmux.children();
    assert_eq!(children.len(), 1, "zk-top under the shell: {children:?}");
    let status = Command::new("kill")
        .args(["-TERM", &children[0].to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert_exited_0_with_the_terminal_restored(&tmux);
}

/// The pane title's range of rows on screen, `Paths (rows 21–40 of 406)`: (21, 40, 406).
fn title_range(screen: &str, pane: &str) -> Option<(usize, usize, usize)> {
    let at = screen.find(&format!("{pane} (rows "))? + pane.len() + " (rows ".len();
    let rest = &screen[at..];
    let numbers: Vec<usize> = rest[..rest.find(')')?]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    match numbers[..] {
        [first, last, of] => Some((first, last, of)),
        _ => None,
    }
}

#[test]
fn a_table_longer_than_the_screen_scrolls_to_its_last_row_and_back() {
    let by_path = zk_dump_counts("path", &[]);
    // zk-top's default order on the Paths pane: largest total first, ties by path.
    let mut order: Vec<(String, u64)> = by_path.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let n = order.len();
    assert!(
        n > 48,
        "the capture has more paths ({n}) than fit in 48 lines"
    );
    let command = format!(
        "{} -r {} -q; sleep 600",
        zkwire_tests::bin("zk-top"),
        capture(ZK38)
    );
    let tmux = Tmux::start("scroll", &command);
    tmux.wait_for("the end of the capture", |s| s.contains("end of capture"));

    tmux.keys(&["2"]);
    let screen = tmux.wait_for("the Paths pane from its first row", |s| {
        title_range(s, "Paths").is_some_and(|(first, _, of)| first == 1 && of == n)
    });
    let shown = rows(&screen, "path");
    assert_eq!(shown[0], order[0], "{screen}");
    let (_, last, _) = title_range(&screen, "Paths").expect("range");
    assert_eq!(
        shown.len(),
        last,
        "the title counts the rows on screen:\n{screen}"
    );
    assert_eq!(shown[..], order[..last], "{screen}");
    assert!(screen.contains("g/G scroll"), "the key line:\n{screen}");

    // End: the last page, ending at the last row zk-dump counts.
    tmux.keys(&["End"]);
    let screen = tmux.wait_for("the last rows", |s| {
        title_range(s, "Paths").is_some_and(|(_, last, _)| last == n)
    });
    let (first, last, of) = title_range(&screen, "Paths").expect("range");
    assert_eq!((last, of), (n, n), "{screen}");
    let shown = rows(&screen, "path");
    assert_eq!(shown.last(), order.last(), "the last row:\n{screen}");
    assert_eq!(shown[..], order[first - 1..], "{screen}");

    // Up by one row, then Home: the first row again.
    tmux.keys(&["k"]);
    tmux.wait_for("one row up", |s| {
        title_range(s, "Paths").is_some_and(|(_, last, _)| last == n - 1)
    });
    tmux.keys(&["Home"]);
    let screen = tmux.wait_for("the first rows again", |s| {
        title_range(s, "Paths").is_some_and(|(first, _, _)| first == 1)
    });
    assert_eq!(rows(&screen, "path")[0], order[0], "{screen}");

    // G and g do the same; a sort key goes back to the top.
    tmux.keys(&["G"]);
    tmux.wait_for("the last rows (G)", |s| {
        title_range(s, "Paths").is_some_and(|(_, last, _)| last == n)
    });
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("sorted by path, from the top", |s| {
        query_line(s).ends_with("sort path asc")
            && title_range(s, "Paths").is_some_and(|(first, _, _)| first == 1)
    });
    let mut by_name: Vec<&String> = order.iter().map(|(p, _)| p).collect();
    by_name.sort();
    assert_eq!(&rows(&screen, "path")[0].0, by_name[0], "{screen}");
    tmux.keys(&["q"]);
}

#[test]
fn without_a_terminal_it_prints_plain_tables_and_the_totals_then_exits_0() {
    let by_type = zk_dump_counts("type", &[]);
    let out = Command::new(zkwire_tests::bin("zk-top"))
        .args(["-r", &capture(ZK38), "-q", "--interval", "5"])
        .stdout(Stdio::piped())
        .output()
        .expect("run zk-top");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // The capture spans 22 s: four complete 5 s intervals, then the totals.
    let titles: Vec<&str> = text.lines().filter(|l| l.starts_with("=== ")).collect();
    assert_eq!(titles.len(), 5, "{titles:?}");
    assert!(
        titles[0].starts_with("=== interval 1 (t+5.0s)"),
        "{titles:?}"
    );
    assert_eq!(titles[4], "=== totals ===");
    let totals = &text[text.find("=== totals ===").expect("totals")..];
    assert!(
        !totals.contains('\x1b'),
        "no escape sequences in plain output"
    );
    let types: BTreeMap<String, u64> = totals
        .lines()
        .skip_while(|l| *l != "[Types]")
        .skip(3)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0].to_string(), cells[3].parse().expect("total"))
        })
        .collect();
    assert_eq!(types, by_type, "{totals}");
    for pane in [
        "[Paths]",
        "[Clients]",
        "[Servers]",
        "[Latency]",
        "[Errors]",
        "[Watches]",
        "[Sessions]",
    ] {
        assert!(totals.contains(pane), "{pane} missing:\n{totals}");
    }
}

/// How many of zk-dump's write traces of the capture show each stage, and the writes traced.
fn traced_stages() -> BTreeMap<String, u64> {
    let out = Command::new(zkwire_tests::bin("zk-dump"))
        .args([
            "-r",
            &capture(ZK38),
            "-q",
            "--trace-writes",
            "--format",
            "json",
        ])
        .output()
        .expect("run zk-dump");
    let traces = json_lines(&out);
    let mut counts: BTreeMap<String, u64> = ["forward", "propose", "quorum", "commit", "reply"]
        .iter()
        .map(|stage| {
            let key = format!("{stage}_us");
            let n = traces
                .iter()
                .filter(|t| t["stages"].get(&key).is_some())
                .count();
            (stage.to_string(), n as u64)
        })
        .collect();
    counts.insert("total".into(), traces.len() as u64);
    counts
}

/// The stage rows of a Writes table: (stage, "n total").
fn write_rows(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .skip_while(|l| !l.trim_start().starts_with("stage"))
        .skip(1)
        .filter_map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            let stage = *cells.first()?;
            let n_total = cells.get(5)?.parse().ok()?;
            ["forward", "propose", "quorum", "commit", "reply", "total"]
                .contains(&stage)
                .then(|| (stage.to_string(), n_total))
        })
        .collect()
}

/// With `--quorum-port`, the Writes pane (key 9; and the plain tables) counts every write
/// zk-dump --trace-writes follows, stage by stage, in pipeline order.
#[test]
fn the_writes_pane_counts_the_traced_writes_stage_by_stage() {
    let expected = traced_stages();
    assert!(expected["total"] > 300, "{expected:?}");
    let command = format!(
        "{} -r {} -q --quorum-port 2888; sleep 600",
        zkwire_tests::bin("zk-top"),
        capture(ZK38)
    );
    let tmux = Tmux::start("writes", &command);
    tmux.wait_for("the end of the capture", |s| s.contains("end of capture"));
    tmux.keys(&["9"]);
    let screen = tmux.wait_for("the Writes pane", |s| {
        s.contains("stage") && s.contains("quorum")
    });
    assert_eq!(write_rows(&screen), expected, "{screen}");
    let order: Vec<&str> = screen
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| ["forward", "propose", "quorum", "commit", "reply", "total"].contains(w))
        .collect();
    assert_eq!(
        order,
        ["forward", "propose", "quorum", "commit", "reply", "total"]
    );
    tmux.keys(&["q"]);

    let out = Command::new(zkwire_tests::bin("zk-top"))
        .args(["-r", &capture(ZK38), "-q", "--quorum-port", "2888"])
        .stdout(Stdio::piped())
        .output()
        .expect("run zk-top");
    let text = String::from_utf8_lossy(&out.stdout);
    let totals = &text[text.find("=== totals ===").expect("totals")..];
    let writes = &totals[totals.find("[Writes]").expect("a Writes table")..];
    assert_eq!(write_rows(writes), expected, "{writes}");
}
