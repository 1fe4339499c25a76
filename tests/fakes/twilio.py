"""A fake of Twilio's Messages API (2010-04-01) that the official twilio SDK talks to over HTTP on loopback."""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any
from urllib.parse import parse_qsl

import phonenumbers

from tests.fakes.server import Answer, FakeProvider, Recorded

#: The credentials of the tests' Twilio account.
SID = "AC" + "3f" * 16
TOKEN = "0123456789abcdef" * 2
_MESSAGES = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json")


class FakeTwilio(FakeProvider):
    """Twilio's POST …/Messages.json with basic auth, its error shape, and the messages it accepted."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        #: Accepted messages, in order: {"sid", "to", "from", "messaging_service_sid", "body"}.
        self.messages: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def decode(self, headers, body: bytes) -> Any:
        return dict(parse_qsl(body.decode(), keep_blank_values=True)) if body else {}

    def error_body(self, status: int, message: str, code: int = 20500) -> dict:
        return {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    def route(self, request: Recorded) -> Answer:
        match = _MESSAGES.fullmatch(request.path)
        if request.method != "POST" or match is None:
            return Answer(404, self.error_body(404, "The requested resource was not found", 20404))
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if match.group(1) != self.account_sid or request.headers.get("authorization") != expected:
            return Answer(401, self.error_body(401, "Authenticate", 20003))
        data = request.data or {}
        to = data.get("To", "")
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(to, None))
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            return Answer(400, self.error_body(400, f"The 'To' number {to} is not a valid phone number.", 21211))
        if not data.get("Body"):
            return Answer(400, self.error_body(400, "A text message body is required.", 21602))
        sid = f"SM{next(self._ids):032x}"
        message = {
            "sid": sid,
            "to": to,
            "from": data.get("From"),
            "messaging_service_sid": data.get("MessagingServiceSid"),
            "body": data["Body"],
        }
        with self.lock:
            self.messages.append(message)
        return Answer(
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": data.get("From"),
                "messaging_service_sid": data.get("MessagingServiceSid"),
                "body": data["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
        )
