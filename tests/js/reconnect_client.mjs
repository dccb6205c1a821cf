// Reconnect recovery with the official Socket.IO client: the connection drops mid-burst, the client
// reconnects by itself, rejoins with the last message id it saw and merges the gap by id.
// Driven by tests/realtime/test_recovery.py: env FILMO_URL, FILMO_TOKEN, FILMO_PROJECT_ID, FILMO_EXPECT_MESSAGES,
// FILMO_EXPECT_DMS (how many project messages and direct messages the test will send), FILMO_DROP_AFTER (drop the
// connection after this many project messages arrived live). Prints "ready" once joined, then one JSON line.
import { io } from "socket.io-client";

const url = process.env.FILMO_URL;
const projectId = process.env.FILMO_PROJECT_ID;
const expectMessages = Number(process.env.FILMO_EXPECT_MESSAGES);
const expectDms = Number(process.env.FILMO_EXPECT_DMS);
const dropAfter = Number(process.env.FILMO_DROP_AFTER);

const messages = new Map(); // id -> message, live or recovered (merged by id, as the README says)
const dms = new Map();
const result = { live: [], live_dms: [], recovered: [], recovered_dms: [], joins: [], resumes: [],
  disconnects: [], connects: 0 };
let dropped = false;

const maxId = (map) => (map.size ? Math.max(...map.keys()) : 0);

function timeout(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms));
}

const socket = io(url, { auth: { token: process.env.FILMO_TOKEN }, transports: ["websocket"],
  reconnectionDelay: 200, reconnectionDelayMax: 400 });

socket.on("message", (m) => {
  if (m.project_id !== projectId) return;
  result.live.push(m.id);
  messages.set(m.id, m);
  if (!dropped && result.live.length >= dropAfter) {
    dropped = true;
    // The WebSocket goes away under the client (as when the network drops): it sees "transport close" and
    // reconnects on its own.
    socket.io.engine.transport.ws.close();
  }
});
socket.on("dm", (m) => { result.live_dms.push(m.id); dms.set(m.id, m); });
socket.on("disconnect", (reason) => { if (reason !== "io client disconnect") result.disconnects.push(reason); });

socket.on("connect", async () => {
  result.connects += 1;
  const first = result.connects === 1;
  try {
    const join = { project_id: projectId };
    if (!first) join.last_message_id = maxId(messages);
    const ack = await socket.timeout(10000).emitWithAck("join_project", join);
    result.joins.push({ ok: ack.ok, last_message_id: join.last_message_id ?? null, missed: ack.missed ?? null,
      error: ack.error ?? null });
    if (ack.missed) for (const m of ack.missed.messages) { result.recovered.push(m.id); messages.set(m.id, m); }
    if (!first) {
      const resume = await socket.timeout(10000).emitWithAck("dm_resume", { last_message_id: maxId(dms) });
      result.resumes.push({ ok: resume.ok, complete: resume.missed?.complete ?? null });
      if (resume.missed) for (const m of resume.missed.messages) { result.recovered_dms.push(m.id); dms.set(m.id, m); }
    }
    if (first) console.log("ready");
  } catch (err) {
    result.joins.push({ ok: false, failure: String(err) });
  }
});

async function main() {
  await Promise.race([
    new Promise((resolve) => {
      const check = () => (messages.size >= expectMessages && dms.size >= expectDms && result.connects >= 2
        ? resolve() : setTimeout(check, 20));
      check();
    }),
    timeout(30000, "every message, live or recovered"),
  ]);
  // Displayed as a chat would: ordered by id.
  result.messages = [...messages.values()].sort((a, b) => a.id - b.id).map((m) => ({ id: m.id, content: m.content }));
  result.dms = [...dms.values()].sort((a, b) => a.id - b.id).map((m) => ({ id: m.id, content: m.content }));
  socket.close();
}

main()
  .then(() => { console.log(JSON.stringify(result)); process.exit(0); })
  .catch((err) => { result.failure = String(err); console.log(JSON.stringify(result)); process.exit(1); });
