// The official Socket.IO JavaScript client against a real Filmo server.
// Driven by tests/realtime/test_js_client.py: env FILMO_URL, FILMO_TOKEN, FILMO_PROJECT_ID, FILMO_EXPECT
// (content of a message another member will send). Prints one JSON line with what happened.
import { io } from "socket.io-client";

const url = process.env.FILMO_URL;
const token = process.env.FILMO_TOKEN;
const projectId = process.env.FILMO_PROJECT_ID;
const expect = process.env.FILMO_EXPECT;
const result = { refused: null, joined: null, sent: null, received: [], errors: [] };

function refusedWith(auth) {
  return new Promise((resolve) => {
    const s = io(url, { auth, reconnection: false, transports: ["websocket"] });
    s.on("connect", () => { s.close(); resolve({ accepted: true }); });
    s.on("connect_error", (err) => { s.close(); resolve({ message: err.message, data: err.data }); });
  });
}

function timeout(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms));
}

async function main() {
  result.refused = await refusedWith({ token: "not-a-token" });

  // Default transports: long-polling first, then the upgrade to WebSocket, as browsers do.
  const socket = io(url, { auth: { token }, reconnection: false });
  socket.on("message", (m) => result.received.push(m));
  socket.on("error", (e) => result.errors.push(e));
  await Promise.race([new Promise((r) => socket.on("connect", r)), timeout(10000, "connect")]);

  result.joined = await socket.timeout(10000).emitWithAck("join_project", { project_id: projectId });
  result.sent = await socket.timeout(10000).emitWithAck("send_message",
    { project_id: projectId, content: "hello from js" });
  result.bad = await socket.timeout(10000).emitWithAck("send_message", { project_id: projectId, content: "   " });

  await Promise.race([
    new Promise((resolve) => {
      const check = () => (result.received.some((m) => m.content === expect) ? resolve() : setTimeout(check, 20));
      check();
    }),
    timeout(15000, "the other member's message"),
  ]);
  result.transport = socket.io.engine.transport.name;
  socket.close();
}

main()
  .then(() => { console.log(JSON.stringify(result)); process.exit(0); })
  .catch((err) => { result.failure = String(err); console.log(JSON.stringify(result)); process.exit(1); });
