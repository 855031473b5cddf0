"""The fake phone: a phone-sized page showing every WhatsApp, SMS, call and Telegram message.

All markup is produced here, by one renderer that escapes every text it is given (see
:func:`devfakes.telegram_html.render_html`); the page's script only swaps in fragments from this
server and never builds markup from message data. Telegram inline buttons post a simulated tap to
``/_control/telegram/press``; the header shows the links and buttons of the server's configuration.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Sequence

from devfakes.config import PhoneLink
from devfakes.phonelog import PhoneItem
from devfakes.telegram_html import render_html

SEPARATOR = " \u00b7 "
_NEW_TAB = 'target="_blank" rel="noopener noreferrer"'


def _attr(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_item(item: PhoneItem) -> str:
    """One bubble, with its inline keyboard if it has one."""
    meta = [item.provider, time.strftime("%H:%M:%S", time.localtime(item.time))]
    if item.edited:
        meta.append("edited")
    rows = []
    for row in item.buttons:
        cells = []
        for button in row:
            label = html.escape(button.text)
            if button.callback_data is not None:
                cells.append(
                    f'<button type="button" class="tg-button" data-chat-id="{_attr(item.ref.get("telegram_chat"))}"'
                    f' data-message-id="{_attr(item.ref.get("message_id"))}"'
                    f' data-callback="{_attr(button.callback_data)}">{label}</button>'
                )
            elif button.url and button.url.lower().startswith(("http://", "https://")):
                cells.append(f'<a class="tg-button" href="{_attr(button.url)}" {_NEW_TAB}>{label}</a>')
            else:
                cells.append(f'<span class="tg-button disabled">{label}</span>')
        rows.append(f'<div class="row">{"".join(cells)}</div>')
    if item.ref.get("keypad"):
        sid = _attr(item.ref["twilio_sid"])
        for keys in ("123", "456", "789", "*0#"):
            keypad = "".join(
                f'<button type="button" class="key" data-call-sid="{sid}" data-digits="{k}">{k}</button>' for k in keys
            )
            rows.append(f'<div class="row">{keypad}</div>')
    keyboard = f'<div class="buttons">{"".join(rows)}</div>' if rows else ""
    return (
        f'<div class="msg {_attr(item.direction)}" data-seq="{item.seq}">'
        f'<div class="meta">{html.escape(SEPARATOR.join(meta))}</div>'
        f'<div class="text">{render_html(item.text, item.entities)}</div>{keyboard}</div>'
    )


def render_chats(items: Sequence[PhoneItem]) -> str:
    """Every chat, the one with the newest message last; in each chat the newest bubble last."""
    chats: dict[str, list[PhoneItem]] = {}
    for item in items:
        chats.setdefault(item.chat, []).append(item)
    if not chats:
        return '<p class="empty">No messages yet.</p>'
    sections = []
    for chat, bubbles in sorted(chats.items(), key=lambda kv: kv[1][-1].seq):
        composer = ""
        if chat.startswith("telegram:"):
            composer = (
                f'<form class="tg-reply" data-chat-id="{_attr(chat.split(":", 1)[1])}">'
                '<input name="text" placeholder="Message the bot" autocomplete="off">'
                '<button type="submit">Send</button></form>'
            )
        sections.append(
            f'<section class="chat" data-chat="{_attr(chat)}"><h2>{html.escape(bubbles[-1].chat_title)}</h2>'
            f"{''.join(render_item(b) for b in bubbles)}{composer}</section>"
        )
    return "".join(sections)


def render_header(links: Sequence[PhoneLink]) -> str:
    """The configured header links (GET) and action buttons (POST, sent by the fakes server)."""
    parts = []
    for index, link in enumerate(links):
        if link.method == "GET":
            parts.append(f'<a class="header-link" href="{_attr(link.url)}" {_NEW_TAB}>{html.escape(link.label)}</a>')
        else:
            parts.append(
                f'<button type="button" class="header-action" data-index="{index}">{html.escape(link.label)}</button>'
            )
    return f"<nav>{''.join(parts)}</nav>" if parts else ""


_STYLE = """
*{box-sizing:border-box}body{margin:0;background:#d9dde3;font:15px/1.4 system-ui,sans-serif;color:#111}
.phone{max-width:420px;margin:0 auto;min-height:100vh;background:#efe7dd;display:flex;flex-direction:column}
header{position:sticky;top:0;background:#075e54;color:#fff;padding:10px 12px;z-index:1}
header h1{margin:0;font-size:17px}nav{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}
nav a,nav button{background:#fff;color:#075e54;border:0;border-radius:14px;padding:4px 10px;font:inherit;
font-size:13px;text-decoration:none;cursor:pointer}
main{flex:1;padding:8px}.empty{text-align:center;color:#666}
.chat{margin-bottom:14px}.chat h2{font-size:13px;text-align:center;color:#444;background:#fff8;border-radius:8px;
padding:3px;margin:8px 0}
.msg{max-width:88%;margin:6px 0;padding:6px 9px;border-radius:8px;box-shadow:0 1px 1px #0002;word-wrap:break-word}
.msg.received{background:#fff}.msg.sent{background:#dcf8c6;margin-left:auto}
.msg.note{background:#fff3c4;margin:6px auto;font-size:13px;text-align:center}
.meta{font-size:11px;color:#777;margin-bottom:2px}.text a{color:#0b63c5;word-break:break-all}
.spoiler{background:#999;color:#999}.spoiler:hover{color:inherit;background:none}
.buttons .row{display:flex;gap:4px;margin-top:4px}
.tg-button{flex:1;display:block;text-align:center;background:#e8f1fb;color:#0b63c5;border:0;border-radius:6px;
padding:6px;font:inherit;font-size:14px;cursor:pointer;text-decoration:none}.tg-button.disabled{color:#999}
.key{flex:1;background:#f0f0f0;border:0;border-radius:50%;height:38px;font:inherit;font-size:17px;cursor:pointer}
form{display:flex;gap:4px;margin-top:6px}form input{flex:1;min-width:0;padding:6px;border:1px solid #ccc;
border-radius:14px;font:inherit}form button{border:0;background:#075e54;color:#fff;border-radius:14px;padding:6px 10px}
footer{padding:8px;background:#f6f6f6;border-top:1px solid #ddd;font-size:13px}
footer input[name=chat_id]{flex:0 0 90px}
#toast{position:fixed;left:50%;bottom:16px;transform:translateX(-50%);background:#333;color:#fff;
padding:8px 12px;border-radius:8px;font-size:13px;display:none;max-width:380px}
"""

# The script inserts only fragments rendered (and escaped) by this server; message text never
# passes through it.
_SCRIPT = """
const chats = document.getElementById('chats');
function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text; t.style.display = 'block';
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.style.display = 'none'; }, 4000);
}
async function post(url, payload) {
  const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                              body: JSON.stringify(payload || {})});
  let body = null; try { body = await r.json(); } catch (e) { body = null; }
  return {status: r.status, body: body};
}
function outcome(r) {
  if (r.body && r.body.error) return r.body.error;
  if (r.body && 'delivered' in r.body) {
    return r.body.delivered ? 'Delivered to the bot' : 'Not delivered: ' + r.body.error;
  }
  if (r.body && 'status' in r.body) return 'Answered ' + r.body.status;
  return 'HTTP ' + r.status;
}
async function refresh() {
  try {
    const r = await fetch('/_phone/fragment?since=' + chats.dataset.version);
    if (r.status !== 200) return;
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    chats.innerHTML = await r.text();
    chats.dataset.version = r.headers.get('X-Phone-Version');
    if (atBottom) window.scrollTo(0, document.body.scrollHeight);
  } catch (e) { /* the fakes server restarts with the demo; the next poll retries */ }
}
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button.tg-button');
  if (button) {
    button.disabled = true;
    toast(outcome(await post('/_control/telegram/press', {chat_id: button.dataset.chatId,
      message_id: button.dataset.messageId, callback_data: button.dataset.callback})));
    button.disabled = false;
    refresh();
  }
  const key = event.target.closest('button.key');
  if (key) {
    toast(outcome(await post('/_control/twilio/press', {call_sid: key.dataset.callSid, digits: key.dataset.digits})));
    refresh();
  }
  const action = event.target.closest('button.header-action');
  if (action) toast(outcome(await post('/_phone/actions/' + action.dataset.index)));
});
document.addEventListener('submit', async (event) => {
  const form = event.target.closest('form.tg-reply, form#tg-new');
  if (!form) return;
  event.preventDefault();
  const data = new FormData(form);
  const chatId = form.dataset.chatId || data.get('chat_id');
  toast(outcome(await post('/_control/telegram/send', {chat_id: chatId, text: data.get('text'),
    first_name: data.get('first_name') || undefined})));
  form.reset(); refresh();
});
setInterval(refresh, 1000);
window.scrollTo(0, document.body.scrollHeight);
"""


def render_page(items: Sequence[PhoneItem], version: int, links: Sequence[PhoneLink]) -> str:
    """The whole page, with the current chats already in it (it works without the script too)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>Fake phone</title><style>{_STYLE}</style></head><body><div class="phone">'
        f"<header><h1>Fake phone</h1>{render_header(links)}</header>"
        f'<main id="chats" data-version="{version}">{render_chats(items)}</main>'
        '<footer><form id="tg-new"><input name="chat_id" placeholder="Telegram id" value="1001">'
        '<input name="first_name" placeholder="Name"><input name="text" placeholder="/start CODE">'
        '<button type="submit">Send</button></form></footer>'
        f'<div id="toast" role="status"></div><script>{_SCRIPT}</script></div></body></html>'
    )


def actions_json(links: Sequence[PhoneLink]) -> str:
    """The header configuration as JSON, for ``GET /_phone/actions``."""
    return json.dumps(
        [{"index": i, "label": link.label, "url": link.url, "method": link.method} for i, link in enumerate(links)]
    )
