// The JSON API of the same origin, and the signed-in session.

const sessionKey = "mediarec.session";

// session is the signed-in user's token and profile, kept in localStorage
// so that a reload or a second tab stays signed in until the token expires.
export const session = {
  token: "",
  user: null, // GET /v1/me: {id, email, display_name, role, preferences}

  load() {
    try {
      const s = JSON.parse(localStorage.getItem(sessionKey) || "{}");
      if (s.token && (!s.expires_at || Date.parse(s.expires_at) > Date.now())) {
        this.token = s.token;
        return;
      }
    } catch {
      // A damaged entry is a signed-out session.
    }
    this.clear();
  },
  save(token, expiresAt) {
    this.token = token;
    localStorage.setItem(sessionKey, JSON.stringify({ token, expires_at: expiresAt || "" }));
  },
  clear() {
    this.token = "";
    this.user = null;
    localStorage.removeItem(sessionKey);
  },
  get admin() {
    return this.user !== null && this.user.role === "admin";
  },
};

// Problem is an API error (application/problem+json) in words a person
// can act on.
export class Problem extends Error {
  constructor(status, body) {
    const fields = (body.errors || []).map((e) => `${fieldName(e.field)} ${e.message}`);
    const detail = body.detail || body.title || `The server answered ${status}.`;
    super([detail, ...fields].join(" "));
    this.status = status;
    this.fields = body.errors || [];
  }
}

function fieldName(field) {
  const s = String(field || "").replaceAll("_", " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// onSignedOut is called when the server no longer accepts the token.
let onSignedOut = () => {};
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

// api calls the API and returns its JSON answer, or throws a Problem.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = "Bearer " + session.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new Problem(0, { detail: "The server cannot be reached. Check your connection and try again." });
  }
  if (res.status === 204) return {};
  let data = {};
  try {
    data = await res.json();
  } catch {
    // A proxy's HTML error page: the status says enough.
  }
  if (!res.ok) {
    if (res.status === 401 && session.token) {
      session.clear();
      onSignedOut();
    }
    throw new Problem(res.status, data);
  }
  return data;
}

// refreshUser reads the signed-in user's profile into session.user.
export async function refreshUser() {
  if (!session.token) return null;
  session.user = await api("GET", "/v1/me");
  return session.user;
}

// The media types, in the order the UI lists them.
export const types = [
  { id: "movie", one: "Movie", many: "Movies" },
  { id: "documentary", one: "Documentary", many: "Documentaries" },
  { id: "book", one: "Book", many: "Books" },
  { id: "podcast", one: "Podcast", many: "Podcasts" },
];

export function typeName(id, plural) {
  const t = types.find((x) => x.id === id);
  if (!t) return id;
  return plural ? t.many : t.one;
}

// feedback: the signed-in user's judgements by item id, read once per page
// and kept current by the pages that change them.
export async function myFeedback() {
  const res = await api("GET", "/v1/me/feedback");
  return new Map(res.items.map((f) => [f.item_id, f]));
}

export function judge(itemID, kind, rating) {
  const body = { item_id: itemID, kind };
  if (kind === "rating") body.rating = rating;
  return api("POST", "/v1/me/feedback", body);
}

export function forget(itemID) {
  return api("DELETE", "/v1/me/feedback/" + itemID);
}
