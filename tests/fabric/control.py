"""Changes to the organization between two scans, as a test asks for them on the fabric's
stdin: what happens to real certificates and accounts over a day (a certificate deleted,
imported, renewed or re-imported, renewal failing, a load balancer let go, a role broken).
Renewal is what moto cannot do, so the certificate in moto's store is replaced in place, as
`seed.py` places state AWS reaches only with time.

Each change is a JSON object with an `op`; the answer is a JSON value (the new ARN for
`import`)."""

import datetime

from moto.acm.models import acm_backends

from seed import make_certificate, seed_certificate


def backend_of(arn):
    """The moto ACM backend holding a certificate: its account and region are in the ARN."""
    _, _, _, region, account, _ = arn.split(":", 5)
    return acm_backends[account][region]


def bundle_of(arn):
    backend = backend_of(arn)
    if arn not in backend._certificates:
        raise KeyError(f"no certificate {arn}")
    return backend._certificates[arn]


def apply(change, state, layer, extras):
    op = change["op"]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    if op == "delete":
        backend_of(change["arn"])._certificates.pop(change["arn"])
        return None
    if op == "import":
        account = state["accounts"][change["account"]]
        authorities = state.get("certificate_authorities", {})
        return seed_certificate(account, change["spec"], extras, now, authorities)
    if op == "import_pem":
        # A certificate made by the test (rcgen), imported as ImportCertificate would.
        account = state["accounts"][change["account"]]
        backend = acm_backends[account][change.get("region", "us-east-1")]
        arn = backend.import_certificate(
            change["certificate"].encode(),
            change["private_key"].encode(),
            change.get("chain", "").encode() or None,
            None,
            [],
        )
        bundle = backend._certificates[arn]
        bundle.in_use_by = list(change.get("in_use_by", []))
        if change.get("type"):
            bundle.type = change["type"]
        extras.set(arn, {})
        return arn
    if op == "replace":
        # A renewal (ACM-issued) or a re-import (imported): a new certificate, new serial and
        # validity, under the same ARN.
        bundle = bundle_of(change["arn"])
        cert, cert_pem, key, key_pem = make_certificate(change["spec"], now)
        bundle.cert, bundle._cert = cert_pem, cert
        bundle.key, bundle._key = key_pem, key
        return None
    if op == "extras":
        bundle_of(change["arn"])
        extras.set(change["arn"], {**extras.get(change["arn"]), **change["set"]})
        return None
    if op == "in_use":
        bundle_of(change["arn"]).in_use_by = list(change["in_use_by"])
        return None
    if op == "role":
        account = state["accounts"][change["account"]]
        layer.trust[account]["role"] = change["role"]
        return None
    raise ValueError(f"unknown change {op!r}")
