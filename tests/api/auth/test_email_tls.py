"""E-mail over TLS: STARTTLS and implicit TLS with login, against a real aiosmtpd server in the test process.

The server's certificate is made here and signed by a throw-away CA, so verification is real: without
SMTP_CA_FILE the app refuses the certificate and says the mail could not be sent.
"""
from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.helpers.accounts import PASSWORD, new_email
from tests.helpers.http import API
from tests.helpers.mail import Mailbox
from tests.helpers.processes import free_port
from tests.helpers.run import TMP

SMTP_LOGIN, SMTP_SECRET = "mailer@filmo.test", "smtp-secret-for-tests"


def _make_certificate() -> tuple[str, str, str]:
    """(ca.pem, server cert.pem, server key.pem) for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Filmo test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder = TMP / "smtp-tls"
    folder.mkdir(exist_ok=True)
    paths = (folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return tuple(str(p) for p in paths)


class LoginCheck:
    """aiosmtpd authenticator: accepts only the configured login, and remembers who logged in."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (login, password) == (SMTP_LOGIN, SMTP_SECRET)
        if ok:
            self.logins.append(login)
        return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certificate():
    return _make_certificate()


def _server_context(certificate) -> ssl.SSLContext:
    _, cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_otp_mail_goes_out_over_tls_with_login(client, settings_env, certificate, security):
    box, check, port = Mailbox(), LoginCheck(), free_port()
    tls = _server_context(certificate)
    # With implicit TLS aiosmtpd does not know the socket is encrypted, so it must be told AUTH is fine.
    extra = ({"tls_context": tls, "require_starttls": True} if security == "starttls"
             else {"ssl_context": tls, "auth_require_tls": False})
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=check, auth_required=True, **extra)
    controller.start()
    try:
        settings_env(SMTP_SERVER="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY=security, SMTP_USERNAME=SMTP_LOGIN,
                     SMTP_PASSWORD=SMTP_SECRET, SMTP_CA_FILE=certificate[0])
        email = new_email()
        resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        received = await box.last_to(email)
        assert received.code and received.html and received.text
        assert check.logins == [SMTP_LOGIN]

        # The certificate is really verified: without the CA the app cannot send, and says so without details.
        settings_env(SMTP_CA_FILE="")
        resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": new_email(), "password": PASSWORD})
        assert resp.status_code == 503, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "certificate" not in resp.text.lower() and SMTP_SECRET not in resp.text
    finally:
        controller.stop()
