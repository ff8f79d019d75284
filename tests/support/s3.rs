//! A real S3 API server on loopback for the object-storage tests: moto's server (PyPI
//! `moto[server]`), with one bucket, and the `AWS_*` settings that point Nightjar at it.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::prereq::{self, Skipped};

/// The bucket every test uses.
pub const BUCKET: &str = "nightjar";

/// The S3 server, stopped when dropped.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts the server with the bucket [`BUCKET`]; `Skipped` (or a failure under
    /// `NIGHTJAR_SYSTEM_TESTS=require`) when moto is not installed.
    pub fn start(test: &str) -> Result<S3Server, Skipped> {
        prereq::python_imports(test, "moto.server, boto3", "pip install 'moto[server]'")?;
        // moto binds with SO_REUSEADDR beside the reservation, which keeps the port ours until then.
        let reserved = ReservedPort::loopback();
        let port = reserved.port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto's S3 server starts");
        let server = S3Server { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the S3 server did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(reserved);
        let made = Command::new("python3")
            .args([
                "-c",
                "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id='testing', \
                 aws_secret_access_key='testing', region_name='us-east-1').create_bucket(Bucket=sys.argv[2])",
                &server.endpoint,
                BUCKET,
            ])
            .output()
            .expect("python3 runs");
        assert!(made.status.success(), "creating the bucket: {}", String::from_utf8_lossy(&made.stderr));
        Ok(server)
    }

    /// The `AWS_*` variables a Nightjar process needs to use this server.
    pub fn env(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}
