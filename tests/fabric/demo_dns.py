"""The demo organization's DNS, as a zone file for examples/dns_zone.rs: every validation
CNAME the fabric's ACM gave its ACM-issued certificates, as `make demo` should find them,
except where a certificate's spec says otherwise (`dns`: `deleted` drops its CNAME,
`elsewhere` points it at a stale value), plus the scenario's `dns_records` (CAA sets...).

    python demo_dns.py SCENARIO STATE OUT
"""

import json
import sys

from fidelity import validation_record
from seed import expand


def main(scenario_path, state_path, out_path):
    scenario = json.load(open(scenario_path))
    state = json.load(open(state_path))
    origin = scenario.get("dns_origin", "example.")
    lines = [
        f"$ORIGIN {origin}",
        "$TTL 300",
        f"@ IN SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 60",
        f"@ IN NS ns.{origin}",
        "ns IN A 127.0.0.1",
    ]
    management = scenario.get("management", {})
    owners = [(state["management_account"], management.get("certificates", []))]
    owners += [
        (state["accounts"][a["name"]], a.get("certificates", []))
        for a in scenario.get("accounts", [])
        if a.get("role", "present") == "present"
    ]
    for account_id, certificates in owners:
        for spec in expand(certificates):
            if spec.get("type") != "AMAZON_ISSUED":
                continue
            for name in [spec["domain"], *spec.get("sans", [])]:
                record = validation_record(account_id, name)
                fate = spec.get("dns")
                if fate == "deleted":
                    continue
                value = record["Value"]
                if fate == "elsewhere":
                    value = "_0ld.validation.previous-dns-provider.example."
                lines.append(f"{record['Name']} IN CNAME {value}")
    lines += scenario.get("dns_records", [])
    with open(out_path, "w") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
