//! Counters for everything the capture core saw, skipped, repaired or gave up on.
//!
//! Losses and repairs are normal in captures; what is not acceptable is hiding them. Every
//! layer counts here, and every tool prints these counters in its end-of-run summary.

/// Counters kept by the source, the link decoder and the reassembler.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CaptureStats {
    /// Packets read from the source.
    pub packets: u64,
    /// Captured bytes of those packets (what the file or kernel handed over).
    pub bytes: u64,
    /// Packets that were not TCP over IPv4/IPv6 (ARP, UDP, ICMP, other link types...).
    pub not_tcp: u64,
    /// Packets whose link type zkwire does not decode.
    pub unsupported_link: u64,
    /// Packets too damaged to reach the TCP header.
    pub malformed: u64,
    /// IP fragments (counted and skipped; ZooKeeper peers never fragment TCP).
    pub ip_fragments: u64,
    /// Packets cut short by the capture's snaplen.
    pub truncated: u64,
    /// TCP segments handed to the reassembler.
    pub tcp_segments: u64,
    /// TCP segments that belonged to connections no tool asked for.
    pub ignored_segments: u64,
    /// Connections tracked.
    pub flows: u64,
    /// Connections first met without their SYN (capture started mid-stream).
    pub midstream_flows: u64,
    /// Connections that ended with FIN or RST.
    pub flows_closed: u64,
    /// Connections dropped after being idle too long.
    pub flows_expired: u64,
    /// Connections evicted because the flow table was full.
    pub flows_evicted: u64,
    /// Partial messages a consumer held that were given up (as gaps) to stay within the
    /// memory budget.
    pub partial_frames_abandoned: u64,
    /// Times the memory budget was exceeded and room was made.
    pub memory_budget_hits: u64,
    /// Segments whose bytes had all been delivered already (retransmissions, duplicates).
    pub retransmits: u64,
    /// Segments that partly overlapped bytes already delivered (the new part was kept).
    pub overlaps: u64,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order: u64,
    /// Holes that were given up on and reported to the consumer as gaps.
    pub gaps: u64,
    /// Bytes of stream lost in those gaps.
    pub gap_bytes: u64,
    /// Times the per-flow or global out-of-order buffer limit forced a gap.
    pub buffer_limit_hits: u64,
    /// Sequence jumps too large to be the same stream (treated as a restart of the stream).
    pub desyncs: u64,
    /// Packets the kernel dropped before zkwire saw them (live capture only).
    pub kernel_drops: u64,
    /// Packets the interface or driver dropped (live capture only).
    pub interface_drops: u64,
    /// Whether the packets came from a live interface (so the drop counters are meaningful).
    pub live: bool,
    /// TLS connections and what became of them (filled by the `tls` feature's layer).
    pub tls: TlsStats,
}

/// What the TLS layer (feature `tls`) made of the TLS connections it met.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct TlsStats {
    /// Connections whose bytes are TLS records.
    pub connections: u64,
    /// Of those, connections decrypted with keys from the key log.
    pub decrypted: u64,
    /// Of those, connections whose keys were not in the key log (or whose handshake was not
    /// captured): nothing of them was decoded.
    pub keys_missing: u64,
    /// Of those, connections whose decryption failed (wrong secrets, an unsupported cipher
    /// suite, a capture gap…): nothing after the failure was decoded.
    pub failed: u64,
    /// TLS 1.3 key updates applied.
    pub key_updates: u64,
    /// Secrets read from the key log.
    pub keylog_secrets: u64,
    /// Key log lines that could not be read.
    pub keylog_rejected: u64,
}

impl CaptureStats {
    /// The counters as one short human line, for the end-of-run summary on stderr.
    pub fn summary_fields(&self) -> String {
        let mut s = format!(
            "{} packets, {} bytes, {} flows, {} gaps ({} bytes), {} retransmits, {} out-of-order",
            self.packets,
            self.bytes,
            self.flows,
            self.gaps,
            self.gap_bytes,
            self.retransmits,
            self.out_of_order
        );
        if self.live || self.kernel_drops > 0 || self.interface_drops > 0 {
            s.push_str(&format!(
                ", {} kernel drops, {} interface drops",
                self.kernel_drops, self.interface_drops
            ));
        }
        if self.malformed > 0 || self.truncated > 0 || self.ip_fragments > 0 {
            s.push_str(&format!(
                ", {} malformed, {} truncated, {} ip fragments",
                self.malformed, self.truncated, self.ip_fragments
            ));
        }
        if self.tls.connections > 0 {
            let t = &self.tls;
            s.push_str(&format!(
                ", {} TLS connections ({} decrypted, {} without keys, {} failed)",
                t.connections, t.decrypted, t.keys_missing, t.failed
            ));
        }
        if self.memory_budget_hits > 0 {
            s.push_str(&format!(
                ", memory budget reached {} times ({} partial messages abandoned)",
                self.memory_budget_hits, self.partial_frames_abandoned
            ));
        }
        if self.flows_evicted > 0 || self.buffer_limit_hits > 0 {
            s.push_str(&format!(
                ", {} flows evicted, {} buffer limit hits",
                self.flows_evicted, self.buffer_limit_hits
            ));
        }
        s
    }
}
