//! Loopback ports a test owns for as long as it runs.
//!
//! Binding `127.0.0.1:0`, reading the port and closing the listener leaves a
//! window in which another test (or an outgoing connection) takes the port.
//! A [`ReservedPort`] keeps its socket bound instead, with `SO_REUSEADDR` and
//! without listening, which on Linux:
//!
//! - keeps other sockets off the port: the kernel never hands it out for a
//!   `:0` bind or an outgoing connection, and a bind to it without
//!   `SO_REUSEADDR` fails;
//! - refuses connections, like a server that is down;
//! - still lets a server that binds with `SO_REUSEADDR` (tokio's
//!   `TcpListener::bind` does: the collector, serve-sql and the sensor's
//!   metrics endpoint) listen on it, stop, and listen on it again;
//! - or becomes the listener itself ([`ReservedPort::listen`]), for a server
//!   that runs inside the test.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use socket2::{Domain, Socket, Type};

/// A loopback TCP port held by a bound, non-listening socket; released on drop.
#[derive(Debug)]
pub struct ReservedPort {
    socket: Socket,
    address: SocketAddr,
}

impl ReservedPort {
    /// Reserve a free port on 127.0.0.1.
    pub fn loopback() -> ReservedPort {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a test can open a TCP socket");
        socket.set_reuse_address(true).expect("SO_REUSEADDR can be set on a fresh socket");
        socket
            .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .expect("the kernel has a free loopback port to hand out");
        let address = socket
            .local_addr()
            .ok()
            .and_then(|address| address.as_socket())
            .expect("a bound IPv4 socket has an IPv4 address");
        ReservedPort { socket, address }
    }

    /// The port number.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Start listening on the reserved port: the listener a server inside the test serves from.
    pub fn listen(self) -> TcpListener {
        self.socket.listen(128).expect("a bound socket can listen");
        self.socket.into()
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use socket2::{Domain, Socket, Type};

    use super::ReservedPort;

    #[test]
    fn a_reserved_port_refuses_connections_and_binds_without_reuse_address() {
        let reserved = ReservedPort::loopback();
        assert!(TcpStream::connect(reserved.address()).is_err(), "nothing listens yet");
        let other = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        assert!(other.bind(&reserved.address().into()).is_err(), "the port is taken");
    }

    #[test]
    fn a_server_binding_with_reuse_address_listens_beside_the_reservation_and_again_after_a_restart() {
        let reserved = ReservedPort::loopback();
        for _restart in 0..2 {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let server = tokio::net::TcpListener::bind(reserved.address()).await.expect("binds beside it");
                let client = tokio::net::TcpStream::connect(reserved.address()).await;
                assert!(client.is_ok(), "the server answers");
                drop(server);
            });
        }
    }

    #[test]
    fn a_reserved_port_becomes_the_listener() {
        let reserved = ReservedPort::loopback();
        let address = reserved.address();
        let listener = reserved.listen();
        assert!(TcpStream::connect(address).is_ok());
        drop(listener);
    }
}
