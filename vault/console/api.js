// Calls to The Vault's API, with the key the reader gave (if any) as a Bearer token.
//
// The key is kept in sessionStorage: it lasts as long as the tab and is never
// written to disk by the console, nor put in a URL.

const KEY_ITEM = "vault.apiKey";

export function storedKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export function rememberKey(key) {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

/** An answer that is not 2xx, with the API's `detail` sentence. */
export class ApiProblem extends Error {
  constructor(status, detail, code) {
    super(detail || `the service answered ${status}`);
    this.status = status;
    this.code = code;
  }
}

/** 401: no key, or one the service does not accept. */
export class KeyNeeded extends ApiProblem {
  constructor(status, detail, code, rejected) {
    super(status, detail, code);
    this.rejected = rejected;
  }
}

/** 403: a key that may not use the administration routes (VAULT_ADMIN_API_KEYS). */
export class KeyNotAllowed extends ApiProblem {}

/** fetch() with the key; any non-2xx (but those in `accept`) is thrown as an ApiProblem. */
export async function call(path, { signal, headers = {}, acceptStatus = [] } = {}) {
  const key = storedKey();
  const sent = { Accept: "application/json", ...headers };
  if (key) sent.Authorization = `Bearer ${key}`;
  const response = await fetch(path, { headers: sent, signal, credentials: "omit" });
  if (response.ok || acceptStatus.includes(response.status)) return response;
  const { detail, error } = await response.json().catch(() => ({}));
  if (response.status === 401) throw new KeyNeeded(401, detail, error, Boolean(key));
  if (response.status === 403) throw new KeyNotAllowed(403, detail, error);
  throw new ApiProblem(response.status, detail, error);
}

/** A JSON answer, its headers, and the next page's URL when the answer has a `Link: rel="next"`. */
export async function getJson(path, options) {
  const response = await call(path, options);
  return { data: await response.json(), headers: response.headers, next: nextLink(response.headers) };
}

export function nextLink(headers) {
  const link = headers.get("Link");
  if (!link) return null;
  for (const part of link.split(",")) {
    const match = part.match(/<([^>]*)>\s*;\s*rel="?next"?/);
    if (match) return match[1];
  }
  return null;
}

let description = null;

/** Whether this service has a route, read once per page from its own /openapi.json. */
export async function serviceHas(path) {
  description ??= getJson("/openapi.json").then(
    ({ data }) => data,
    () => null,
  );
  const spec = await description;
  return Boolean(spec?.paths?.[path]);
}

/** A path with a query built from the fields that are set. */
export function withQuery(path, fields) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** One query field of a URL such as a Link's target. */
export function queryField(url, name) {
  return new URL(url, location.origin).searchParams.get(name);
}

export const enc = encodeURIComponent;
