//! One DNS question put to the resolver and its answer, as a stub resolver asks (RFC 1035
//! §4.2, RFC 5452, RFC 7766): over UDP from a fresh socket on a random port, with a random
//! message ID — the two numbers an off-path spoofer must guess — accepting an answer only from
//! the server asked and only to the question asked; over TCP when the UDP answer is truncated.
//! Each attempt goes to the next server in turn with its share of the timeout; a server that
//! fails (no answer, SERVFAIL, REFUSED) leaves the question to the next one, and one that gave
//! no answer is no longer asked first.
//!
//! hickory's resolver did this through its name-server pool, caching layer, retry stream and
//! timers: ~50 µs of CPU a lookup, a quarter of a full scan's CPU with the check on. This is
//! the same exchange without those layers (`cargo bench --bench renewal` prints the figure).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A UDP answer is at most 512 bytes without EDNS (RFC 1035 §4.2.1); room for servers that
/// send more anyway.
const UDP_ANSWER_BYTES: usize = 4096;

/// Tries at binding a random port before the question fails: each taken port is one try.
const PORT_TRIES: usize = 10;

/// Aliases followed for one question (the chain inside an answer, then the question asked
/// again at its end); a longer chain, like a loop, is no answer.
const MAX_ALIASES: usize = 8;

/// The servers asked and how.
pub struct Resolver {
    servers: Vec<SocketAddr>,
    attempts: usize,
    attempt_timeout: Duration,
    /// The server each lookup asks first: moved on from one that gave no answer, so a dead
    /// first nameserver costs the lookups in flight when it is found out, not every lookup.
    first: AtomicUsize,
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
    /// The UDP answer was truncated and asking again over TCP failed.
    Tcp(String),
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
            Trouble::Tcp(why) => write!(f, "truncated over UDP, and over TCP {why}"),
            Trouble::Malformed(why) => write!(f, "malformed answer: {why}"),
        }
    }
}

impl Trouble {
    /// Which of two failures of one lookup says more: an answer (SERVFAIL...) over a failed
    /// TCP retry over a malformed answer over an I/O error over silence over a closed port.
    fn rank(&self) -> u8 {
        match self {
            Trouble::Code(_) => 5,
            Trouble::Tcp(_) => 4,
            Trouble::Malformed(_) => 3,
            Trouble::Io(_) => 2,
            Trouble::Timeout => 1,
            Trouble::Unreachable(_) => 0,
        }
    }

    /// Whether the server said nothing at all.
    fn unanswered(&self) -> bool {
        matches!(self, Trouble::Timeout | Trouble::Unreachable(_))
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
            first: AtomicUsize::new(0),
        }
    }

    /// The `record_type` records at `name`, aliases followed (except when asking for the alias
    /// itself: a CNAME question is answered by the CNAME at `name`).
    pub async fn ask(&self, name: Name, record_type: RecordType) -> Result<Reply, Trouble> {
        let mut followed: Vec<Name> = Vec::new();
        let mut at = name;
        loop {
            let answer = self.exchange(&at, record_type).await?;
            match answer.metadata.response_code {
                ResponseCode::NoError => {}
                ResponseCode::NXDomain => return Ok(Reply::NxDomain),
                other => return Err(Trouble::Code(other)),
            }
            if record_type == RecordType::CNAME {
                return Ok(Reply::Records(owned_by(
                    &answer.answers,
                    std::slice::from_ref(&at),
                    record_type,
                )));
            }
            let chain = chain(&answer.answers, &at)?;
            let records = owned_by(&answer.answers, &chain, record_type);
            let end = chain.last().unwrap_or(&at).clone();
            if !records.is_empty() || end == at {
                return Ok(Reply::Records(records));
            }
            // Only the alias came back (a server that does not follow it): ask at its end.
            followed.extend(chain.into_iter().take_while(|n| *n != end));
            if followed.contains(&end) || followed.len() > MAX_ALIASES {
                return Err(Trouble::Malformed(format!(
                    "the aliases from {} loop or run past {MAX_ALIASES} names",
                    followed[0]
                )));
            }
            at = end;
        }
    }

    /// The servers' answer to one question: each attempt to the next server, starting with
    /// the one that answered last; a timeout, a closed port or an answer that is no answer
    /// passes the question on, and the most telling failure is kept.
    async fn exchange(&self, name: &Name, record_type: RecordType) -> Result<Message, Trouble> {
        let count = self.servers.len();
        let first = self.first.load(Ordering::Relaxed);
        let mut trouble: Option<Trouble> = None;
        for attempt in 0..self.attempts {
            let index = (first + attempt) % count.max(1);
            let Some(&server) = self.servers.get(index) else {
                break;
            };
            let asked =
                tokio::time::timeout(self.attempt_timeout, attempt_at(server, name, record_type))
                    .await
                    .unwrap_or(Err(Trouble::Timeout));
            let this = match asked {
                Ok(answer) => match answer.metadata.response_code {
                    ResponseCode::NoError | ResponseCode::NXDomain => return Ok(answer),
                    code => Trouble::Code(code),
                },
                Err(e) => e,
            };
            if this.unanswered() {
                let next = (index + 1) % count;
                let _ =
                    self.first
                        .compare_exchange(index, next, Ordering::Relaxed, Ordering::Relaxed);
            }
            // One server: a SERVFAIL or a closed port asked again says the same.
            let another = count > 1 || matches!(this, Trouble::Timeout);
            trouble = Some(match trouble {
                Some(kept) if kept.rank() > this.rank() => kept,
                _ => this,
            });
            if !another {
                break;
            }
        }
        Err(trouble
            .unwrap_or_else(|| Trouble::Unreachable(io::Error::other("no DNS server to ask"))))
    }
}

/// One attempt at `server`, UDP and (when the answer is truncated) TCP within one deadline.
async fn attempt_at(
    server: SocketAddr,
    name: &Name,
    record_type: RecordType,
) -> Result<Message, Trouble> {
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name.clone(), record_type));
    let bytes = query
        .to_vec()
        .map_err(|e| Trouble::Malformed(e.to_string()))?;
    let answer = udp(server, &query, &bytes).await?;
    if !answer.metadata.truncation {
        return Ok(answer);
    }
    tcp(server, &query, &bytes)
        .await
        .map_err(|e| Trouble::Tcp(e.to_string()))
}

/// One question (`bytes`: `query` on the wire) over UDP from a random port; waits (within
/// the caller's timeout) for the server's answer to it, passing over anything else that
/// arrives.
async fn udp(server: SocketAddr, query: &Message, bytes: &[u8]) -> Result<Message, Trouble> {
    let socket = random_port(server).await?;
    socket.connect(server).await.map_err(io_trouble)?;
    socket.send(bytes).await.map_err(io_trouble)?;
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
        // The ID matched but the packet does not parse or is not to the question: not this
        // question's answer (the server's may still come).
        match Message::from_vec(&buf[..len]) {
            Ok(answer) if answers(&answer, query) => return Ok(answer),
            _ => continue,
        }
    }
}

/// One question over TCP (RFC 7766): length-prefixed, one answer.
async fn tcp(server: SocketAddr, query: &Message, bytes: &[u8]) -> Result<Message, Trouble> {
    let mut stream = TcpStream::connect(server).await.map_err(io_trouble)?;
    let len =
        u16::try_from(bytes.len()).map_err(|_| Trouble::Malformed("query too long".into()))?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
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
/// question (class IN); only an error answer may leave the question out.
fn answers(answer: &Message, query: &Message) -> bool {
    let same_question = |a: &Query| {
        query.queries.iter().any(|q| {
            a.query_type() == q.query_type()
                && a.query_class() == DNSClass::IN
                && a.name() == q.name()
        })
    };
    let answered = matches!(
        answer.metadata.response_code,
        ResponseCode::NoError | ResponseCode::NXDomain
    );
    answer.metadata.message_type == MessageType::Response
        && answer.metadata.id == query.metadata.id
        && match answer.queries.as_slice() {
            [] => !answered,
            [one] => same_question(one),
            _ => false,
        }
}

fn io_trouble(e: io::Error) -> Trouble {
    match e.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable => Trouble::Unreachable(e),
        _ => Trouble::Io(e),
    }
}

/// The `record_type` records (class IN) owned by one of `owners`.
fn owned_by(records: &[Record], owners: &[Name], record_type: RecordType) -> Vec<RData> {
    records
        .iter()
        .filter(|r| {
            r.record_type() == record_type
                && r.dns_class == DNSClass::IN
                && owners.contains(&r.name)
        })
        .map(|r| r.data.clone())
        .collect()
}

/// The alias chain from `name` inside `records`: `name`, then each CNAME's target in turn.
/// A loop, or more than `MAX_ALIASES` aliases, is no answer.
fn chain(records: &[Record], name: &Name) -> Result<Vec<Name>, Trouble> {
    let mut chain = vec![name.clone()];
    loop {
        let at = &chain[chain.len() - 1];
        let next = records.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if r.dns_class == DNSClass::IN && r.name == *at => {
                Some(target.0.clone())
            }
            _ => None,
        });
        let Some(next) = next else {
            return Ok(chain);
        };
        if chain.contains(&next) || chain.len() > MAX_ALIASES {
            return Err(Trouble::Malformed(format!(
                "the aliases from {name} loop or run past {MAX_ALIASES} names"
            )));
        }
        chain.push(next);
    }
}
