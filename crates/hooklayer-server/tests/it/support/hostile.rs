//! Hostile webhook receivers: raw HTTPS servers that pass the verification handshake (so the
//! webhook becomes active) and then misbehave on every delivery, the ways a broken or
//! malicious receiver can: trickled headers, a never-ending body, a TLS handshake that never
//! completes, a reset in the middle of a response, a 1 GB `Content-Length`.

use super::receiver::TestCa;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// How a hostile receiver answers a delivery.
#[derive(Clone, Copy, Debug)]
pub enum Hostility {
    /// The status line and headers one byte every 100 ms, never finished.
    TrickledHeaders,
    /// `200` with a chunked body that never ends.
    EndlessBody,
    /// Accepts the TCP connection of a delivery and never answers the TLS handshake.
    StalledHandshake,
    /// Half a status line, then a TCP reset.
    ResetMidResponse,
    /// `200` announcing a 1 GB body, then a trickle of it.
    HugeContentLength,
}

/// A running hostile receiver; stops when dropped.
pub struct HostileReceiver {
    pub port: u16,
    /// Delivery connections accepted so far.
    pub deliveries: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl HostileReceiver {
    pub async fn start(ca: &TestCa, hostility: Hostility) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let acceptor = TlsAcceptor::from(ca.server_config());
        let deliveries = Arc::new(AtomicUsize::new(0));
        let counter = deliveries.clone();
        let task = tokio::spawn(async move {
            // The first connection is the verification; every later one is a delivery.
            let mut verified = false;
            while let Ok((tcp, _)) = listener.accept().await {
                if verified {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                let acceptor = acceptor.clone();
                tokio::spawn(serve(tcp, acceptor, hostility, verified));
                verified = true;
            }
        });
        Self {
            port,
            deliveries,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/hook", self.port)
    }
}

impl Drop for HostileReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(tcp: TcpStream, acceptor: TlsAcceptor, hostility: Hostility, verified: bool) {
    if verified && matches!(hostility, Hostility::StalledHandshake) {
        // Read whatever comes (the ClientHello) and never answer.
        let mut tcp = tcp;
        let mut sink = [0u8; 4096];
        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
        return;
    }
    let Ok(mut tls) = acceptor.accept(tcp).await else {
        return;
    };
    let Some(head) = read_head(&mut tls).await else {
        return;
    };
    if !verified {
        answer_challenge(&mut tls, &head).await;
        return;
    }
    misbehave(tls, hostility).await;
}

/// Reads a request head (up to the blank line).
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// `200` with the challenge of the request line, then close.
async fn answer_challenge<S: AsyncWrite + Unpin>(stream: &mut S, head: &str) {
    let challenge: String = head
        .split_once("verification_challenge=")
        .map(|(_, rest)| rest.chars().take_while(char::is_ascii_hexdigit).collect())
        .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{challenge}",
        challenge.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn misbehave(mut tls: tokio_rustls::server::TlsStream<TcpStream>, hostility: Hostility) {
    let pause = || tokio::time::sleep(Duration::from_millis(100));
    match hostility {
        Hostility::TrickledHeaders => {
            for byte in b"HTTP/1.1 200 OK\r\nx-slow: "
                .iter()
                .chain(std::iter::repeat(&b'a'))
            {
                if tls.write_all(&[*byte]).await.is_err() || tls.flush().await.is_err() {
                    return;
                }
                pause().await;
            }
        }
        Hostility::EndlessBody => {
            let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
            if tls.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
            while tls.write_all(chunk.as_bytes()).await.is_ok() {}
        }
        Hostility::HugeContentLength => {
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n";
            if tls.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            while tls.write_all(&[b'x'; 1024]).await.is_ok() {
                pause().await;
            }
        }
        Hostility::ResetMidResponse => {
            let _ = tls.write_all(b"HTTP/1.1 20").await;
            let _ = tls.flush().await;
            let (tcp, _) = tls.into_inner();
            // SO_LINGER 0: closing sends a reset instead of a FIN. (Deprecated because a
            // non-zero linger blocks the dropping thread; zero never does.)
            #[allow(deprecated)]
            let _ = tcp.set_linger(Some(Duration::ZERO));
            drop(tcp);
        }
        Hostility::StalledHandshake => {}
    }
}
