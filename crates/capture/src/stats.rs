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

impl TlsStats {
    /// Adds another reading's TLS counters to these; the key log's figures are the larger.
    pub fn add(&mut self, other: &TlsStats) {
        self.connections += other.connections;
        self.decrypted += other.decrypted;
        self.keys_missing += other.keys_missing;
        self.failed += other.failed;
        self.key_updates += other.key_updates;
        self.keylog_secrets = self.keylog_secrets.max(other.keylog_secrets);
        self.keylog_rejected = self.keylog_rejected.max(other.keylog_rejected);
    }
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
    /// Adds another reading's counters to these (several files, or the shards of one).
    pub fn add(&mut self, other: &CaptureStats) {
        let CaptureStats {
            packets,
            bytes,
            not_tcp,
            unsupported_link,
            malformed,
            ip_fragments,
            truncated,
            tcp_segments,
            ignored_segments,
            flows,
            midstream_flows,
            flows_closed,
            flows_expired,
            flows_evicted,
            partial_frames_abandoned,
            memory_budget_hits,
            retransmits,
            overlaps,
            out_of_order,
            gaps,
            gap_bytes,
            buffer_limit_hits,
            desyncs,
            kernel_drops,
            interface_drops,
            live,
            tls,
        } = other;
        for (sum, n) in [
            (&mut self.packets, packets),
            (&mut self.bytes, bytes),
            (&mut self.not_tcp, not_tcp),
            (&mut self.unsupported_link, unsupported_link),
            (&mut self.malformed, malformed),
            (&mut self.ip_fragments, ip_fragments),
            (&mut self.truncated, truncated),
            (&mut self.tcp_segments, tcp_segments),
            (&mut self.ignored_segments, ignored_segments),
            (&mut self.flows, flows),
            (&mut self.midstream_flows, midstream_flows),
            (&mut self.flows_closed, flows_closed),
            (&mut self.flows_expired, flows_expired),
            (&mut self.flows_evicted, flows_evicted),
            (&mut self.partial_frames_abandoned, partial_frames_abandoned),
            (&mut self.memory_budget_hits, memory_budget_hits),
            (&mut self.retransmits, retransmits),
            (&mut self.overlaps, overlaps),
            (&mut self.out_of_order, out_of_order),
            (&mut self.gaps, gaps),
            (&mut self.gap_bytes, gap_bytes),
            (&mut self.buffer_limit_hits, buffer_limit_hits),
            (&mut self.desyncs, desyncs),
            (&mut self.kernel_drops, kernel_drops),
            (&mut self.interface_drops, interface_drops),
        ] {
            *sum += n;
        }
        self.live |= *live;
        self.tls.add(tls);
    }

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
