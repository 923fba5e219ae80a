// How values read on the page: times in the reader's zone, sizes in bytes.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A <time> element: local time shown, the stored ISO timestamp in its datetime and title. */
export function timeElement(iso) {
  const element = document.createElement("time");
  if (!iso) {
    element.textContent = "—";
    return element;
  }
  element.dateTime = iso;
  element.title = iso;
  const parsed = new Date(iso);
  element.textContent = Number.isNaN(parsed.getTime()) ? iso : dateTime.format(parsed);
  return element;
}

export function formatTime(iso) {
  const parsed = new Date(iso);
  return Number.isNaN(parsed.getTime()) ? String(iso) : dateTime.format(parsed);
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(size) {
  if (size === null || size === undefined) return "—";
  let value = Number(size);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** A number short enough for an axis label. */
export function formatNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)) return value.toExponential(2);
  return Number(value.toFixed(magnitude >= 100 ? 0 : 2)).toLocaleString();
}

/** JSON as indented text; a string that holds JSON (tool arguments often do) is shown decoded. */
export function prettyJson(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}
