//! Unit tests of zk-top's statistics: counting, intervals, filters, depth, sorting, latency,
//! errors, watches and sessions, from hand-made typed messages.

use super::*;
use zk_proto::message::{ReplyBody, RequestBody};
use zk_proto::records::{ConnectRequest, ConnectResponse, PathWatchRequest, ReplyHeader};
use zk_proto::{OpCode, Reply, Request};

const SEC: i64 = 1_000_000_000;

fn at<'m>(ms: i64, port: u16, path: Option<&'m str>, body: ZkBody<'m>) -> ZkMessage<'m> {
    ZkMessage {
        ts: Timestamp(ms * 1_000_000),
        client: SocketAddr::from(([10, 0, 0, 1], port)),
        server: SocketAddr::from(([10, 0, 0, 9], 2181)),
        session: None,
        path,
        outstanding: 0,
        body,
    }
}

fn get(path: &str, watch: bool) -> Request<'_> {
    Request {
        xid: 1,
        opcode: OpCode::GetData,
        body: RequestBody::GetData(PathWatchRequest {
            path: Some(path.into()),
            watch,
        }),
    }
}

fn reply(op: OpCode, err: i32) -> Reply<'static> {
    Reply {
        header: ReplyHeader {
            xid: 1,
            zxid: 5,
            err,
        },
        opcode: Some(op),
        body: ReplyBody::Empty,
    }
}

/// Feeds GetData requests: (ms, client port, path).
fn feed(top: &mut Top, requests: &[(i64, u16, &str)]) {
    for (ms, port, path) in requests {
        let r = get(path, false);
        top.message(&at(
            *ms,
            *port,
            Some(path),
            ZkBody::Request {
                request: &r,
                size: 10,
            },
        ));
    }
}

fn column(t: &Table, col: usize) -> Vec<String> {
    t.rows.iter().map(|r| r[col].to_string()).collect()
}

#[test]
fn requests_count_per_interval_and_since_start() {
    let mut top = Top::new(SEC);
    feed(&mut top, &[(0, 1, "/a"), (100, 1, "/a"), (900, 2, "/b")]);
    assert!(top.last.is_none(), "the first interval is not over");
    feed(&mut top, &[(1_100, 1, "/a")]);
    let t = top.table(Pane::Types, &Query::default());
    assert_eq!(
        t.rows,
        vec![vec![
            Cell::Text("GetDataRequest".into()),
            Cell::Rate(3.0),
            Cell::Count(3),
            Cell::Count(4)
        ]]
    );
    // Two seconds without traffic: the last complete interval is empty.
    top.advance_to(Timestamp(3_500 * 1_000_000));
    let t = top.table(Pane::Types, &Query::default());
    assert_eq!(t.rows[0][2], Cell::Count(0));
    assert_eq!(t.rows[0][3], Cell::Count(4));
    assert_eq!(top.intervals, 3);
    // The end of the capture closes the partial interval: its half second is the rate's base.
    feed(&mut top, &[(3_600, 1, "/a")]);
    top.finish(&CaptureStats::default());
    let t = top.table(Pane::Types, &Query::default());
    assert_eq!(t.rows[0][2], Cell::Count(1));
    assert_eq!(t.rows[0][1], Cell::Rate(1.0 / 0.6));
    assert_eq!(t.rows[0][3], Cell::Count(5));
}

#[test]
fn paths_follow_the_depth_and_filters_narrow_every_request_pane() {
    let mut top = Top::new(SEC);
    feed(
        &mut top,
        &[
            (0, 1, "/a/x/1"),
            (1, 1, "/a/x/2"),
            (2, 2, "/a/y"),
            (3, 2, "/b"),
            (4, 3, "/b/z"),
        ],
    );
    let mut q = Query::default();
    let paths = |q: &Query| {
        let t = top.table(Pane::Paths, q);
        t.rows
            .iter()
            .map(|r| (r[0].to_string(), r[3].to_string()))
            .collect::<Vec<_>>()
    };
    q.depth = 1;
    assert_eq!(
        paths(&q),
        [("/a".into(), "3".into()), ("/b".into(), "2".into())]
    );
    q.depth = 2;
    assert_eq!(
        paths(&q),
        [
            ("/a/x".to_string(), "2".to_string()),
            ("/a/y".into(), "1".into()),
            ("/b".into(), "1".into()),
            ("/b/z".into(), "1".into())
        ]
    );
    q.path_prefix = Some("/a/".into());
    assert_eq!(column(&top.table(Pane::Paths, &q), 0), ["/a/x", "/a/y"]);
    assert_eq!(
        column(&top.table(Pane::Clients, &q), 0),
        ["10.0.0.1:1", "10.0.0.1:2"]
    );
    q.client = Some("10.0.0.1:2".into());
    assert_eq!(column(&top.table(Pane::Types, &q), 3), ["1"]);
    q.path_prefix = None;
    assert_eq!(column(&top.table(Pane::Paths, &q), 0), ["/a/y", "/b"]);
}

#[test]
fn any_column_sorts_both_ways_with_ties_in_name_order() {
    let mut top = Top::new(SEC);
    feed(
        &mut top,
        &[(0, 1, "/b"), (1, 1, "/b"), (2, 1, "/a"), (3, 1, "/c")],
    );
    let mut q = Query::default();
    assert_eq!(column(&top.table(Pane::Paths, &q), 0), ["/b", "/a", "/c"]);
    q.sort = Some(0);
    assert_eq!(column(&top.table(Pane::Paths, &q), 0), ["/c", "/b", "/a"]);
    q.descending = false;
    assert_eq!(column(&top.table(Pane::Paths, &q), 0), ["/a", "/b", "/c"]);
    q.sort = Some(3);
    assert_eq!(column(&top.table(Pane::Paths, &q), 0), ["/a", "/c", "/b"]);
    let t = top.table(Pane::Paths, &q);
    assert_eq!((t.sort, t.descending), (3, false));
}

#[test]
fn latency_percentiles_per_type_over_the_interval_and_since_start() {
    let mut top = Top::new(SEC);
    let r = reply(OpCode::GetData, 0);
    for (ms, us) in [(0, 100), (10, 200), (20, 10_000), (1_500, 300)] {
        top.message(&at(
            ms,
            1,
            Some("/a"),
            ZkBody::Reply {
                reply: &r,
                token: None,
                latency_ns: Some(us * 1000),
                size: 0,
            },
        ));
    }
    top.finish(&CaptureStats::default());
    let t = top.table(Pane::Latency, &Query::default());
    let row: Vec<String> = t.rows[0].iter().map(ToString::to_string).collect();
    assert_eq!(row[0], "GetDataRequest");
    assert_eq!(row[1..5], ["1", "300", "300", "300"]);
    assert_eq!(row[5], "4");
    assert_eq!(row[6], "200");
    assert!(row[8].starts_with("100"), "max ~10 ms: {row:?}");
}

#[test]
fn errors_watches_and_sessions() {
    let mut top = Top::new(SEC);
    let nonode = reply(OpCode::GetData, -101);
    top.message(&at(
        0,
        1,
        Some("/gone"),
        ZkBody::Reply {
            reply: &nonode,
            token: None,
            latency_ns: None,
            size: 0,
        },
    ));
    let t = top.table(Pane::Errors, &Query::default());
    assert_eq!(column(&t, 0), ["NONODE"]);
    assert_eq!(column(&t, 1), ["GetDataReply"]);
    assert_eq!(column(&t, 3), ["1"]);

    let watched = get("/w", true);
    top.message(&at(
        1,
        1,
        Some("/w"),
        ZkBody::Request {
            request: &watched,
            size: 0,
        },
    ));
    let event = zk_proto::records::WatcherEvent {
        event_type: 3,
        state: 3,
        path: Some("/w".into()),
    };
    top.message(&at(
        2,
        1,
        Some("/w"),
        ZkBody::Watch {
            event: &event,
            zxid: -1,
            size: 0,
        },
    ));
    let t = top.table(Pane::Watches, &Query::default());
    assert_eq!(
        t.rows,
        vec![vec![
            Cell::Text("/w".into()),
            Cell::Count(0),
            Cell::Count(1),
            Cell::Count(0),
            Cell::Count(1)
        ]]
    );

    let connect = |session_id| ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 6000,
        session_id,
        passwd: None,
        read_only: None,
    };
    let response = |time_out| ConnectResponse {
        protocol_version: 0,
        time_out,
        session_id: 7,
        passwd: None,
        read_only: None,
    };
    let (new, resumed) = (connect(0), connect(7));
    let (accepted, expired) = (response(6000), response(0));
    for (port, request, reply) in [
        (5, &new, &accepted),
        (6, &resumed, &accepted),
        (7, &resumed, &expired),
    ] {
        top.message(&at(3, port, None, ZkBody::Connect { request, size: 0 }));
        top.message(&at(4, port, None, ZkBody::ConnectReply { reply, size: 0 }));
    }
    let close = Request {
        xid: 2,
        opcode: OpCode::CloseSession,
        body: RequestBody::CloseSession,
    };
    top.message(&at(
        5,
        5,
        None,
        ZkBody::Request {
            request: &close,
            size: 0,
        },
    ));
    let t = top.table(Pane::Sessions, &Query::default());
    assert_eq!(column(&t, 0), ["opened", "closed", "expired"]);
    assert_eq!(column(&t, 2), ["1", "1", "1"]);
    // Connects and the close are requests too, as zk-dump counts them.
    assert_eq!(top.total.request_count(), 1 + 3 + 1);
}

#[test]
fn packets_and_the_plain_report() {
    let mut top = Top::new(SEC);
    for ms in [0, 100, 1_200] {
        top.packet(Timestamp(ms * 1_000_000));
    }
    feed(&mut top, &[(1_300, 1, "/a")]);
    let report = plain_report(&top, &Query::default(), "interval");
    assert!(
        report.starts_with("=== interval ===\npackets 3 (2/s)"),
        "{report}"
    );
    assert!(
        report.contains("[Types]\ntype            req/s  interval  total\n"),
        "{report}"
    );
    assert!(
        report.contains("GetDataRequest    0.0         0      1\n"),
        "{report}"
    );
}

#[test]
fn the_path_and_client_filters_narrow_latency_errors_watches_and_sessions() {
    let mut top = Top::new(SEC);
    let ok = reply(OpCode::GetData, 0);
    let nonode = reply(OpCode::GetData, -101);
    // (client port, path, latency us, reply)
    for (port, path, us, r) in [
        (1, "/a/1", 100, &ok),
        (1, "/a/2", 120, &nonode),
        (2, "/a/3", 200, &nonode),
        (2, "/b", 50, &ok),
    ] {
        top.message(&at(
            0,
            port,
            Some(path),
            ZkBody::Reply {
                reply: r,
                token: None,
                latency_ns: Some(us * 1000),
                size: 0,
            },
        ));
    }
    for (port, path) in [(1, "/a/w"), (2, "/a/w"), (2, "/b/w")] {
        let watched = get(path, true);
        top.message(&at(
            1,
            port,
            Some(path),
            ZkBody::Request {
                request: &watched,
                size: 0,
            },
        ));
    }
    let connect = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 6000,
        session_id: 0,
        passwd: None,
        read_only: None,
    };
    let accepted = ConnectResponse {
        protocol_version: 0,
        time_out: 6000,
        session_id: 7,
        passwd: None,
        read_only: None,
    };
    for port in [1, 2, 2] {
        top.message(&at(
            2,
            port,
            None,
            ZkBody::Connect {
                request: &connect,
                size: 0,
            },
        ));
        top.message(&at(
            3,
            port,
            None,
            ZkBody::ConnectReply {
                reply: &accepted,
                size: 0,
            },
        ));
    }
    top.finish(&CaptureStats::default());
    let latency = |q: &Query| {
        let t = top.table(Pane::Latency, q);
        t.rows
            .iter()
            .map(|r| (r[5].to_string(), r[8].to_string()))
            .collect::<Vec<_>>()
    };
    let errors = |q: &Query| column(&top.table(Pane::Errors, q), 3);
    let watches = |q: &Query| {
        let t = top.table(Pane::Watches, q);
        t.rows
            .iter()
            .map(|r| (r[0].to_string(), r[2].to_string()))
            .collect::<Vec<_>>()
    };
    let opened = |q: &Query| top.table(Pane::Sessions, q).rows[0][2].to_string();

    let mut q = Query::default();
    assert_eq!(latency(&q), [("4".to_string(), "200".to_string())]);
    assert_eq!(errors(&q), ["2"]);
    assert_eq!(
        watches(&q),
        [
            ("/a/w".to_string(), "2".to_string()),
            ("/b/w".into(), "1".into())
        ]
    );
    assert_eq!(opened(&q), "3");

    q.path_prefix = Some("/a/".into());
    assert_eq!(latency(&q), [("3".to_string(), "200".to_string())]);
    assert_eq!(errors(&q), ["2"]);
    assert_eq!(watches(&q), [("/a/w".to_string(), "2".to_string())]);
    assert_eq!(
        opened(&q),
        "3",
        "sessions have no path: the path filter passes them"
    );

    q.client = Some("10.0.0.1:1".into());
    assert_eq!(latency(&q), [("2".to_string(), "120".to_string())]);
    assert_eq!(errors(&q), ["1"]);
    assert_eq!(watches(&q), [("/a/w".to_string(), "1".to_string())]);
    assert_eq!(opened(&q), "1");

    q.path_prefix = None;
    q.client = Some("10.0.0.1:2".into());
    // Client 2's replies: 200 us on /a/3, 50 us on /b.
    let t = top.table(Pane::Latency, &q);
    let row: Vec<String> = t.rows[0].iter().map(ToString::to_string).collect();
    assert_eq!(row[5..], ["2", "50", "200", "200"]);
    assert_eq!(errors(&q), ["1"]);
    assert_eq!(
        watches(&q),
        [
            ("/a/w".to_string(), "1".to_string()),
            ("/b/w".into(), "1".into())
        ]
    );
    assert_eq!(opened(&q), "2");

    // Nothing matches: no latency, error or watch rows, sessions at 0.
    q.client = Some("10.9.".into());
    assert!(latency(&q).is_empty());
    assert!(errors(&q).is_empty());
    assert!(watches(&q).is_empty());
    assert_eq!(opened(&q), "0");
    // The totals behind the filters did not change.
    assert_eq!(top.total.sessions_opened, 3);
}
