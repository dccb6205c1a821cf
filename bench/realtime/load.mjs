// One load worker: connects its share of the clients (official socket.io-client, WebSocket transport), joins
// rooms, then runs the steps run.py hands it, one at a time: send its share of a step's rate for the step's
// duration, measure send -> receipt latency at every member of the room, wait for the stragglers, and write
// the step's counters. Clients whose connection drops reconnect by themselves and rejoin with the last message
// id they saw (realtime/README.md, "Reconnecting"); what they get back counts as delivered, not as latency.
//
// node load.mjs <plan.json> <worker index> <worker count>
// Protocol with run.py (files next to the plan): it writes <plan>.step<i> ({rate, duration_s, drain_s, start_ms,
// drop_fraction}); the worker writes <plan>.worker<w>.step<i>.json when done and waits for the next step, or for
// <plan>.stop. Prints one line {ready, clients} on stdout once every client has joined.
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
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BUCKET_MS = 0.1;

let step = null; // the counters of the step running now
const messages = new Map(); // key -> {room, seen: Set of client ids, acked}

function newStep(spec) {
  return { spec, sent: 0, acked: 0, refused: 0, refused_codes: {}, errors: 0, answered_within_1s: 0,
    answer_ms_max: 0, received: 0, recovered: 0, duplicates: 0, disconnects: 0, disconnect_reasons: {},
    reconnects: 0, rejoin_failures: 0, hist: new Map(), ackHist: new Map(), keys: [] };
}

function bump(map, key) { map.set(key, (map.get(key) || 0) + 1); }

function deliver(client, m, live) {
  const parts = m.content.split(" ");
  if (parts[0] !== "bench") return;
  client.lastId = Math.max(client.lastId, m.id);
  const entry = messages.get(parts[1]);
  if (entry === undefined) return;
  if (entry.seen.has(client.id)) { if (live && step) step.duplicates += 1; return; }
  entry.seen.add(client.id);
  if (!step) return;
  if (live) {
    step.received += 1;
    bump(step.hist, Math.floor((now() - Number(parts[2])) / BUCKET_MS));
  } else step.recovered += 1;
}

function connectClient(member, serverUrl, id) {
  return new Promise((resolve) => {
    const client = { id, room: null, lastId: 0, joined: false, connects: 0, socket: null };
    const socket = io(serverUrl, { auth: { token: member.token }, transports: ["websocket"], timeout: 60000,
      reconnectionDelay: 500, reconnectionDelayMax: 2000 });
    client.socket = socket;
    socket.on("message", (m) => deliver(client, m, true));
    socket.on("disconnect", (reason) => {
      client.joined = false;
      if (reason !== "io client disconnect" && step) {
        step.disconnects += 1;
        step.disconnect_reasons[reason] = (step.disconnect_reasons[reason] || 0) + 1;
      }
    });
    socket.on("connect", async () => {
      client.connects += 1;
      if (client.connects === 1) { resolve(client); return; }
      // A reconnect: rejoin with the last message id seen and merge what was missed.
      if (step) step.reconnects += 1;
      const ack = await socket.timeout(30000).emitWithAck("join_project",
        { project_id: client.room.project_id, last_message_id: client.lastId }).catch(() => null);
      if (!ack || !ack.ok) { if (step) step.rejoin_failures += 1; return; }
      client.joined = true;
      for (const m of ack.missed?.messages || []) deliver(client, m, false);
    });
    socket.on("connect_error", () => { if (client.connects === 0) { socket.close(); resolve(null); } });
  });
}

async function runStep(spec, roomClients) {
  step = newStep(spec);
  while (now() < spec.start_ms) await sleep(Math.min(50, spec.start_ms - now()));
  const rate = spec.rate / workers;
  const total = Math.round(rate * spec.duration_s);
  const start = spec.start_ms;
  const dropAt = start + (spec.duration_s * 1000) / 2;
  let dropped = !spec.drop_fraction;
  let seq = 0;
  let r = 0;
  const inflight = [];
  while (seq < total) {
    if (!dropped && now() >= dropAt) {
      // Part of the clients lose their connection mid-step (the WebSocket goes away under them).
      dropped = true;
      for (const { clients } of roomClients) {
        for (const c of clients) if (Math.random() < spec.drop_fraction && c.socket.io.engine?.transport?.ws) {
          c.socket.io.engine.transport.ws.close();
        }
      }
    }
    const due = Math.min(total, Math.floor(((now() - start) / 1000) * rate));
    while (seq < due) {
      const target = roomClients[r++ % roomClients.length];
      const live = target.clients.filter((c) => c.joined && c.socket.connected);
      if (!live.length) { seq++; continue; }
      const sender = live[target.next++ % live.length];
      const key = `${index}:${spec.index}:${seq++}`;
      messages.set(key, { room: target, seen: new Set(), acked: false });
      step.keys.push(key);
      step.sent += 1;
      const sentAt = now();
      const counted = step;
      inflight.push(sender.socket.timeout(30000).emitWithAck("send_message",
        { project_id: target.room.project_id, content: `bench ${key} ${sentAt}` })
        .then((ack) => {
          const ms = now() - sentAt;
          counted.answer_ms_max = Math.max(counted.answer_ms_max, ms);
          if (ms <= 1000) counted.answered_within_1s += 1;
          if (ack && ack.ok) {
            counted.acked += 1;
            messages.get(key).acked = true;
            bump(counted.ackHist, Math.floor(ms / BUCKET_MS));
          } else {
            counted.refused += 1;
            const code = ack?.error?.code || "unknown";
            counted.refused_codes[code] = (counted.refused_codes[code] || 0) + 1;
          }
        })
        .catch(() => { counted.errors += 1; }));
    }
    await sleep(5);
  }
  await Promise.all(inflight);
  // Wait until every stored (acknowledged) message reached every member connected now, live or through the
  // recovery on rejoin; what is still missing when the drain window closes counts as lost.
  const missing = () => {
    let m = 0;
    for (const key of step.keys) {
      const entry = messages.get(key);
      if (!entry.acked) continue;
      for (const c of entry.room.clients) if (c.socket.connected && !entry.seen.has(c.id)) m += 1;
    }
    return m;
  };
  const drainUntil = now() + spec.drain_s * 1000;
  while (missing() > 0 && now() < drainUntil) await sleep(100);
  let expected = 0;
  for (const key of step.keys) {
    const entry = messages.get(key);
    if (entry.acked) for (const c of entry.room.clients) if (c.socket.connected) expected += 1;
  }
  const out = { ...step, expected, lost: missing(), connected_at_end: roomClients.reduce(
    (n, { clients }) => n + clients.filter((c) => c.socket.connected).length, 0),
  histogram_bucket_ms: BUCKET_MS, histogram: Object.fromEntries(step.hist),
  ack_histogram: Object.fromEntries(step.ackHist) };
  delete out.hist; delete out.ackHist; delete out.keys;
  for (const key of step.keys) messages.delete(key);
  step = null;
  return out;
}

async function main() {
  // Connect gradually (every process validates each token against the database).
  const roomClients = [];
  const setup = { clients: 0, connect_failures: 0, join_failures: 0, connect_ms: 0, join_ms: 0 };
  let clientId = 0;
  const t0 = now();
  for (const room of rooms) {
    const clients = [];
    const connectStart = now();
    for (let i = 0; i < room.members.length; i += 25) {
      const batch = room.members.slice(i, i + 25).map((member, j) =>
        connectClient(member, plan.servers[(i + j) % plan.servers.length], clientId++));
      clients.push(...(await Promise.all(batch)));
    }
    const live = clients.filter(Boolean);
    const joinStart = now();
    setup.connect_ms += joinStart - connectStart;
    setup.connect_failures += clients.length - live.length;
    setup.clients += live.length;
    const entry = { room, clients: live, next: 0 };
    for (const c of live) c.room = room;
    const acks = await Promise.all(live.map((c) => c.socket.timeout(60000).emitWithAck("join_project",
      { project_id: room.project_id }).catch(() => ({ ok: false }))));
    acks.forEach((ack, i) => { if (ack && ack.ok) live[i].joined = true; else setup.join_failures += 1; });
    setup.join_ms += now() - joinStart;
    roomClients.push(entry);
  }
  setup.setup_ms = Math.round(now() - t0);
  process.stdout.write(JSON.stringify({ ready: true, worker: index, ...setup }) + "\n");

  for (let i = 0; ; i++) {
    const stepFile = `${planPath}.step${i}`;
    while (!existsSync(stepFile) && !existsSync(`${planPath}.stop`)) await sleep(50);
    if (!existsSync(stepFile)) break;
    const spec = { ...JSON.parse(readFileSync(stepFile, "utf8")), index: i };
    const result = await runStep(spec, roomClients);
    writeFileSync(`${planPath}.worker${index}.step${i}.json`, JSON.stringify(result));
  }
  for (const { clients } of roomClients) for (const c of clients) c.socket.close();
  process.exit(0);
}

main().catch((err) => { process.stderr.write(String(err.stack || err) + "\n"); process.exit(1); });
