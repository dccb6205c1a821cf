// The discovery page: the map and the list of what is in view, kept in sync; filter chips with live counts;
// a project card with its open roles; sign-in, apply and the team chat. Plain modules, no framework.
import { ApiError, call, get, post, session } from "./api.js";
import { setupAuth } from "./auth.js";
import { setupChat } from "./chat.js";
import { PAYMENT_TYPES, PROJECT_TYPES, TYPE_COLOURS, el, money } from "./labels.js";
import { createMap } from "./map.js";

const $ = (id) => document.getElementById(id);
const LIST_LIMIT = 50;
const SKILL_CHIPS = 6;

const state = {
  filters: { skill: new Set(), type: new Set(), pay: new Set() },
  skillNames: new Map(), // skill id -> name, from the facets seen so far
  bbox: null,
  request: 0, // the latest list request; older answers are dropped
  hits: [],
};

/** The filters as query parameters; `except` leaves one group out (for that group's own counts). */
function filterQuery(except = null) {
  const q = new URLSearchParams();
  const { skill, type, pay } = state.filters;
  if (except !== "skill") for (const id of [...skill].sort((a, b) => a - b)) q.append("skill_ids", String(id));
  if (except !== "type") for (const t of [...type].sort()) q.append("project_type", t);
  if (except !== "pay") for (const p of [...pay].sort()) q.append("payment_type", p);
  return q.toString();
}

// Which facet of the search answer counts each chip group.
const FACET_OF = { skill: "skills", type: "project_types", pay: "payment_types" };

function searchPath(filters, limit) {
  const q = new URLSearchParams(filters);
  q.set("bbox", state.bbox.join(","));
  q.set("envelope", "true");
  q.set("limit", String(limit));
  q.set("sort", "newest");
  return `search/projects?${q}`;
}

/** Counts for a group with a choice made come from the same search without that group's filter, so its
 * other chips say what choosing them too would add (choices within a group are "any of"). */
async function facetsFor(result) {
  const facets = { ...(result.facets || {}) };
  const groups = Object.keys(FACET_OF).filter((g) => state.filters[g].size > 0);
  const answers = await Promise.all(groups.map((g) => get(searchPath(filterQuery(g), 1))));
  groups.forEach((g, i) => { facets[FACET_OF[g]] = answers[i].facets?.[FACET_OF[g]] || []; });
  return facets;
}

// ------------------------------------------------------------------ the list of what is in view

function showError(message) {
  const banner = $("error-banner");
  banner.hidden = !message;
  banner.textContent = message || "";
}

function hitRow(hit) {
  const open = (hit.roles || []).filter((r) => !r.is_filled);
  const pays = [...new Set(open.map((r) => PAYMENT_TYPES[r.payment_type] || r.payment_type))];
  const place = [hit.city, hit.country].filter(Boolean).join(", ");
  return el("li", { class: "project-row", dataset: { projectId: hit.id }, tabindex: "0",
    onmouseenter: () => mapView.highlight(hit.id), onmouseleave: () => mapView.highlight(null),
    onfocus: () => mapView.highlight(hit.id), onblur: () => mapView.highlight(null),
    onclick: () => openCard(hit.id, true), onkeydown: (e) => { if (e.key === "Enter") openCard(hit.id, true); } },
  el("span", { class: "type-dot", style: `background:${TYPE_COLOURS[hit.project_type] || TYPE_COLOURS.other}` }),
  el("div", { class: "row-main" },
    el("h2", { class: "row-title" }, hit.name),
    el("p", { class: "row-meta" }, PROJECT_TYPES[hit.project_type] || hit.project_type, place ? ` · ${place}` : ""),
    el("p", { class: "row-roles" }, open.length ? `${open.length} open role${open.length > 1 ? "s" : ""}: `
      + open.slice(0, 3).map((r) => r.role_title).join(", ") + (open.length > 3 ? "…" : "") : "No open roles")),
  el("div", { class: "row-side" }, pays.map((p) => el("span", { class: "badge" }, p))));
}

function renderList(result) {
  const list = $("project-list");
  state.hits = result.results;
  list.replaceChildren(...result.results.map(hitRow));
  const more = result.total_relation === "gte" ? "+" : "";
  const shown = result.results.length < result.total ? ` (newest ${result.results.length} listed)` : "";
  $("list-title").textContent = result.total === 0 ? "Projects in view"
    : `${result.total}${more} project${result.total === 1 ? "" : "s"} in view${shown}`;
  $("empty-state").hidden = result.results.length > 0;
  list.dataset.bbox = state.bbox.join(",");
}

async function loadList() {
  if (!state.bbox) return;
  const ask = ++state.request;
  document.body.dataset.list = "loading";
  $("list-status").textContent = "Loading…";
  try {
    const result = await get(searchPath(filterQuery(), LIST_LIMIT));
    const facets = await facetsFor(result);
    if (ask !== state.request) return;
    showError(null);
    renderList(result);
    renderChips(facets);
    $("list-status").textContent = "";
    document.body.dataset.list = "ready";
  } catch (err) {
    if (ask !== state.request) return;
    $("list-status").textContent = "";
    showError(err instanceof ApiError && err.status === 503
      ? "Search is briefly unavailable. Trying again in a few seconds…"
      : `Could not load projects: ${err.message}`);
    document.body.dataset.list = "error";
    if (err instanceof ApiError && err.status === 503) setTimeout(() => { if (ask === state.request) loadList(); }, 5000);
  }
}

// ------------------------------------------------------------------ filter chips with live counts

function chip(group, key, label, count) {
  const on = state.filters[group].has(key);
  return el("button", { type: "button", class: "chip", "aria-pressed": String(on), dataset: { group, key: String(key) },
    disabled: !on && count === 0, onclick: () => toggle(group, key) },
  label, el("span", { class: "chip-count" }, String(count)));
}

function renderChips(facets) {
  const counts = (buckets) => new Map((buckets || []).map((b) => [b.key, b.count]));
  for (const b of facets.skills || []) state.skillNames.set(b.key, b.name || `Skill ${b.key}`);
  const skills = counts(facets.skills);
  const skillKeys = [...new Set([...state.filters.skill, ...(facets.skills || []).slice(0, SKILL_CHIPS).map((b) => b.key)])];
  $("chips-skill").replaceChildren(...skillKeys.map((k) => chip("skill", k, state.skillNames.get(k) || `Skill ${k}`, skills.get(k) || 0)));
  const types = counts(facets.project_types);
  const typeKeys = Object.keys(PROJECT_TYPES).filter((k) => types.has(k) || state.filters.type.has(k));
  $("chips-type").replaceChildren(...typeKeys.map((k) => chip("type", k, PROJECT_TYPES[k], types.get(k) || 0)));
  const pays = counts(facets.payment_types);
  $("chips-pay").replaceChildren(...Object.keys(PAYMENT_TYPES).map((k) => chip("pay", k, PAYMENT_TYPES[k], pays.get(k) || 0)));
  const any = Object.values(state.filters).some((s) => s.size);
  $("clear-filters").hidden = !any;
}

function toggle(group, key) {
  const set = state.filters[group];
  if (set.has(key)) set.delete(key); else set.add(key);
  applyFilters();
}

function applyFilters() {
  mapView.setFilters(filterQuery());
  loadList();
}

$("clear-filters").addEventListener("click", () => {
  for (const set of Object.values(state.filters)) set.clear();
  applyFilters();
});

// ------------------------------------------------------------------ the project card

const card = $("project-card");
const listPane = document.querySelector(".list-pane");
let cardProject = null;
let listScroll = 0;

function closeCard() {
  card.hidden = true;
  cardProject = null;
  document.body.classList.remove("card-open");
  listPane.scrollTop = listScroll;
}

function roleItem(project, role) {
  const left = role.slots_available - role.slots_filled;
  const pay = [PAYMENT_TYPES[role.payment_type] || role.payment_type, money(role.payment_amount, role.payment_details)]
    .filter(Boolean).join(" · ");
  const action = el("div", { class: "role-action" });
  if (!session.signedIn) {
    action.append(el("button", { type: "button", class: "btn btn-secondary", onclick: () => auth.open() }, "Sign in to apply"));
  } else {
    action.append(el("button", { type: "button", class: "btn btn-primary", dataset: { roleId: role.id },
      onclick: () => showApplyForm(action, role) }, "Apply"));
  }
  return el("li", { class: "role", dataset: { roleId: role.id } },
    el("div", { class: "role-main" },
      el("h4", { class: "role-title" }, role.role_title),
      el("p", { class: "role-meta" }, [role.skill_name, pay, `${left} of ${role.slots_available} open`].filter(Boolean).join(" · ")),
      role.description ? el("p", { class: "role-text" }, role.description) : null),
    action);
}

function showApplyForm(action, role) {
  const note = el("textarea", { name: "cover_letter", maxlength: "2000", rows: "3",
    placeholder: "A short note to the team: your experience, your dates" });
  const message = el("p", { class: "form-error", role: "alert", hidden: true });
  const form = el("form", { class: "apply-form", onsubmit: async (e) => {
    e.preventDefault();
    form.querySelector("button").disabled = true;
    try {
      await applyTo(role.id, note.value.trim());
      action.replaceChildren(el("p", { class: "applied" }, "Applied ✓ The team will review your application."));
    } catch (err) {
      message.hidden = false;
      message.textContent = err.message;
      form.querySelector("button").disabled = false;
    }
  } }, note, el("button", { type: "submit", class: "btn btn-primary" }, "Send application"), message);
  action.replaceChildren(form);
  note.focus();
}

async function applyTo(roleId, coverLetter) {
  const body = { role_id: roleId, cover_letter: coverLetter || "I would like to join the team." };
  if (!auth.hasProfile()) await auth.askProfile();
  try {
    return await post("applications/apply", body, true);
  } catch (err) {
    // Applications show the team who applies: a person without a profile makes one first, then we retry.
    if (err instanceof ApiError && err.status === 403 && /profile/i.test(err.message)) {
      await auth.askProfile();
      return post("applications/apply", body, true);
    }
    throw err;
  }
}

async function openCard(projectId, fly = false) {
  if (!cardProject) listScroll = listPane.scrollTop;
  cardProject = projectId;
  card.hidden = false;
  document.body.classList.add("card-open");
  listPane.scrollTop = 0;
  card.replaceChildren(el("p", { class: "card-loading" }, "Loading project…"));
  try {
    const p = await get(`projects/${projectId}`);
    if (cardProject !== projectId) return;
    const open = p.roles.filter((r) => !r.is_filled);
    card.dataset.projectId = p.id;
    card.replaceChildren(
      el("button", { type: "button", class: "btn btn-link card-back", onclick: closeCard }, "← Back to the list"),
      el("p", { class: "card-kicker" },
        el("span", { class: "type-dot", style: `background:${TYPE_COLOURS[p.project_type] || TYPE_COLOURS.other}` }),
        PROJECT_TYPES[p.project_type] || p.project_type, " · ", [p.city, p.country].filter(Boolean).join(", ")),
      el("h2", { class: "card-title" }, p.name),
      p.description ? el("p", { class: "card-text" }, p.description) : null,
      el("h3", { class: "card-sub" }, open.length ? `Open roles (${open.length})` : "No open roles right now"),
      el("ul", { class: "roles" }, open.map((r) => roleItem(p, r))));
    if (fly && p.latitude !== null && p.longitude !== null) mapView.flyTo(p.longitude, p.latitude);
    // Stacked layout (phones): the card is under the map; bring it into view.
    if (window.matchMedia("(max-width: 720px)").matches) card.scrollIntoView({ block: "start", behavior: "smooth" });
  } catch (err) {
    card.replaceChildren(el("button", { type: "button", class: "btn btn-link card-back", onclick: closeCard }, "← Back to the list"),
      el("p", { class: "form-error" }, `Could not load this project: ${err.message}`));
  }
}

// ------------------------------------------------------------------ wiring

const mapView = createMap($("map"), {
  onViewChange(bbox) {
    state.bbox = bbox;
    loadList();
  },
  onPinClick(projectId) { openCard(projectId); },
  onPinHover(projectId) {
    for (const row of document.querySelectorAll(".project-row.is-hovered")) row.classList.remove("is-hovered");
    if (projectId) document.querySelector(`.project-row[data-project-id="${CSS.escape(projectId)}"]`)?.classList.add("is-hovered");
  },
});

const chat = setupChat();
const auth = setupAuth({
  onChange() {
    chat.refresh();
    if (cardProject) openCard(cardProject);
  },
});
chat.refresh();
window.filmo = { state, call }; // for a person poking at the page in devtools
