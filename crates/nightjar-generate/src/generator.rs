//! The generator: draws a kind, a sender and a destination per packet and
//! builds the frame, with timestamps spread over the configured span.

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::clock::Clock;
use crate::config::GeneratorConfig;
use crate::context::Cx;
use crate::dark::DarkSpace;
use crate::error::GenerateError;
use crate::kind::TrafficKind;
use crate::mix::Mix;
use crate::pool::SourcePool;
use crate::sources::{Source, SourceTable};
use crate::summary::GenerateSummary;
use crate::wire::Frame;
use crate::{backscatter, malformed, probes, scans, spoofed};

/// One generated frame, borrowed from the generator until the next call.
#[derive(Clone, Copy, Debug)]
pub struct GeneratedFrame<'a> {
    /// What was generated.
    pub kind: TrafficKind,
    /// Capture time, µs since the Unix epoch; never decreases.
    pub timestamp_us: i64,
    /// The Ethernet frame.
    pub bytes: &'a [u8],
}

/// Generates frames one at a time; [`crate::generate`] writes them to pcap.
///
/// Use it directly to consume frames without a file, or to report progress.
pub struct Generator<'p> {
    rng: Pcg64Mcg,
    pool: &'p SourcePool,
    dark: DarkSpace,
    mix: Mix,
    /// Persistent senders, indexed by [`TrafficKind`]; `None` for kinds
    /// whose packets come from fresh addresses.
    tables: Vec<Option<SourceTable>>,
    frame: Frame,
    next_index: u64,
    packets: u64,
    clock: Clock,
    summary: GenerateSummary,
}

impl<'p> Generator<'p> {
    /// Check the configuration and create the sources. Sources are drawn
    /// from `pool`, outside the dark prefixes.
    pub fn new(config: &GeneratorConfig, pool: &'p SourcePool) -> Result<Generator<'p>, GenerateError> {
        let duration_us = config.duration_s.saturating_mul(1_000_000);
        let end_s = config.start_time_us.div_euclid(1_000_000).saturating_add(config.duration_s as i64);
        if config.start_time_us < 0 || end_s > i64::from(u32::MAX) || config.duration_s > u64::from(u32::MAX) {
            return Err(GenerateError::TimeOutOfRange {
                start_time_us: config.start_time_us,
                duration_s: config.duration_s,
            });
        }
        if config.sources == Some(0) {
            return Err(GenerateError::ZeroSources);
        }
        let dark = DarkSpace::new(&config.dark_prefixes)?;
        if pool.ipv4_len() == 0 {
            return Err(GenerateError::NoIpv4Sources);
        }
        if let Some(prefix) = dark.first_v6()
            && pool.ipv6_len() == 0
        {
            return Err(GenerateError::NoIpv6Sources { prefix });
        }
        let mix = Mix::new(dark.first_v6().is_some());
        let mut rng = Pcg64Mcg::seed_from_u64(config.seed);
        let total_sources = u64::from(config.source_count());
        let mut tables: Vec<Option<SourceTable>> = TrafficKind::ALL.iter().map(|_| None).collect();
        for kind in mix.kinds.iter().copied().filter(|k| k.has_persistent_sources()) {
            let count = (total_sources * u64::from(kind.share_ppm()) / u64::from(mix.total())).max(1) as usize;
            tables[kind.index()] = Some(SourceTable::new(kind, count, &mut rng, pool, &dark, persona(kind))?);
        }
        Ok(Generator {
            rng,
            pool,
            dark,
            mix,
            tables,
            frame: Frame::new(),
            next_index: 0,
            packets: config.packets,
            clock: Clock::new(config.start_time_us, duration_us, config.packets),
            summary: GenerateSummary::default(),
        })
    }

    /// The next frame, or `None` after the configured number of packets.
    pub fn next_frame(&mut self) -> Result<Option<GeneratedFrame<'_>>, GenerateError> {
        if self.next_index >= self.packets {
            return Ok(None);
        }
        let timestamp_us = self.clock.tick(&mut self.rng);
        self.next_index += 1;
        let kind = self.mix.sample(&mut self.rng);
        let source = match self.tables[kind.index()].as_mut() {
            Some(table) => Some(table.pick(&mut self.rng)),
            None => None,
        };
        let mut cx =
            Cx { rng: &mut self.rng, frame: &mut self.frame, dark: &self.dark, pool: self.pool, now_us: timestamp_us };
        let built = build(kind, source, &mut cx)?;
        self.summary.add(built, self.frame.bytes().len());
        Ok(Some(GeneratedFrame { kind: built, timestamp_us, bytes: self.frame.bytes() }))
    }

    /// Counts so far.
    pub fn summary(&self) -> &GenerateSummary {
        &self.summary
    }

    /// The final counts, with the number of distinct senders.
    pub fn into_summary(self) -> GenerateSummary {
        let mut summary = self.summary;
        summary.distinct_sources = self.tables.iter().flatten().map(SourceTable::used).sum();
        summary
    }
}

/// The function that sets a persistent sender's fixed traits.
fn persona(kind: TrafficKind) -> fn(TrafficKind, &mut Source, &mut Pcg64Mcg) {
    use TrafficKind::*;
    match kind {
        UdpProbe | IcmpEchoRequest | Ipv6EchoRequest => probes::persona,
        SynAck | RstAck | IcmpPortUnreachable | IcmpHostUnreachable | DnsResponse => backscatter::persona,
        _ => scans::persona,
    }
}

/// Build one frame of `kind` into the context's frame; returns the kind
/// actually built (spoofed kinds may fall back to a high-TTL SYN).
fn build(kind: TrafficKind, source: Option<&mut Source>, cx: &mut Cx<'_>) -> Result<TrafficKind, GenerateError> {
    use TrafficKind::*;
    let Some(source) = source else {
        return match kind {
            TruncatedIpHeader | BadIpHeaderLength | TruncatedTcpHeader | BadTcpDataOffset | BadUdpLength => {
                malformed::build(kind, cx).map(|()| kind)
            }
            _ => spoofed::build(kind, cx),
        };
    };
    match kind {
        UdpProbe => probes::udp_probe(source, cx),
        IcmpEchoRequest => probes::echo_request(source, cx),
        Ipv6EchoRequest => probes::ipv6_echo_request(source, cx),
        Ipv6Syn => scans::ipv6_syn(source, cx),
        SynAck => backscatter::syn_ack(source, cx),
        RstAck => backscatter::rst_ack(source, cx),
        IcmpPortUnreachable => backscatter::port_unreachable(source, cx),
        IcmpHostUnreachable => backscatter::host_unreachable(source, cx)?,
        DnsResponse => backscatter::dns_answer(source, cx),
        _ => scans::tcp_syn(kind, source, cx),
    }
    Ok(kind)
}
