// Words people read for the API's enum values.
export const PROJECT_TYPES = {
  short_film: "Short film", feature_film: "Feature film", series: "Series", documentary: "Documentary",
  music_video: "Music video", commercial: "Commercial", other: "Other",
};
export const PAYMENT_TYPES = { paid: "Paid", negotiable: "Negotiable", unpaid: "Unpaid" };
// One colour per project type, shared by the pins and the list badges.
export const TYPE_COLOURS = {
  short_film: "#e4572e", feature_film: "#7b2cbf", series: "#1d7874", documentary: "#2a6fdb",
  music_video: "#d81e5b", commercial: "#c77d00", other: "#5c677d",
};

export function money(amount, details) {
  if (amount === null || amount === undefined) return details || "";
  const text = Number(amount).toLocaleString("en", { maximumFractionDigits: 0 });
  return details ? `${text} · ${details}` : text;
}

/** A small DOM builder: el("p", {class: "x"}, "text", child) — text always as text, never as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
