// Builds the discovery page into ../static (git-ignored), served by api/discover/router.py.
// One ES module bundle (discover-<hash>.js) and one stylesheet (discover-<hash>.css), both content-hashed so
// they can be cached for good; MapLibre's worker is copied beside them under its own name (MapLibre 6 loads
// it from `new URL("maplibre-gl-worker.mjs", import.meta.url)`), and index.html names the hashed files.
// Run by infra/install.sh (`npm ci` + `node build.mjs`) when the lock file or a source changed.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: { discover: join(here, "src", "main.js"), "discover-style": join(here, "src", "styles.css") },
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: "linked",
  entryNames: "[name]-[hash]",
  outdir: out,
  metafile: true,
  loader: { ".json": "json" },
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((f) => f.startsWith("discover-") && f.endsWith(".js") && !f.startsWith("discover-style"));
const style = outputs.find((f) => f.startsWith("discover-style-") && f.endsWith(".css"));
if (!script || !style) throw new Error(`build: missing outputs in ${outputs.join(", ")}`);

const worker = join(here, "node_modules", "maplibre-gl", "dist", "maplibre-gl-worker.mjs");
copyFileSync(worker, join(out, "maplibre-gl-worker.mjs"));

const html = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("{{script}}", `/discover/static/${script}`)
  .replace("{{style}}", `/discover/static/${style}`);
writeFileSync(join(out, "index.html"), html);
console.log(`discover: built ${script}, ${style}, maplibre-gl-worker.mjs, index.html in ${out}`);
