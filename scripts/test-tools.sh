#!/usr/bin/env bash
# Tools the tests drive that no one here wrote and npm does not install: swaks (Debian's SMTP
# client), Python 3 (its smtplib), dkimpy, Postfix (a real MTA whose own bounces the e2e tests
# read), openssl and PgBouncer. Installs what is missing with apt when it can (CI runs as root); otherwise says what to
# install, and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# swaks speaks TLS (STARTTLS) only with Net::SSLeay.
perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || missing+=(libnet-ssleay-perl)
# Postfix as a package only: "No configuration" makes Debian's install write no main.cf and start
# no system MTA; the tests run private instances (test/helpers/postfix.ts).
command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || missing+=(postfix)
# openssl makes the self-signed certificates of the TLS tests and of the test brokers' secure
# listeners (packages/stack/src/self-signed.ts).
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# PgBouncer in transaction mode, in front of the test Postgres (test/helpers/pgbouncer.ts).
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections 2>/dev/null || true
    echo "test tools: installing ${missing[*]} with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
  else
    echo "test tools: please install ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# dkimpy and dnspython (the independent DKIM verifier) in a virtualenv of the project's own:
# Debian's Python is externally managed (PEP 668), and a fresh clone must not depend on what
# someone once installed by hand. Pinned in test/helpers/requirements.txt.
venv=node_modules/.cache/postline-python
if ! "$venv/bin/python" -c 'import dkim, dns.resolver' >/dev/null 2>&1; then
  echo "test tools: installing dkimpy into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r test/helpers/requirements.txt
fi
