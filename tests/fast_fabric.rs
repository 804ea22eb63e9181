//! The benchmark's fast fabric must answer as the moto fabric does: the same small scenario,
//! scanned through each, gives the same report (less what is random per fabric).

mod fastfabric;
mod support;

use std::time::Duration;

use fastfabric::{comparable, FastFabric};
use support::{certaudit_at, json_run, Fabric};

fn scenario() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/scenarios/small.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn small_scenario_scans_the_same_on_the_fast_fabric_and_on_moto() {
    let moto = Fabric::start(scenario());
    let (moto_code, moto_report) = moto.scan_json(&[]);

    let fast = FastFabric::start(&scenario(), Duration::from_millis(5), 1);
    let home = tempfile::tempdir().unwrap();
    let mut process = certaudit_at(&fast.endpoint, home.path());
    // The renewal check too, against the same healthy DNS as the moto run.
    process
        .env_remove("CERTAUDIT_NO_RENEWAL_CHECK")
        .env("CERTAUDIT_DNS_SERVER", moto.dns.addr.to_string());
    let mut cmd = assert_cmd::Command::from_std(process);
    let (fast_code, fast_report) = json_run(cmd.args(["scan", "-o", "json"]));

    assert_eq!(
        moto_code, 3,
        "the scenario has an account whose role is missing"
    );
    assert_eq!(fast_code, moto_code);
    let (moto_view, fast_view) = (comparable(&moto_report), comparable(&fast_report));
    assert!(
        moto_report["summary"]["certificates"].as_u64().unwrap() >= 20,
        "{}",
        moto_report["summary"]
    );
    assert!(
        moto_report["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["renewal_check"]["status"] == "ok"),
        "the renewal check ran on both"
    );
    assert!(
        moto_report["summary"]["iam_server_certificates"].as_u64() >= Some(3)
            && moto_report["summary"]["certificate_authorities_attention"].as_u64() >= Some(1),
        "the scenario carries server certificates and a CA needing attention: {}",
        moto_report["summary"]
    );
    for part in [
        "summary",
        "accounts",
        "errors",
        "certificates",
        "certificate_authorities",
    ] {
        // The first entry that differs, not two whole lists of certificates.
        let (fast, moto) = (&fast_view[part], &moto_view[part]);
        if let (Some(f), Some(m)) = (fast.as_array(), moto.as_array()) {
            assert_eq!(f.len(), m.len(), "{part}: how many differ");
            for (f, m) in f.iter().zip(m) {
                assert_eq!(f, m, "{part} differ: fast fabric (left), moto (right)");
            }
        }
        assert_eq!(
            fast, moto,
            "{part} differ between the fast fabric (left) and moto (right)"
        );
    }
}
