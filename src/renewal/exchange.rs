//! One DNS question put to the resolver and its answer, as a stub resolver asks (RFC 1035
//! §4.2, RFC 5452, RFC 7766): over UDP from a fresh socket on a random port, with a random
//! message ID — the two numbers an off-path spoofer must guess — accepting an answer only from
//! the server asked and only to the question asked; over TCP when the UDP answer is truncated.
//! Each attempt goes to the next server in turn with its share of the timeout; a server that
//! fails (no answer, SERVFAIL, REFUSED) leaves the question to the next one.
//!
//! hickory's resolver did this through its name-server pool, caching layer, retry stream and
//! timers: ~50 µs of CPU a lookup, a quarter of a full scan's CPU with the check on. This is
//! the same exchange without those layers (`cargo bench --bench renewal` prints the figure).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A UDP answer is at most 512 bytes without EDNS (RFC 1035 §4.2.1); room for servers that
/// send more anyway.
const UDP_ANSWER_BYTES: usize = 4096;

/// Tries at binding a random port before the question fails: each taken port is one try.
const PORT_TRIES: usize = 10;

/// Aliases followed for one question (the chain inside an answer, then the question asked
/// again at its end) before the name is taken to have no records.
const MAX_ALIASES: usize = 8;

/// The servers asked and how.
pub struct Resolver {
    servers: Vec<SocketAddr>,
    attempts: usize,
    attempt_timeout: Duration,
}

/// What the servers said to one question.
pub enum Reply {
    /// The records of the type asked (after any aliases), possibly none.
    Records(Vec<RData>),
    NxDomain,
}

/// Why no server said anything to judge by.
#[derive(Debug)]
pub enum Trouble {
    /// No answer within an attempt's time, from any server.
    Timeout,
    /// The server's port is closed (ICMP port unreachable) or its address unreachable.
    Unreachable(io::Error),
    Io(io::Error),
    /// An answer, but no answer to the question: SERVFAIL, REFUSED...
    Code(ResponseCode),
    /// An answer that does not parse, or says it is something else.
    Malformed(String),
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trouble::Timeout => write!(f, "no answer to any attempt within --dns-timeout"),
            Trouble::Unreachable(e) => write!(f, "unreachable: {e}"),
            Trouble::Io(e) => write!(f, "{e}"),
            Trouble::Code(code) => write!(f, "the server answered {code}"),
            Trouble::Malformed(why) => write!(f, "malformed answer: {why}"),
        }
    }
}

impl Resolver {
    /// `servers` asked in turn, `timeout` shared among at least two attempts (a lost UDP
    /// packet is asked again; a dead server still fails within `timeout`).
    pub fn new(servers: Vec<SocketAddr>, timeout: Duration) -> Resolver {
        let attempts = servers.len().max(2);
        Resolver {
            attempt_timeout: timeout / attempts as u32,
            attempts,
            servers,
        }
    }

    /// The `record_type` records at `name`, aliases followed (except when asking for the alias
    /// itself: a CNAME question is answered by the CNAME at `name`).
    pub async fn ask(&self, name: Name, record_type: RecordType) -> Result<Reply, Trouble> {
        let mut at = name;
        for _ in 0..=MAX_ALIASES {
            let answer = self.exchange(&at, record_type).await?;
            match answer.metadata.response_code {
                ResponseCode::NoError => {}
                ResponseCode::NXDomain => return Ok(Reply::NxDomain),
                other => return Err(Trouble::Code(other)),
            }
            let records = match record_type {
                RecordType::CNAME => owned_by(&answer.answers, &at, record_type),
                _ => of_type(&answer.answers, record_type),
            };
            if !records.is_empty() || record_type == RecordType::CNAME {
                return Ok(Reply::Records(records));
            }
            // Only the alias came back (a server that does not follow it): ask at its end.
            match chain_end(&answer.answers, &at) {
                Some(end) => at = end,
                None => return Ok(Reply::Records(Vec::new())),
            }
        }
        Ok(Reply::Records(Vec::new()))
    }

    /// The servers' answer to one question: each attempt to the next server; a timeout, a
    /// closed port or an answer that is no answer passes the question on.
    async fn exchange(&self, name: &Name, record_type: RecordType) -> Result<Message, Trouble> {
        let mut trouble = Trouble::Unreachable(io::Error::other("no DNS server to ask"));
        for attempt in 0..self.attempts {
            let Some(&server) = self.servers.get(attempt % self.servers.len().max(1)) else {
                break;
            };
            let mut query = Message::query();
            query.metadata.recursion_desired = true;
            query.add_query(Query::query(name.clone(), record_type));
            let asked = match tokio::time::timeout(self.attempt_timeout, udp(server, &query)).await
            {
                Ok(Ok(answer)) if answer.metadata.truncation => {
                    match tokio::time::timeout(self.attempt_timeout, tcp(server, &query)).await {
                        Ok(result) => result,
                        Err(_) => Err(Trouble::Timeout),
                    }
                }
                Ok(result) => result,
                Err(_) => Err(Trouble::Timeout),
            };
            trouble = match asked {
                Ok(answer) => match answer.metadata.response_code {
                    ResponseCode::NoError | ResponseCode::NXDomain => return Ok(answer),
                    code => Trouble::Code(code),
                },
                Err(e) => e,
            };
            // One server: a SERVFAIL or a closed port asked again says the same.
            let another = self.servers.len() > 1 || matches!(trouble, Trouble::Timeout);
            if !another {
                break;
            }
        }
        Err(trouble)
    }
}

/// One question over UDP from a random port; waits (within the caller's timeout) for the
/// server's answer to it, passing over anything else that arrives.
async fn udp(server: SocketAddr, query: &Message) -> Result<Message, Trouble> {
    let socket = random_port(server).await?;
    socket.connect(server).await.map_err(io_trouble)?;
    let bytes = query
        .to_vec()
        .map_err(|e| Trouble::Malformed(e.to_string()))?;
    socket.send(&bytes).await.map_err(io_trouble)?;
    let mut buf = [0u8; UDP_ANSWER_BYTES];
    loop {
        // A connected socket receives only from the server.
        let len = socket.recv(&mut buf).await.map_err(io_trouble)?;
        let Some(id) = buf[..len].first_chunk::<2>() else {
            continue;
        };
        if u16::from_be_bytes(*id) != query.metadata.id {
            continue;
        }
        let answer = Message::from_vec(&buf[..len]).map_err(|e| Trouble::Malformed(e.to_string()));
        match answer {
            Ok(answer) if answers(&answer, query) => return Ok(answer),
            // The ID matched but not the question: not this question's answer.
            Ok(_) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One question over TCP (RFC 7766): length-prefixed, one answer.
async fn tcp(server: SocketAddr, query: &Message) -> Result<Message, Trouble> {
    let mut stream = TcpStream::connect(server).await.map_err(io_trouble)?;
    let bytes = query
        .to_vec()
        .map_err(|e| Trouble::Malformed(e.to_string()))?;
    let len =
        u16::try_from(bytes.len()).map_err(|_| Trouble::Malformed("query too long".into()))?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).await.map_err(io_trouble)?;
    let len = stream.read_u16().await.map_err(io_trouble)?;
    let mut answer = vec![0u8; len as usize];
    stream.read_exact(&mut answer).await.map_err(io_trouble)?;
    let answer = Message::from_vec(&answer).map_err(|e| Trouble::Malformed(e.to_string()))?;
    match answers(&answer, query) {
        true => Ok(answer),
        false => Err(Trouble::Malformed(
            "the TCP answer is not to the question asked".into(),
        )),
    }
}

/// A UDP socket on a random port (1024-65535) of the address family `server` needs.
async fn random_port(server: SocketAddr) -> Result<UdpSocket, Trouble> {
    let any: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let mut last = None;
    for _ in 0..PORT_TRIES {
        let port: u16 = rand::random_range(1024..=u16::MAX);
        match UdpSocket::bind((any, port)).await {
            Ok(socket) => return Ok(socket),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => return Err(Trouble::Io(e)),
        }
    }
    Err(Trouble::Io(last.unwrap_or_else(|| {
        io::Error::other("no free port to ask from")
    })))
}

/// Whether `answer` is the server's answer to `query`: a response with its ID, to its
/// question (a server may leave the question out of an error answer).
fn answers(answer: &Message, query: &Message) -> bool {
    let same_question = |a: &Query| {
        query
            .queries
            .iter()
            .any(|q| a.query_type() == q.query_type() && a.name() == q.name())
    };
    answer.metadata.message_type == MessageType::Response
        && answer.metadata.id == query.metadata.id
        && answer.queries.len() <= 1
        && answer.queries.iter().all(same_question)
}

fn io_trouble(e: io::Error) -> Trouble {
    match e.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable => Trouble::Unreachable(e),
        _ => Trouble::Io(e),
    }
}

/// The `record_type` records in `records`, whoever owns them (a chain's end included).
fn of_type(records: &[Record], record_type: RecordType) -> Vec<RData> {
    records
        .iter()
        .filter(|r| r.record_type() == record_type)
        .map(|r| r.data.clone())
        .collect()
}

/// The `record_type` records owned by `name`.
fn owned_by(records: &[Record], name: &Name, record_type: RecordType) -> Vec<RData> {
    records
        .iter()
        .filter(|r| r.record_type() == record_type && r.name == *name)
        .map(|r| r.data.clone())
        .collect()
}

/// Where the CNAME chain from `name` inside `records` ends, when `name` is an alias.
fn chain_end(records: &[Record], name: &Name) -> Option<Name> {
    let mut at = name.clone();
    let mut followed = false;
    for _ in 0..MAX_ALIASES {
        let next = records.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if r.name == at => Some(target.0.clone()),
            _ => None,
        });
        match next {
            Some(target) => {
                at = target;
                followed = true;
            }
            None => break,
        }
    }
    followed.then_some(at)
}
