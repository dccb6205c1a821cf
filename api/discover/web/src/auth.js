// Sign-in: with e-mail and password, or a new account by e-mail code (send-otp, then verify-otp, which
// answers with tokens). Also the short profile a person needs before applying (teams see it).
import { ApiError, get, post, session } from "./api.js";
import { el } from "./labels.js";

const $ = (id) => document.getElementById(id);
const FORMS = ["login-form", "signup-form", "code-form", "profile-form"];

function explain(err) {
  if (!(err instanceof ApiError)) return "Cannot reach Filmo. Check your connection and try again.";
  if (err.status === 429) return "Too many tries. Wait a minute and try again.";
  const field = err.errors?.[0];
  return field?.field ? `${field.field}: ${field.reason || field.msg || err.message}` : err.message;
}

export function setupAuth({ onChange }) {
  const dialog = $("auth-dialog");
  const error = $("auth-error");
  let signupEmail = null;
  let profileWaiter = null;
  let profile = null; // the signed-in person's profile, null until known to exist

  function show(formId) {
    for (const id of FORMS) $(id).hidden = id !== formId;
    $("tab-login").setAttribute("aria-selected", String(formId === "login-form"));
    $("tab-signup").setAttribute("aria-selected", String(formId !== "login-form"));
    document.querySelector(".tabs").hidden = formId === "profile-form";
    error.hidden = true;
    $(formId).querySelector("input")?.focus();
  }

  function fail(err) {
    error.hidden = false;
    error.textContent = explain(err);
  }

  async function submit(form, action) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try { await action(Object.fromEntries(new FormData(form))); } catch (err) { fail(err); } finally { button.disabled = false; }
  }

  function signedIn(pair) {
    session.tokens = pair;
    dialog.close();
    renderAccount();
    onChange();
  }

  $("tab-login").addEventListener("click", () => show("login-form"));
  $("tab-signup").addEventListener("click", () => show("signup-form"));
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submit(e.target, async ({ email, password }) => signedIn(await post("auth/login", { email, password })));
  });
  $("signup-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submit(e.target, async ({ email, password }) => {
      await post("auth/signup/send-otp", { email, password });
      signupEmail = email.trim().toLowerCase();
      $("code-note").textContent = `We sent a 6-digit code to ${signupEmail}. It is valid for 5 minutes.`;
      show("code-form");
    });
  });
  $("code-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submit(e.target, async ({ otp }) => {
      signedIn(await post(`auth/signup/verify-otp/${encodeURIComponent(signupEmail)}`, { otp: otp.trim() }));
    });
  });
  $("profile-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submit(e.target, async ({ name, profession, city }) => {
      const body = { name, ...(profession ? { profession } : {}), ...(city ? { city } : {}) };
      profile = await post("profile/create", body, true);
      const waiter = profileWaiter;
      profileWaiter = null; // saved: closing the dialog now is not a refusal
      dialog.close();
      renderAccount();
      waiter?.resolve();
    });
  });
  dialog.addEventListener("close", () => {
    profileWaiter?.reject(new Error("An application needs your profile: create it to apply."));
    profileWaiter = null;
  });

  async function signOut() {
    const tokens = session.tokens;
    session.tokens = null;
    profile = null;
    renderAccount();
    onChange();
    if (tokens) post("auth/logout", { refresh_token: tokens.refresh }).catch(() => {});
  }

  async function renderAccount() {
    const box = $("account");
    if (!session.signedIn) {
      box.replaceChildren(el("button", { type: "button", class: "btn btn-primary", id: "sign-in-button", onclick: () => open() }, "Sign in"));
      return;
    }
    let name = "Signed in";
    // 404 until the person makes a profile (asked for when they first apply).
    try { profile = await get("profile/me", true); name = profile.name; } catch { profile = null; }
    if (!session.signedIn) return;
    box.replaceChildren(el("span", { class: "account-name", id: "account-name" }, name),
      el("button", { type: "button", class: "btn btn-link", onclick: signOut }, "Sign out"));
  }

  function open() {
    show("login-form");
    dialog.showModal();
  }

  renderAccount();
  return {
    open,
    hasProfile: () => profile !== null,
    /** Ask for the short profile; resolves once it is saved, rejects if the person closes the dialog. */
    askProfile() {
      return new Promise((resolve, reject) => {
        profileWaiter = { resolve, reject };
        show("profile-form");
        if (!dialog.open) dialog.showModal();
      });
    },
  };
}
