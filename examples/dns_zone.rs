//! A DNS server on loopback for `make demo` and the benchmarks: hickory-server's authoritative
//! in-memory zones, read from the zone files given (RFC 1035), served over UDP and TCP on a
//! free loopback port. Prints `READY 127.0.0.1:PORT` and serves until stdin closes.
//!
//!     cargo run --example dns_zone -- demo.zone [more.zone ...]

#[allow(dead_code)]
#[path = "../tests/support/dns.rs"]
mod dns;

use std::io::Read;

fn main() {
    let zones: Vec<String> = std::env::args()
        .skip(1)
        .map(|path| {
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read the zone file {path}: {e}"))
        })
        .collect();
    if zones.is_empty() {
        eprintln!("usage: dns_zone ZONE_FILE...");
        std::process::exit(2);
    }
    let server = dns::DnsServer::zones(&zones);
    println!("READY {}", server.addr);
    // Serve until whoever started us closes our stdin (or exits).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
}
