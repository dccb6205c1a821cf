"""The account emails: (subject, plain text, HTML). Codes are inserted HTML-escaped."""
from __future__ import annotations

from html import escape

from api.kernel.settings import get_settings

_HTML = """<!doctype html>
<html><body style="margin:0;padding:24px;background:#f4f4f6;font-family:Helvetica,Arial,sans-serif;color:#1d1d1f">
<table role="presentation" width="100%" style="max-width:520px;margin:0 auto;background:#fff;border-radius:8px;padding:32px">
<tr><td>
<h1 style="font-size:20px;margin:0 0 16px">{title}</h1>
{body}
<p style="font-size:12px;color:#6e6e73;margin-top:32px">{footer}</p>
</td></tr></table></body></html>"""

_FOOTER = "You received this email because this address was entered on Filmo. If that was not you, ignore it."


def _code_block(code: str) -> str:
    return (f'<p style="font-size:32px;letter-spacing:8px;font-weight:bold;margin:24px 0">{escape(code)}</p>')


def _render(title: str, paragraphs_html: list[str]) -> str:
    return _HTML.format(title=escape(title), body="\n".join(paragraphs_html), footer=escape(_FOOTER))


def signup_code(code: str, minutes: int) -> tuple[str, str, str]:
    title = "Confirm your email for Filmo"
    text = (f"Welcome to Filmo!\n\nYour verification code is: {code}\n\n"
            f"It is valid for {minutes} minutes. Enter it in the app to finish creating your account.\n\n{_FOOTER}\n")
    html = _render(title, [
        "<p>Welcome to Filmo! Your verification code is:</p>", _code_block(code),
        f"<p>It is valid for {minutes} minutes. Enter it in the app to finish creating your account.</p>"])
    return "Your Filmo verification code", text, html


def already_registered() -> tuple[str, str, str]:
    link = get_settings().frontend_link
    title = "You already have a Filmo account"
    text = ("Someone (hopefully you) tried to sign up for Filmo with this email address, but an account already "
            f"exists for it.\n\nSign in at {link}. If you forgot your password, use \"Forgot password\" to reset it."
            f"\n\n{_FOOTER}\n")
    html = _render(title, [
        "<p>Someone (hopefully you) tried to sign up for Filmo with this email address, but an account already "
        "exists for it.</p>",
        f'<p><a href="{escape(link, quote=True)}">Sign in</a>. If you forgot your password, use '
        "&ldquo;Forgot password&rdquo; to reset it.</p>"])
    return "Your Filmo verification code", text, html


def reset_code(code: str, minutes: int) -> tuple[str, str, str]:
    title = "Reset your Filmo password"
    text = (f"Your password reset code is: {code}\n\nIt is valid for {minutes} minutes. Resetting the password "
            f"signs you out everywhere.\n\n{_FOOTER}\n")
    html = _render(title, [
        "<p>Your password reset code is:</p>", _code_block(code),
        f"<p>It is valid for {minutes} minutes. Resetting the password signs you out everywhere.</p>"])
    return "Your Filmo password reset code", text, html


def reset_no_account() -> tuple[str, str, str]:
    title = "Password reset requested"
    text = ("Someone asked to reset the Filmo password for this email address, but there is no active Filmo "
            f"account for it, so nothing was changed.\n\n{_FOOTER}\n")
    html = _render(title, [
        "<p>Someone asked to reset the Filmo password for this email address, but there is no active Filmo "
        "account for it, so nothing was changed.</p>"])
    return "Your Filmo password reset code", text, html
