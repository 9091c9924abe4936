"""A real SMTP server for the alerting tests: aiosmtpd on 127.0.0.1:<port>, every
message it receives written to <dir>/<n>.eml (written to a temporary name first, then
renamed, so a test never reads half a message). Prints "ready" once it listens.

    python3 smtp_sink.py PORT DIR [CERT KEY]

With CERT and KEY (PEM files) it speaks SMTPS: TLS from the first byte.
"""
import asyncio
import itertools
import os
import ssl
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        tmp = os.path.join(self.directory, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, f"{n}.eml"))
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    tls = {}
    if len(sys.argv) == 5:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        tls = {"ssl_context": context}
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **tls)
    controller.start()
    print("ready", flush=True)
    try:
        # Until the test kills it, or its stdin closes (the test process died).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
