# micae in a container: the same install steps as the Makefile (no Docker engine runs on the
# development machines, so keep this file in step with `make deps` and the venv rule by hand).
FROM python:3.11-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends g++ make iverilog yosys \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /micae
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN python -m venv .venv \
 && .venv/bin/python -m pip install -q --upgrade "pip>=23" \
 && .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]" \
 && .venv/bin/python -m pip install -q --no-deps -c constraints.txt HGQ==0.2.6 \
 && touch .venv/.micae-installed
COPY . .
# COPY refreshes file times; keep the install stamp newer than the pins so make does not reinstall
RUN touch .venv/.micae-installed

CMD ["make", "demo"]
