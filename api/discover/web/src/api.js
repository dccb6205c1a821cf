// The Filmo HTTP API as the page uses it: same origin, JSON in and out, problem+json errors turned into
// ApiError (status, code, detail, field errors). Tokens live in sessionStorage: one tab, one sign-in, gone
// when the tab closes (a refresh token in localStorage would outlive the person's visit).
export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && (body.detail || body.title)) || `HTTP ${status}`;
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.code = body?.code;
    this.errors = body?.errors || [];
  }
}

const STORE = "filmo.tokens";

export const session = {
  get tokens() {
    try { return JSON.parse(sessionStorage.getItem(STORE)) || null; } catch { return null; }
  },
  set tokens(pair) {
    if (pair) sessionStorage.setItem(STORE, JSON.stringify({ access: pair.access_token, refresh: pair.refresh_token }));
    else sessionStorage.removeItem(STORE);
  },
  get signedIn() { return !!this.tokens; },
};

async function send(path, { method = "GET", body, auth = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const tokens = session.tokens;
  if (auth && tokens) headers.Authorization = `Bearer ${tokens.access}`;
  return fetch(path.startsWith("/") ? path : `${API}/${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function refreshTokens() {
  const tokens = session.tokens;
  if (!tokens) return false;
  const resp = await send("auth/refresh", { method: "POST", body: { refresh_token: tokens.refresh } });
  if (!resp.ok) { session.tokens = null; return false; }
  session.tokens = await resp.json();
  return true;
}

/** One API call; a 401 on a signed-in call trades the refresh token once and tries again. */
export async function call(path, options = {}) {
  let resp = await send(path, options);
  if (resp.status === 401 && options.auth && await refreshTokens()) resp = await send(path, options);
  const isJson = (resp.headers.get("content-type") || "").includes("json");
  const body = isJson ? await resp.json() : null;
  if (!resp.ok) throw new ApiError(resp.status, body);
  return { body, headers: resp.headers };
}

export const get = async (path, auth = false) => (await call(path, { auth })).body;
export const post = async (path, body, auth = false) => (await call(path, { method: "POST", body, auth })).body;
