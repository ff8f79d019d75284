//! Live capture on a named interface with pnet's datalink channel.

use std::io::ErrorKind;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nightjar_packet::LinkType;
use pnet_datalink::{Channel, ChannelType, Config, DataLinkReceiver, NetworkInterface};

use super::{FrameSource, Polled};
use crate::error::SensorError;

/// How long one poll waits for a frame: the batch age check runs this often
/// when the darknet is quiet.
const READ_TIMEOUT: Duration = Duration::from_millis(100);
/// Receive buffer per frame. Larger than any frame on the wire (64 KiB IP
/// plus link headers), so that a GRO-merged frame is not cut short either.
const READ_BUFFER: usize = 128 * 1024;

/// An open AF_PACKET socket on one interface.
pub(crate) struct LiveSource {
    interface: String,
    receiver: Box<dyn DataLinkReceiver>,
}

impl LiveSource {
    /// Open the interface; a missing interface or a missing capability is an
    /// error that says what to fix.
    pub(crate) fn open(name: &str, promiscuous: bool) -> Result<LiveSource, SensorError> {
        let interface = find_interface(name)?;
        if !interface.is_up() {
            tracing::warn!(interface = name, "the capture interface is down: nothing will be captured until it is up");
        }
        let config = Config {
            read_buffer_size: READ_BUFFER,
            read_timeout: Some(READ_TIMEOUT),
            channel_type: ChannelType::Layer2,
            promiscuous,
            ..Config::default()
        };
        let channel = pnet_datalink::channel(&interface, config).map_err(|e| SensorError::Interface {
            interface: name.to_string(),
            problem: if e.kind() == ErrorKind::PermissionDenied {
                format!("{e}: capturing needs CAP_NET_RAW (run the service with AmbientCapabilities=CAP_NET_RAW, see sensors/INSTALL.md)")
            } else {
                format!("cannot open a capture socket: {e}")
            },
        })?;
        let receiver = match channel {
            // The sending half is dropped here, unused: the sensor never sends.
            Channel::Ethernet(_sender, receiver) => receiver,
            _ => {
                return Err(SensorError::Interface {
                    interface: name.to_string(),
                    problem: "pnet returned a channel type other than Ethernet".into(),
                });
            }
        };
        Ok(LiveSource { interface: name.to_string(), receiver })
    }
}

/// The interface called `name`; the error lists the ones that exist.
pub(crate) fn find_interface(name: &str) -> Result<NetworkInterface, SensorError> {
    let interfaces = pnet_datalink::interfaces();
    if let Some(interface) = interfaces.iter().find(|i| i.name == name) {
        return Ok(interface.clone());
    }
    let mut names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
    names.sort_unstable();
    Err(SensorError::Interface {
        interface: name.to_string(),
        problem: format!("no such interface here (this host has: {})", names.join(", ")),
    })
}

impl FrameSource for LiveSource {
    fn poll(&mut self) -> Polled<'_> {
        match self.receiver.next() {
            Ok(data) => {
                // pnet hands over no kernel timestamp; the time of reading is
                // within the socket's queueing delay of the arrival.
                let timestamp_ns =
                    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
                Polled::Frame { timestamp_ns, link: LinkType::Ethernet, data }
            }
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => Polled::Idle,
            Err(e) if e.kind() == ErrorKind::WouldBlock => Polled::Idle,
            Err(e) => {
                // An interface going down gives ENETDOWN on every read: do not spin.
                std::thread::sleep(READ_TIMEOUT);
                Polled::Error(format!("reading from {}: {e}", self.interface))
            }
        }
    }

    fn describe(&self) -> String {
        format!("interface {}", self.interface)
    }
}
