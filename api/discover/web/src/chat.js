// The team chat for projects the signed-in person belongs to: Socket.IO on this origin, authenticated with
// the access token; history from the REST API, live messages from the `message` event of the joined room.
import { io } from "socket.io-client";

import { get, session } from "./api.js";
import { el } from "./labels.js";

const $ = (id) => document.getElementById(id);

export function setupChat() {
  const panel = $("chat");
  const select = $("chat-project");
  const list = $("chat-messages");
  let socket = null;
  let joined = null;
  let shown = new Set(); // message ids on screen (history and live may overlap)

  function addMessage(m) {
    if (shown.has(m.id) || m.is_deleted) return;
    shown.add(m.id);
    const time = new Date(m.sent_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const item = el("li", { class: "chat-message", dataset: { messageId: String(m.id) } },
      el("p", { class: "chat-meta" }, el("strong", {}, m.sender_name || "Someone"), ` · ${time}`),
      el("p", { class: "chat-text" }, m.content));
    // Ids grow with commit order: keep the list sorted by id.
    const after = [...list.children].find((li) => Number(li.dataset.messageId) > m.id);
    list.insertBefore(item, after || null);
    $("chat-empty").hidden = true;
    list.scrollTop = list.scrollHeight;
  }

  async function join(projectId) {
    if (!socket || !projectId) return;
    if (joined && joined !== projectId) socket.emit("leave_project", { project_id: joined });
    joined = projectId;
    list.replaceChildren();
    shown = new Set();
    $("chat-empty").hidden = false;
    const ack = await socket.timeout(10000).emitWithAck("join_project", { project_id: projectId });
    if (!ack.ok) throw new Error(ack.error?.reason || "could not join the chat");
    const page = await get(`chat/messages/${projectId}?limit=50`, true);
    for (const m of page.messages.reverse()) addMessage(m);
    panel.dataset.joined = projectId;
  }

  function disconnect() {
    socket?.close();
    socket = null;
    joined = null;
    panel.hidden = true;
    delete panel.dataset.joined;
  }

  select.addEventListener("change", () => join(select.value));
  $("chat-toggle").addEventListener("click", () => {
    const body = $("chat-body");
    body.hidden = !body.hidden;
    $("chat-toggle").textContent = body.hidden ? "+" : "–";
  });
  $("chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("chat-input");
    const content = input.value.trim();
    if (!content || !joined) return;
    input.disabled = true;
    try {
      const ack = await socket.timeout(10000).emitWithAck("send_message", { project_id: joined, content });
      if (!ack.ok) throw new Error(ack.error?.reason || "not sent");
      addMessage(ack.message);
      input.value = "";
    } catch (err) {
      input.setCustomValidity(`Not sent: ${err.message}`);
      input.reportValidity();
      setTimeout(() => input.setCustomValidity(""), 3000);
    } finally {
      input.disabled = false;
      input.focus();
    }
  });

  return {
    /** Sign-in changed: list the person's projects and connect, or close everything. */
    async refresh() {
      disconnect();
      if (!session.signedIn) return;
      let projects = [];
      try { projects = await get("projects/my/memberships", true); } catch { return; }
      if (!projects.length || !session.signedIn) return;
      select.replaceChildren(...projects.map((p) => el("option", { value: p.id }, p.name)));
      panel.hidden = false;
      socket = io({ auth: { token: session.tokens.access }, transports: ["websocket"] });
      socket.on("message", (m) => { if (m.project_id === joined) addMessage(m); });
      socket.on("membership_revoked", () => this.refresh());
      socket.on("connect", () => join(select.value).catch(() => {}));
    },
  };
}
