"""Notification e-mails: (subject, plain text, HTML), each with a one-click unsubscribe link."""
from __future__ import annotations

from html import escape

from api.kernel.settings import get_settings

_HTML = """<!doctype html>
<html><body style="margin:0;padding:24px;background:#f4f4f6;font-family:Helvetica,Arial,sans-serif;color:#1d1d1f">
<table role="presentation" width="100%" style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:32px">
<tr><td>
<h1 style="font-size:20px;margin:0 0 16px">{title}</h1>
{body}
<p style="font-size:12px;color:#6e6e73;margin-top:32px">{footer}
<a href="{unsubscribe}" style="color:#6e6e73">Unsubscribe from Filmo e-mails</a> (one click, no sign-in).</p>
</td></tr></table></body></html>"""

_FOOTER = "You receive these because of your Filmo notifications."


def project_link(project_id) -> str:
    return f"{get_settings().frontend_link.rstrip('/')}/projects/{project_id}"


def _item_html(item: dict) -> str:
    link = (f' <a href="{escape(project_link(item["project_id"]))}">Open</a>' if item.get("project_id") else "")
    body = f'<br><span style="color:#3a3a3c">{escape(item["body"])}</span>' if item.get("body") else ""
    return f'<p style="margin:0 0 16px"><strong>{escape(item["title"])}</strong>{link}{body}</p>'


def _item_text(item: dict) -> str:
    lines = [f"- {item['title']}"]
    if item.get("body"):
        lines.append(f"  {item['body']}")
    if item.get("project_id"):
        lines.append(f"  {project_link(item['project_id'])}")
    return "\n".join(lines)


def single(item: dict, unsubscribe_url: str) -> tuple[str, str, str]:
    text = f"{_item_text(item)}\n\n{_FOOTER}\nUnsubscribe (one click): {unsubscribe_url}\n"
    html = _HTML.format(title=escape(item["title"]), body=_item_html(item), footer=escape(_FOOTER),
                        unsubscribe=escape(unsubscribe_url))
    return f"Filmo: {item['title']}"[:200], text, html


def digest(items: list[dict], unsubscribe_url: str) -> tuple[str, str, str]:
    title = f"Your Filmo digest: {len(items)} update{'s' if len(items) != 1 else ''}"
    text = "\n\n".join(_item_text(i) for i in items) + f"\n\n{_FOOTER}\nUnsubscribe (one click): {unsubscribe_url}\n"
    html = _HTML.format(title=escape(title), body="\n".join(_item_html(i) for i in items), footer=escape(_FOOTER),
                        unsubscribe=escape(unsubscribe_url))
    return title, text, html
