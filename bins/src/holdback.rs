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

/// A queued block: its lines' bytes back to back, `first` of them the first line's.
#[derive(Debug)]
struct Block {
    text: Vec<u8>,
    first: usize,
    waiting: bool,
}

/// How many emptied line buffers are kept for the next lines.
const SPARE_BUFFERS: usize = 256;

/// The queue of blocks not yet printed. Lines are copied into buffers it recycles, so holding
/// a line allocates nothing once enough buffers exist.
#[derive(Debug, Default)]
pub struct Holdback {
    queue: BTreeMap<Slot, Block>,
    next: u64,
    spare: Vec<Vec<u8>>,
}

impl Holdback {
    fn insert(&mut self, ts: Timestamp, line: &[u8], waiting: bool) -> Slot {
        let slot = (ts.0, self.next);
        self.next += 1;
        let mut text = self.spare.pop().unwrap_or_default();
        text.extend_from_slice(line);
        let block = Block {
            text,
            first: line.len(),
            waiting,
        };
        self.queue.insert(slot, block);
        slot
    }

    /// Queues a request's line until its reply completes the block.
    pub fn hold(&mut self, ts: Timestamp, line: &[u8]) -> Slot {
        self.insert(ts, line, true)
    }

    /// Queues a line that needs nothing more, at its own time.
    pub fn ready(&mut self, ts: Timestamp, line: &[u8]) {
        self.insert(ts, line, false);
    }

    /// Completes a held request's block with its reply's line; `false` when the request was
    /// already printed alone, so the line is the caller's to queue.
    pub fn complete(&mut self, slot: Slot, line: &[u8]) -> bool {
        match self.queue.get_mut(&slot) {
            Some(block) if block.waiting => {
                block.text.extend_from_slice(line);
                block.waiting = false;
                true
            }
            _ => false,
        }
    }

    /// Ends a held request that will get no reply: its line is marked so.
    pub fn unanswered(&mut self, slot: Slot) {
        if let Some(block) = self.queue.get_mut(&slot) {
            if block.waiting {
                block.text.extend_from_slice(b" (no reply)");
                block.first = block.text.len();
                block.waiting = false;
            }
        }
    }

    /// Hands `out` each line of a block, then keeps its buffer for a later line.
    fn emit(&mut self, mut block: Block, out: &mut dyn FnMut(&[u8])) {
        let (first, rest) = block.text.split_at(block.first);
        out(first);
        if !rest.is_empty() {
            out(rest);
        }
        if self.spare.len() < SPARE_BUFFERS {
            block.text.clear();
            self.spare.push(block.text);
        }
    }

    /// Hands `out` every line that can be printed at capture time `now`, in order.
    pub fn drain(&mut self, now: Timestamp, out: &mut dyn FnMut(&[u8])) {
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
            let block = entry.remove();
            self.emit(block, out);
        }
    }

    /// Hands `out` every line left, in order (the end of the input).
    pub fn drain_all(&mut self, out: &mut dyn FnMut(&[u8])) {
        while let Some((_, block)) = self.queue.pop_first() {
            self.emit(block, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(h: &mut Holdback, now: i64) -> Vec<String> {
        let mut out = Vec::new();
        h.drain(Timestamp(now), &mut |l| {
            out.push(String::from_utf8(l.to_vec()).expect("utf-8"))
        });
        out
    }

    #[test]
    fn a_waiting_request_holds_later_lines_of_any_connection() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(10), b"req A");
        h.ready(Timestamp(20), b"event B");
        assert!(drained(&mut h, 20).is_empty());
        assert!(h.complete(req, b"reply A"));
        assert_eq!(drained(&mut h, 30), ["req A", "reply A", "event B"]);
    }

    #[test]
    fn a_request_past_the_bound_is_printed_alone() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(0), b"req");
        h.ready(Timestamp(5), b"later");
        assert!(drained(&mut h, HOLD_NS - 1).is_empty());
        assert_eq!(drained(&mut h, HOLD_NS), ["req", "later"]);
        assert!(!h.complete(req, b"reply"));
    }

    #[test]
    fn unanswered_requests_say_so() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(0), b"req");
        h.unanswered(req);
        let mut out = Vec::new();
        h.drain_all(&mut |l| out.push(String::from_utf8(l.to_vec()).expect("utf-8")));
        assert_eq!(out, ["req (no reply)"]);
    }
}
