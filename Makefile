# certaudit — the two commands of the README's Quick start are `make demo` and `make test`.

VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# checkov pins boto3, networkx and packaging versions that conflict with moto and cfn-lint:
# it lives in a venv of its own.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: demo test bench lambda venv chromium lint-access fmt clippy clean

## demo: build, start the fabric with the demo organization, and scan it end to end.
demo: $(STAMP)
	cargo build --quiet --bin certaudit --example dns_zone --example ct_log
	scripts/demo.sh

## test: everything CI runs — fmt, clippy, unit, snapshot and integration tests (the HTML
## report's in Debian's headless Chromium, installed here when missing).
test: $(STAMP) chromium fmt clippy lint-access
	cargo test --all-targets

## chromium: Debian's Chromium for the browser test (apt-get; CI runs as root).
chromium:
	scripts/install-chromium.sh

## bench: the scale benchmark (release build): small (checked against moto), 70 and 500
## accounts, and 501 accounts with the work spread thin ("wide"), full and summary detail;
## prints wall time against the rate-quota floor, peak RSS, CPU seconds and CPU per AWS call,
## throttling and failures, and fails if a target is missed. About 7 minutes, after a release
## build (about 10 minutes the first time on 2 cores). Then the history benchmark: appending
## and diffing 100,000-certificate scans, and the database after a year of daily scans; and
## report.html of 100,000 certificates opened in headless Chromium; 1,000 TLS endpoints probed;
## the renewal check's 10,000 distinct names against a DNS server on loopback.
bench: $(STAMP) chromium
	cargo bench --bench scale
	cargo bench --bench history
	cargo bench --bench report_html
	cargo bench --bench endpoints
	cargo bench --bench renewal

## lambda: target/lambda/bootstrap.zip for AWS Lambda (provided.al2023, x86_64): a release
## build, stripped, checked to need no glibc newer than 2.34 (deploy/ and the README use it).
lambda:
	scripts/build-lambda.sh

## venv: the pinned Python environments: the moto test fabric and linters, and checkov.
venv: $(STAMP) $(CHECKOV_STAMP)

$(STAMP): tests/fabric/requirements.txt tests/lint-requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check \
		-r tests/fabric/requirements.txt -r tests/lint-requirements.txt
	touch $(STAMP)

$(CHECKOV_STAMP): tests/checkov-requirements.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r tests/checkov-requirements.txt
	touch $(CHECKOV_STAMP)

fmt:
	cargo fmt --check

clippy:
	cargo clippy --all-targets --quiet -- -D warnings

## lint-access: cfn-lint, the tests over the parsed templates (tests/templates/) and checkov on
## stacksets/ and deploy/; parliament on iam/ and the templates' policies.
lint-access: $(STAMP) $(CHECKOV_STAMP)
	scripts/lint-access.sh

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) target
