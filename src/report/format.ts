/**
 * Text helpers for the HTML report. Every string that reaches the page goes through `esc`:
 * layer names, reasons and step labels come from recipes, which are not trusted. Number
 * formatting is deterministic (no locale), so the same report renders to the same bytes.
 */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML/SVG element content and quoted attribute values alike. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Shortens to `max` characters (code points, not UTF-16 units), ending with "…". */
export function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join("")}…`;
}

/** "0 s", "0.4 s", "42 s", "3 m 05 s", "1 h 02 m". */
export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s === 0) return "0 s";
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const total = Math.round(s);
  if (total < 3600) return `${Math.floor(total / 60)} m ${String(total % 60).padStart(2, "0")} s`;
  const m = Math.floor(total / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
}

/** Binary units: "512 B", "3.4 KiB", "120.0 MiB", "1.2 GiB". */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** An SVG coordinate: at most two decimals, no trailing zeros, never NaN. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return "0";
  return String(Math.round(x * 100) / 100);
}

/** "2025-06-01 12:00:00 UTC" from an ISO date-time; the input unchanged if it is not one. */
export function fmtTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
