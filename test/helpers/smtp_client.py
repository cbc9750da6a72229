"""Submits one message with Python's smtplib (a client no one here wrote), step by step, and prints
each reply as JSON. Input (stdin, JSON): host, port, user, password (null: no AUTH), mailFrom,
rcptTo, from, to, cc, subject, text, textCharset, html, htmlCte, messageId, headers, attachmentBytes."""
import json
import smtplib
import sys
from email.message import EmailMessage

req = json.load(sys.stdin)
steps = []


def step(cmd, reply):
    code, message = reply
    steps.append({"cmd": cmd, "code": code, "message": message.decode() if isinstance(message, bytes) else str(message)})
    return code


msg = EmailMessage()
msg["From"] = req["from"]
msg["To"] = ", ".join(req["to"])
if req.get("cc"):
    msg["Cc"] = ", ".join(req["cc"])
msg["Subject"] = req.get("subject", "smtplib")
if req.get("messageId"):
    msg["Message-ID"] = req["messageId"]
for name, value in (req.get("headers") or {}).items():
    msg[name] = value
msg.set_content(req.get("text", "hello from smtplib"), charset=req.get("textCharset", "utf-8"))
if req.get("html"):
    msg.add_alternative(req["html"], subtype="html", cte=req.get("htmlCte"))
if req.get("attachmentBytes"):
    msg.add_attachment(b"x" * req["attachmentBytes"], maintype="application", subtype="octet-stream", filename="big.bin")
raw = msg.as_bytes()

s = smtplib.SMTP(req["host"], req["port"], timeout=60)
features = []
try:
    step("ehlo", s.ehlo())
    # Read now: quit() clears them.
    features = sorted(s.esmtp_features.keys())
    if req.get("password") is not None:
        try:
            step("auth", s.login(req.get("user", "apikey"), req["password"]))
        except smtplib.SMTPAuthenticationError as e:
            step("auth", (e.smtp_code, e.smtp_error))
            raise SystemExit
    options = ["SIZE=%d" % len(raw)] if s.has_extn("size") else []
    if step("mail", s.mail(req["mailFrom"], options)) == 250:
        accepted = sum(1 for r in req["rcptTo"] if step("rcpt", s.rcpt(r)) == 250)
        if accepted > 0:
            step("data", s.data(raw))
    s.quit()
except SystemExit:
    pass
finally:
    s.close()
print(json.dumps({"features": features, "steps": steps}))
