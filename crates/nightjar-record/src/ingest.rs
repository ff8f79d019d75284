//! The per-frame path shared by sensors and `nightjar import`: decode, keep
//! what reached the dark prefixes, classify, label research scanners, append.

use nightjar_packet::{
    LinkType, PrefixSet, ResearchScanners, SkipCounts, SkipReason, Tool, TrafficClass, classify, decode,
};

use crate::builder::{PacketBatchBuilder, RecordOptions};

/// What the per-frame path keeps and drops.
#[derive(Clone, Debug, Default)]
pub struct IngestRules {
    /// Keep only packets whose destination is inside these prefixes; empty keeps all.
    pub dark_prefixes: PrefixSet,
    /// Drop packets whose source is one of these (the sensor's own addresses).
    pub own_addresses: PrefixSet,
    /// Research scanner list for the `research` column.
    pub research: ResearchScanners,
    /// Record building options.
    pub record: RecordOptions,
}

/// Why a decoded packet was not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterReason {
    /// Its destination is outside the dark prefixes.
    OutsideDarkPrefixes,
    /// Its source is inside the dark prefixes (the darknet itself talking).
    SourceInDarkPrefixes,
    /// Its source is one of the sensor's own addresses.
    OwnAddress,
}

/// What became of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameOutcome {
    /// Appended as a record.
    Kept,
    /// Decoded but filtered out.
    Filtered(FilterReason),
    /// Not decodable: malformed, or not IP.
    Skipped(SkipReason),
}

/// Counters of the per-frame path. Every frame lands in exactly one of
/// `kept`, a `filtered_*` counter or `skipped`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestCounters {
    /// Frames seen.
    pub frames: u64,
    /// Records appended.
    pub kept: u64,
    /// Destination outside the dark prefixes.
    pub filtered_outside_dark: u64,
    /// Source inside the dark prefixes.
    pub filtered_source_dark: u64,
    /// Source is the sensor's own address.
    pub filtered_own_address: u64,
    /// Frames that gave no packet, by reason.
    pub skipped: SkipCounts,
    /// Kept records by class: backscatter, scan, other.
    pub by_class: [u64; TrafficClass::ALL.len()],
    /// Kept records by tool: mirai, masscan, zmap.
    pub by_tool: [u64; Tool::ALL.len()],
    /// Kept records with a spoofing sign.
    pub spoofed: u64,
    /// Kept records from research scanners.
    pub research: u64,
}

impl IngestCounters {
    /// Count of kept records of a class.
    pub fn class(&self, class: TrafficClass) -> u64 {
        self.by_class[class.index()]
    }

    /// Count of kept records with a tool fingerprint.
    pub fn tool(&self, tool: Tool) -> u64 {
        self.by_tool[tool.index()]
    }

    /// Frames decoded but filtered out.
    pub fn filtered(&self) -> u64 {
        self.filtered_outside_dark + self.filtered_source_dark + self.filtered_own_address
    }

    /// Add another set of counters into this one.
    pub fn merge(&mut self, other: &IngestCounters) {
        self.frames += other.frames;
        self.kept += other.kept;
        self.filtered_outside_dark += other.filtered_outside_dark;
        self.filtered_source_dark += other.filtered_source_dark;
        self.filtered_own_address += other.filtered_own_address;
        self.skipped.merge(&other.skipped);
        for (count, other) in self.by_class.iter_mut().zip(other.by_class) {
            *count += other;
        }
        for (count, other) in self.by_tool.iter_mut().zip(other.by_tool) {
            *count += other;
        }
        self.spoofed += other.spoofed;
        self.research += other.research;
    }
}

/// Decodes, filters, classifies and appends frames into a batch builder.
pub struct Ingest {
    rules: IngestRules,
    builder: PacketBatchBuilder,
    counters: IngestCounters,
}

impl Ingest {
    /// A new per-frame path with the given rules.
    pub fn new(rules: IngestRules) -> Self {
        let builder = PacketBatchBuilder::new(rules.record);
        Ingest { rules, builder, counters: IngestCounters::default() }
    }

    /// Process one frame captured at `timestamp_ns` (ns since the epoch, UTC).
    #[inline]
    pub fn push(&mut self, timestamp_ns: u64, link: LinkType, frame: &[u8]) -> FrameOutcome {
        self.counters.frames += 1;
        let packet = match decode(link, frame) {
            Ok(packet) => packet,
            Err(reason) => {
                self.counters.skipped.add(reason);
                return FrameOutcome::Skipped(reason);
            }
        };
        let rules = &self.rules;
        if !rules.dark_prefixes.is_empty() {
            if !rules.dark_prefixes.contains(&packet.dst) {
                self.counters.filtered_outside_dark += 1;
                return FrameOutcome::Filtered(FilterReason::OutsideDarkPrefixes);
            }
            if rules.dark_prefixes.contains(&packet.src) {
                self.counters.filtered_source_dark += 1;
                return FrameOutcome::Filtered(FilterReason::SourceInDarkPrefixes);
            }
        }
        if rules.own_addresses.contains(&packet.src) {
            self.counters.filtered_own_address += 1;
            return FrameOutcome::Filtered(FilterReason::OwnAddress);
        }
        let classification = classify(&packet);
        let research = rules.research.label(&packet.src);
        self.counters.kept += 1;
        self.counters.by_class[classification.class.index()] += 1;
        if let Some(tool) = classification.tool {
            self.counters.by_tool[tool.index()] += 1;
        }
        self.counters.spoofed += u64::from(classification.spoof.is_some());
        self.counters.research += u64::from(research.is_some());
        let timestamp_us = i64::try_from(timestamp_ns / 1_000).unwrap_or(i64::MAX);
        self.builder.append(timestamp_us, &packet, &classification, research);
        FrameOutcome::Kept
    }

    /// Records waiting in the builder.
    pub fn pending(&self) -> usize {
        self.builder.len()
    }

    /// Take the waiting records as a batch.
    pub fn finish_batch(&mut self, sensor: &str, batch_seq: u64) -> arrow::record_batch::RecordBatch {
        self.builder.finish(sensor, batch_seq)
    }

    /// The counters so far.
    pub fn counters(&self) -> &IngestCounters {
        &self.counters
    }
}
