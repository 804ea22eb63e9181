//! DNS servers on loopback for the renewal check (SPEC §13): hickory-server's authoritative
//! in-memory zones, loaded from zone-file text (RFC 1035), so NXDOMAIN and NODATA, CNAMEs
//! and CAA sets are answered as a real authoritative server answers them; and two broken
//! servers: one answering SERVFAIL to everything, one that never answers. Each runs on a
//! thread of its own until dropped. Nothing here ever asks another resolver.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::op::{Message, MessageType, ResponseCode};
use hickory_server::proto::rr::Name;
use hickory_server::proto::serialize::txt::Parser;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use hickory_server::Server;

pub struct DnsServer {
    pub addr: SocketAddr,
    /// What the fabric's healthy server was asked, (name, type) in order.
    asked: Arc<std::sync::Mutex<Vec<(String, String)>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DnsServer {
    /// Serve `zones` (each a zone file with its `$ORIGIN` and SOA) over UDP and TCP on one
    /// loopback port.
    pub fn zones(zones: &[String]) -> DnsServer {
        let mut catalog = Catalog::new();
        for text in zones {
            let (origin, records) = Parser::new(text.as_str(), None, None)
                .parse()
                .unwrap_or_else(|e| panic!("the test zone does not parse: {e}\n{text}"));
            let handler = InMemoryZoneHandler::<TokioRuntimeProvider>::new(
                origin.clone(),
                records,
                ZoneType::Primary,
                AxfrPolicy::Deny,
            )
            .unwrap_or_else(|e| panic!("the test zone {origin} is not valid: {e}"));
            catalog.upsert(origin.into(), vec![Arc::new(handler)]);
        }
        spawn(move |udp, tcp| async move {
            let mut server = Server::new(catalog);
            server.register_socket(udp);
            server.register_listener(tcp, Duration::from_secs(5), 4096);
            let _ = server.block_until_done().await;
        })
    }

    /// A server that answers every query SERVFAIL.
    pub fn servfail() -> DnsServer {
        answer_each(|query| {
            let mut answer = Message::error_msg(
                query.metadata.id,
                query.metadata.op_code,
                ResponseCode::ServFail,
            );
            answer.metadata.message_type = MessageType::Response;
            answer.queries = query.queries.clone();
            answer
        })
    }

    /// A server that receives every query and never answers (a dead resolver, a firewall
    /// dropping port 53).
    pub fn silent() -> DnsServer {
        spawn(|udp, tcp| async move {
            let mut buf = vec![0u8; 4096];
            let _held = tcp;
            while udp.recv_from(&mut buf).await.is_ok() {}
        })
    }

    /// A server answering each UDP query with `udp`'s messages, sent in order from the port
    /// asked, and each TCP query (RFC 7766 framing) with `tcp`'s: for answers a real resolver
    /// gives rarely — strays and spoofs with the wrong ID or question, truncated answers.
    pub fn scripted(
        udp: impl Fn(&Message) -> Vec<Message> + Send + 'static,
        tcp: impl Fn(&Message) -> Message + Send + 'static,
    ) -> DnsServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        spawn(move |socket, listener| async move {
            let udp_side = serve_udp(socket, udp);
            let tcp_side = async {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let Ok(len) = stream.read_u16().await else {
                        continue;
                    };
                    let mut query = vec![0u8; len as usize];
                    if stream.read_exact(&mut query).await.is_err() {
                        continue;
                    }
                    let Ok(query) = Message::from_vec(&query) else {
                        continue;
                    };
                    let answer = tcp(&query).to_vec().unwrap();
                    let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&answer);
                    let _ = stream.write_all(&framed).await;
                }
            };
            tokio::join!(udp_side, tcp_side);
        })
    }
}

/// An empty answer to `query` (its ID, op code and question): for scripted servers to fill.
pub fn response_to(query: &Message) -> Message {
    let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
    answer.queries = query.queries.clone();
    answer
}

/// The record "`from` CNAME `to`".
pub fn cname(from: &str, to: &str) -> hickory_server::proto::rr::Record {
    use hickory_server::proto::rr::{rdata::CNAME, RData, Record};
    Record::from_rdata(
        Name::from_ascii(from).unwrap(),
        300,
        RData::CNAME(CNAME(Name::from_ascii(to).unwrap())),
    )
}

/// A UDP server answering each query it can parse with `respond`'s message.
fn answer_each(respond: impl Fn(&Message) -> Message + Send + 'static) -> DnsServer {
    spawn(move |udp, _tcp| serve_udp(udp, move |query| vec![respond(query)]))
}

/// Answer each UDP query `socket` receives and can parse with `respond`'s messages, in order,
/// to the port it came from.
async fn serve_udp(socket: tokio::net::UdpSocket, respond: impl Fn(&Message) -> Vec<Message>) {
    let mut buf = vec![0u8; 4096];
    while let Ok((n, from)) = socket.recv_from(&mut buf).await {
        let Ok(query) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        for answer in respond(&query) {
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    }
}

/// Run `serve` on a runtime of its own, with a UDP socket and a TCP listener on the same
/// loopback port, until the server is dropped.
fn spawn<F, Fut>(serve: F) -> DnsServer
where
    F: FnOnce(tokio::net::UdpSocket, tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    // A port free for both protocols.
    let (udp, tcp) = loop {
        let udp = StdUdpSocket::bind("127.0.0.1:0").expect("a loopback UDP port");
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    udp.set_nonblocking(true).unwrap();
    tcp.set_nonblocking(true).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the test DNS server");
        runtime.block_on(async move {
            let udp = tokio::net::UdpSocket::from_std(udp).unwrap();
            let tcp = tokio::net::TcpListener::from_std(tcp).unwrap();
            let serving = tokio::task::LocalSet::new();
            serving
                .run_until(async move {
                    tokio::select! {
                        _ = serve(udp, tcp) => {}
                        _ = stopped => {}
                    }
                })
                .await;
        });
    });
    DnsServer {
        addr,
        asked: Arc::default(),
        stop: Some(stop),
        thread: Some(thread),
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A zone file: `origin` with its SOA and NS, then `records` (one per line, names relative
/// to the origin or absolute).
pub fn zone(origin: &str, records: &[String]) -> String {
    let origin = absolute(origin);
    let mut text = format!(
        "$ORIGIN {origin}\n$TTL 300\n@ IN SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 60\n@ IN NS ns.{origin}\nns IN A 127.0.0.1\n"
    );
    for record in records {
        text.push_str(record);
        text.push('\n');
    }
    text
}

pub fn absolute(name: &str) -> String {
    match name.ends_with('.') {
        true => name.to_string(),
        false => format!("{name}."),
    }
}

/// `name` parsed as hickory does, for tests that need to check one.
pub fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// The value ACM expects at a validation record whose first label is `_<label>` (the fabric
/// derives it so, `tests/fabric/fidelity.py` `validation_value`).
pub fn validation_value(label: &str) -> String {
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(label.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("_{}.{}.acm-validations.aws.", &digest[..32], &label[..10])
}

impl DnsServer {
    /// A server for the fabric's whole organization as it should be: every validation CNAME
    /// ACM gave (`_<32 hex>.<name>.`) resolves to its value, no name has a CAA set, anything
    /// else is NODATA. Certificates imported after it started are answered too.
    pub fn healthy() -> DnsServer {
        use hickory_server::proto::rr::rdata::CNAME;
        use hickory_server::proto::rr::{RData, Record, RecordType};
        let asked: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
        let record = asked.clone();
        let mut server = answer_each(move |query| {
            let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
            answer.metadata.authoritative = true;
            answer.metadata.recursion_desired = query.metadata.recursion_desired;
            answer.queries = query.queries.clone();
            let Some(q) = query.queries.first() else {
                return answer;
            };
            record.lock().unwrap().push((
                q.name().to_ascii().to_ascii_lowercase(),
                q.query_type().to_string(),
            ));
            let first = q
                .name()
                .iter()
                .next()
                .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase());
            let label = first.as_deref().and_then(|l| l.strip_prefix('_'));
            let validation =
                label.filter(|l| l.len() == 32 && l.bytes().all(|b| b.is_ascii_hexdigit()));
            if let (RecordType::CNAME, Some(label)) = (q.query_type(), validation) {
                let target = Name::from_ascii(validation_value(label)).unwrap();
                answer.add_answer(Record::from_rdata(
                    q.name().clone(),
                    300,
                    RData::CNAME(CNAME(target)),
                ));
            }
            answer
        });
        server.asked = asked;
        server
    }

    /// What the healthy server was asked so far: (name, type), in order.
    pub fn asked(&self) -> Vec<(String, String)> {
        self.asked.lock().unwrap().clone()
    }
}

/// The validation CNAME (name, value) the fabric's ACM gives `account` for `domain`
/// (`tests/fabric/fidelity.py` `validation_record`).
pub fn validation_record(account: &str, domain: &str) -> (String, String) {
    use sha2::Digest;
    let base = domain.strip_prefix("*.").unwrap_or(domain);
    let digest: String = sha2::Sha256::digest(format!("{account}:{base}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let label = &digest[..32];
    (format!("_{label}.{base}."), validation_value(label))
}
