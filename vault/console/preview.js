// Previews of an artifact's stored bytes, fetched with the key: text as text,
// images through a blob: URL. HTML and SVG are shown as their source text,
// never rendered as documents: their bytes are untrusted.

import { call, enc, storedKey } from "./api.js";
import { h } from "./dom.js";
import { formatBytes } from "./format.js";

// Image types a browser draws as pictures only (no scripts, no documents).
const IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "image/x-icon"]);
const TEXT_TYPES = new Set(["application/json", "application/xml", "application/javascript", "application/x-yaml", "application/yaml", "application/x-ndjson", "image/svg+xml"]);
const TEXT_NAMES = /\.(txt|md|markdown|json|jsonl|ndjson|csv|tsv|log|ya?ml|xml|html?|svg|py|js|ts|sh|toml|ini|cfg)$/i;
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
const TEXT_PREVIEW_BYTES = 256 * 1024;

export function contentPath(artifact) {
  return `/storage/artifacts/${enc(artifact.id)}/content`;
}

function mediaType(artifact) {
  return (artifact.content_type ?? "").split(";")[0].trim().toLowerCase();
}

export function previewKind(artifact) {
  if (!artifact.sha256) return "reference";
  const type = mediaType(artifact);
  if (IMAGES.has(type)) return artifact.size <= MAX_IMAGE_BYTES ? "image" : "none";
  if (type.startsWith("text/") || TEXT_TYPES.has(type) || type.endsWith("+json") || type.endsWith("+xml")) return "text";
  if ((type === "" || type === "application/octet-stream") && TEXT_NAMES.test(artifact.name)) return "text";
  return "none";
}

/** The preview's element, filled in once its bytes arrive; `signal` ends it (and frees a blob: URL). */
export async function preview(artifact, signal) {
  const kind = previewKind(artifact);
  if (kind === "reference") {
    return h("p", { class: "empty" }, "The Vault holds no bytes for this artifact: it refers to content stored elsewhere", artifact.path ? [": ", h("code", {}, artifact.path)] : ".");
  }
  if (kind === "image") {
    const blob = await (await call(contentPath(artifact), { signal, headers: { Accept: "*/*" } })).blob();
    const url = URL.createObjectURL(blob);
    signal.addEventListener("abort", () => URL.revokeObjectURL(url));
    return h("img", { class: "preview-image", src: url, alt: `Preview of ${artifact.name}` });
  }
  if (kind === "text") {
    const headers = { Accept: "*/*", Range: `bytes=0-${TEXT_PREVIEW_BYTES - 1}` };
    const response = await call(contentPath(artifact), { signal, headers });
    const text = new TextDecoder("utf-8").decode(await response.arrayBuffer());
    const cut = artifact.size > TEXT_PREVIEW_BYTES;
    return h(
      "div",
      {},
      cut ? h("p", { class: "muted" }, `The first ${formatBytes(TEXT_PREVIEW_BYTES)} of ${formatBytes(artifact.size)}.`) : null,
      h("pre", { class: "preview-text" }, text),
    );
  }
  return h("p", { class: "empty" }, "No preview for this type of content: download it to open it.");
}

/** A real download link; with a key set, the bytes are fetched with it and saved from a blob: URL. */
export function downloadLink(artifact) {
  const link = h("a", { class: "button", href: contentPath(artifact), download: artifact.name }, "Download");
  link.addEventListener("click", async (event) => {
    if (!storedKey()) return; // without keys the link itself downloads (Content-Disposition: attachment)
    event.preventDefault();
    try {
      const blob = await (await call(contentPath(artifact), { headers: { Accept: "*/*" } })).blob();
      const url = URL.createObjectURL(blob);
      h("a", { href: url, download: artifact.name }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      link.after(h("span", { class: "error", role: "alert" }, ` The download failed: ${error.message}`));
    }
  });
  return link;
}
