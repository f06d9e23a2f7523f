//! Paired text output in request-time order, across connections.
//!
//! zk-dump prints a request together with its reply, so a request's line waits for the reply.
//! Lines of other connections (watch events, other pairs) that come meanwhile must wait too,
//! or the output runs backwards in time: an event at 12.952 printed above the request at
//! 12.941 whose reply came later. Every line is therefore queued under the capture time of
//! the line that starts its block (the request for a pair, its own time otherwise) and printed
//! once nothing earlier is still waiting. A request that waits longer than a bound of capture
//! time (or while too many lines are held) is printed alone, so output never stalls on a
//! request that gets no reply; its reply is then printed alone when it comes.

use std::collections::BTreeMap;
use zkwire_capture::Timestamp;

/// Where a held request's block sits in the queue.
pub type Slot = (i64, u64);

/// How long a request may hold back the output, in nanoseconds of capture time.
pub const HOLD_NS: i64 = 1_000_000_000;
/// How many blocks may be held at most.
pub const MAX_HELD: usize = 100_000;

#[derive(Debug)]
struct Block {
    lines: Vec<Vec<u8>>,
    waiting: bool,
}

/// The queue of blocks not yet printed.
#[derive(Debug, Default)]
pub struct Holdback {
    queue: BTreeMap<Slot, Block>,
    next: u64,
}

impl Holdback {
    fn insert(&mut self, ts: Timestamp, line: Vec<u8>, waiting: bool) -> Slot {
        let slot = (ts.0, self.next);
        self.next += 1;
        let lines = vec![line];
        self.queue.insert(slot, Block { lines, waiting });
        slot
    }

    /// Queues a request's line until its reply completes the block.
    pub fn hold(&mut self, ts: Timestamp, line: Vec<u8>) -> Slot {
        self.insert(ts, line, true)
    }

    /// Queues a line that needs nothing more, at its own time.
    pub fn ready(&mut self, ts: Timestamp, line: Vec<u8>) {
        self.insert(ts, line, false);
    }

    /// Completes a held request's block with `lines` (its reply, …); `false` when the request
    /// was already printed alone, so the lines are the caller's to queue.
    pub fn complete(&mut self, slot: Slot, lines: impl IntoIterator<Item = Vec<u8>>) -> bool {
        match self.queue.get_mut(&slot) {
            Some(block) => {
                block.lines.extend(lines);
                block.waiting = false;
                true
            }
            None => false,
        }
    }

    /// Ends a held request that will get no reply: its line is marked so.
    pub fn unanswered(&mut self, slot: Slot) {
        if let Some(block) = self.queue.get_mut(&slot) {
            if let Some(first) = block.lines.first_mut() {
                first.extend_from_slice(b" (no reply)");
            }
            block.waiting = false;
        }
    }

    /// Hands `out` every block that can be printed at capture time `now`, in order.
    pub fn drain(&mut self, now: Timestamp, out: &mut dyn FnMut(Vec<u8>)) {
        loop {
            let crowded = self.queue.len() > MAX_HELD;
            let Some(entry) = self.queue.first_entry() else {
                break;
            };
            let overdue = now.0.saturating_sub(entry.key().0) >= HOLD_NS;
            if entry.get().waiting && !overdue && !crowded {
                break;
            }
            // A request still waiting past the bound is printed alone.
            for line in entry.remove().lines {
                out(line);
            }
        }
    }

    /// Hands `out` every block left, in order (the end of the input).
    pub fn drain_all(&mut self, out: &mut dyn FnMut(Vec<u8>)) {
        while let Some((_, block)) = self.queue.pop_first() {
            block.lines.into_iter().for_each(&mut *out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(h: &mut Holdback, now: i64) -> Vec<String> {
        let mut out = Vec::new();
        h.drain(Timestamp(now), &mut |l| {
            out.push(String::from_utf8(l).expect("utf-8"))
        });
        out
    }

    #[test]
    fn a_waiting_request_holds_later_lines_of_any_connection() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(10), "req A".into());
        h.ready(Timestamp(20), "event B".into());
        assert!(drained(&mut h, 20).is_empty());
        assert!(h.complete(req, [b"reply A".to_vec()]));
        assert_eq!(drained(&mut h, 30), ["req A", "reply A", "event B"]);
    }

    #[test]
    fn a_request_past_the_bound_is_printed_alone() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(0), "req".into());
        h.ready(Timestamp(5), "later".into());
        assert!(drained(&mut h, HOLD_NS - 1).is_empty());
        assert_eq!(drained(&mut h, HOLD_NS), ["req", "later"]);
        assert!(!h.complete(req, [b"reply".to_vec()]));
    }

    #[test]
    fn unanswered_requests_say_so() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(0), "req".into());
        h.unanswered(req);
        let mut out = Vec::new();
        h.drain_all(&mut |l| out.push(String::from_utf8(l).expect("utf-8")));
        assert_eq!(out, ["req (no reply)"]);
    }
}
