//! A real HTTPS webhook receiver for integration tests.
//!
//! [`TestCa`] is a throw-away certificate authority (rcgen, ring); [`TestReceiver`] serves
//! HTTPS on `127.0.0.1:<random port>` with a certificate from it (hyper 1, HTTP/1.1
//! keep-alive, tokio-rustls), records every request, and answers as scripted by
//! [`Behavior`]. The script can change while it runs, and tests wait on the recorded requests
//! with a bounded [`TestReceiver::wait_for_requests`] instead of sleeping.

use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

static NEXT_CA: AtomicUsize = AtomicUsize::new(1);

/// A certificate authority that exists for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl TestCa {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A distinct name per CA, so a certificate from another test CA is an unknown issuer
        // rather than a bad signature from a same-named one.
        let serial = NEXT_CA.fetch_add(1, Ordering::Relaxed);
        let name = format!("hooklayer test CA {serial}");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Self {
            issuer: Issuer::new(params, key),
            cert_pem: cert.pem(),
        }
    }

    /// The CA certificate, PEM, as `HOOKLAYER_TRUSTED_CA` would hold it.
    pub fn ca_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// A server certificate for `localhost`, `127.0.0.1` and `::1`, with its key.
    pub fn issue_server_cert(&self) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("server key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    }

    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let (cert, key) = self.issue_server_cert();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server TLS config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// How the receiver answers a request.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// GET with `verification_challenge` → 200 + the challenge; other GET → 400; POST → 204.
    EchoChallenge,
    /// This status, empty body.
    Status(u16),
    /// This status and body.
    Body(u16, String),
    /// This status with this `Retry-After` value.
    RetryAfter(u16, String),
    /// Wait, then 204.
    Sleep(Duration),
    /// 302 to another path of this receiver.
    Redirect,
}

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: Method,
    /// Origin-form target, e.g. `/hook?team=7&verification_challenge=…`.
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub received_at: Instant,
    /// The client's address: one value per TCP connection, so equal peers mean reuse.
    pub peer: SocketAddr,
}

impl RecordedRequest {
    /// A header as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.path_and_query.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// State shared by the handle and the connection tasks. The std mutex is never held across
/// an await point.
struct Shared {
    addr: SocketAddr,
    state: Mutex<State>,
    /// Number of recorded requests; waiters subscribe to it.
    recorded: watch::Sender<usize>,
    /// TCP connections accepted (TLS handshake or not).
    connections: AtomicUsize,
}

struct State {
    default: Behavior,
    once: VecDeque<Behavior>,
    requests: Vec<RecordedRequest>,
}

impl Shared {
    /// Records the request and picks the behaviour that answers it.
    fn record(&self, request: RecordedRequest) -> Behavior {
        let (count, behavior) = {
            let mut state = self.state.lock().expect("receiver state");
            state.requests.push(request);
            let behavior = state
                .once
                .pop_front()
                .unwrap_or_else(|| state.default.clone());
            (state.requests.len(), behavior)
        };
        // Signalled after the state lock is released, so the two locks are never nested; the
        // count only grows even when two connections record at once.
        self.recorded.send_if_modified(|seen| {
            let grew = count > *seen;
            if grew {
                *seen = count;
            }
            grew
        });
        behavior
    }
}

/// A running HTTPS receiver; stops when dropped.
pub struct TestReceiver {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl TestReceiver {
    /// Starts serving with a certificate issued by `ca`; answers [`Behavior::EchoChallenge`].
    pub async fn start(ca: &TestCa) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let shared = Arc::new(Shared {
            addr: listener.local_addr().expect("receiver address"),
            state: Mutex::new(State {
                default: Behavior::EchoChallenge,
                once: VecDeque::new(),
                requests: Vec::new(),
            }),
            recorded: watch::Sender::new(0),
            connections: AtomicUsize::new(0),
        });
        let acceptor = TlsAcceptor::from(ca.server_config());
        let task = tokio::spawn(accept_loop(listener, acceptor, shared.clone()));
        Self { shared, task }
    }

    /// `https://127.0.0.1:PORT<path>`; `path` starts with `/` and may carry a query.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.shared.addr)
    }

    pub fn port(&self) -> u16 {
        self.shared.addr.port()
    }

    /// The default behaviour, used when no one-shot behaviour is queued.
    pub fn set_default(&self, behavior: Behavior) {
        self.shared.state.lock().expect("receiver state").default = behavior;
    }

    /// Queues a behaviour for the next request only (in order, before the default).
    pub fn push_once(&self, behavior: Behavior) {
        self.shared
            .state
            .lock()
            .expect("receiver state")
            .once
            .push_back(behavior);
    }

    /// Every request recorded so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .state
            .lock()
            .expect("receiver state")
            .requests
            .clone()
    }

    /// TCP connections accepted so far, including ones whose TLS handshake failed.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests have arrived; panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let mut recorded = self.shared.recorded.subscribe();
        // The watch guard returned by `wait_for` is dropped at once: holding it while taking the
        // state lock would deadlock with `record`.
        let reached = matches!(
            tokio::time::timeout(timeout, recorded.wait_for(|count| *count >= n)).await,
            Ok(Ok(_))
        );
        if !reached {
            let got = self.requests();
            panic!(
                "receiver expected {n} request(s) within {timeout:?} but got {}: {:?}",
                got.len(),
                got.iter()
                    .map(|r| format!("{} {}", r.method, r.path_and_query))
                    .collect::<Vec<_>>()
            );
        }
        self.requests()
    }

    /// Stops accepting and closes every open connection.
    pub fn shutdown(self) {}

    /// A URL on 127.0.0.1 where nothing listens (a port bound and released just now).
    pub fn closed_port_url(path: &str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind probe");
        let addr = listener.local_addr().expect("probe address");
        drop(listener);
        format!("https://{addr}{path}")
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        connections.spawn(serve_connection(
            stream,
            peer,
            acceptor.clone(),
            shared.clone(),
        ));
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    // A failed handshake is what some tests provoke (untrusted certificate): just close.
    let Ok(tls) = acceptor.accept(stream).await else {
        return;
    };
    let service = service_fn(move |request| handle(request, peer, shared.clone()));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

async fn handle(
    request: Request<Incoming>,
    peer: SocketAddr,
    shared: Arc<Shared>,
) -> Result<Response<String>, hyper::Error> {
    let received_at = Instant::now();
    let (parts, body) = request.into_parts();
    let body = read_body(body).await?;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let recorded = RecordedRequest {
        method: parts.method,
        path_and_query,
        headers: parts.headers,
        body,
        received_at,
        peer,
    };
    let behavior = shared.record(recorded.clone());
    Ok(respond(behavior, &recorded, shared.addr).await)
}

async fn read_body(mut body: Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

async fn respond(
    behavior: Behavior,
    request: &RecordedRequest,
    addr: SocketAddr,
) -> Response<String> {
    let reply = |status: u16, body: String| {
        let status = StatusCode::from_u16(status).expect("scripted status code");
        let mut response = Response::new(body);
        *response.status_mut() = status;
        response
    };
    match behavior {
        Behavior::EchoChallenge if request.method == Method::GET => {
            match request.query_param("verification_challenge") {
                Some(challenge) => reply(200, challenge),
                None => reply(400, "missing verification_challenge".to_owned()),
            }
        }
        Behavior::EchoChallenge => reply(204, String::new()),
        Behavior::Status(status) => reply(status, String::new()),
        Behavior::Body(status, body) => reply(status, body),
        Behavior::RetryAfter(status, value) => {
            let mut response = reply(status, String::new());
            let value = value.parse().expect("scripted Retry-After value");
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
            response
        }
        Behavior::Sleep(duration) => {
            tokio::time::sleep(duration).await;
            reply(204, String::new())
        }
        Behavior::Redirect => {
            let mut response = reply(302, String::new());
            let location = format!("https://{addr}/redirected")
                .parse()
                .expect("location header");
            response
                .headers_mut()
                .insert(http::header::LOCATION, location);
            response
        }
    }
}
