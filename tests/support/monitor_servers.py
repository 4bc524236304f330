"""Local stand-ins for where the monitor's alerts go: a webhook receiver and a tiny SMTP server (both 127.0.0.1)."""

from __future__ import annotations

import json
import socketserver
import time

from tests.support.json_http import JsonHandler, LocalServer


class WebhookReceiver(LocalServer):
    """Records each POSTed JSON body with its arrival time; answers the statuses queued in `fail_next` first."""

    def __init__(self):
        self.received: list[tuple[float, dict]] = []
        self.fail_next: list[int] = []
        receiver = self

        class Handler(JsonHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.fail_next.pop(0) if receiver.fail_next else 200
                if status == 200:
                    receiver.received.append((time.time(), json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._serve(Handler)
        self.url = f"http://127.0.0.1:{self.port}/hook"


class SmtpSink(LocalServer):
    """Enough of SMTP for smtplib.send_message: every message's DATA is kept in `messages`, every command line in
    `commands`; with `auth`, EHLO offers AUTH PLAIN (and never STARTTLS) and any AUTH is accepted."""

    def __init__(self, auth: bool = False):
        self.messages: list[str] = []
        self.commands: list[str] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self):
                self.reply("220 sink ready")
                for raw in self.rfile:
                    sink.commands.append(raw.decode(errors="replace").strip())
                    verb = raw.decode(errors="replace").strip().split(" ")[0].upper()
                    if verb == "EHLO" and auth:
                        self.reply("250-sink")
                        self.reply("250 AUTH PLAIN")
                    elif verb == "AUTH":
                        self.reply("235 accepted")
                    elif verb == "DATA":
                        self.reply("354 go on")
                        sink.messages.append(self.read_data())
                        self.reply("250 kept")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # EHLO, HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 ok")

            def read_data(self) -> str:
                lines = []
                for raw in self.rfile:
                    if raw in (b".\r\n", b".\n"):
                        break
                    lines.append(raw.decode(errors="replace"))
                return "".join(lines)

        self._serve(Handler, socketserver.ThreadingTCPServer)
        self.address = f"127.0.0.1:{self.port}"
