# certaudit — the two commands of the README's Quick start are `make demo` and `make test`.

VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv lint-access fmt clippy clean

## demo: build, start the fabric with the demo organization, and scan it end to end.
demo: $(STAMP)
	cargo build --quiet
	scripts/demo.sh

## test: everything CI runs — fmt, clippy, unit, snapshot and integration tests.
test: $(STAMP) fmt clippy lint-access
	cargo test --all-targets

## venv: the pinned Python environment for the moto test fabric.
venv: $(STAMP)

$(STAMP): tests/fabric/requirements.txt tests/lint-requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check \
		-r tests/fabric/requirements.txt -r tests/lint-requirements.txt
	touch $(STAMP)

fmt:
	cargo fmt --check

clippy:
	cargo clippy --all-targets --quiet -- -D warnings

## lint-access: cfn-lint on stacksets/, parliament on iam/.
lint-access: $(STAMP)
	scripts/lint-access.sh

clean:
	rm -rf $(VENV) target
