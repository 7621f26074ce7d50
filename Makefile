.PHONY: fmt lint test openapi clients run ci

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings

test:
	cargo nextest run --workspace

openapi:
	cargo run -q -p mentorat -- openapi --output openapi/openapi.json

clients:
	bash .ci/clients

run:
	cargo run --release

ci:
	bash .ci/run
