// One load worker: connects its share of the clients (official socket.io-client, WebSocket
// transport), joins rooms, sends its share of the message rate, and measures send -> receipt
// latency at every member of the room. Writes <plan>.worker<i>.json: counters and a sparse histogram.
//
// node load.mjs <plan.json> <worker index> <worker count>
// The plan (written by run.py) holds server URLs, rooms with member tokens, rate and duration.
import { createRequire } from "node:module";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "..", "tests", "js", "package.json"));
const { io } = require("socket.io-client");

const [planPath, indexArg, countArg] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planPath, "utf8"));
const index = Number(indexArg);
const workers = Number(countArg);
const rooms = plan.rooms.filter((_, i) => i % workers === index);
const now = () => performance.timeOrigin + performance.now(); // ms, shared clock across processes

const BUCKET_MS = 0.1;
const hist = new Map(); // delivery latency bucket -> count
const ackHist = new Map(); // send -> ack (stored in PostGIS and published) bucket -> count
const stats = { worker: index, clients: 0, rooms: rooms.length, connect_failures: 0, join_failures: 0,
  sent: 0, acked: 0, send_errors: 0, expected: 0, received: 0, duplicates: 0, foreign: 0, ack_ms_max: 0,
  disconnects: 0, disconnect_reasons: {} };
const expected = new Map(); // message key -> members in the room when it was sent
const seen = new Map(); // message key -> Set of receiver ids
const acked = new Set(); // keys the server acknowledged (stored)

const perSecond = new Map(); // second of sending -> [deliveries, sum ms, max ms]
let startMs = 0;

function record(latency, sentAt) {
  const b = Math.floor(latency / BUCKET_MS);
  hist.set(b, (hist.get(b) || 0) + 1);
  const sec = Math.floor((sentAt - startMs) / 1000);
  const row = perSecond.get(sec) || [0, 0, 0];
  row[0] += 1; row[1] += latency; row[2] = Math.max(row[2], latency);
  perSecond.set(sec, row);
}

function connectClient(member, serverUrl, clientId) {
  return new Promise((resolve) => {
    const socket = io(serverUrl, { auth: { token: member.token }, transports: ["websocket"], reconnection: false,
      timeout: 60000 });
    socket.on("message", (m) => {
      const received = now();
      const parts = m.content.split(" ");
      if (parts[0] !== "bench") return;
      const key = parts[1];
      const pending = seen.get(key);
      if (pending === undefined) { stats.foreign += 1; return; }
      if (pending.has(clientId)) { stats.duplicates += 1; return; }
      pending.add(clientId);
      stats.received += 1;
      record(received - Number(parts[2]), Number(parts[2]));
    });
    socket.on("disconnect", (reason) => {
      if (reason !== "io client disconnect") {
        stats.disconnects += 1;
        stats.disconnect_reasons[reason] = (stats.disconnect_reasons[reason] || 0) + 1;
      }
    });
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", () => { stats.connect_failures += 1; resolve(null); });
  });
}

async function main() {
  // Connect gradually (every process validates each token against the database).
  const roomSockets = [];
  let clientId = 0;
  for (const room of rooms) {
    const sockets = [];
    for (let i = 0; i < room.members.length; i += 25) {
      const batch = room.members.slice(i, i + 25).map((member, j) =>
        connectClient(member, plan.servers[(i + j) % plan.servers.length], clientId++));
      sockets.push(...(await Promise.all(batch)));
    }
    const live = sockets.filter(Boolean);
    stats.clients += live.length;
    const acks = await Promise.all(live.map((s) => s.timeout(60000).emitWithAck("join_project",
      { project_id: room.project_id }).catch(() => ({ ok: false }))));
    const joined = live.filter((_, i) => acks[i] && acks[i].ok);
    stats.join_failures += live.length - joined.length;
    roomSockets.push({ room, sockets: joined, next: 0 });
  }
  process.stdout.write(JSON.stringify({ ready: true, worker: index, clients: stats.clients }) + "\n");

  // run.py writes the common start time once every worker is connected; then send this worker's
  // share of the rate.
  const startFile = process.env.FILMO_BENCH_START_FILE;
  while (!existsSync(startFile)) await new Promise((r) => setTimeout(r, 50));
  const start = Number(readFileSync(startFile, "utf8"));
  startMs = start;
  while (now() < start) await new Promise((r) => setTimeout(r, Math.min(50, start - now())));
  const rate = plan.rate / workers;
  const total = Math.round(rate * plan.duration_s);
  let seq = 0;
  let r = 0;
  const inflight = [];
  while (seq < total) {
    const due = Math.min(total, Math.floor(((now() - start) / 1000) * rate));
    while (seq < due) {
      const target = roomSockets[r++ % roomSockets.length];
      const sender = target.sockets[target.next++ % target.sockets.length];
      const key = `${index}:${seq++}`;
      seen.set(key, new Set());
      expected.set(key, target.sockets.length);
      stats.sent += 1;
      const sentAt = now();
      inflight.push(sender.timeout(30000).emitWithAck("send_message",
        { project_id: target.room.project_id, content: `bench ${key} ${sentAt}` })
        .then((ack) => {
          const ackMs = now() - sentAt;
          stats.ack_ms_max = Math.max(stats.ack_ms_max, ackMs);
          const b = Math.floor(ackMs / BUCKET_MS);
          ackHist.set(b, (ackHist.get(b) || 0) + 1);
          if (ack && ack.ok) { stats.acked += 1; acked.add(key); } else stats.send_errors += 1;
        })
        .catch(() => { stats.send_errors += 1; }));
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(inflight);
  // Drain: wait until every stored (acknowledged) message reached every member of its room, or
  // give up after the drain window (what is still missing then counts as lost).
  const missing = () => {
    let m = 0;
    for (const key of acked) m += expected.get(key) - seen.get(key).size;
    return m;
  };
  const drainUntil = now() + plan.drain_s * 1000;
  while (missing() > 0 && now() < drainUntil) await new Promise((r) => setTimeout(r, 100));
  stats.expected = 0;
  for (const key of acked) stats.expected += expected.get(key);
  stats.lost = missing();
  stats.histogram_bucket_ms = BUCKET_MS;
  stats.histogram = Object.fromEntries(hist);
  stats.per_second = Object.fromEntries(perSecond);
  stats.ack_histogram = Object.fromEntries(ackHist);
  for (const { sockets } of roomSockets) for (const s of sockets) s.close();
  // A file, not stdout: a pipe would cut a large line when the process exits.
  writeFileSync(`${planPath}.worker${index}.json`, JSON.stringify(stats));
  process.exit(0);
}

main().catch((err) => { process.stderr.write(String(err.stack || err) + "\n"); process.exit(1); });
