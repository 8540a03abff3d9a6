// Signing up, signing in, and onboarding: the media types and tags a user
// likes, from which the first recommendations come.

import { api, session, refreshUser, types } from "./api.js";
import { h, page, fill, empty } from "./ui.js";
import { go, location } from "./router.js";

const examples = [
  "a podcast about history",
  "find me something like Interstellar but a documentary",
  "romantic comedies from the 90s",
  "books like The Hunger Games",
];

export function home() {
  page("Find your next book, film, documentary or podcast",
    h("p", { class: "lead" }, "Tell mediarec what you like and it recommends across all four, with a reason for each. Or just ask in plain words."),
    h("p", { class: "actions" },
      h("a", { class: "button primary", href: "#/sign-up" }, "Sign up, it takes a minute"),
      h("a", { class: "button", href: "#/sign-in" }, "Sign in")),
    h("h2", {}, "Try asking"),
    h("ul", { class: "examples" }, examples.map((q) => h("li", {}, h("a", { href: "#/search?" + new URLSearchParams({ q }) }, q)))));
}

// accountForm is the shared form of sign-in and sign-up: fields, a submit
// button, and the server's problems shown beside the fields they concern.
function accountForm(fields, submitLabel, submit) {
  const alert = h("p", { class: "problem", role: "alert", hidden: true });
  const inputs = {};
  const form = h("form", { class: "stack narrow", novalidate: true },
    fields.map((f) => {
      inputs[f.name] = h("input", { id: "f-" + f.name, name: f.name, ...f.attrs });
      return h("p", { class: "field" }, h("label", { for: "f-" + f.name }, f.label), inputs[f.name], f.hint ? h("small", { id: "f-" + f.name + "-hint" }, f.hint) : null);
    }),
    alert,
    h("button", { type: "submit", class: "primary" }, submitLabel));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]));
    values.password = inputs.password.value; // spaces count in a password
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    alert.hidden = true;
    Object.values(inputs).forEach((el) => el.removeAttribute("aria-invalid"));
    try {
      await submit(values);
    } catch (err) {
      alert.textContent = err.message;
      alert.hidden = false;
      for (const f of err.fields || []) inputs[f.field]?.setAttribute("aria-invalid", "true");
      (form.querySelector("[aria-invalid=true]") || inputs.email).focus();
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

const emailField = { name: "email", label: "Email", attrs: { type: "email", autocomplete: "username", required: true } };

export function signIn() {
  const { query } = location();
  const next = query.get("next");
  page("Sign in",
    query.get("expired") ? h("p", { class: "notice" }, "Your session has ended. Please sign in again.") : null,
    accountForm([emailField, { name: "password", label: "Password", attrs: { type: "password", autocomplete: "current-password", required: true } }],
      "Sign in", async (v) => {
        const res = await api("POST", "/v1/auth/login", { email: v.email, password: v.password });
        session.save(res.token, res.expires_at);
        await refreshUser();
        go(next && next.startsWith("/") ? next : "/for-you");
      }),
    h("p", {}, "New here? ", h("a", { href: "#/sign-up" }, "Create an account.")));
}

export function signUp() {
  page("Create your account",
    accountForm([
      { name: "display_name", label: "Your name", attrs: { autocomplete: "nickname", maxlength: "100" } },
      emailField,
      { name: "password", label: "Password", hint: "At least 8 characters.", attrs: { type: "password", autocomplete: "new-password", required: true, minlength: "8", "aria-describedby": "f-password-hint" } },
    ], "Sign up", async (v) => {
      const res = await api("POST", "/v1/auth/register", { email: v.email, password: v.password, display_name: v.display_name || v.email.split("@")[0] });
      session.save(res.token);
      await refreshUser();
      go("/welcome");
    }),
    h("p", {}, "Have an account? ", h("a", { href: "#/sign-in" }, "Sign in.")));
}

// welcome asks for the media types and tags a user likes; it is both the
// onboarding of a new account and where tastes are changed later.
export async function welcome() {
  const prefs = session.user?.preferences || { tags: [], media_types: [] };
  const fresh = prefs.tags.length === 0 && prefs.media_types.length === 0;
  const chosenTypes = new Set(prefs.media_types);
  const chosenTags = new Set(prefs.tags);

  const tagBox = h("div", { class: "chips", id: "tag-choices" });
  const loadTags = () => fill(tagBox, "Finding popular tags…", async () => {
    const params = new URLSearchParams({ limit: "24" });
    if (chosenTypes.size) params.set("types", [...chosenTypes].join(","));
    const res = await api("GET", "/v1/tags?" + params);
    const names = [...new Set([...chosenTags, ...res.tags.map((t) => t.tag)])];
    if (!names.length) return empty("No tags in the catalog yet: add your own below.");
    return names.map((t) => checkChip("tag", t, t, chosenTags));
  });

  const own = h("input", { id: "own-tag", maxlength: "100", placeholder: "e.g. space, cooking, true crime" });
  const addOwn = () => {
    const t = own.value.trim().toLowerCase();
    if (!t) return;
    chosenTags.add(t);
    if (!tagBox.querySelector(`input[value="${CSS.escape(t)}"]`)) tagBox.prepend(checkChip("tag", t, t, chosenTags));
    own.value = "";
    own.focus();
  };
  own.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      addOwn();
    }
  });

  const alert = h("p", { class: "problem", role: "alert", hidden: true });
  const form = h("form", { class: "stack" },
    h("fieldset", {},
      h("legend", {}, "What do you read, watch or listen to?"),
      h("div", { class: "chips" }, types.map((t) => checkChip("type", t.id, t.many, chosenTypes, loadTags)))),
    h("fieldset", {},
      h("legend", {}, "Pick a few things you like"),
      tagBox,
      h("p", { class: "inline" }, h("label", { for: "own-tag" }, "Something else"), own, h("button", { type: "button", onclick: addOwn }, "Add"))),
    alert,
    h("p", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, fresh ? "Show my recommendations" : "Save my tastes"),
      fresh ? h("a", { href: "#/for-you" }, "Skip for now") : null));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      session.user = await api("PUT", "/v1/me/preferences", { tags: [...chosenTags], media_types: [...chosenTypes] });
      go("/for-you");
    } catch (err) {
      alert.textContent = err.message;
      alert.hidden = false;
    }
  });

  page(fresh ? "Welcome! What do you enjoy?" : "My tastes",
    h("p", { class: "lead" }, "Your first recommendations start from these; every like, dislike and rating then sharpens them."),
    form);
  loadTags();
}

let chips = 0;

// checkChip is a checkbox drawn as a chip, adding value to set when ticked.
function checkChip(group, value, label, set, changed) {
  const id = `${group}-${++chips}`;
  const input = h("input", { type: "checkbox", id, name: group, value, checked: set.has(value) });
  input.addEventListener("change", () => {
    if (input.checked) set.add(value);
    else set.delete(value);
    if (changed) changed();
  });
  return h("span", { class: "check" }, input, h("label", { for: id }, label));
}
