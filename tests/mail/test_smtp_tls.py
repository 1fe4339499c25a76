"""Mail leaves over STARTTLS or implicit TLS to a relay whose certificate is verified."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from portal.extensions import db
from portal.mail.outbox import deliver_due, queue_mail
from portal.mail.transport import SmtpTransport, parse_smtp_url
from portal.models.mail import OutboxMessage
from tests.factories import make_merchant
from tests.mail.conftest import Inbox, free_port

pytestmark = pytest.mark.usefixtures("ctx")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A private CA and a server certificate for 127.0.0.1 signed by it, as PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test CA"))
        .issuer_name(name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate["cert"], certificate["key"])
    return context


def _authenticator(logins):
    def authenticate(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"user", b"s3cret"))

    return authenticate


def _one_message() -> int:
    message = queue_mail(
        merchant_id=make_merchant().id, kind="test", to="jane@example.com", subject="Hello", text="Over TLS"
    )
    db.session.commit()
    return message.id


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_mail_is_delivered_over_verified_tls_with_login(certificate, mode):
    inbox, port, logins = Inbox(), free_port(), []
    context = _server_context(certificate)
    # STARTTLS: the server refuses AUTH and MAIL before the upgrade. SMTPS: it speaks nothing but TLS
    # (aiosmtpd cannot tell, so its AUTH-needs-TLS check is switched off there).
    if mode == "starttls":
        tls = {"tls_context": context, "require_starttls": True}
    else:
        tls = {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator(logins), **tls)
    controller.start()
    try:
        message_id = _one_message()
        scheme = "smtp+starttls" if mode == "starttls" else "smtps"
        url = f"{scheme}://user:s3cret@127.0.0.1:{port}?cafile={certificate['ca']}"
        report = deliver_due(SmtpTransport(parse_smtp_url(url)))
        assert report.sent == 1, db.session.get(OutboxMessage, message_id).last_error
    finally:
        controller.stop()
    assert logins == [(b"user", b"s3cret")]
    assert [m["Subject"] for m in inbox.messages] == ["Hello"]
    assert db.session.get(OutboxMessage, message_id).status == "sent"


def test_an_untrusted_certificate_is_refused_and_the_mail_stays_queued(certificate):
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=_server_context(certificate), require_starttls=True
    )
    controller.start()
    try:
        message_id = _one_message()
        # No cafile: the system's CAs do not know the test CA.
        report = deliver_due(SmtpTransport(parse_smtp_url(f"smtp+starttls://127.0.0.1:{port}")))
    finally:
        controller.stop()
    assert report.sent == 0 and inbox.messages == []
    db.session.expire_all()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))
    assert message.status == "queued" and "CERTIFICATE_VERIFY_FAILED" in (message.last_error or "")
