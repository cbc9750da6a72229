"""Verifies every DKIM signature of each message with dkimpy, an implementation no one here wrote.

stdin: {"dns": "127.0.0.1:<port>", "messages": ["<base64 of the raw message>", ...]}
stdout: [[{"domain": ..., "selector": ..., "ok": bool, "error": str|None}, ...] per message]  (an empty list: unsigned)
Public keys are looked up as a receiver would: TXT <selector>._domainkey.<domain>, here asked of the
tests' DNS stub (test/helpers/dns-server.ts) through dnspython.
"""
import base64
import json
import sys

import dkim
import dns.resolver

req = json.load(sys.stdin)
host, port = req["dns"].rsplit(":", 1)
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [host]
resolver.port = int(port)


def txt(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    try:
        answer = resolver.resolve(name, "TXT", lifetime=timeout)
    except Exception:
        return None
    return b"".join(b"".join(r.strings) for r in answer)


results = []
for b64 in req["messages"]:
    msg = base64.b64decode(b64)
    d = dkim.DKIM(msg)
    sigs = []
    headers = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
    for idx, value in enumerate(headers):
        tags = dict(p.strip().split("=", 1) for p in value.decode().replace("\r\n", "").split(";") if "=" in p)
        try:
            ok, error = bool(dkim.DKIM(msg).verify(idx=idx, dnsfunc=txt)), None
        except dkim.DKIMException as e:  # a body hash mismatch is raised, not returned
            ok, error = False, str(e)
        sigs.append({"domain": tags.get("d", "").strip(), "selector": tags.get("s", "").strip(), "ok": ok, "error": error})
    results.append(sigs)
print(json.dumps(results))
