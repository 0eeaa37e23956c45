"""Demo check (issue 6): a subscription to the planted new issue gives one email and one
webhook call when the pipeline runs, and none on a re-run.

Run after ``python -m voc demo`` with the same VOC_* environment:
    python scripts/demo_alert_check.py 2026-W48
It starts a real SMTP server (aiosmtpd, port 8025) and a real HTTP receiver (port 8099).
Exit code 0 when exactly one email and one webhook arrived and the re-run sent nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from aiosmtpd.controller import Controller

MAILS: list[bytes] = []
HOOKS: list[bytes] = []


class _Mailbox:
    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        MAILS.append(envelope.content)
        return "250 OK"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        HOOKS.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def voc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m voc ARGS`` with local SMTP settings; print its last line."""
    # The receivers run on this machine: allow internal webhook targets for this check.
    env = dict(os.environ, VOC_SMTP_HOST="127.0.0.1", VOC_SMTP_PORT="8025",
               VOC_WEBHOOK_ALLOW_PRIVATE="1")
    result = subprocess.run([sys.executable, "-m", "voc", *args], env=env, input=stdin,
                            text=True, capture_output=True, check=False)
    last = (result.stdout + result.stderr).strip().splitlines()[-1:]
    print("$ voc", " ".join(args), "->", result.returncode, last)
    return result


def main(week: str) -> int:
    smtp = Controller(_Mailbox(), hostname="127.0.0.1", port=8025)
    smtp.start()
    http = HTTPServer(("127.0.0.1", 8099), _Receiver)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        ranking = json.loads(voc("rank", "--json", "--week", week).stdout)
        planted = next(i for i in ranking["items"] if "new" in i["flags"])
        print("planted new issue:", planted["topic_id"], planted["label"], planted["flags"])
        voc("users", "create", "pm", "--role", "analyst", "--password-stdin",
            "--email", "pm@example.com", stdin="pm-password-1\n")
        voc("subscriptions", "add", "--user", "pm", "--topic", str(planted["topic_id"]),
            "--email-me", "--webhook", "http://127.0.0.1:8099/hook", "--webhook-secret", "s3cret")
        voc("run", "alerts")
        time.sleep(1)
        first = (len(MAILS), len(HOOKS))
        print(f"after first run: emails {first[0]}, webhooks {first[1]}")
        voc("run", "all")
        time.sleep(1)
        again = (len(MAILS), len(HOOKS))
        print(f"after re-run:    emails {again[0]}, webhooks {again[1]}")
    finally:
        smtp.stop()
        http.shutdown()
    return 0 if first == (1, 1) and again == (1, 1) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
