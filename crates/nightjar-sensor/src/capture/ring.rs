//! Live capture through a TPACKET_V3 memory-mapped ring on an AF_PACKET socket.
//!
//! pnet's datalink channel reads one frame per `recvfrom` system call and hands over neither the
//! kernel's arrival time nor its drop count. The ring lets the kernel write frames into blocks
//! shared with the sensor: one wake-up per block of frames instead of one system call per frame,
//! the kernel's timestamp of each frame, and `PACKET_STATISTICS` for the frames it had to drop
//! because the ring was full. pnet still finds the interface (index, state); the socket only
//! receives — nothing is ever written to it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use nightjar_packet::LinkType;

use super::config::RING_BLOCK_SIZE;
use super::{CaptureConfig, FrameSource, Polled};
use crate::error::SensorError;

/// Bytes per ring block (`capture.ring_size` is a whole number of them).
const BLOCK_SIZE: usize = RING_BLOCK_SIZE as usize;
/// The frame slot size the kernel asks for (TPACKET_V3 packs frames of any size into a block).
const FRAME_SIZE: usize = 2048;
/// A block that is not full is handed to the sensor after this many milliseconds, so that a
/// quiet darknet's frames do not wait in the ring.
const BLOCK_TIMEOUT_MS: u32 = 100;
/// How long one poll waits for a block: the batch age check runs this often when it is quiet.
const POLL_TIMEOUT_MS: i32 = 100;

/// An AF_PACKET socket with a receive ring on one interface.
pub(crate) struct RingSource {
    interface: String,
    socket: OwnedFd,
    ring: NonNull<u8>,
    /// Blocks in the ring (`capture.ring_size` / [`BLOCK_SIZE`]).
    block_count: usize,
    /// The block the sensor reads now (or waits for).
    block: usize,
    /// Whether the sensor holds `block` (the kernel handed it over and it is not yet returned).
    held: bool,
    /// Frames of the held block not yet read.
    remaining: u32,
    /// Where the next unread frame of the held block starts, from the block's start.
    next_offset: usize,
}

// The ring is memory the sensor maps once and reads from one thread at a time; the raw pointer
// only stands for that mapping, which lives as long as the source.
unsafe impl Send for RingSource {}

fn os_error(interface: &str, what: &str) -> SensorError {
    let error = io::Error::last_os_error();
    let problem = if error.kind() == io::ErrorKind::PermissionDenied {
        format!(
            "{what}: {error}: capturing needs CAP_NET_RAW (run the service with AmbientCapabilities=CAP_NET_RAW, see sensors/INSTALL.md)"
        )
    } else {
        format!("{what}: {error}")
    };
    SensorError::Interface { interface: interface.to_string(), problem }
}

/// `setsockopt(SOL_PACKET, option, value)`.
fn set_packet_option<T>(socket: &OwnedFd, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of the size given.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if result == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

impl RingSource {
    /// Opens the ring of `capture.ring_size` on the interface `name` (its kernel index `index`);
    /// promiscuous when `capture.promiscuous` asks.
    pub(crate) fn open(name: &str, index: u32, capture: &CaptureConfig) -> Result<RingSource, SensorError> {
        let block_count = capture.ring_blocks();
        let all = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain system call; the descriptor is owned right away.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::c_int::from(all)) };
        if raw < 0 {
            return Err(os_error(name, "cannot open a capture socket"));
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(raw) };
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        set_packet_option(&socket, libc::PACKET_VERSION, &version)
            .map_err(|_| os_error(name, "the kernel does not offer TPACKET_V3 rings"))?;
        let request = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE as libc::c_uint,
            tp_block_nr: block_count as libc::c_uint,
            tp_frame_size: FRAME_SIZE as libc::c_uint,
            tp_frame_nr: (BLOCK_SIZE / FRAME_SIZE * block_count) as libc::c_uint,
            tp_retire_blk_tov: BLOCK_TIMEOUT_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        set_packet_option(&socket, libc::PACKET_RX_RING, &request)
            .map_err(|_| os_error(name, "cannot set up the receive ring"))?;
        // SAFETY: maps the ring the kernel just allocated for this socket, shared with it.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BLOCK_SIZE * block_count,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                socket.as_raw_fd(),
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(os_error(name, "cannot map the receive ring"));
        }
        let ring = NonNull::new(mapped.cast::<u8>()).ok_or_else(|| os_error(name, "the ring mapped at address 0"))?;
        // From here on, dropping `source` unmaps the ring and closes the socket.
        let source = RingSource {
            interface: name.to_string(),
            socket,
            ring,
            block_count,
            block: 0,
            held: false,
            remaining: 0,
            next_offset: 0,
        };
        let ifindex = libc::c_int::try_from(index).map_err(|_| os_error(name, "interface index out of range"))?;
        // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set below.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as libc::c_ushort;
        address.sll_protocol = all;
        address.sll_ifindex = ifindex;
        // SAFETY: `address` is a live sockaddr_ll of the size given.
        let bound = unsafe {
            libc::bind(
                source.socket.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if bound != 0 {
            return Err(os_error(name, "cannot bind the capture socket to the interface"));
        }
        if capture.promiscuous {
            let membership = libc::packet_mreq {
                mr_ifindex: ifindex,
                mr_type: libc::PACKET_MR_PROMISC as libc::c_ushort,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            set_packet_option(&source.socket, libc::PACKET_ADD_MEMBERSHIP, &membership)
                .map_err(|_| os_error(name, "cannot put the interface in promiscuous mode"))?;
        }
        Ok(source)
    }

    fn block_start(&self, block: usize) -> *mut u8 {
        // SAFETY: `block < block_count`, so the offset stays inside the mapping.
        unsafe { self.ring.as_ptr().add(block * BLOCK_SIZE) }
    }

    /// The status word of a block, shared with the kernel.
    fn block_status(&self, block: usize) -> &AtomicU32 {
        let descriptor = self.block_start(block).cast::<libc::tpacket_block_desc>();
        // SAFETY: every block starts with its descriptor; the kernel and the sensor hand the block
        // to each other through this word, which is 4-byte aligned inside the page-aligned block.
        unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*descriptor).hdr.bh1.block_status)) }
    }

    /// Takes the current block if the kernel has handed it over.
    fn take_block(&mut self) -> bool {
        if self.block_status(self.block).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return false;
        }
        let descriptor = self.block_start(self.block).cast::<libc::tpacket_block_desc>();
        // SAFETY: the block is the sensor's until it is returned; the descriptor is at its start.
        let header = unsafe { std::ptr::read(std::ptr::addr_of!((*descriptor).hdr.bh1)) };
        self.held = true;
        self.remaining = header.num_pkts;
        self.next_offset = header.offset_to_first_pkt as usize;
        true
    }

    /// Hands the current block back to the kernel and moves to the next one.
    fn release_block(&mut self) {
        self.block_status(self.block).store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.held = false;
        self.block = (self.block + 1) % self.block_count;
    }

    /// Waits up to the poll timeout for the socket to have a block ready.
    fn wait(&self) -> io::Result<()> {
        let mut ready = libc::pollfd { fd: self.socket.as_raw_fd(), events: libc::POLLIN | libc::POLLERR, revents: 0 };
        // SAFETY: one live pollfd.
        match unsafe { libc::poll(&mut ready, 1, POLL_TIMEOUT_MS) } {
            -1 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        }
    }
}

impl FrameSource for RingSource {
    fn poll(&mut self) -> Polled<'_> {
        if self.held && self.remaining == 0 {
            self.release_block();
        }
        if !self.held && !self.take_block() {
            if let Err(error) = self.wait()
                && error.kind() != io::ErrorKind::Interrupted
            {
                return Polled::Error(format!("waiting for frames on {}: {error}", self.interface));
            }
            if !self.take_block() {
                return Polled::Idle;
            }
        }
        if self.remaining == 0 {
            // A block retired by the timeout with no frame in it.
            return Polled::Idle;
        }
        let block = self.block_start(self.block);
        if self.next_offset + size_of::<libc::tpacket3_hdr>() > BLOCK_SIZE {
            self.remaining = 0;
            return Polled::Error(format!("a ring block of {} points outside itself; skipped", self.interface));
        }
        // SAFETY: the offset lies inside the held block (checked above); the kernel wrote a
        // frame header there.
        let header = unsafe { std::ptr::read_unaligned(block.add(self.next_offset).cast::<libc::tpacket3_hdr>()) };
        let start = self.next_offset + usize::from(header.tp_mac);
        let length = header.tp_snaplen as usize;
        self.remaining -= 1;
        self.next_offset += header.tp_next_offset as usize;
        if start + length > BLOCK_SIZE {
            return Polled::Error(format!(
                "a frame in a ring block of {} runs past the block; skipped",
                self.interface
            ));
        }
        let timestamp_ns = u64::from(header.tp_sec) * 1_000_000_000 + u64::from(header.tp_nsec);
        // SAFETY: the frame lies inside the held block (checked above); the block stays the
        // sensor's until the next poll, which is after the borrow of `self` ends.
        let data = unsafe { std::slice::from_raw_parts(block.add(start), length) };
        Polled::Frame { timestamp_ns, link: LinkType::Ethernet, data }
    }

    fn describe(&self) -> String {
        format!("interface {} (TPACKET_V3 ring, {} × {} KiB)", self.interface, self.block_count, BLOCK_SIZE >> 10)
    }

    fn kernel_drops(&mut self) -> Option<u64> {
        // SAFETY: the kernel fills a tpacket_stats_v3 of the size given; reading resets it.
        let mut stats: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut length = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        let result = unsafe {
            libc::getsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats_v3).cast(),
                &mut length,
            )
        };
        (result == 0).then_some(u64::from(stats.tp_drops))
    }
}

impl Drop for RingSource {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `open`; the socket closes after this.
        unsafe {
            libc::munmap(self.ring.as_ptr().cast(), BLOCK_SIZE * self.block_count);
        }
    }
}
